/*
 * cmd_hash_key.c — `switchyard hash-key`: turn a bearer key into the SHA-256 digest the
 * configuration stores (client_keys[].sha256, admin.key_sha256), or generate a new key.
 *
 * Generated keys are "sk-sy-" followed by 32 bytes from /dev/urandom in unpadded
 * base64url (43 characters): 256 bits of entropy, safe in an Authorization header.
 */
#include "commands.h"
#include "sha256.h"
#include "sy_common.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#define KEY_PREFIX     "sk-sy-"
#define KEY_RANDOM     32   /* bytes of randomness in a generated key */
#define MAX_KEY_LEN    4096 /* longest key read from stdin */
#define SHORT_KEY_WARN 24   /* warn below this many characters */

static const char hash_key_usage[] =
    "usage: switchyard hash-key [options]\n"
    "\n"
    "Print the SHA-256 digest of a key, for client_keys[].sha256 or admin.key_sha256 in\n"
    "switchyard.json. The configuration stores only digests, never keys.\n"
    "\n"
    "Without --generate, one line is read from standard input (the trailing newline\n"
    "is removed; on a terminal the input is not echoed) and only its digest is printed:\n"
    "    sha256: <64 hex digits>\n"
    "With --generate, a new random key is made and both are printed:\n"
    "    key:    sk-sy-<43 base64url characters (32 random bytes)>\n"
    "    sha256: <64 hex digits>\n"
    "The key is shown only this once: hand it to the client, keep the digest.\n"
    "\n"
    "  -g, --generate       generate a new random key instead of reading one\n"
    "  -n, --name NAME      also print a ready-to-paste client_keys entry:\n"
    "                       {\"name\": \"NAME\", \"sha256\": \"<digest>\"}\n"
    "  -h, --help           show this help\n"
    "\n"
    "Exit status: 0 on success, 1 when no usable key was read or randomness is\n"
    "unavailable, 2 on a usage error.\n";

/* Terminal state to restore if a signal arrives while echo is off. */
static struct termios saved_tty;
static volatile sig_atomic_t tty_dirty;

static void restore_tty_and_die(int sig)
{
    if (tty_dirty)
        tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved_tty);
    signal(sig, SIG_DFL);
    raise(sig);
}

/*
 * Read one line of at most MAX_KEY_LEN bytes from stdin into buf (NUL-terminated, line
 * ending removed). On a terminal, prompts on stderr and turns echo off meanwhile,
 * restoring it even on SIGINT/SIGTERM. Returns the length, or -1 after printing why.
 */
static long read_key(char *buf, size_t cap)
{
    int tty = isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &saved_tty) == 0;
    if (tty) {
        struct termios quiet = saved_tty;
        quiet.c_lflag &= ~(tcflag_t)ECHO;
        signal(SIGINT, restore_tty_and_die);
        signal(SIGTERM, restore_tty_and_die);
        fputs("key (input hidden): ", stderr);
        tty_dirty = 1;
        tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
    }
    char *line = fgets(buf, (int)cap, stdin);
    if (tty) {
        tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved_tty);
        tty_dirty = 0;
        signal(SIGINT, SIG_DFL);
        signal(SIGTERM, SIG_DFL);
        fputc('\n', stderr);
    }
    if (!line) {
        fprintf(stderr, "switchyard hash-key: no key on standard input\n");
        return -1;
    }
    size_t n = strlen(buf);
    if (n > 0 && buf[n - 1] == '\n')
        buf[--n] = '\0';
    else if (n == cap - 1 && !feof(stdin)) {
        fprintf(stderr, "switchyard hash-key: key longer than %d bytes\n", MAX_KEY_LEN);
        return -1;
    }
    if (n > 0 && buf[n - 1] == '\r')
        buf[--n] = '\0';
    return (long)n;
}

/* A bearer token must be non-empty and free of whitespace and control characters. */
static int usable_key(const char *key, size_t len)
{
    if (len == 0) {
        fprintf(stderr, "switchyard hash-key: the key is empty\n");
        return 0;
    }
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)key[i];
        if (ch <= 0x20 || ch == 0x7f) {
            fprintf(stderr, "switchyard hash-key: a key cannot contain whitespace or control "
                            "characters (it is sent in an Authorization header)\n");
            return 0;
        }
    }
    if (len < SHORT_KEY_WARN)
        fprintf(stderr,
                "switchyard hash-key: warning: a %zu-character key is easy to guess; "
                "consider --generate\n",
                len);
    return 1;
}

/* Fill buf with n bytes from /dev/urandom. Returns 0 or SY_ERR_IO after printing why. */
static int random_bytes(uint8_t *buf, size_t n)
{
    int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        fprintf(stderr, "switchyard hash-key: cannot open /dev/urandom: %s\n", strerror(errno));
        return SY_ERR_IO;
    }
    size_t got = 0;
    while (got < n) {
        ssize_t r = read(fd, buf + got, n - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            fprintf(stderr, "switchyard hash-key: cannot read /dev/urandom: %s\n",
                    r < 0 ? strerror(errno) : "end of file");
            close(fd);
            return SY_ERR_IO;
        }
        got += (size_t)r;
    }
    close(fd);
    return 0;
}

/* Unpadded base64url (RFC 4648 §5) of n bytes into out, which needs 4*ceil(n/3)+1 bytes. */
static void base64url(const uint8_t *in, size_t n, char *out)
{
    static const char abc[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    size_t o = 0;
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16;
        if (i + 1 < n)
            v |= (uint32_t)in[i + 1] << 8;
        if (i + 2 < n)
            v |= in[i + 2];
        out[o++] = abc[(v >> 18) & 63];
        out[o++] = abc[(v >> 12) & 63];
        if (i + 1 < n)
            out[o++] = abc[(v >> 6) & 63];
        if (i + 2 < n)
            out[o++] = abc[v & 63];
    }
    out[o] = '\0';
}

/* A --name that can be pasted into JSON as is and that the loader accepts. */
static int printable_name(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 128)
        return 0;
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f || *s == '"' || *s == '\\')
            return 0;
    return 1;
}

int sy_cmd_hash_key(int argc, char **argv)
{
    static const struct option opts[] = {{"generate", no_argument, 0, 'g'},
                                         {"name", required_argument, 0, 'n'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    int generate = 0, c;
    const char *name = NULL;
    optind = 1;
    while ((c = getopt_long(argc, argv, "gn:h", opts, NULL)) != -1) {
        switch (c) {
        case 'g':
            generate = 1;
            break;
        case 'n':
            name = optarg;
            break;
        case 'h':
            fputs(hash_key_usage, stdout);
            return 0;
        default:
            fputs(hash_key_usage, stderr);
            return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "switchyard hash-key: unexpected argument '%s'\n\n", argv[optind]);
        fputs(hash_key_usage, stderr);
        return 2;
    }
    if (name && !printable_name(name)) {
        fprintf(stderr, "switchyard hash-key: --name must be 1..128 bytes without quotes, "
                        "backslashes or control characters\n");
        return 2;
    }

    char key[MAX_KEY_LEN + 2];
    size_t len;
    if (generate) {
        uint8_t raw[KEY_RANDOM];
        if (random_bytes(raw, sizeof(raw)) != 0)
            return 1;
        memcpy(key, KEY_PREFIX, sizeof(KEY_PREFIX) - 1);
        base64url(raw, sizeof(raw), key + sizeof(KEY_PREFIX) - 1);
        explicit_bzero(raw, sizeof(raw));
        len = strlen(key);
    } else {
        long n = read_key(key, sizeof(key));
        if (n < 0 || !usable_key(key, (size_t)n)) {
            explicit_bzero(key, sizeof(key));
            return 1;
        }
        len = (size_t)n;
    }

    uint8_t digest[SY_SHA256_LEN];
    char hex[SY_SHA256_HEX_LEN + 1];
    sy_sha256(key, len, digest);
    sy_hex_encode(digest, sizeof(digest), hex);
    if (generate)
        printf("key:    %s\n", key);
    printf("sha256: %s\n", hex);
    if (name)
        printf("{\"name\": \"%s\", \"sha256\": \"%s\"}\n", name, hex);
    explicit_bzero(key, sizeof(key));
    return fflush(stdout) == 0 ? 0 : 1;
}
