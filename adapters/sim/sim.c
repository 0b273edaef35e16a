/*
 * sim.c — `onecount sim`: one single-threaded h2o server on one loopback
 * port serving the three channel simulators under path prefixes
 * (/shopify/{shop}/…, /amazon/…, /walmart/…) and the control API (/_sim/…).
 *
 * Request lifecycle: route → authenticate (the channel's own rules) →
 * faults (throttle storm, 5xx, held-open timeout) → rate limit → handler →
 * malformed-body fault → request log → send now, or later when latency is
 * configured.  Handlers are synchronous (all state is in memory) and end
 * with exactly one oc_sim_reply_*().  Webhooks leave from their own thread
 * (webhook.c), so nothing here ever blocks the loop.
 */
#include "adapters/sim/sim.h"
#include "adapters/sim/sim_internal.h"

#include <ctype.h>
#include "runtime/config.h"
#include "runtime/listener.h"
#include "runtime/log.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <curl/curl.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

static volatile sig_atomic_t stop_signal;

static void on_signal(int sig)
{
    stop_signal = sig;
}

/* --- replies -------------------------------------------------------------------- */

void oc_sim_header(oc_sim_req_t *r, const char *name, const char *value)
{
    for (int i = 0; i < r->nheaders; i++)
        if (strcasecmp(r->headers[i].name, name) == 0) {
            free(r->headers[i].value);
            r->headers[i].value = oc_strdup(value);
            return;
        }
    if (r->nheaders == (int)OC_ARRAY_SIZE(r->headers))
        return;
    r->headers[r->nheaders].name = oc_strdup(name);
    r->headers[r->nheaders].value = oc_strdup(value);
    r->nheaders++;
}

void oc_sim_reply_raw(oc_sim_req_t *r, int status, const char *content_type, const char *data, size_t len)
{
    if (r->replied)
        return;
    r->replied = 1;
    r->status = status;
    snprintf(r->content_type, sizeof(r->content_type), "%s", content_type != NULL ? content_type : "");
    r->out.len = 0;
    if (len > 0)
        oc_buf_append(&r->out, data, len);
}

void oc_sim_reply_json(oc_sim_req_t *r, int status, json_t *body)
{
    if (body == NULL) {
        oc_sim_reply_raw(r, status, NULL, "", 0);
        return;
    }
    char *s = json_dumps(body, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(body);
    if (s == NULL) {
        oc_sim_reply_raw(r, 500, "application/json", OC_STRLIT("{\"errors\":\"internal error\"}"));
        return;
    }
    oc_sim_reply_raw(r, status, "application/json; charset=utf-8", s, strlen(s));
    free(s);
}

/* --- request accessors ------------------------------------------------------------- */

const char *oc_sim_query(oc_sim_req_t *r, const char *name)
{
    if (r->query == NULL)
        return NULL;
    char *v = oc_sim_form_get(r->query, strlen(r->query), name);
    if (v == NULL)
        return NULL;
    char *out = h2o_mem_alloc_pool(&r->h2o->pool, strlen(v) + 1);
    strcpy(out, v);
    free(v);
    return out;
}

const char *oc_sim_param(oc_sim_req_t *r, const char *name)
{
    for (int i = 0; i < r->nparams; i++)
        if (strcmp(r->params[i].name, name) == 0)
            return r->params[i].value;
    return NULL;
}

const char *oc_sim_req_header(oc_sim_req_t *r, const char *name)
{
    ssize_t i = h2o_find_header_by_str(&r->h2o->headers, name, strlen(name), -1);
    if (i < 0)
        return NULL;
    h2o_iovec_t v = r->h2o->headers.entries[i].value;
    return h2o_strdup(&r->h2o->pool, v.base, v.len).base;
}

void oc_sim_note_write(oc_sim_req_t *r, const char *sku, long long qty)
{
    if (r->writes == NULL)
        r->writes = json_object();
    json_object_set_new(r->writes, sku, json_integer(qty));
}

int oc_sim_limit(oc_sim_req_t *r, const char *name, double cost)
{
    if (r->acct == NULL)
        return 0;
    oc_sim_bucket_t *b = oc_sim_account_bucket(r->acct, name);
    if (b == NULL)
        return 0;
    r->bucket = b;
    double wait = 0;
    if (oc_sim_bucket_take(b, cost, &wait))
        return 0;
    r->fault = "throttled";
    r->ch->throttled(r, b, wait);
    return -1;
}

/* --- sending, now or later ------------------------------------------------------------- */

struct oc_sim_guard {
    oc_sim_req_t *r;
};

static void on_h2o_dispose(void *p)
{
    struct oc_sim_guard *g = p;
    if (g->r != NULL) {
        g->r->h2o = NULL;
        g->r->guard = NULL;
    }
}

static void req_free(oc_sim_req_t *r)
{
    if (r->guard != NULL)
        r->guard->r = NULL;
    for (int i = 0; i < r->nheaders; i++) {
        free(r->headers[i].name);
        free(r->headers[i].value);
    }
    json_decref(r->writes);
    oc_buf_free(&r->out);
    free(r);
}

/* --- capture: the request log keeps what was said, for checking it against the channels' specifications --- */

#define CAPTURE_MAX_BODY (1u << 20)

/* Header values that are credentials: kept as their scheme (or a mark), never the value. */
static int secret_header(const char *lower)
{
    static const char *const names[] = {
        "authorization", "x-shopify-access-token", "x-amz-access-token", "wm_sec.access_token", "cookie", NULL};
    for (int i = 0; names[i] != NULL; i++)
        if (strcmp(lower, names[i]) == 0)
            return 1;
    return 0;
}

static json_t *body_json(const char *data, size_t len, int token_answer)
{
    if (data == NULL || len == 0)
        return json_null();
    if (len > CAPTURE_MAX_BODY)
        return json_pack("{s:I}", "truncated_bytes", (json_int_t)len);
    json_t *j = json_loadb(data, len, JSON_DECODE_ANY, NULL);
    if (j != NULL && token_answer && json_is_object(j)) {
        static const char *const secret[] = {"access_token", "refresh_token", "id_token", NULL};
        for (int i = 0; secret[i] != NULL; i++)
            if (json_is_string(json_object_get(j, secret[i])))
                json_object_set_new(j, secret[i], json_string("(redacted)"));
    }
    if (j != NULL)
        return json_pack("{s:o}", "json", j);
    json_t *text = json_stringn(data, len);
    return text != NULL ? json_pack("{s:o}", "text", text) : json_pack("{s:I}", "binary_bytes", (json_int_t)len);
}

json_t *oc_sim_capture(oc_sim_req_t *r)
{
    json_t *req = json_object(), *rh = json_object(), *resp = json_object(), *sh = json_object();
    if (r->h2o != NULL) {
        for (size_t i = 0; i < r->h2o->headers.size; i++) {
            const h2o_header_t *h = &r->h2o->headers.entries[i];
            char name[128];
            size_t nl = h->name->len < sizeof(name) - 1 ? h->name->len : sizeof(name) - 1;
            for (size_t k = 0; k < nl; k++)
                name[k] = (char)tolower((unsigned char)h->name->base[k]);
            name[nl] = '\0';
            json_t *v;
            if (secret_header(name)) {
                size_t sp = strcspn(h->value.base, " ");
                v = strcmp(name, "authorization") == 0 && sp < h->value.len
                        ? json_sprintf("%.*s (redacted)", (int)sp, h->value.base)
                        : json_string("(redacted)");
            } else {
                v = json_stringn(h->value.base, h->value.len);
            }
            json_object_set_new(rh, name, v != NULL ? v : json_string("(not UTF-8)"));
        }
    }
    /* token endpoints carry credentials in their bodies (Shopify, Amazon: not in the specifications anyway) */
    int token_route = r->route != NULL && (r->route->flags & OC_SIM_NOAUTH) && r->route->op != NULL &&
                      strstr(r->route->op, "oken") != NULL;
    int walmart_token = token_route && r->ch == &oc_sim_walmart_ops;
    json_object_set_new(req, "headers", rh);
    json_object_set_new(req, "body", token_route && !walmart_token ? json_null() : body_json(r->body, r->body_len, 0));
    if (r->content_type[0] != '\0')
        json_object_set_new(sh, "content-type", json_string(r->content_type));
    for (int i = 0; i < r->nheaders; i++) {
        char name[128];
        size_t nl = strlen(r->headers[i].name) < sizeof(name) - 1 ? strlen(r->headers[i].name) : sizeof(name) - 1;
        for (size_t k = 0; k < nl; k++)
            name[k] = (char)tolower((unsigned char)r->headers[i].name[k]);
        name[nl] = '\0';
        json_object_set_new(sh, name, json_string(r->headers[i].value));
    }
    json_object_set_new(resp, "status", json_integer(r->status));
    json_object_set_new(resp, "headers", sh);
    json_object_set_new(resp, "body", body_json(r->out.data, r->out.len, token_route));
    return json_pack("{s:o, s:o, s:s?}", "request", req, "response", resp, "route",
                     r->route != NULL ? r->route->pattern : NULL);
}

static void send_now(oc_sim_req_t *r)
{
    h2o_req_t *req = r->h2o;
    if (req != NULL) {
        req->res.status = r->status;
        req->res.reason = oc_http_reason(r->status);
        req->res.content_length = r->out.len;
        if (r->content_type[0] != '\0')
            h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE, NULL,
                           h2o_strdup(&req->pool, r->content_type, SIZE_MAX).base, strlen(r->content_type));
        for (int i = 0; i < r->nheaders; i++)
            h2o_add_header_by_str(&req->pool, &req->res.headers, r->headers[i].name, strlen(r->headers[i].name), 1,
                                  NULL, h2o_strdup(&req->pool, r->headers[i].value, SIZE_MAX).base,
                                  strlen(r->headers[i].value));
        h2o_send_inline(req, r->out.data != NULL ? r->out.data : "", r->out.len);
    }
    req_free(r);
}

static void on_held_timer(oc_timer_t *t)
{
    oc_sim_req_t *r = t->data;
    h2o_linklist_unlink(&r->held_link);
    send_now(r);
}

static void hold(oc_sim_req_t *r, uint64_t delay_ms)
{
    r->guard = h2o_mem_alloc_shared(&r->h2o->pool, sizeof(*r->guard), on_h2o_dispose);
    r->guard->r = r;
    /* pointers into the h2o pool are dead once the client goes */
    r->path = r->query = NULL;
    r->nsegs = r->nparams = 0;
    oc_timer_init(&r->timer, on_held_timer, r);
    h2o_linklist_insert(&r->sim->held, &r->held_link);
    oc_timer_start(r->sim->loop, &r->timer, delay_ms);
}

static int fault_applies(const oc_sim_faults_t *f, const oc_sim_req_t *r)
{
    return f->match[0] == '\0' || strstr(r->path, f->match) != NULL;
}

static int latency_of(const oc_sim_faults_t *f, oc_sim_rng_t *rng)
{
    int ms = f->latency_ms;
    if (f->latency_jitter_ms > 0)
        ms += (int)(oc_sim_rng_next(rng) % (uint64_t)(f->latency_jitter_ms + 1));
    return ms;
}

/* Cuts a successful body short: the client sees a 200 it cannot parse. */
static void malform(oc_sim_req_t *r)
{
    r->fault = "malformed";
    if (r->out.len > 2)
        r->out.len = r->out.len / 2;
    else {
        r->out.len = 0;
        oc_buf_append(&r->out, "{\"", 2);
    }
    r->status = 200;
}

static void finish(oc_sim_req_t *r, uint64_t hold_ms)
{
    oc_sim_t *sim = r->sim;
    if (!r->replied)
        oc_sim_reply_json(r, 500, json_pack("{s:s}", "errors", "the simulator produced no answer"));
    if (r->ch != NULL && r->bucket != NULL && !r->bucket->unlimited && r->ch->limit_headers != NULL)
        r->ch->limit_headers(r, r->bucket);
    uint64_t delay = hold_ms;
    if (r->ch != NULL && r->path != NULL) {
        oc_sim_account_t *a = r->acct;
        if (r->status >= 200 && r->status < 300 && r->fault == NULL) {
            int bad = fault_applies(&sim->faults, r) && oc_sim_rng_chance(&sim->rng, sim->faults.malformed_rate);
            if (!bad && a != NULL)
                bad = fault_applies(&a->faults, r) && oc_sim_rng_chance(&a->rng, a->faults.malformed_rate);
            if (bad)
                malform(r);
        }
        if (hold_ms == 0) {
            if (fault_applies(&sim->faults, r))
                delay += (uint64_t)latency_of(&sim->faults, &sim->rng);
            if (a != NULL && fault_applies(&a->faults, r))
                delay += (uint64_t)latency_of(&a->faults, &a->rng);
            if (delay > 0 && r->fault == NULL)
                r->fault = "latency";
        }
        oc_sim_log_add(sim, r);
        if (oc_log_enabled(OC_LOG_DEBUG))
            oc_log_fields(OC_LOG_DEBUG, "request",
                          json_pack("{s:s, s:s, s:s, s:i, s:i}", "event", "sim", "method", r->method, "path", r->path,
                                    "status", r->status, "account", a != NULL ? a->id : 0));
    }
    if (delay > 0 && r->h2o != NULL && !sim->stopping)
        hold(r, delay);
    else
        send_now(r);
}

/* --- routing ----------------------------------------------------------------------- */

static int match_route(oc_sim_req_t *r, const oc_sim_route_t *rt)
{
    const char *p = rt->pattern;
    int i = r->seg0;
    r->nparams = 0;
    while (*p == '/')
        p++;
    while (*p != '\0') {
        const char *e = strchr(p, '/');
        size_t l = e != NULL ? (size_t)(e - p) : strlen(p);
        if (i >= r->nsegs)
            return 0;
        if (p[0] == '{') {
            const char *close = memchr(p, '}', l);
            size_t suffix = close != NULL ? l - (size_t)(close + 1 - p) : 0, sl = strlen(r->segs[i]);
            if (r->nparams == OC_SIM_MAX_PARAMS || close == NULL || sl <= suffix ||
                memcmp(r->segs[i] + sl - suffix, close + 1, suffix) != 0)
                return 0;
            r->params[r->nparams].name = h2o_strdup(&r->h2o->pool, p + 1, (size_t)(close - p - 1)).base;
            r->params[r->nparams].value = h2o_strdup(&r->h2o->pool, r->segs[i], sl - suffix).base;
            r->nparams++;
        } else if (strlen(r->segs[i]) != l || memcmp(r->segs[i], p, l) != 0) {
            return 0;
        }
        i++;
        p += l;
        while (*p == '/')
            p++;
    }
    return i == r->nsegs;
}

static int split_path(oc_sim_req_t *r)
{
    const char *p = r->path;
    while (*p != '\0') {
        while (*p == '/')
            p++;
        if (*p == '\0')
            break;
        const char *e = strchr(p, '/');
        size_t l = e != NULL ? (size_t)(e - p) : strlen(p);
        if (r->nsegs == OC_SIM_MAX_SEGS)
            return -1;
        char *d = oc_sim_urldecode(p, l, 0);
        if (d == NULL)
            return -1;
        r->segs[r->nsegs++] = h2o_strdup(&r->h2o->pool, d, SIZE_MAX).base;
        free(d);
        p += l;
    }
    return 0;
}

static int is_loopback(h2o_req_t *req)
{
    if (req->conn->callbacks->get_peername == NULL)
        return 0;
    struct sockaddr_storage ss;
    socklen_t sl = req->conn->callbacks->get_peername(req->conn, (struct sockaddr *)&ss);
    if (sl > 0 && ss.ss_family == AF_INET)
        return (ntohl(((struct sockaddr_in *)&ss)->sin_addr.s_addr) >> 24) == 127;
    if (sl > 0 && ss.ss_family == AF_INET6) {
        struct in6_addr *a6 = &((struct sockaddr_in6 *)&ss)->sin6_addr;
        if (IN6_IS_ADDR_LOOPBACK(a6))
            return 1;
        return IN6_IS_ADDR_V4MAPPED(a6) && a6->s6_addr[12] == 127;
    }
    return 0;
}

/* Faults decided before the handler runs: a storm, a 5xx, a held-open timeout.
 * Returns the hold time in ms (timeouts), 0 to go on, or -1 when answered. */
static long pre_faults(oc_sim_req_t *r)
{
    oc_sim_t *sim = r->sim;
    oc_sim_faults_t *fs[2] = {&sim->faults, r->acct != NULL ? &r->acct->faults : NULL};
    oc_sim_rng_t *rngs[2] = {&sim->rng, r->acct != NULL ? &r->acct->rng : NULL};
    uint64_t now = oc_now_ms();
    for (int i = 0; i < 2; i++) {
        oc_sim_faults_t *f = fs[i];
        if (f == NULL || !fault_applies(f, r))
            continue;
        if (f->storm_until_ms > now) {
            r->fault = "storm";
            oc_sim_bucket_t *b =
                r->acct != NULL && r->route->op != NULL
                    ? oc_sim_account_bucket(r->acct, r->route->bucket ? r->route->bucket : r->route->op)
                    : NULL;
            r->ch->throttled(r, b, (double)(f->storm_until_ms - now) / 1000.0);
            return -1;
        }
        if (oc_sim_rng_chance(rngs[i], f->error_rate)) {
            r->fault = "error";
            r->ch->error(r, f->error_status, "InternalFailure", "simulated server error");
            return -1;
        }
        if (oc_sim_rng_chance(rngs[i], f->timeout_rate)) {
            r->fault = "timeout";
            r->ch->error(r, 504, "GatewayTimeout", "simulated timeout");
            return f->timeout_ms > 0 ? f->timeout_ms : 1;
        }
    }
    return 0;
}

static void dispatch_channel(oc_sim_req_t *r, const oc_sim_channel_ops_t *ch)
{
    r->ch = ch;
    const oc_sim_route_t *found = NULL;
    int path_matched = 0;
    for (size_t i = 0; i < ch->nroutes; i++) {
        if (!match_route(r, &ch->routes[i]))
            continue;
        path_matched = 1;
        if (strcmp(ch->routes[i].method, r->method) == 0 ||
            (strcmp(r->method, "HEAD") == 0 && strcmp(ch->routes[i].method, "GET") == 0)) {
            found = &ch->routes[i];
            break;
        }
    }
    if (found == NULL) {
        ch->error(r, path_matched ? 405 : 404, path_matched ? "MethodNotAllowed" : "NotFound",
                  path_matched ? "method not allowed" : "not found");
        finish(r, 0);
        return;
    }
    match_route(r, found); /* restore this route's parameters */
    r->route = found;
    r->op = found->op;
    if (ch->authenticate(r) != 0) {
        finish(r, 0);
        return;
    }
    long hold_ms = pre_faults(r);
    if (hold_ms != 0) {
        finish(r, hold_ms > 0 ? (uint64_t)hold_ms : 0);
        return;
    }
    if (found->op != NULL && !(found->flags & (OC_SIM_NOAUTH | OC_SIM_OWN_LIMIT)) &&
        oc_sim_limit(r, found->bucket != NULL ? found->bucket : found->op, 1) != 0) {
        finish(r, 0);
        return;
    }
    found->handler(r);
    finish(r, 0);
}

static oc_sim_t *the_sim;

static int on_req(h2o_handler_t *self, h2o_req_t *req)
{
    oc_sim_t *sim = the_sim;
    oc_sim_req_t *r = oc_calloc(1, sizeof(*r));
    r->sim = sim;
    r->h2o = req;
    r->start_us = oc_mono_us();
    oc_strlcpy(r->method, req->method.base, req->method.len, sizeof(r->method));
    size_t plen = req->query_at != SIZE_MAX ? req->query_at : req->path.len;
    r->path = h2o_strdup(&req->pool, req->path.base, plen).base;
    if (req->query_at != SIZE_MAX)
        r->query = h2o_strdup(&req->pool, req->path.base + req->query_at + 1, req->path.len - req->query_at - 1).base;
    if (req->entity.base != NULL) {
        r->body = req->entity.base;
        r->body_len = req->entity.len;
    }
    snprintf(r->base, sizeof(r->base), "http://%.*s", (int)req->authority.len, req->authority.base);

    if (split_path(r) != 0 || r->nsegs == 0) {
        oc_sim_reply_json(r, 404, json_pack("{s:s}", "errors", "Not Found"));
        finish(r, 0);
        return 0;
    }
    if (strcmp(r->segs[0], "_sim") == 0) {
        if (!is_loopback(req))
            oc_sim_reply_json(r, 403, json_pack("{s:s}", "error", "the control API answers loopback clients only"));
        else
            oc_sim_control(r);
        finish(r, 0);
        return 0;
    }
    if (strcmp(r->segs[0], "shopify") == 0 && r->nsegs >= 2) {
        snprintf(r->shop, sizeof(r->shop), "%s", r->segs[1]);
        r->seg0 = 2;
        dispatch_channel(r, &oc_sim_shopify_ops);
    } else if (strcmp(r->segs[0], "amazon") == 0) {
        r->seg0 = 1;
        dispatch_channel(r, &oc_sim_amazon_ops);
    } else if (strcmp(r->segs[0], "walmart") == 0) {
        r->seg0 = 1;
        dispatch_channel(r, &oc_sim_walmart_ops);
    } else {
        oc_sim_reply_json(r, 404, json_pack("{s:s}", "errors", "Not Found"));
        finish(r, 0);
    }
    return 0;
}

/* --- start and stop ------------------------------------------------------------------------ */

static void release_held(oc_sim_t *sim)
{
    while (!h2o_linklist_is_empty(&sim->held)) {
        oc_sim_req_t *r = H2O_STRUCT_FROM_MEMBER(oc_sim_req_t, held_link, sim->held.next);
        oc_timer_stop(sim->loop, &r->timer);
        h2o_linklist_unlink(&r->held_link);
        send_now(r);
    }
}

static void shutdown_connections(oc_sim_t *sim)
{
    h2o_context_request_shutdown(&sim->ctx);
    oc_conns_close(&sim->conns, sim->loop);
}

int oc_sim_main(int argc, char **argv)
{
    int rc = 1, fd = -1, ctx_ready = 0;
    signal(SIGPIPE, SIG_IGN);
    /* Before the port file exists: a SIGTERM sent as soon as it does stops the simulators, not kills them. */
    struct sigaction sa = {.sa_handler = on_signal};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        oc_log_error("sim: libcurl failed to initialise");
        return 1;
    }
    oc_sim_t *sim = oc_calloc(1, sizeof(*sim));
    the_sim = sim;
    oc_conns_init(&sim->conns, &sim->accept_ctx);
    h2o_linklist_init_anchor(&sim->events);
    h2o_linklist_init_anchor(&sim->held);
    oc_sim_rng_seed(&sim->rng, 1);
    oc_sim_faults_clear(&sim->faults);
    sim->loop = oc_loop_create();
    oc_sim_reset(sim);
    if ((fd = oc_listener_open("sim", &sim->port)) < 0)
        goto Error;

    /* The delivery thread must not take SIGTERM/SIGINT; the loop thread does. */
    sigset_t sigs, old;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGINT);
    pthread_sigmask(SIG_BLOCK, &sigs, &old);
    sim->webhooks = oc_sim_webhooks_start();
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (sim->webhooks == NULL) {
        oc_log_error("sim: cannot start the webhook thread");
        goto Error;
    }
    h2o_config_init(&sim->globalconf);
    sim->globalconf.server_name = h2o_iovec_init(H2O_STRLIT("onecount-sim"));
    sim->globalconf.max_request_entity_size = 64 * 1024 * 1024;
    h2o_hostconf_t *host = h2o_config_register_host(&sim->globalconf, h2o_iovec_init(H2O_STRLIT("default")), 65535);
    h2o_pathconf_t *path = h2o_config_register_path(host, "/", 0);
    h2o_handler_t *handler = h2o_create_handler(path, sizeof(*handler));
    handler->on_req = on_req;
    h2o_context_init(&sim->ctx, oc_loop_h2o(sim->loop), &sim->globalconf);
    ctx_ready = 1;
    sim->accept_ctx.ctx = &sim->ctx;
    sim->accept_ctx.hosts = sim->globalconf.hosts;
    sim->listener = h2o_evloop_socket_create(oc_loop_h2o(sim->loop), fd, H2O_SOCKET_FLAG_DONT_READ);
    fd = -1;
    oc_conns_accept(&sim->conns, sim->listener);
    oc_log_info("sim: serving the Shopify, Amazon and Walmart simulators");

    while (!stop_signal)
        oc_loop_run_once(sim->loop, 100);
    oc_log_fields(OC_LOG_INFO, "shutting down",
                  json_pack("{s:s}", "signal", stop_signal == SIGTERM ? "SIGTERM" : "SIGINT"));
    sim->stopping = 1;
    h2o_socket_read_stop(sim->listener);
    h2o_socket_close(sim->listener);
    sim->listener = NULL;
    release_held(sim);
    shutdown_connections(sim);
    rc = 0;

Error:
    if (fd >= 0)
        close(fd);
    if (sim != NULL) {
        oc_sim_webhooks_stop(sim->webhooks);
        sim->webhooks = NULL;
        oc_sim_reset(sim);
        oc_sim_log_free(sim);
        if (ctx_ready) {
            int drained = oc_conns_empty(&sim->conns);
            if (h2o_timeout_is_linked(&sim->ctx.http2._graceful_shutdown_timeout))
                h2o_timeout_unlink(&sim->ctx.http2._graceful_shutdown_timeout);
            if (drained) {
                h2o_context_dispose(&sim->ctx);
                h2o_config_dispose(&sim->globalconf);
            }
            for (int i = 0; i < 3; i++)
                oc_loop_run_once(sim->loop, 0);
        }
        if (sim->loop != NULL)
            oc_loop_destroy(sim->loop);
        free(sim);
    }
    the_sim = NULL;
    curl_global_cleanup();
    if (rc == 0)
        oc_log_info("stopped");
    return rc;
}
