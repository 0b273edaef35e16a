/*
 * driver.c — a test-only executable that drives the channel adapters on an
 * oc_loop_t from JSON commands, one per line on stdin, and prints one JSON
 * line per result on stdout.  The integration tests
 * (tests/integration/adapters_*.test.mjs) run it against `onecount sim`.
 *
 * Commands (every one carries an "id" echoed in its answer):
 *   {"op":"conn","name","kind","base_url","settings","secrets","rate_scale"}  define or replace a connection
 *   {"op":"secrets","conn","secrets"}                                        replace its secrets
 *   {"op":"push"|"read","conn","items"}, {"op":"fetch_orders"|"fetch_returns","conn","cursor"},
 *   {"op":"acknowledge","conn","ids"}, {"op":"test","conn"}                 asynchronous adapter calls
 *   {"op":"verify_webhook","conn","signature","body"}                      synchronous
 *   {"op":"validate","kind","settings","secrets"}                          synchronous
 *   {"op":"free_state","conn"}                                             ends its operations, drops tokens
 *   {"op":"limits","conn"}    its rate-limit buckets as the adapter has them: [{name, capacity, max_capacity,
 *                             rate, tokens, throttled}] (none before its first call)
 *   {"op":"quit"}                                                          frees everything and exits 0
 * Answers: {"id","ok","error","retryable","http_status","retry_after_ms","result","ms"}; a synchronous
 * refusal of an adapter call is {"id","ok":false,"rc":"…"}.  Rotated secrets are announced as
 * {"event":"secret","conn","name"} (never with the value).  EOF on stdin is "quit".
 */
#include "adapters/adapter.h"
#include "adapters/chttp.h"
#include "adapters/internal.h"
#include "runtime/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#define MAX_CONNS 32

typedef struct conn {
    char name[64];
    const oc_adapter_t *a;
    oc_channel_conn_t c;
    char *base_url;
} conn_t;

typedef struct pending {
    json_t *id;
    uint64_t start_us;
} pending_t;

static oc_loop_t *loop;
static oc_chttp_t *http;
static conn_t conns[MAX_CONNS];
static h2o_socket_t *in;
static int quitting;
static size_t npending;

static void emit(json_t *j)
{
    char *s = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    if (s != NULL) {
        fputs(s, stdout);
        fputc('\n', stdout);
        fflush(stdout);
        free(s);
    }
}

static conn_t *find(const char *name)
{
    for (int i = 0; name != NULL && i < MAX_CONNS; i++)
        if (conns[i].a != NULL && strcmp(conns[i].name, name) == 0)
            return &conns[i];
    return NULL;
}

static void conn_clear(conn_t *k)
{
    if (k->a != NULL && k->c.state != NULL) {
        void *st = k->c.state;
        k->c.state = NULL;
        k->a->state_free(st);
    }
    json_decref(k->c.settings);
    json_decref(k->c.secrets);
    free(k->base_url);
    memset(k, 0, sizeof(*k));
}

static void on_secret(oc_channel_conn_t *c, const char *name, const char *value, void *arg)
{
    conn_t *k = arg;
    /* keep it like an owner would (so a new state uses it), announce without the value */
    json_object_set_new(k->c.secrets, name, json_string(value));
    emit(json_pack("{s:s, s:s, s:s}", "event", "secret", "conn", k->name, "name", name));
}

static void on_done(void *arg, const oc_adapter_error_t *e, json_t *result)
{
    pending_t *p = arg;
    json_t *out = json_pack("{s:O, s:b, s:I}", "id", p->id, "ok", e == NULL, "ms",
                            (json_int_t)((oc_mono_us() - p->start_us) / 1000));
    if (e != NULL) {
        json_object_set_new(out, "error", json_string(e->err != NULL ? e->err : "error"));
        json_object_set_new(out, "retryable", json_boolean(e->retryable));
        json_object_set_new(out, "http_status", json_integer(e->http_status));
        json_object_set_new(out, "retry_after_ms", json_integer((json_int_t)e->retry_after_ms));
    } else {
        json_object_set(out, "result", result != NULL ? result : json_null());
    }
    emit(out);
    json_decref(p->id);
    free(p);
    npending--;
}

static void answer_sync(json_t *id, int ok, const char *error, json_t *result)
{
    json_t *out = json_pack("{s:O, s:b}", "id", id != NULL ? id : json_null(), "ok", ok);
    if (error != NULL)
        json_object_set_new(out, "error", json_string(error));
    if (result != NULL)
        json_object_set_new(out, "result", result);
    emit(out);
}

static void cmd_conn(json_t *cmd, json_t *id)
{
    const char *name = json_string_value(json_object_get(cmd, "name"));
    const oc_adapter_t *a = oc_adapter_by_name(json_string_value(json_object_get(cmd, "kind")));
    if (name == NULL || strlen(name) >= sizeof(conns[0].name) || a == NULL) {
        answer_sync(id, 0, "conn needs a name and a known kind", NULL);
        return;
    }
    conn_t *k = find(name);
    if (k == NULL)
        for (int i = 0; i < MAX_CONNS && k == NULL; i++)
            if (conns[i].a == NULL)
                k = &conns[i];
    if (k == NULL) {
        answer_sync(id, 0, "too many connections", NULL);
        return;
    }
    conn_clear(k);
    snprintf(k->name, sizeof(k->name), "%s", name);
    k->a = a;
    const char *base = json_string_value(json_object_get(cmd, "base_url"));
    k->base_url = base != NULL ? strdup(base) : NULL;
    k->c.kind = a->kind;
    k->c.base_url = k->base_url;
    json_t *settings = json_object_get(cmd, "settings"), *secrets = json_object_get(cmd, "secrets");
    k->c.settings = json_is_object(settings) ? json_deep_copy(settings) : json_object();
    k->c.secrets = json_is_object(secrets) ? json_deep_copy(secrets) : json_object();
    json_t *scale = json_object_get(cmd, "rate_scale");
    k->c.rate_scale = json_is_number(scale) ? json_number_value(scale) : 1.0;
    snprintf(k->c.id, sizeof(k->c.id), "%s", name);
    snprintf(k->c.tenant, sizeof(k->c.tenant), "driver");
    k->c.on_secret = on_secret;
    k->c.on_secret_arg = k;
    answer_sync(id, 1, NULL, NULL);
}

static void cmd_adapter(const char *op, json_t *cmd, json_t *id)
{
    conn_t *k = find(json_string_value(json_object_get(cmd, "conn")));
    if (k == NULL) {
        answer_sync(id, 0, "unknown conn", NULL);
        return;
    }
    pending_t *p = calloc(1, sizeof(*p));
    p->id = json_incref(id);
    p->start_us = oc_mono_us();
    int rc;
    if (strcmp(op, "push") == 0)
        rc = k->a->push(http, &k->c, json_object_get(cmd, "items"), on_done, p);
    else if (strcmp(op, "read") == 0)
        rc = k->a->read(http, &k->c, json_object_get(cmd, "items"), on_done, p);
    else if (strcmp(op, "fetch_orders") == 0)
        rc = k->a->fetch_orders(http, &k->c, json_string_value(json_object_get(cmd, "cursor")), on_done, p);
    else if (strcmp(op, "fetch_returns") == 0)
        rc = k->a->fetch_returns(http, &k->c, json_string_value(json_object_get(cmd, "cursor")), on_done, p);
    else if (strcmp(op, "acknowledge") == 0)
        rc = k->a->acknowledge(http, &k->c, json_object_get(cmd, "ids"), on_done, p);
    else
        rc = k->a->test(http, &k->c, on_done, p);
    if (rc != 0) {
        json_t *out = json_pack("{s:O, s:b, s:s}", "id", id, "ok", 0, "rc", oc_strerror(rc));
        emit(out);
        json_decref(p->id);
        free(p);
        return;
    }
    npending++;
}

static void quit(void)
{
    quitting = 1;
    for (int i = 0; i < MAX_CONNS; i++)
        conn_clear(&conns[i]);
    if (in != NULL) {
        h2o_socket_close(in);
        in = NULL;
    }
}

/* The connection's buckets (its adapter state is an oc_cstate_t: adapters/internal.h). */
static json_t *limits_json(conn_t *k)
{
    json_t *out = json_array();
    oc_cstate_t *st = k->c.state;
    oc_rl_bucket_t *b;
    for (size_t i = 0; st != NULL && (b = oc_ratelimit_bucket_at(st->rl, i)) != NULL; i++) {
        oc_rl_refill(b, oc_mono_us());
        json_array_append_new(out, json_pack("{s:s, s:f, s:f, s:f, s:f, s:I}", "name", b->name, "capacity", b->capacity,
                                             "max_capacity", b->max_capacity, "rate", b->rate, "tokens", b->tokens,
                                             "throttled", (json_int_t)b->throttled));
    }
    return out;
}

static void handle(json_t *cmd)
{
    json_t *id = json_object_get(cmd, "id");
    const char *op = json_string_value(json_object_get(cmd, "op"));
    if (op == NULL) {
        answer_sync(id, 0, "no op", NULL);
    } else if (strcmp(op, "conn") == 0) {
        cmd_conn(cmd, id);
    } else if (strcmp(op, "secrets") == 0) {
        conn_t *k = find(json_string_value(json_object_get(cmd, "conn")));
        json_t *s = json_object_get(cmd, "secrets");
        if (k != NULL && json_is_object(s)) {
            json_decref(k->c.secrets);
            k->c.secrets = json_deep_copy(s);
        }
        answer_sync(id, k != NULL, k != NULL ? NULL : "unknown conn", NULL);
    } else if (strcmp(op, "push") == 0 || strcmp(op, "read") == 0 || strcmp(op, "fetch_orders") == 0 ||
               strcmp(op, "fetch_returns") == 0 || strcmp(op, "acknowledge") == 0 || strcmp(op, "test") == 0) {
        cmd_adapter(op, cmd, id);
    } else if (strcmp(op, "verify_webhook") == 0) {
        conn_t *k = find(json_string_value(json_object_get(cmd, "conn")));
        const char *sig = json_string_value(json_object_get(cmd, "signature"));
        const char *body = json_string_value(json_object_get(cmd, "body"));
        if (k == NULL || k->a->verify_webhook == NULL || body == NULL)
            answer_sync(id, 0, "no webhook verification for this conn", NULL);
        else
            answer_sync(id, 1, NULL,
                        json_pack("{s:b}", "valid",
                                  k->a->verify_webhook(&k->c, sig, body,
                                                       json_string_length(json_object_get(cmd, "body"))) == 0));
    } else if (strcmp(op, "validate") == 0) {
        const oc_adapter_t *a = oc_adapter_by_name(json_string_value(json_object_get(cmd, "kind")));
        char why[200] = "";
        if (a == NULL)
            answer_sync(id, 0, "unknown kind", NULL);
        else if (a->validate(json_object_get(cmd, "settings"), json_object_get(cmd, "secrets"), why, sizeof(why)) != 0)
            answer_sync(id, 1, NULL, json_pack("{s:b, s:s}", "valid", 0, "why", why));
        else
            answer_sync(id, 1, NULL, json_pack("{s:b}", "valid", 1));
    } else if (strcmp(op, "limits") == 0) {
        conn_t *k = find(json_string_value(json_object_get(cmd, "conn")));
        if (k == NULL)
            answer_sync(id, 0, "unknown conn", NULL);
        else
            answer_sync(id, 1, NULL, limits_json(k));
    } else if (strcmp(op, "free_state") == 0) {
        conn_t *k = find(json_string_value(json_object_get(cmd, "conn")));
        if (k != NULL && k->c.state != NULL) {
            void *st = k->c.state;
            k->c.state = NULL;
            k->a->state_free(st);
        }
        answer_sync(id, k != NULL, k != NULL ? NULL : "unknown conn", NULL);
    } else if (strcmp(op, "quit") == 0) {
        answer_sync(id, 1, NULL, NULL);
        quit();
    } else {
        answer_sync(id, 0, "unknown op", NULL);
    }
}

static void on_stdin(h2o_socket_t *sock, const char *err)
{
    h2o_buffer_t *buf = sock->input;
    for (;;) {
        char *nl = buf->size > 0 ? memchr(buf->bytes, '\n', buf->size) : NULL;
        if (nl == NULL)
            break;
        size_t len = (size_t)(nl - buf->bytes);
        json_error_t je;
        json_t *cmd = len > 0 ? json_loadb(buf->bytes, len, 0, &je) : NULL;
        h2o_buffer_consume(&sock->input, len + 1);
        if (cmd == NULL) {
            if (len > 0)
                answer_sync(NULL, 0, "invalid JSON command", NULL);
        } else {
            handle(cmd);
            json_decref(cmd);
        }
        if (quitting)
            return;
        buf = sock->input;
    }
    if (err != NULL && !quitting)
        quit(); /* EOF */
}

int main(void)
{
    const char *level = getenv("ONECOUNT_LOG_LEVEL");
    oc_log_set_level(level != NULL ? level : "warn");
    loop = oc_loop_create();
    http = oc_chttp_create(loop);
    if (loop == NULL || http == NULL) {
        fprintf(stderr, "cannot create the loop or the http client\n");
        return 1;
    }
    in = h2o_evloop_socket_create(oc_loop_h2o(loop), dup(0), 0);
    h2o_socket_read_start(in, on_stdin);
    while (!quitting || npending > 0)
        oc_loop_run_once(loop, 100);
    oc_chttp_destroy(http);
    for (int i = 0; i < 5; i++) /* let h2o dispose the sockets closed above */
        oc_loop_run_once(loop, 0);
    oc_loop_destroy(loop);
    return 0;
}
