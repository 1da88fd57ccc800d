"""The admin dashboard in a real browser (docs/dashboard.md): headless Chromium driven by
Selenium (Debian's chromium, chromium-driver and python3-selenium, which `make test`
installs) against the gateway, the fake provider and `switchyard loadgen` traffic.

One gateway and one browser for the module; the tests run in order. They sign in with a
wrong then the right key, render every page with data, check the arm-share chart after a
price change, create/start/re-allocate/stop an experiment and move a prompt label from
the UI (the admin API must agree), follow an escalated conversation's trail, and finally
check from the browser's own logs that no request left for another origin and that
nothing was logged as an error (CSP violations included).

Skipped only when Chromium cannot be started at all. Screenshots of each page go to
$SWITCHYARD_DASHBOARD_SHOTS when set (docs/img holds the ones docs/dashboard.md shows)."""
import json
import os
import pathlib
import shutil
import subprocess
import time
import urllib.parse

import pytest
import requests

from conftest import (ADMIN_KEY, BIN, CLIENT_KEY, FakeProvider, Gateway, SANITIZED,
                      gateway_config)

SCENARIO = {
    "seed": 5,
    "defaults": {"latency_ms": {"dist": "fixed", "value": 2}, "ttft_ms": {"dist": "fixed", "value": 1},
                 "tokens_per_second": 0, "content": {"mode": "lorem", "tokens": 40}},
    "models": {"fake-small": {"quality": 0.6}, "fake-large": {"quality": 0.9},
               "fake-mini": {"quality": 0.5}},
}
PRICES = {"mini": (0.05, 0.2), "small": (0.15, 0.6), "large": (1.0, 4.0)}
WAIT = 20 if SANITIZED else 10  # seconds for the page to show what the test waits for


def dashboard_config(fake_url, prices):
    cfg = gateway_config(fake_url)
    cfg["models"] = {name: {"provider": "fake", "upstream_name": f"fake-{name}",
                            "price": {"input": pin, "output": pout},
                            "tier": "strong" if name == "large" else "fast"}
                     for name, (pin, pout) in prices.items()}
    cfg["routes"] = {"chat": {
        "candidates": list(prices), "policy": "thompson",
        "objective": {"quality": 1, "cost_per_usd": 100},
        "rules": [{"name": "frustrated", "when": "rephrases >= 2",
                   "then": {"escalate": "strong"}, "sticky": True}],
        "deescalate_after_good_turns": 2}}
    return cfg


def chromium_paths():
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver") or "/usr/lib/chromium/chromedriver"
    return browser, driver if os.path.exists(driver) else None


def start_browser():
    """A headless Chromium with the browser and performance logs on, or a skip saying why
    it cannot start."""
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError as e:
        pytest.skip(f"python3-selenium is not installed ({e}); make deps-test installs it")
    browser, driver = chromium_paths()
    if not browser or not driver:
        pytest.skip("chromium or chromium-driver is not installed; make deps-test installs them")
    opts = webdriver.ChromeOptions()
    opts.binary_location = browser
    for a in ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
              "--window-size=1280,900", "--no-first-run", "--disable-extensions",
              "--disable-background-networking", "--disable-component-update",
              "--disable-default-apps", "--disable-sync", "--metrics-recording-only"]:
        opts.add_argument(a)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    try:
        return webdriver.Chrome(service=Service(driver), options=opts)
    except Exception as e:  # the browser itself could not start here
        pytest.skip(f"chromium could not start: {str(e)[:300]}")


def loadgen(gw, fake, n, seed):
    r = subprocess.run([BIN, "loadgen", "--url", gw.url, "--key", CLIENT_KEY, "--route", "chat",
                        "--fake", fake.url, "-n", str(n), "-c", "4", "--seed", str(seed),
                        "--report-every", "0"], capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr + r.stdout


def next_bucket(step=10):
    """Sleep into the next 10-second bucket, so that traffic before and after lands in
    different points of the charts."""
    time.sleep(step - time.time() % step + 0.3)


class Stack:
    pass


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    driver = start_browser()  # first: a machine without Chromium skips at once
    tmp = tmp_path_factory.mktemp("dashboard")
    (tmp / "fake").mkdir()
    (tmp / "gw").mkdir()
    st = Stack()
    st.shots = os.environ.get("SWITCHYARD_DASHBOARD_SHOTS")
    fake = gw = None
    try:
        fake = FakeProvider(tmp / "fake", SCENARIO)
        gw = Gateway(tmp / "gw", dashboard_config(fake.url, PRICES))
        st.fake, st.gw, st.tmp = fake, gw, tmp
        A = gw.admin_headers()
        # traffic, then a price change (large becomes 20× dearer), then traffic again
        loadgen(gw, fake, 300, 1)
        next_bucket()
        prices = dict(PRICES, large=(20.0, 80.0))
        gw.write_config(dashboard_config(fake.url, prices) | {"data_dir": gw.data_dir})
        r = requests.post(gw.admin_url + "/admin/reload", headers=A, timeout=10)
        assert r.status_code == 200, r.text
        loadgen(gw, fake, 300, 2)
        # a conversation the rules escalate: two rephrases in a row
        for text in ["How do I reset my password?", "how do i reset my password",
                     "reset my password how?"]:
            r = requests.post(gw.url + "/v1/chat/completions",
                              headers=gw.headers(**{"X-Conversation-Id": "dash-conv"}),
                              data=json.dumps({"model": "chat",
                                               "messages": [{"role": "user", "content": text}]}),
                              timeout=10)
            assert r.status_code == 200, r.text
        # a prompt with two versions, production on v1
        for content in ["You are {{persona}}.", "Be brief, {{persona}}."]:
            r = requests.post(gw.admin_url + "/admin/prompts/support/versions", headers=A,
                              json={"messages": [{"role": "system", "content": content},
                                                 {"role": "user", "content": "{{question}}"}],
                                    "variables": {"persona": {"type": "string"},
                                                  "question": {"type": "string"}}}, timeout=10)
            assert r.status_code == 201, r.text
        r = requests.put(gw.admin_url + "/admin/prompts/support/labels/production", headers=A,
                         json={"version": 1}, timeout=10)
        assert r.status_code == 200, r.text
        # an experiment that already has results
        r = requests.post(gw.admin_url + "/admin/experiments", headers=A, timeout=10, json={
            "id": "seeded", "route": "chat", "unit": "request", "min_samples": 10,
            "variants": [{"name": "control", "model": "small"}, {"name": "big", "model": "large"}]})
        assert r.status_code == 201, r.text
        assert requests.post(gw.admin_url + "/admin/experiments/seeded/start", headers=A,
                             timeout=10).status_code == 200
        loadgen(gw, fake, 100, 3)
        st.driver = driver
    except BaseException:
        driver.quit()
        if gw:
            gw.stop()
        if fake:
            fake.proc.stop()
        raise
    st.logs, st.perf = [], []
    yield st
    try:
        st.driver.quit()
    finally:
        assert gw.stop() == 0, gw.proc.output()[-3000:]
        assert fake.proc.stop() == 0


def drain(st):
    st.logs += st.driver.get_log("browser")
    st.perf += st.driver.get_log("performance")


def wait_until(st, fn, what, timeout=WAIT):
    deadline = time.time() + timeout
    last = None
    while time.time() < deadline:
        try:
            v = fn()
            if v:
                return v
        except Exception as e:  # the element is not there yet, or was just replaced
            last = e
        time.sleep(0.1)
    drain(st)
    raise AssertionError(f"timed out waiting for {what} ({last}); browser log: {st.logs[-5:]}")


def css(st, sel):
    return st.driver.find_elements("css selector", sel)


def go(st, page):
    st.driver.get(st.gw.admin_url + "/#/" + page)
    wait_until(st, lambda: css(st, ".page[data-state=ready]"), f"page {page} to load")


def shot(st, name):
    """The whole page (the window grown to its height, at most 2400 px), when asked for."""
    if not st.shots:
        return
    pathlib.Path(st.shots).mkdir(parents=True, exist_ok=True)
    size = st.driver.get_window_size()
    height = st.driver.execute_script("return document.documentElement.scrollHeight")
    st.driver.set_window_size(size["width"], min(max(height + 140, size["height"]), 2400))
    time.sleep(0.2)
    st.driver.save_screenshot(str(pathlib.Path(st.shots) / f"dashboard-{name}.png"))
    st.driver.set_window_size(size["width"], size["height"])


def api(st, path):
    r = requests.get(st.gw.admin_url + path, headers=st.gw.admin_headers(), timeout=10)
    assert r.status_code == 200, r.text
    return r.json()


def test_sign_in_wrong_then_right_key(stack):
    st = stack
    st.driver.get(st.gw.admin_url + "/")
    key = wait_until(st, lambda: css(st, "#admin-key")[0], "the sign-in form")
    assert css(st, "#nav")[0].get_attribute("hidden") is not None
    key.send_keys("sk-not-the-admin-key")
    css(st, "#signin-form button")[0].click()
    msg = wait_until(st, lambda: css(st, "#signin-error")[0].text.startswith("Wrong") and
                     css(st, "#signin-error")[0].text, "the wrong-key message")
    assert "Wrong admin key" in msg and "401" in msg
    assert st.driver.execute_script("return sessionStorage.length") == 0
    shot(st, "signin")
    key.clear()
    key.send_keys(ADMIN_KEY)
    css(st, "#signin-form button")[0].click()
    wait_until(st, lambda: css(st, ".page[data-page=overview][data-state=ready]"), "the overview")
    assert css(st, "#signin")[0].get_attribute("hidden") is not None
    # kept in session storage, never in a cookie
    assert st.driver.execute_script("return document.cookie") == ""
    assert st.driver.get_cookies() == []
    assert st.driver.execute_script(
        "return sessionStorage.getItem('switchyard.adminKey')") == ADMIN_KEY


def test_overview_shows_traffic(stack):
    st = stack
    go(st, "overview")
    total = sum(s["totals"]["requests"] for s in api(st, "/admin/activity")["series"])
    shown = wait_until(st, lambda: css(st, "[data-kpi=requests] .v")[0].text, "the request count")
    assert int(shown.replace(",", "")) >= 700 and int(shown.replace(",", "")) <= total
    for chart in ["requests", "errors", "cost", "latency"]:
        paths = css(st, f"[data-chart={chart}] path.line")
        assert paths, chart
        assert max(int(p.get_attribute("data-points")) for p in paths) > 0, chart
    rows = css(st, ".page table tbody tr")
    assert len(rows) >= 3  # chat × mini, small, large at least
    shot(st, "overview")
    # the day view
    css(st, "button[data-value=day]")[0].click()
    wait_until(st, lambda: "Last day" in css(st, ".page caption")[0].text, "the day view")
    assert len(css(st, "[data-chart=requests] circle")) >= 12  # leading empty buckets trimmed


def test_routes_arm_share_has_points_for_every_arm_after_the_price_change(stack):
    st = stack
    go(st, "routes/chat")
    wait_until(st, lambda: css(st, "[data-chart=arm-share] path.line"), "the arm-share chart")
    act = api(st, "/admin/activity?window=900&step=10&route=chat")
    buckets_with_traffic = sum(1 for i in range(act["points"])
                               if any(s["requests"][i] for s in act["series"]))
    assert buckets_with_traffic >= 2, act  # before and after the price change
    points = {p.get_attribute("data-series"): int(p.get_attribute("data-points"))
              for p in css(st, "[data-chart=arm-share] path.line")}
    assert set(points) == set(PRICES), points
    for arm, n in points.items():
        assert n >= 2 and n == buckets_with_traffic, (arm, n, buckets_with_traffic)
    # the arms table: posterior, breaker, the new price of large
    arms = {r.get_attribute("data-arm"): r.text for r in css(st, "tr[data-arm]")}
    assert set(arms) == set(PRICES)
    assert "$20.00 / $80.00" in arms["large"] and "closed" in arms["large"]
    assert len(css(st, "svg.interval")) == 3
    assert css(st, "[data-policy=thompson]")
    assert "100 × cost" in css(st, ".page")[0].text and "frustrated" in css(st, ".page")[0].text
    decisions = css(st, "tr[data-id]")
    assert len(decisions) == 25
    shot(st, "routes")


def fill(el, text):
    el.clear()
    el.send_keys(text)


def test_experiment_created_started_reallocated_and_stopped_from_the_ui(stack):
    st = stack
    go(st, "experiments")
    wait_until(st, lambda: css(st, "tr[data-exp=seeded]"), "the seeded experiment")
    wait_until(st, lambda: css(st, "#exp-create"), "the creation form")
    # a client-side check, shown on its field
    fill(css(st, "#exp-id")[0], "bad id!")
    css(st, "#exp-create button[type=submit]")[0].click()
    assert "1–63" in wait_until(st, lambda: css(st, "#exp-id-error")[0].text, "the id error")
    # the server's refusal (an id that exists: 409, param id) lands on the field too
    fill(css(st, "#exp-id")[0], "seeded")
    css(st, "#exp-create button[type=submit]")[0].click()
    assert "exists" in wait_until(st, lambda: css(st, "#exp-id-error")[0].text, "the 409")
    # and a bad weight on the variant's weight
    fill(css(st, "#exp-id")[0], "ui-exp")
    fill(css(st, "#exp-v1-weight")[0], "0")
    css(st, "#exp-create button[type=submit]")[0].click()
    assert "positive" in wait_until(st, lambda: css(st, "#exp-v1-weight-error")[0].text,
                                    "the weight error")
    assert requests.get(st.gw.admin_url + "/admin/experiments/ui-exp",
                        headers=st.gw.admin_headers(), timeout=5).status_code == 404
    shot(st, "experiments")
    fill(css(st, "#exp-v1-weight")[0], "1")
    css(st, "#exp-create button[type=submit]")[0].click()
    wait_until(st, lambda: css(st, "[data-status=draft]"), "the new draft")
    assert api(st, "/admin/experiments/ui-exp")["status"] == "draft"
    css(st, "#exp-start")[0].click()
    wait_until(st, lambda: css(st, "[data-status=running]"), "running")
    assert api(st, "/admin/experiments/ui-exp")["status"] == "running"
    # a new allocation
    fill(css(st, "#alloc-traffic")[0], "0.5")
    fill(css(st, "#alloc-w0")[0], "20")
    fill(css(st, "#alloc-w1")[0], "80")
    css(st, "#alloc-form button[type=submit]")[0].click()
    doc = wait_until(st, lambda: (lambda d: d if d["allocation_version"] == 2 else None)(
        api(st, "/admin/experiments/ui-exp")), "allocation version 2")
    last = doc["allocation_history"][-1]
    assert last["traffic"] == 0.5 and last["weights"] == {"control": 20, "treatment": 80}
    wait_until(st, lambda: any("v2" in t.text for t in css(st, ".page table")), "the history row")
    wait_until(st, lambda: css(st, "[data-recommendation]"), "the results")
    css(st, "#exp-stop")[0].click()
    wait_until(st, lambda: css(st, "[data-status=stopped]"), "stopped")
    assert api(st, "/admin/experiments/ui-exp")["status"] == "stopped"
    # the seeded one shows results with intervals, SRM and a recommendation
    go(st, "experiments/seeded")
    wait_until(st, lambda: css(st, "tr[data-variant=big]"), "the per-variant results")
    assert css(st, "[data-srm]") and css(st, "[data-recommendation]")
    res = api(st, "/admin/experiments/seeded/results")
    assert css(st, "[data-recommendation]")[0].get_attribute("data-recommendation") == \
        res["recommendation"]["action"]
    assert css(st, "tr[data-variant=big] svg.interval")
    shot(st, "experiment")


def test_prompt_label_moved_in_the_ui_is_what_the_gateway_serves(stack):
    st = stack
    go(st, "prompts")
    wait_until(st, lambda: css(st, "tr[data-prompt=support]"), "the prompt list")
    go(st, "prompts/support")
    wait_until(st, lambda: css(st, "tr[data-label=production][data-version='1']"), "the label")
    # the diff between v1 and v2 shows the changed line
    diff = wait_until(st, lambda: css(st, "pre.diff")[0], "the diff")
    assert '- ' in diff.text and 'You are {{persona}}.' in css(st, "pre.diff .del")[0].text
    assert 'Be brief, {{persona}}.' in css(st, "pre.diff .add")[0].text
    # render preview of the label
    css(st, "#render-form button[type=submit]")[0].click()
    out = wait_until(st, lambda: css(st, "#render-out")[0].text, "the preview")
    assert "support@1" in out and "You are example persona." in out
    # move production to v2
    fill(css(st, "#label-name")[0], "production")
    from selenium.webdriver.support.ui import Select
    Select(css(st, "#label-version")[0]).select_by_value("2")
    css(st, "#label-form button[type=submit]")[0].click()
    wait_until(st, lambda: css(st, "tr[data-label=production][data-version='2']"), "the move")
    assert api(st, "/admin/prompts/support")["labels"]["production"] == 2
    r = requests.post(st.gw.url + "/v1/chat/completions", headers=st.gw.headers(), timeout=10,
                      data=json.dumps({"model": "chat", "prompt": {
                          "id": "support", "label": "production",
                          "variables": {"persona": "a tester", "question": "hi"}}}))
    assert r.status_code == 200, r.text
    assert r.headers["x-switchyard-prompt"] == "support@2"
    shot(st, "prompts")


def test_conversation_escalated_by_rules_shows_its_trail(stack):
    st = stack
    go(st, "conversations")
    fill(css(st, "#conv-id")[0], "dash-conv")
    css(st, "#conv-form button[type=submit]")[0].click()
    wait_until(st, lambda: css(st, ".page[data-page=conversations][data-state=ready] #conv-trail li"),
               "the trail")
    assert "frustrated" in css(st, "[data-kpi=sticky_rule]")[0].text
    assert "strong" in css(st, "[data-kpi=escalation]")[0].text
    turns = css(st, "#conv-trail li")
    assert len(turns) == 3
    assert [t.get_attribute("data-rule") for t in turns] == ["", "", "frustrated"]
    assert turns[2].get_attribute("data-model") == "large"
    assert "rephrased" in turns[0].text and "rephrased" in turns[1].text
    assert urllib.parse.unquote(st.driver.current_url).endswith("#/conversations/dash-conv")
    shot(st, "conversations")


def test_theme_and_sign_out(stack):
    st = stack
    go(st, "overview")
    b = css(st, "#theme")[0]
    b.click()
    assert st.driver.execute_script("return document.documentElement.dataset.theme") == "light"
    b.click()
    assert st.driver.execute_script("return document.documentElement.dataset.theme") == "dark"
    go(st, "routes/chat")
    shot(st, "routes-dark")
    b.click()  # back to auto
    # the phone layout: nothing wider than the screen but the tables' own scrollers
    st.driver.set_window_size(390, 844)
    go(st, "overview")
    assert st.driver.execute_script(
        "return document.documentElement.scrollWidth <= window.innerWidth + 1")
    shot(st, "overview-phone")
    st.driver.set_window_size(1280, 900)
    # keyboard: the skip link comes first and the nav links are reachable
    assert st.driver.execute_script(
        "return [...document.querySelectorAll('#nav a')].every(a => a.tabIndex >= 0)")
    css(st, "#signout")[0].click()
    wait_until(st, lambda: css(st, "#signin")[0].get_attribute("hidden") is None, "sign-in")
    assert st.driver.execute_script("return sessionStorage.length") == 0
    assert css(st, "#nav")[0].get_attribute("hidden") is not None


def test_no_request_left_the_gateway_and_nothing_was_logged_as_an_error(stack):
    st = stack
    drain(st)
    origin = st.gw.admin_url
    urls = []
    for e in st.perf:
        m = json.loads(e["message"])["message"]
        if m.get("method") == "Network.requestWillBeSent":
            urls.append(m["params"]["request"]["url"])
    assert urls, "no request seen in the performance log"
    foreign = [u for u in urls if not u.startswith(origin + "/")]
    assert not foreign, foreign
    # errors: only the refusals the tests asked for (wrong key 401, the duplicate id
    # 409) may show, as the browser's own network lines; no script error, no CSP report
    bad = []
    for e in st.logs:
        text = e["message"]
        if "Content Security Policy" in text or "Refused to" in text:
            bad.append(e)
        elif e["level"] == "SEVERE":
            if e.get("source") == "network" and (
                    "/admin/status - Failed to load resource: the server responded with a "
                    "status of 401" in text or
                    "/admin/experiments - Failed to load resource: the server responded with a "
                    "status of 409" in text):
                continue
            bad.append(e)
    assert not bad, bad
