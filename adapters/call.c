/*
 * call.c — per-connection state, operations and the call engine shared by
 * the channel adapters (see internal.h).
 *
 * A call moves through: token (shared fetch per connection) → rate limit
 * (FIFO wait in its bucket) → send → classify the answer → deliver, or back
 * to an earlier step (refresh after a 401, bucket after a throttle, backoff
 * timer after a transient failure).  Every step after oc_call_start() runs
 * from the loop (a timer, a bucket, an HTTP completion), so callbacks never
 * run inside the caller's own call.  A call is unlinked from its operation
 * before its callback runs: the callback may end the operation, which
 * aborts the calls still linked, and the engine frees this one afterwards.
 */
#include "adapters/internal.h"
#include "runtime/log.h"

#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#define TOKEN_DEADLINE_MS 30000
#define TOKEN_TIMEOUT_MS  15000
#define BACKOFF_BASE_MS   250
#define BACKOFF_CAP_MS    8000
#define MAX_THROTTLES     60
#define MIN_SEND_MS       20

enum { PH_IDLE = 0, PH_TOKEN, PH_RATE, PH_FAIL };

/* --- state ------------------------------------------------------------------------------ */

static void wipe_free(char *s)
{
    if (s != NULL) {
        sodium_memzero(s, strlen(s));
        free(s);
    }
}

oc_cstate_t *oc_cstate_get(oc_channel_conn_t *c, oc_chttp_t *http, const oc_chan_t *ch, int *rc)
{
    oc_cstate_t *st = c->state;
    if (st != NULL) {
        *rc = st->ch != ch || st->loop != oc_chttp_loop(http) ? OC_EINVAL : st->closing ? OC_EUNAVAIL : 0;
        return *rc == 0 ? st : NULL;
    }
    st = oc_calloc(1, sizeof(*st));
    st->ch = ch;
    st->loop = oc_chttp_loop(http);
    st->conn = c;
    h2o_linklist_init_anchor(&st->token_waiters);
    h2o_linklist_init_anchor(&st->ops);
    st->rl = oc_ratelimit_create(st->loop, c->rate_scale);
    st->cache = json_object();
    oc_ratelimit_set_max_inflight(st->rl, (unsigned)oc_setting_int(c, "max_in_flight", 8, 1, 256));
    c->state = st;
    c->state_free = oc_cstate_free;
    *rc = 0;
    return st;
}

void oc_cstate_free(void *state)
{
    oc_cstate_t *st = state;
    if (st == NULL || st->closing)
        return;
    st->closing = 1;
    if (st->token_call != NULL)
        oc_call_abort(st->token_call);
    while (!h2o_linklist_is_empty(&st->ops)) {
        oc_op_t *op = H2O_STRUCT_FROM_MEMBER(oc_op_t, link, st->ops.next);
        oc_op_fail(op, 1, 0, 0, "connection closed");
    }
    oc_ratelimit_destroy(st->rl);
    wipe_free(st->token);
    wipe_free(st->refresh_token);
    json_decref(st->cache);
    free(st);
}

void oc_cstate_set_token(oc_cstate_t *st, const char *token, uint64_t expires_in_s)
{
    char *t = oc_strdup(token);
    wipe_free(st->token);
    st->token = t;
    st->token_gen++;
    if (expires_in_s > 0) {
        uint64_t life = expires_in_s * 1000;
        st->token_expires_ms = oc_now_ms() + life;
        st->token_margin_ms = life / 10 < 60000 ? life / 10 : 60000;
    } else {
        st->token_expires_ms = 0;
        st->token_margin_ms = 0;
    }
}

void oc_cstate_rotate_refresh(oc_cstate_t *st, const char *refresh_token)
{
    char *t = oc_strdup(refresh_token);
    wipe_free(st->refresh_token);
    st->refresh_token = t;
    if (st->conn->on_secret != NULL)
        st->conn->on_secret(st->conn, "refresh_token", t, st->conn->on_secret_arg);
}

static int token_usable(const oc_cstate_t *st)
{
    return st->token != NULL && (st->token_expires_ms == 0 || oc_now_ms() + st->token_margin_ms < st->token_expires_ms);
}

/* --- operations ----------------------------------------------------------------------------- */

static void on_op_timer(oc_timer_t *t);

oc_op_t *oc_op_new(size_t size, oc_chttp_t *http, oc_channel_conn_t *c, const oc_chan_t *ch, uint64_t deadline_ms,
                   oc_adapter_cb cb, void *arg, int *rc)
{
    oc_cstate_t *st = oc_cstate_get(c, http, ch, rc);
    if (st == NULL)
        return NULL;
    oc_op_t *op = oc_calloc(1, size);
    op->st = st;
    op->conn = c;
    op->http = http;
    op->ch = ch;
    op->cb = cb;
    op->arg = arg;
    h2o_linklist_init_anchor(&op->calls);
    oc_timer_init(&op->timer, on_op_timer, op);
    deadline_ms = (uint64_t)oc_setting_int(c, "deadline_ms", (long long)deadline_ms, 100, 3600000);
    op->deadline_us = oc_mono_us() + deadline_ms * 1000;
    op->timeout_ms = (uint32_t)oc_setting_int(c, "timeout_ms", 30000, 50, 300000);
    op->max_attempts = (int)oc_setting_int(c, "max_attempts", 6, 1, 20);
    h2o_linklist_insert(&st->ops, &op->link);
    *rc = 0;
    return op;
}

void oc_op_discard(oc_op_t *op)
{
    while (!h2o_linklist_is_empty(&op->calls))
        oc_call_abort(H2O_STRUCT_FROM_MEMBER(oc_call_t, link, op->calls.next));
    oc_timer_stop(op->st->loop, &op->timer);
    h2o_linklist_unlink(&op->link);
    if (op->on_free != NULL)
        op->on_free(op);
    json_decref(op->result);
    free(op);
}

void oc_op_finish(oc_op_t *op, const oc_adapter_error_t *e)
{
    if (op->finished)
        return;
    op->finished = 1;
    while (!h2o_linklist_is_empty(&op->calls))
        oc_call_abort(H2O_STRUCT_FROM_MEMBER(oc_call_t, link, op->calls.next));
    oc_timer_stop(op->st->loop, &op->timer);
    h2o_linklist_unlink(&op->link);
    if (e != NULL && e->err != NULL && oc_log_enabled(OC_LOG_DEBUG))
        oc_log_fields(OC_LOG_DEBUG, "channel operation failed",
                      json_pack("{s:s, s:s, s:s, s:b, s:i}", "channel", op->ch->name, "tenant", op->conn->tenant,
                                "error", e->err, "retryable", e->retryable, "status", e->http_status));
    op->cb(op->arg, e, e != NULL ? NULL : op->result); /* may free the state: only op is touched after */
    if (op->on_free != NULL)
        op->on_free(op);
    json_decref(op->result);
    free(op);
}

void oc_op_fail(oc_op_t *op, int retryable, int http_status, uint64_t retry_after_ms, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(op->errbuf, sizeof(op->errbuf), fmt, ap);
    va_end(ap);
    op->err = (oc_adapter_error_t){
        .err = op->errbuf, .retryable = retryable, .http_status = http_status, .retry_after_ms = retry_after_ms};
    oc_op_finish(op, &op->err);
}

void oc_op_fail_with(oc_op_t *op, const oc_adapter_error_t *e)
{
    oc_adapter_error_t copy = *e;
    if (e->err != op->errbuf)
        snprintf(op->errbuf, sizeof(op->errbuf), "%s", e->err != NULL ? e->err : "error");
    op->err = copy;
    op->err.err = op->errbuf;
    oc_op_finish(op, &op->err);
}

static void on_op_timer(oc_timer_t *t)
{
    oc_op_t *op = t->data;
    if (op->finish_pending) {
        int with_error = op->finish_pending == 2;
        op->finish_pending = 0;
        oc_op_finish(op, with_error ? &op->err : NULL);
        return;
    }
    void (*fn)(oc_op_t *) = op->sleep_fn;
    op->sleep_fn = NULL;
    if (fn != NULL)
        fn(op);
}

void oc_op_finish_later(oc_op_t *op)
{
    op->finish_pending = 1;
    oc_timer_start(op->st->loop, &op->timer, 0);
}

void oc_op_fail_later(oc_op_t *op, int retryable, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(op->errbuf, sizeof(op->errbuf), fmt, ap);
    va_end(ap);
    op->err = (oc_adapter_error_t){.err = op->errbuf, .retryable = retryable};
    op->finish_pending = 2;
    oc_timer_start(op->st->loop, &op->timer, 0);
}

void oc_op_sleep(oc_op_t *op, uint64_t delay_ms, void (*fn)(oc_op_t *op))
{
    op->sleep_fn = fn;
    oc_timer_start(op->st->loop, &op->timer, delay_ms);
}

uint64_t oc_op_left_ms(const oc_op_t *op)
{
    uint64_t now = oc_mono_us();
    return now >= op->deadline_us ? 0 : (op->deadline_us - now) / 1000;
}

size_t oc_op_running(const oc_op_t *op)
{
    size_t n = 0;
    for (h2o_linklist_t *l = op->calls.next; l != &op->calls; l = l->next)
        n++;
    return n;
}

/* --- calls --------------------------------------------------------------------------------- */

static void on_call_timer(oc_timer_t *t);

static oc_call_t *call_alloc(oc_cstate_t *st, oc_chttp_t *http, const char *method, oc_call_cb cb)
{
    oc_call_t *call = oc_calloc(1, sizeof(*call));
    call->st = st;
    call->loop = st->loop;
    call->http = http;
    call->conn = st->conn;
    snprintf(call->method, sizeof(call->method), "%s", method);
    call->auth = 1;
    call->cb = cb;
    oc_timer_init(&call->timer, on_call_timer, call);
    return call;
}

oc_call_t *oc_call_new(oc_op_t *op, const char *method, const char *bucket, double cost, oc_call_cb cb)
{
    oc_call_t *call = call_alloc(op->st, op->http, method, cb);
    call->op = op;
    call->bucket_name = bucket;
    call->cost = cost > 0 ? cost : 1;
    call->deadline_us = op->deadline_us;
    call->timeout_ms = op->timeout_ms;
    h2o_linklist_insert(&op->calls, &call->link);
    return call;
}

int oc_call_url(oc_call_t *call, const char *fmt, ...)
{
    oc_buf_t b = {0};
    va_list ap;
    va_start(ap, fmt);
    int rc = oc_buf_vprintf(&b, fmt, ap);
    va_end(ap);
    if (rc != 0) {
        oc_buf_free(&b);
        return rc;
    }
    free(call->url);
    call->url = b.data; /* not NULL: oc_buf_vprintf allocates even for "" */
    return 0;
}

int oc_call_header(oc_call_t *call, const char *name, const char *value)
{
    if (call->nheaders == OC_CALL_MAX_HEADERS)
        return OC_EINVAL;
    size_t nl = strlen(name), vl = strlen(value);
    char *mem = oc_malloc(nl + vl + 2);
    memcpy(mem, name, nl + 1);
    memcpy(mem + nl + 1, value, vl + 1);
    call->headers[call->nheaders].name = mem;
    call->headers[call->nheaders].value = mem + nl + 1;
    call->nheaders++;
    return 0;
}

int oc_call_body(oc_call_t *call, const char *data, size_t len, const char *content_type)
{
    char *b = oc_malloc(len + 1);
    memcpy(b, data, len);
    b[len] = '\0';
    free(call->body);
    call->body = b;
    call->body_len = len;
    return content_type != NULL ? oc_call_header(call, "Content-Type", content_type) : 0;
}

int oc_call_json(oc_call_t *call, const json_t *j)
{
    char *s = json_dumps(j, JSON_COMPACT);
    if (s == NULL)
        return OC_ENOMEM;
    int rc = oc_call_body(call, s, strlen(s), "application/json");
    free(s);
    return rc;
}

static void drop_headers(oc_call_t *call, size_t from)
{
    for (size_t i = from; i < call->nheaders; i++) {
        char *mem = (char *)call->headers[i].name;
        sodium_memzero(mem, strlen(mem) + 1 + strlen(call->headers[i].value)); /* auth headers */
        free(mem);
    }
    call->nheaders = from;
}

static void call_free(oc_call_t *call)
{
    oc_timer_stop(call->loop, &call->timer);
    oc_ratelimit_cancel(&call->wait);
    if (h2o_linklist_is_linked(&call->token_link))
        h2o_linklist_unlink(&call->token_link);
    if (call->took && call->bucket != NULL)
        oc_rl_done(call->bucket, call->cost);
    json_decref(call->json);
    drop_headers(call, 0);
    if (call->body != NULL)
        sodium_memzero(call->body, call->body_len); /* token requests carry secrets */
    free(call->body);
    free(call->url);
    free(call);
}

void oc_call_abort(oc_call_t *call)
{
    if (h2o_linklist_is_linked(&call->link))
        h2o_linklist_unlink(&call->link);
    oc_chttp_cancel(call->http, call);
    if (call->st->token_call == call)
        call->st->token_call = NULL;
    call_free(call);
}

/* Hands the final answer or error to the callback, then frees the call. */
static void deliver(oc_call_t *call, const oc_chttp_res_t *res, const oc_adapter_error_t *e)
{
    if (call->took) {
        call->took = 0;
        oc_rl_done(call->bucket, call->cost);
    }
    if (h2o_linklist_is_linked(&call->link))
        h2o_linklist_unlink(&call->link);
    if (h2o_linklist_is_linked(&call->token_link))
        h2o_linklist_unlink(&call->token_link);
    oc_timer_stop(call->loop, &call->timer);
    call->cb(call, res, e);
    call_free(call);
}

static void fail(oc_call_t *call, const oc_chttp_res_t *res, int retryable, uint64_t retry_after_ms, const char *fmt,
                 ...) OC_PRINTF(5, 6);

static void fail(oc_call_t *call, const oc_chttp_res_t *res, int retryable, uint64_t retry_after_ms, const char *fmt,
                 ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(call->errbuf, sizeof(call->errbuf), fmt, ap);
    va_end(ap);
    oc_adapter_error_t e = {.err = call->errbuf,
                            .retryable = retryable,
                            .http_status = res != NULL ? res->status : 0,
                            .retry_after_ms = retry_after_ms};
    deliver(call, res, &e);
}

static void step_token(oc_call_t *call);
static void step_rate(oc_call_t *call);
static void send_now(oc_call_t *call);

/* A failure found where calling back would be too early: delivered from the loop. */
static void fail_later(oc_call_t *call, int retryable, const char *msg)
{
    snprintf(call->errbuf, sizeof(call->errbuf), "%s", msg);
    call->deferred_retryable = retryable;
    call->phase = PH_FAIL;
    oc_timer_start(call->loop, &call->timer, 0);
}

static void arm(oc_call_t *call, int phase, uint64_t delay_ms)
{
    call->phase = phase;
    oc_timer_start(call->loop, &call->timer, delay_ms);
}

void oc_call_start(oc_call_t *call)
{
    if (call->url == NULL) {
        fail_later(call, 0, "internal error: call without a url");
        return;
    }
    call->nfixed = call->nheaders;
    arm(call, PH_TOKEN, 0);
}

/* --- tokens ----------------------------------------------------------------------------------- */

static void on_token_answer(oc_call_t *t, const oc_chttp_res_t *res, const oc_adapter_error_t *e);

/* Ends the wait of every call queued for a token: go on (err NULL) or fail with err. */
static void release_waiters(oc_cstate_t *st, const char *err, int retryable, int status)
{
    h2o_linklist_t local;
    h2o_linklist_init_anchor(&local);
    h2o_linklist_insert_list(&local, &st->token_waiters);
    unsigned gen = st->token_gen;
    char msg[300];
    if (err != NULL)
        snprintf(msg, sizeof(msg), "%s", err);
    while (!h2o_linklist_is_empty(&local)) {
        oc_call_t *call = H2O_STRUCT_FROM_MEMBER(oc_call_t, token_link, local.next);
        h2o_linklist_unlink(&call->token_link);
        if (err == NULL) {
            call->token_gen = gen;
            step_rate(call);
        } else {
            oc_adapter_error_t e = {.err = msg, .retryable = retryable, .http_status = status};
            deliver(call, NULL, &e); /* may end operations and free the state: only `local` is used */
        }
    }
}

/* Runs from the loop (step_token), so failing the waiters at once is safe. */
static void start_token_fetch(oc_cstate_t *st, oc_chttp_t *http)
{
    char why[200] = "", msg[260];
    oc_call_t *t = call_alloc(st, http, "POST", on_token_answer);
    t->auth = 0;
    t->cost = 1;
    t->deadline_us = oc_mono_us() + TOKEN_DEADLINE_MS * 1000ULL;
    t->timeout_ms = TOKEN_TIMEOUT_MS;
    if (st->ch->token_request == NULL || st->ch->token_request(t, why, sizeof(why)) != 0) {
        call_free(t);
        snprintf(msg, sizeof(msg), "credentials: %s", why[0] ? why : "no way to obtain an access token");
        release_waiters(st, msg, 0, 0);
        return;
    }
    t->nfixed = t->nheaders;
    st->token_call = t;
    step_rate(t);
}

/* The OAuth 2 token answer: `access_token`, and `expires_in` in seconds
 * (a positive integer; the channel's usual lifetime when absent). */
static int oauth_token_parse(oc_call_t *call, char *why, size_t cap)
{
    const char *tok = json_string_value(json_object_get(call->json, "access_token"));
    long long ttl = call->st->ch->token_ttl_s;
    json_t *e = json_object_get(call->json, "expires_in");
    if (tok == NULL || *tok == '\0') {
        snprintf(why, cap, "no access_token");
        return -1;
    }
    if (e != NULL && (oc_json_as_int(e, &ttl) != 0 || ttl <= 0)) {
        snprintf(why, cap, "expires_in is not a positive integer");
        return -1;
    }
    oc_cstate_set_token(call->st, tok, (uint64_t)ttl);
    return 0;
}

static void on_token_answer(oc_call_t *t, const oc_chttp_res_t *res, const oc_adapter_error_t *e)
{
    oc_cstate_t *st = t->st;
    st->token_call = NULL;
    char why[200] = "", msg[300];
    if (e != NULL) {
        snprintf(msg, sizeof(msg), "token request failed: %s", e->err);
        release_waiters(st, msg, e->retryable, e->http_status);
        return;
    }
    if (res->status < 200 || res->status > 299) {
        char text[200] = "";
        if (st->ch->error_text != NULL)
            st->ch->error_text(t, res, text, sizeof(text));
        snprintf(msg, sizeof(msg), "token request refused (%d)%s%s", res->status, text[0] ? ": " : "", text);
        release_waiters(st, msg, 0, res->status);
        return;
    }
    if (t->json == NULL || (st->ch->token_parse != NULL ? st->ch->token_parse(t, why, sizeof(why))
                                                        : oauth_token_parse(t, why, sizeof(why))) != 0) {
        snprintf(msg, sizeof(msg), "malformed token response: %s", t->json == NULL ? t->json_error : why);
        release_waiters(st, msg, 0, res->status);
        return;
    }
    release_waiters(st, NULL, 0, 0);
}

static void step_token(oc_call_t *call)
{
    oc_cstate_t *st = call->st;
    if (!call->auth || token_usable(st)) {
        call->token_gen = st->token_gen;
        step_rate(call);
        return;
    }
    const char *fixed = st->ch->static_token != NULL ? st->ch->static_token(call->conn) : NULL;
    if (fixed != NULL) {
        oc_cstate_set_token(st, fixed, 0);
        call->token_gen = st->token_gen;
        step_rate(call);
        return;
    }
    h2o_linklist_insert(&st->token_waiters, &call->token_link);
    if (st->token_call == NULL)
        start_token_fetch(st, call->http);
}

/* --- rate limits and sending ------------------------------------------------------------------- */

static void on_rl_ready(oc_rl_waiter_t *w)
{
    oc_call_t *call = H2O_STRUCT_FROM_MEMBER(oc_call_t, wait, w);
    call->took = 1;
    send_now(call);
}

static void step_rate(oc_call_t *call)
{
    oc_cstate_t *st = call->st;
    if (call->bucket_name != NULL && call->bucket == NULL)
        call->bucket = oc_ratelimit_bucket(st->rl, call->bucket_name, st->ch->limits, st->ch->nlimits, NULL);
    if (call->bucket == NULL) {
        send_now(call);
        return;
    }
    uint64_t now = oc_mono_us(), left = call->deadline_us > now ? call->deadline_us - now : 0;
    uint64_t eta = oc_rl_eta_us(call->bucket, call->cost, now);
    if (eta + MIN_SEND_MS * 1000ULL > left) {
        fail(call, NULL, 1, (eta + 999) / 1000, "rate limited: the %s limit allows no request before the deadline",
             call->bucket->name);
        return;
    }
    if (oc_ratelimit_acquire(call->bucket, &call->wait, call->cost, on_rl_ready)) {
        call->took = 1;
        send_now(call);
    }
}

static void on_http(void *arg, const oc_chttp_res_t *res);

static void send_now(oc_call_t *call)
{
    oc_cstate_t *st = call->st;
    uint64_t now = oc_mono_us();
    uint64_t left_ms = call->deadline_us > now ? (call->deadline_us - now) / 1000 : 0;
    if (left_ms < MIN_SEND_MS) {
        fail(call, NULL, 1, 0, "deadline exceeded before the request could be sent");
        return;
    }
    drop_headers(call, call->nfixed); /* the channel's headers of an earlier attempt (old token) */
    if (st->ch->headers != NULL && st->ch->headers(call, call->auth ? st->token : NULL) != 0) {
        fail(call, NULL, 1, 0, "the request headers could not be set");
        return;
    }
    oc_chttp_req_t req = {
        .method = call->method,
        .url = call->url,
        .headers = call->headers,
        .nheaders = call->nheaders,
        .body = call->body,
        .body_len = call->body_len,
        .timeout_ms = (uint32_t)(left_ms < call->timeout_ms ? left_ms : call->timeout_ms),
    };
    int rc = oc_chttp_request(call->http, &req, on_http, call);
    if (rc != 0)
        fail(call, NULL, rc == OC_EUNAVAIL, 0, "cannot send the request: %s", oc_strerror(rc));
}

oc_cls_t oc_call_classify_default(const oc_chttp_res_t *res, uint64_t *retry_after_ms)
{
    const char *ra = oc_chttp_header(res, "retry-after");
    if (ra != NULL)
        oc_rl_parse_retry_after(ra, oc_now_ms(), retry_after_ms);
    if (res->err != NULL)
        return OC_CLS_RETRY;
    if (res->status == 401)
        return OC_CLS_AUTH;
    if (res->status == 429)
        return OC_CLS_THROTTLED;
    if (res->status == 408 || res->status >= 500)
        return OC_CLS_RETRY;
    return OC_CLS_OK;
}

static void describe_failure(const oc_call_t *call, const oc_chttp_res_t *res, char *buf, size_t cap)
{
    if (res->err != NULL) {
        snprintf(buf, cap, "request failed: %s", res->err);
        return;
    }
    char text[200] = "";
    if (call->st->ch->error_text != NULL)
        call->st->ch->error_text(call, res, text, sizeof(text));
    snprintf(buf, cap, "channel answered %d%s%s", res->status, text[0] ? ": " : "", text);
}

void oc_call_error(oc_call_t *call, const oc_chttp_res_t *res, oc_adapter_error_t *e, const char *what)
{
    char d[260];
    if (res == NULL)
        snprintf(d, sizeof(d), "no answer");
    else
        describe_failure(call, res, d, sizeof(d));
    snprintf(call->errbuf, sizeof(call->errbuf), "%s%s%s", what != NULL ? what : "", what != NULL ? ": " : "", d);
    *e = (oc_adapter_error_t){.err = call->errbuf, .retryable = 0, .http_status = res != NULL ? res->status : 0};
}

void oc_call_item_unusable(oc_call_t *call, const oc_chttp_res_t *res, json_t *r, const char *what, const char *missing)
{
    char msg[300];
    if (res->status == 200) {
        snprintf(msg, sizeof(msg), "malformed response from channel: %s",
                 call->json == NULL ? call->json_error : missing);
    } else {
        oc_adapter_error_t ce;
        oc_call_error(call, res, &ce, what);
        snprintf(msg, sizeof(msg), "%s", ce.err);
    }
    oc_item_error(r, msg, 0);
}

int oc_op_launch(oc_op_t *op, oc_call_t *call, int rc)
{
    if (rc != 0) {
        oc_op_discard(op);
        return rc;
    }
    call->data = op;
    oc_call_start(call);
    return 0;
}

void oc_op_feed_done(oc_op_t *op, const json_t *items, const char *feed_id, const char *err, int retryable)
{
    size_t i;
    json_t *r;
    json_array_foreach(op->result, i, r)
    {
        if (json_object_get(r, "status") != NULL) /* refused before sending */
            continue;
        if (feed_id == NULL) {
            oc_item_error(r, err, retryable);
        } else {
            json_object_set_new(r, "status", json_string("ok"));
            json_object_set(r, "qty", json_object_get(json_array_get(items, i), "qty"));
            json_object_set_new(r, "pending", json_true());
            json_object_set_new(r, "ref", json_string(feed_id));
        }
    }
    oc_op_finish(op, NULL);
}

void oc_op_finish_page(oc_op_t *op, oc_cursor_t *cur, json_t *records, const char *key, const char *next)
{
    oc_cursor_page_done(cur, next, oc_cursor_overlap(op->conn));
    char *cursor = oc_cursor_encode(cur);
    if (cursor == NULL) {
        json_decref(records);
        oc_op_fail(op, 1, 0, 0, "the cursor could not be encoded");
        return;
    }
    op->result = json_pack("{s:o, s:s, s:b}", key, records, "cursor", cursor, "more", next != NULL);
    free(cursor);
    oc_op_finish(op, NULL);
}

void oc_op_start_calls(oc_op_t *op)
{
    for (h2o_linklist_t *l = op->calls.next; l != &op->calls; l = l->next)
        oc_call_start(H2O_STRUCT_FROM_MEMBER(oc_call_t, link, l));
}

void oc_op_item_done(oc_op_t *op)
{
    if (--op->outstanding == 0)
        oc_op_finish(op, NULL);
}

int oc_op_read_items(oc_op_t *op, json_t *items, oc_call_t *(*get)(oc_op_t *op, const char *sku))
{
    size_t i;
    json_t *it;
    if (!json_is_array(items)) {
        oc_op_discard(op);
        return OC_EINVAL;
    }
    op->result = json_array();
    json_array_foreach(items, i, it)
    {
        json_t *r = oc_item_result(it);
        const char *sku = json_string_value(json_object_get(it, "sku"));
        if (json_array_append_new(op->result, r) != 0) {
            oc_op_discard(op);
            return OC_ENOMEM;
        }
        if (sku == NULL || *sku == '\0') {
            json_object_set_new(r, "qty", json_null());
            oc_item_error(r, "sku: missing", 0);
            continue;
        }
        oc_call_t *call = get(op, sku);
        if (call == NULL) {
            oc_op_discard(op);
            return OC_ENOMEM;
        }
        call->data = op;
        call->idx = (long)i;
        op->outstanding++;
    }
    if (op->outstanding == 0)
        oc_op_finish_later(op);
    else
        oc_op_start_calls(op);
    return 0;
}

int oc_op_push_rows(oc_op_t *op, json_t *items, oc_push_body_fn body, json_t *bodies, size_t *valid)
{
    size_t i;
    json_t *it;
    *valid = 0;
    if (!json_is_array(items))
        return OC_EINVAL;
    if (op->result == NULL)
        op->result = json_array();
    json_array_foreach(items, i, it)
    {
        json_t *r = oc_item_result(it);
        if (json_array_append_new(op->result, r) != 0)
            return OC_ENOMEM; /* rows stay aligned with items, or there are none */
        char why[120];
        json_t *b = body(op, it, why, sizeof(why));
        if (b == NULL) {
            oc_item_error(r, why, 0);
            continue;
        }
        (*valid)++;
        if (bodies == NULL)
            json_decref(b);
        else if (json_array_append_new(bodies, b) != 0)
            return OC_ENOMEM;
    }
    return 0;
}

int oc_op_push_items(oc_op_t *op, json_t *items, oc_push_body_fn body,
                     oc_call_t *(*call)(oc_op_t *op, const json_t *item))
{
    size_t i;
    json_t *it;
    json_array_foreach(items, i, it)
    {
        if (json_object_get(json_array_get(op->result, i), "status") != NULL)
            continue;
        char why[120];
        json_t *b = body(op, it, why, sizeof(why));
        oc_call_t *c = b != NULL ? call(op, it) : NULL;
        int rc = c == NULL ? OC_ENOMEM : oc_call_json(c, b);
        json_decref(b);
        if (rc != 0) {
            oc_op_discard(op);
            return rc;
        }
        c->data = op;
        c->idx = (long)i;
        op->outstanding++;
    }
    oc_op_start_calls(op);
    return 0;
}

void oc_op_unusable(oc_op_t *op, oc_call_t *call, const oc_chttp_res_t *res, int ok_status, const char *what,
                    const char *missing)
{
    if (ok_status != 0 ? res->status == ok_status : res->status / 100 == 2) {
        oc_op_fail(op, 0, res->status, 0, "malformed response from channel: %s",
                   call->json == NULL ? call->json_error : missing);
    } else {
        oc_adapter_error_t ce;
        oc_call_error(call, res, &ce, what);
        oc_op_fail_with(op, &ce);
    }
}

int oc_op_acknowledge_all(oc_chttp_t *http, oc_channel_conn_t *c, const oc_chan_t *ch, json_t *order_ids,
                          oc_adapter_cb cb, void *arg)
{
    if (!json_is_array(order_ids))
        return OC_EINVAL;
    int rc;
    oc_op_t *op = oc_op_new(sizeof(oc_op_t), http, c, ch, 1000, cb, arg, &rc);
    if (op == NULL)
        return rc;
    op->result = json_pack("{s:O, s:[], s:{}}", "acknowledged", order_ids, "failed", "errors");
    oc_op_finish_later(op);
    return 0;
}

static uint64_t backoff_ms(int attempt)
{
    uint64_t d = BACKOFF_BASE_MS;
    for (int i = 1; i < attempt && d < BACKOFF_CAP_MS; i++)
        d *= 2;
    if (d > BACKOFF_CAP_MS)
        d = BACKOFF_CAP_MS;
    return d / 2 + randombytes_uniform((uint32_t)(d / 2 + 1)); /* "equal jitter" */
}

static int max_attempts_of(const oc_call_t *call)
{
    return call->op != NULL ? call->op->max_attempts : 4;
}

static void on_http(void *arg, const oc_chttp_res_t *res)
{
    oc_call_t *call = arg;
    oc_cstate_t *st = call->st;
    if (call->took) {
        call->took = 0;
        oc_rl_done(call->bucket, call->cost);
    }
    json_decref(call->json);
    call->json = NULL;
    call->json_error[0] = '\0';
    if (res->cancelled) {
        fail(call, res, 1, 0, "request cancelled: %s", res->err);
        return;
    }
    if (res->err == NULL && res->body_len > 0) {
        const char *p = res->body;
        while (*p == ' ' || *p == '\r' || *p == '\n' || *p == '\t')
            p++;
        json_error_t je;
        if (*p == '{' || *p == '[') {
            if ((call->json = json_loadb(res->body, res->body_len, 0, &je)) == NULL)
                snprintf(call->json_error, sizeof(call->json_error), "invalid JSON at byte %d: %.60s", je.position,
                         je.text);
        } else {
            snprintf(call->json_error, sizeof(call->json_error), "not a JSON document");
        }
    } else if (res->err == NULL) {
        snprintf(call->json_error, sizeof(call->json_error), "empty body");
    }
    uint64_t retry_after = 0;
    oc_cls_t cls = st->ch->classify != NULL ? st->ch->classify(call, res, &retry_after)
                                            : oc_call_classify_default(res, &retry_after);
    char what[300];
    switch (cls) {
    case OC_CLS_OK:
        if (call->bucket != NULL)
            oc_rl_success(call->bucket);
        deliver(call, res, NULL);
        return;
    case OC_CLS_AUTH: {
        if (!call->auth) { /* a token request refused: the caller reads the answer */
            deliver(call, res, NULL);
            return;
        }
        const char *fixed = st->ch->static_token != NULL ? st->ch->static_token(call->conn) : NULL;
        if (call->auth && !call->refreshed && fixed == NULL) {
            call->refreshed = 1;
            if (st->token != NULL && st->token_gen == call->token_gen) {
                sodium_memzero(st->token, strlen(st->token));
                free(st->token);
                st->token = NULL;
            }
            step_token(call);
            return;
        }
        describe_failure(call, res, what, sizeof(what));
        fail(call, res, 0, 0, "unauthorized: %s", what);
        return;
    }
    case OC_CLS_THROTTLED:
        if (++call->throttles > MAX_THROTTLES) {
            fail(call, res, 1, retry_after, "throttled by the channel %d times in a row", call->throttles - 1);
            return;
        }
        if (call->bucket != NULL) {
            step_rate(call); /* the classifier backed the bucket off */
            return;
        }
        break; /* no bucket: back off like a transient failure */
    case OC_CLS_RETRY: break;
    }
    describe_failure(call, res, what, sizeof(what));
    if (++call->attempts >= max_attempts_of(call)) {
        fail(call, res, 1, retry_after, "%s (after %d attempts)", what, call->attempts);
        return;
    }
    uint64_t delay = backoff_ms(call->attempts);
    if (retry_after > delay)
        delay = retry_after;
    uint64_t now = oc_mono_us();
    if (now + delay * 1000 + MIN_SEND_MS * 1000ULL > call->deadline_us) {
        fail(call, res, 1, delay, "%s (no time left to retry)", what);
        return;
    }
    if (oc_log_enabled(OC_LOG_DEBUG))
        oc_log_fields(OC_LOG_DEBUG, "channel request retried",
                      json_pack("{s:s, s:s, s:i, s:I}", "channel", st->ch->name, "reason", what, "attempt",
                                call->attempts, "delay_ms", (json_int_t)delay));
    json_decref(call->json);
    call->json = NULL;
    arm(call, PH_RATE, delay);
}

static void on_call_timer(oc_timer_t *t)
{
    oc_call_t *call = t->data;
    switch (call->phase) {
    case PH_TOKEN: step_token(call); break;
    case PH_RATE: step_rate(call); break;
    case PH_FAIL: {
        oc_adapter_error_t e = {.err = call->errbuf, .retryable = call->deferred_retryable};
        deliver(call, NULL, &e);
        break;
    }
    }
}
