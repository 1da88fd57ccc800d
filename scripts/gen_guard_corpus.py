#!/usr/bin/env python3
"""Write the labelled PII corpus of the guardrails (tests/fixtures/guard_pii_corpus.tsv).

Each line is `label<TAB>text`: label is the one PII type the text contains (email, phone,
payment_card, iban, us_ssn) or `none`. Positives are built valid (cards pass Luhn with a
real issuer prefix, IBANs carry their mod-97 check digits), and each type has near
misses labelled `none`: cards one digit off (Luhn fails), IBANs with a wrong check,
reserved SSN ranges, dates, times, versions, IP addresses, prices, order numbers.
tests/unit/test_guard_corpus.c reports precision and recall per type over it.
Deterministic (seeded): `scripts/gen_guard_corpus.py > tests/fixtures/guard_pii_corpus.tsv`.
"""
import random

rng = random.Random(20261203)

FIRST = ["jane", "john", "maria", "li", "ahmed", "olga", "pierre", "sofia", "ken", "ana"]
LAST = ["doe", "smith", "garcia", "wang", "khan", "ivanova", "martin", "rossi", "sato", "silva"]
DOMAINS = ["example.com", "mail.example.org", "corp.example.co.uk", "uni.example.edu",
           "example.io", "post.example.de", "example-shop.fr", "sub.dept.example.net"]
TEMPLATES = ["Please contact {} about the invoice.", "My details: {}.", "{} is the number to use",
             "reach me at {} tomorrow", "Customer wrote: ({}) thanks", "send it to {}, ok?",
             "On file: {}", "{}"]


def sentence(value):
    return rng.choice(TEMPLATES).format(value)


def emails():
    out = []
    for i in range(50):
        f, l, d = rng.choice(FIRST), rng.choice(LAST), rng.choice(DOMAINS)
        local = rng.choice([f"{f}.{l}", f"{f}{i}", f"{f}_{l}", f"{f}+news", f"{f[0]}.{l}{i}"])
        out.append(("email", sentence(f"{local}@{d}")))
    for t in ["user at example dot com", "the handle @jane_doe", "foo@bar", "x@localhost",
              "name@domain.c", "a..b@example.com", ".jane@example.com", "jane.@example.com",
              "price: 5 @ 3 each", "email me (no address yet)", "@example.com",
              "jane@", "mailto: nobody", "user@@example.com", "meet @ 10:30"]:
        out.append(("none", t))
    return out


def luhn_digit(body):
    total = 0
    for i, ch in enumerate(reversed(body)):
        v = int(ch)
        if i % 2 == 0:
            v *= 2
            if v > 9:
                v -= 9
        total += v
    return str((10 - total % 10) % 10)


def card_number(prefix, length):
    body = prefix + "".join(rng.choice("0123456789") for _ in range(length - len(prefix) - 1))
    return body + luhn_digit(body)


def fmt_card(n):
    style = rng.choice(["plain", "space4", "dash4"])
    if style == "plain" or len(n) != 16:
        return n
    groups = [n[i:i + 4] for i in range(0, 16, 4)]
    return (" " if style == "space4" else "-").join(groups)


def cards():
    out = []
    issuers = [("4", 16), ("51", 16), ("55", 16), ("2221", 16), ("34", 15), ("37", 15),
               ("6011", 16), ("65", 16), ("35", 16), ("62", 16)]
    for i in range(50):
        p, length = issuers[i % len(issuers)]
        out.append(("payment_card", sentence(fmt_card(card_number(p, length)))))
    for i in range(40):
        p, length = issuers[i % len(issuers)]
        n = card_number(p, length)
        bad = n[:-1] + str((int(n[-1]) + rng.randint(1, 9)) % 10)  # Luhn fails
        out.append(("none", sentence(fmt_card(bad))))
    for t in ["order 1234567812345670", "tracking 9400111899223197428490",
              "account 0000000000000000", "ref 7777 7777 7777 7777"]:
        out.append(("none", t))
    return out


IBAN_LEN = {"DE": 22, "GB": 22, "FR": 27, "ES": 24, "IT": 27, "NL": 18, "BE": 16, "AT": 20,
            "CH": 21, "PL": 28}


def iban_check(cc, bban):
    s = bban + cc + "00"
    n = int("".join(str(int(c, 36)) for c in s))
    return f"{98 - n % 97:02d}"


def iban(cc):
    n = IBAN_LEN[cc] - 4
    if cc == "GB":
        bban = "".join(rng.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ") for _ in range(4)) + \
            "".join(rng.choice("0123456789") for _ in range(n - 4))
    else:
        bban = "".join(rng.choice("0123456789") for _ in range(n))
    return cc + iban_check(cc, bban) + bban


def fmt_iban(s):
    if rng.random() < 0.5:
        return s
    return " ".join(s[i:i + 4] for i in range(0, len(s), 4))


def ibans():
    out = []
    ccs = list(IBAN_LEN)
    for i in range(30):
        out.append(("iban", sentence(fmt_iban(iban(ccs[i % len(ccs)])))))
    for i in range(20):
        s = iban(ccs[i % len(ccs)])
        k = rng.randrange(4, len(s))
        digit = s[k] if not s[k].isdigit() else str((int(s[k]) + 1) % 10)
        out.append(("none", sentence(fmt_iban(s[:k] + digit + s[k + 1:]) if s[k].isdigit()
                                     else fmt_iban(s[:2] + "00" + s[4:]))))
    return out


def ssns():
    out = []
    for _ in range(30):
        a = rng.choice([x for x in range(1, 900) if x != 666])
        out.append(("us_ssn", sentence(f"{a:03d}-{rng.randint(1, 99):02d}-{rng.randint(1, 9999):04d}")))
    for t in ["000-12-3456", "666-45-6789", "923-45-6789", "123-00-4567", "123-45-0000",
              "123456789", "12-345-6789", "2024-01-15", "call 555-1234", "ISBN 978-3-16"]:
        out.append(("none", sentence(t)))
    return out


def phones():
    out = []
    for _ in range(40):
        style = rng.randrange(6)
        a, b, c = rng.randint(201, 989), rng.randint(200, 999), rng.randint(0, 9999)
        if style == 0:
            s = f"+1 ({a}) {b}-{c:04d}"
        elif style == 1:
            s = f"{a}-{b}-{c:04d}"
        elif style == 2:
            s = f"+44 20 {rng.randint(1000, 9999)} {rng.randint(1000, 9999)}"
        elif style == 3:
            s = f"+33 6 {rng.randint(10, 99)} {rng.randint(10, 99)} {rng.randint(10, 99)} {rng.randint(10, 99)}"
        elif style == 4:
            s = f"030 {rng.randint(1000, 9999)} {rng.randint(1000, 9999)}"
        else:
            s = f"+49 151 {rng.randint(1000000, 9999999)}"
        out.append(("phone", sentence(s)))
    for t in ["on 2024-01-15 at 10:30", "version 1.2.3", "server 192.168.100.200",
              "zip 90210", "price $1,299.99", "room 1234", "year 1999", "call ext. 42",
              "score 3-2", "2023/12/31", "the 12345 route", "coordinates 48.8566, 2.3522",
              "flight LH 454", "pin 1234", "page 12 of 300"]:
        out.append(("none", t))
    return out


def plain():
    texts = ["The meeting moved to Thursday.", "We shipped 3 boxes and 12 crates.",
             "Temperature is 21 degrees.", "Read chapter 7, pages 100-120.",
             "Version 2 launches in Q3 2025.", "Add 250 g of flour and 2 eggs.",
             "The train leaves at 08:45 from platform 9.", "Invoice total: 1,234.56 EUR",
             "She ran 10 km in 48 minutes.", "Order #88231 has shipped.",
             "Call the office tomorrow.", "Ticket count: 4021",
             "The API returned 404 and 500 errors.", "Build 20240115 passed all checks.",
             "Set max_tokens to 4096.", "Use port 8080 or 8443.",
             "Batch size 32, learning rate 0.001.", "Sector 7G reported in.",
             "The answer is 42.", "It costs 19.99 plus tax."]
    return [("none", t) for t in texts]


def main():
    rows = emails() + cards() + ibans() + ssns() + phones() + plain()
    print("# label\ttext  (scripts/gen_guard_corpus.py; one PII type or none per line)")
    for label, text in rows:
        assert "\t" not in text and "\n" not in text
        print(f"{label}\t{text}")


if __name__ == "__main__":
    main()
