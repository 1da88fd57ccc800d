/*
 * fake_provider: the `switchyard fake-provider` command — flags, the scenario file, the
 * listening socket, the port file and the main loop. The serving itself is an
 * sy_http_server (http_server.h) whose handler is fp_on_request (fake_server.c); the
 * map of the other files is in fake_server.h.
 */
#include "fake_provider.h"

#include "clock.h"
#include "fake_server.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define FP_DEFAULT_LISTEN "127.0.0.1:9090"
#define FP_TIMEOUT_MS     (3600u * 1000u) /* request and keep-alive: stalls hold long */
#define FP_MAX_BODY_BYTES (64u << 20)

/* ---- command line and main loop */

static void usage(FILE *f)
{
    fputs("usage: switchyard fake-provider [--scenario FILE] [--listen ADDR:PORT]\n"
          "                                [--port-file PATH] [--seed N]\n"
          "\n"
          "A scripted LLM provider for tests and benchmarks. Serves the OpenAI dialect\n"
          "(POST /v1/chat/completions, /v1/responses, /v1/embeddings, GET /v1/models),\n"
          "Gemini (POST /v1beta/models/M:generateContent, :streamGenerateContent,\n"
          ":batchEmbedContents) and Anthropic Messages (POST /v1/messages) with\n"
          "per-model latency, streaming\n"
          "pace, content and injected faults, and a control API under /_fake/ (stats,\n"
          "reset, quality, scenario). Runs until SIGTERM or SIGINT. See\n"
          "docs/fake-provider.md.\n"
          "\n"
          "  --scenario FILE    JSON scenario (models, latency, errors, api_key, seed).\n"
          "                     Without it every model name is accepted with defaults:\n"
          "                     no latency, 16 lorem tokens, no errors, no auth.\n"
          "  --listen ADDR:PORT address to bind (default " FP_DEFAULT_LISTEN "); port 0 picks\n"
          "                     a free port; IPv6 as [::1]:PORT.\n"
          "  --port-file PATH   once listening, write the bound port (decimal and a\n"
          "                     newline) to PATH, atomically (temp file + rename).\n"
          "  --seed N           seed for fault and latency draws; overrides the\n"
          "                     scenario's \"seed\" (default: scenario seed, else 0).\n"
          "  --help             show this help.\n"
          "\n"
          "Per-request test headers: x-fake-error: KIND, x-fake-latency-ms: MS,\n"
          "x-fake-tokens: N, x-fake-tps: N, x-fake-after-tokens: N.\n",
          f);
}

/* Read a whole file; 0 or SY_ERR_IO. */
static int read_file(const char *path, sy_buf *out)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return SY_ERR_IO;
    char chunk[8192];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
        sy_buf_append(out, chunk, n);
    int bad = ferror(f);
    fclose(f);
    return bad ? SY_ERR_IO : SY_OK;
}

/* "HOST:PORT" or "[V6]:PORT" into host (owned) and port; 0 or SY_ERR_INVALID. */
static int parse_listen(const char *spec, char **host, unsigned *port)
{
    const char *colon = strrchr(spec, ':');
    if (!colon || !colon[1])
        return SY_ERR_INVALID;
    char *end;
    unsigned long p = strtoul(colon + 1, &end, 10);
    if (*end || p > 65535)
        return SY_ERR_INVALID;
    const char *h = spec;
    size_t hl = (size_t)(colon - spec);
    if (hl >= 2 && h[0] == '[' && h[hl - 1] == ']') {
        h++;
        hl -= 2;
    }
    *host = hl ? sy_xstrndup(h, hl) : sy_xstrdup("127.0.0.1");
    *port = (unsigned)p;
    return SY_OK;
}

static int write_port_file(const char *path, unsigned port)
{
    sy_buf tmp = {0};
    sy_buf_printf(&tmp, "%s.tmp.%ld", path, (long)getpid());
    FILE *f = fopen(tmp.data, "w");
    int rc = SY_ERR_IO;
    if (f) {
        int ok = fprintf(f, "%u\n", port) > 0;
        ok &= fclose(f) == 0;
        if (ok && rename(tmp.data, path) == 0)
            rc = SY_OK;
        else
            unlink(tmp.data);
    }
    sy_buf_free(&tmp);
    return rc;
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
    event_base_loopbreak(arg);
}

typedef struct fp_options {
    const char *scenario;
    const char *listen;
    const char *port_file;
    int has_seed;
    uint64_t seed;
} fp_options;

/* Parse flags ("--flag value" or "--flag=value"); 0, 1 for --help, or 2 on error. */
static int parse_args(int argc, char **argv, fp_options *o)
{
    o->listen = FP_DEFAULT_LISTEN;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0)
            return 1;
        const char *names[] = {"--scenario", "--listen", "--port-file", "--seed"};
        const char *val = NULL;
        size_t which = SY_ARRAY_LEN(names);
        for (size_t k = 0; k < SY_ARRAY_LEN(names); k++) {
            size_t nl = strlen(names[k]);
            if (strcmp(a, names[k]) == 0) {
                if (i + 1 >= argc) {
                    fprintf(stderr, "fake-provider: %s needs a value\n", a);
                    return 2;
                }
                val = argv[++i];
                which = k;
            } else if (strncmp(a, names[k], nl) == 0 && a[nl] == '=') {
                val = a + nl + 1;
                which = k;
            }
        }
        switch (which) {
        case 0:
            o->scenario = val;
            break;
        case 1:
            o->listen = val;
            break;
        case 2:
            o->port_file = val;
            break;
        case 3: {
            char *end;
            errno = 0;
            unsigned long long s = strtoull(val, &end, 10);
            if (!*val || *end || errno || val[0] == '-') {
                fprintf(stderr, "fake-provider: --seed: expected a non-negative integer\n");
                return 2;
            }
            o->has_seed = 1;
            o->seed = s;
            break;
        }
        default:
            fprintf(stderr, "fake-provider: unknown argument '%s' (see --help)\n", a);
            return 2;
        }
    }
    return 0;
}

/*
 * A listening socket on host:port (host a name or a numeric address), non-blocking,
 * SO_REUSEADDR but not SO_REUSEPORT, so that a port in use is a startup error. Returns
 * the fd and the bound port, or -1 with errno set.
 */
static int listen_on(const char *host, unsigned port, unsigned *bound)
{
    char service[8];
    snprintf(service, sizeof service, "%u", port);
    struct addrinfo hints = {.ai_family = AF_UNSPEC,
                             .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
    struct addrinfo *res;
    if (getaddrinfo(host, service, &hints, &res) != 0) {
        errno = EADDRNOTAVAIL;
        return -1;
    }
    int fd = -1, saved = 0;
    for (struct addrinfo *ai = res; ai && fd < 0; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0)
            continue;
        int one = 1;
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        if (bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(fd, SOMAXCONN) < 0) {
            saved = errno;
            close(fd);
            fd = -1;
        }
    }
    freeaddrinfo(res);
    if (fd < 0) {
        errno = saved ? saved : EADDRNOTAVAIL;
        return -1;
    }
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    getsockname(fd, (struct sockaddr *)&ss, &sl);
    *bound = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                            : ((struct sockaddr_in *)&ss)->sin_port);
    return fd;
}

/* The scenario named by --scenario, or the default; NULL after a message on stderr. */
static fp_scenario *load_scenario(const char *path)
{
    if (!path)
        return fp_scenario_new_default();
    fp_scenario *scenario = NULL;
    sy_buf text = {0}, err = {0};
    if (read_file(path, &text) != SY_OK) {
        fprintf(stderr, "fake-provider: cannot read %s: %s\n", path, strerror(errno));
    } else if (fp_scenario_parse(text.data ? text.data : "", text.len, &scenario, &err) != SY_OK) {
        fprintf(stderr, "fake-provider: %s: %s\n", path, err.data);
        scenario = NULL;
    }
    sy_buf_free(&text);
    sy_buf_free(&err);
    return scenario;
}

/* Listen, announce, serve until SIGTERM or SIGINT; 0, or 1 when startup fails. */
static int serve(fp_server *srv, const fp_options *o, const char *host, unsigned port)
{
    int fd = listen_on(host, port, &port);
    if (fd < 0) {
        fprintf(stderr, "fake-provider: cannot listen on %s: %s\n", o->listen, strerror(errno));
        return 1;
    }
    const sy_http_limits limits = {
        .max_body_bytes = FP_MAX_BODY_BYTES,
        .max_header_bytes = 1u << 20,
        .max_headers = SY_HTTP_HEADERS_CAP,
        .request_timeout_ms = FP_TIMEOUT_MS,
        .idle_timeout_ms = FP_TIMEOUT_MS,
        .max_connections = 1u << 20,
    };
    srv->http = sy_http_server_new(srv->base, fd, &limits, fp_on_request, srv);
    if (!srv->http)
        return 1;
    if (o->port_file && write_port_file(o->port_file, port) != SY_OK) {
        fprintf(stderr, "fake-provider: cannot write port file %s: %s\n", o->port_file,
                strerror(errno));
        return 1;
    }
    fprintf(stderr, "fake-provider: listening on %s port %u (%zu models, seed %llu)\n", host, port,
            srv->scenario->n_models, (unsigned long long)srv->seed);
    struct event *sigterm = evsignal_new(srv->base, SIGTERM, on_signal, srv->base);
    struct event *sigint = evsignal_new(srv->base, SIGINT, on_signal, srv->base);
    evsignal_add(sigterm, NULL);
    evsignal_add(sigint, NULL);
    event_base_dispatch(srv->base);
    event_free(sigterm);
    event_free(sigint);
    return 0;
}

/*
 * Parse, load, serve. Every exit path frees what it made: freeing the HTTP server ends
 * the live requests through their abort callbacks before the statistics go.
 */
int sy_cmd_fake_provider(int argc, char **argv)
{
    fp_options o = {0};
    int rc = parse_args(argc, argv, &o);
    if (rc == 1) {
        usage(stdout);
        return 0;
    }
    if (rc)
        return 2;
    fp_scenario *scenario = load_scenario(o.scenario);
    if (!scenario)
        return 1;
    char *host = NULL;
    unsigned port = 0;
    if (parse_listen(o.listen, &host, &port) != SY_OK) {
        fprintf(stderr, "fake-provider: --listen: expected ADDR:PORT, got '%s'\n", o.listen);
        fp_scenario_free(scenario);
        return 2;
    }

    signal(SIGPIPE, SIG_IGN);
    fp_server srv = {0};
    srv.base = event_base_new();
    srv.fault_rng = gsl_rng_alloc(gsl_rng_mt19937);
    srv.latency_rng = gsl_rng_alloc(gsl_rng_mt19937);
    srv.id_nonce = sy_wall_ms() ^ ((uint64_t)getpid() << 32);
    srv.seed = o.has_seed ? o.seed : scenario->has_seed ? scenario->seed : 0;
    fp_rng_seed(srv.fault_rng, srv.latency_rng, srv.seed);
    fp_install_scenario(&srv, scenario, 1);
    if (!srv.base) {
        fprintf(stderr, "fake-provider: cannot initialise the event loop\n");
        rc = 1;
    } else {
        rc = serve(&srv, &o, host, port);
    }

    srv.shutting_down = 1;
    sy_http_server_free(srv.http);
    fp_stats_clear(&srv);
    fp_scenario_free(srv.scenario);
    gsl_rng_free(srv.fault_rng);
    gsl_rng_free(srv.latency_rng);
    if (srv.base)
        event_base_free(srv.base);
    free(host);
    return rc;
}
