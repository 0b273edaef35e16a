/*
 * http.c — threads, listener, request lifecycle and responses (see http.h).
 *
 * One h2o pathconf at "/" carries, in order: the API handler (which declines
 * paths that are not API routes), the static file handler for web/, a
 * filter adding security headers to every response, and an access logger
 * for the static responses (API responses are logged by oc_req_finish, which
 * knows the route and tenant).
 */
#include "server/http.h"
#include "server/api.h"
#include "adapters/chttp.h"
#include "server/sync_metrics.h"
#include "server/auth.h"
#include "runtime/config.h"
#include "runtime/listener.h"
#include "runtime/log.h"
#include "runtime/metrics.h"
#include "runtime/opslisten.h"
#include "runtime/netaddr.h"
#include "runtime/text.h"
#include "server/router.h"
#include "tenants/catalog.h"
#include "tenants/holds.h"
#include "tenants/ledger.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <sodium.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

oc_thread_t **oc_server_threads;
int oc_server_nthreads;
oc_workpool_t *oc_server_workpool;

static h2o_globalconf_t globalconf;
static int listen_fd = -1;
static oc_opslisten_t *metrics_listener; /* serve's /metrics, on the first thread's loop */
static atomic_int shutdown_requested;
static h2o_hostconf_t *api_hosts[2];
static oc_cidr_t trusted[OC_CIDR_MAX]; /* trusted_proxies, parsed at start */
static int ntrusted;
static oc_route_metrics_t static_metrics = {.route = "static", .method = "GET"};
static oc_route_metrics_t unmatched_metrics = {.route = "unmatched", .method = "*"};

static const char csp[] = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                          "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; "
                          "form-action 'self'; frame-ancestors 'none'";

/* --- the request guard: notices when h2o disposes a request we still hold --- */

struct req_guard {
    oc_req_t *r;
};

static void on_h2o_req_dispose(void *p)
{
    struct req_guard *g = p;
    if (g->r != NULL) {
        g->r->h2o = NULL;
        g->r->guard = NULL;
    }
}

/* --- the thread's channel HTTP client --------------------------------------- */

static void chttp_dispose(void *p)
{
    oc_chttp_destroy(p);
}

oc_chttp_t *oc_thread_chttp(oc_thread_t *th)
{
    static const char slot;
    oc_chttp_t *h = oc_thread_slot(th, &slot);
    if (h == NULL)
        h = oc_thread_set_slot(th, &slot, oc_chttp_create(th->loop), chttp_dispose);
    return h;
}

/* --- request helpers ---------------------------------------------------- */

const oc_actor_t *oc_req_actor(oc_req_t *r)
{
    r->actor = (oc_actor_t){
        .portfolio = r->portfolio[0] ? r->portfolio : r->auth.portfolio_id,
        .tenant = r->tenant,
        .user = r->auth.user_id[0] ? r->auth.user_id : NULL,
        .token = r->auth.kind == OC_AUTH_TOKEN ? r->auth.credential_id : NULL,
        .request_id = r->request_id,
        .pool = &r->pool,
    };
    return &r->actor;
}

void *oc_req_alloc(oc_req_t *r, size_t n)
{
    return h2o_mem_alloc_pool(&r->pool, n);
}

char *oc_req_strdup(oc_req_t *r, const char *s, size_t len)
{
    char *d = h2o_mem_alloc_pool(&r->pool, len + 1);
    memcpy(d, s, len);
    d[len] = '\0';
    return d;
}

void oc_api_request_hash(oc_req_t *r, char out[65])
{
    crypto_hash_sha256_state st;
    unsigned char md[crypto_hash_sha256_BYTES];
    crypto_hash_sha256_init(&st);
    crypto_hash_sha256_update(&st, (const unsigned char *)r->method, strlen(r->method));
    crypto_hash_sha256_update(&st, (const unsigned char *)" ", 1);
    crypto_hash_sha256_update(&st, (const unsigned char *)r->path, strlen(r->path));
    if (r->query != NULL) { /* only when there is one, so hashes of requests without a query are unchanged */
        crypto_hash_sha256_update(&st, (const unsigned char *)"?", 1);
        crypto_hash_sha256_update(&st, (const unsigned char *)r->query, strlen(r->query));
    }
    crypto_hash_sha256_update(&st, (const unsigned char *)"\n", 1);
    if (r->raw.len > 0)
        crypto_hash_sha256_update(&st, (const unsigned char *)r->raw.base, r->raw.len);
    crypto_hash_sha256_final(&st, md);
    sodium_bin2hex(out, 65, md, sizeof(md));
}

struct disposer {
    void (*fn)(void *);
    void *p;
};

static void run_disposer(void *mem)
{
    struct disposer *d = mem;
    d->fn(d->p);
}

void oc_req_dispose_later(oc_req_t *r, void (*fn)(void *), void *p)
{
    struct disposer *d = h2o_mem_alloc_shared(&r->pool, sizeof(*d), run_disposer);
    d->fn = fn;
    d->p = p;
}

const char *oc_req_param(const oc_req_t *r, const char *name)
{
    for (int i = 0; i < r->nparams; i++)
        if (strcmp(r->params[i].name, name) == 0)
            return r->params[i].value;
    return NULL;
}

const char *oc_req_id_param(oc_req_t *r, const char *name, const char *not_found_message)
{
    const char *id = oc_req_param(r, name);
    if (id == NULL || !oc_is_uuid(id, strlen(id))) {
        oc_respond_error(r, 404, "not_found", not_found_message, NULL);
        return NULL;
    }
    return id;
}

const char *oc_req_num_param(oc_req_t *r, const char *name, const char *not_found_message)
{
    const char *id = oc_req_param(r, name);
    size_t n = id != NULL ? strlen(id) : 0;
    if (n == 0 || n > 18 || strspn(id, "0123456789") != n || strspn(id, "0") == n) {
        oc_respond_error(r, 404, "not_found", not_found_message, NULL);
        return NULL;
    }
    return id;
}

const char *oc_req_query(oc_req_t *r, const char *name)
{
    if (r->query == NULL)
        return NULL;
    size_t nl = strlen(name);
    const char *p = r->query;
    while (*p != '\0') {
        const char *amp = strchr(p, '&'), *end = amp != NULL ? amp : p + strlen(p);
        const char *eq = memchr(p, '=', (size_t)(end - p));
        const char *kend = eq != NULL ? eq : end;
        if ((size_t)(kend - p) == nl && memcmp(p, name, nl) == 0) {
            const char *v = eq != NULL ? eq + 1 : end;
            size_t vl = (size_t)(end - v);
            char *out = h2o_mem_alloc_pool(&r->pool, vl + 1);
            if (oc_percent_decode(v, vl, out, vl + 1, 1) < 0)
                return NULL;
            return out;
        }
        p = amp != NULL ? amp + 1 : end;
    }
    return NULL;
}

const char *oc_req_header(oc_req_t *r, const char *name)
{
    if (r->h2o == NULL)
        return NULL;
    ssize_t i = h2o_find_header_by_str(&r->h2o->headers, name, strlen(name), -1);
    if (i < 0)
        return NULL;
    h2o_iovec_t v = r->h2o->headers.entries[i].value;
    return oc_req_strdup(r, v.base, v.len);
}

void oc_resp_header(oc_req_t *r, const char *name, const char *value)
{
    if (r->nheaders == (int)OC_ARRAY_SIZE(r->headers))
        return;
    r->headers[r->nheaders].name = oc_req_strdup(r, name, strlen(name));
    r->headers[r->nheaders].value = oc_req_strdup(r, value, strlen(value));
    r->nheaders++;
}

/* --- finishing a request ------------------------------------------------- */

static void log_request(oc_req_t *r, int sent)
{
    uint64_t us = oc_mono_us() - r->start_us;
    oc_route_metrics_t *rm = r->route != NULL ? (oc_route_metrics_t *)&r->route->metrics : &unmatched_metrics;
    oc_metrics_observe(rm, r->status, us);
    if (!oc_log_enabled(OC_LOG_INFO))
        return;
    json_t *f =
        json_pack("{s:s, s:s, s:s, s:i, s:f, s:s}", "event", "http", "method", r->method, "path",
                  r->path ? r->path : "", "status", r->status, "ms", (double)us / 1000.0, "request_id", r->request_id);
    if (r->route != NULL)
        json_object_set_new(f, "route", json_string(r->route->pattern));
    if (r->tenant[0] != '\0')
        json_object_set_new(f, "tenant", json_string(r->tenant));
    if (r->auth.user_id[0] != '\0')
        json_object_set_new(f, "user", json_string(r->auth.user_id));
    if (!sent)
        json_object_set_new(f, "client_gone", json_true());
    oc_log_fields(r->status >= 500 ? OC_LOG_WARN : OC_LOG_INFO, "request", f);
}

static void req_free(oc_req_t *r)
{
    if (r->guard != NULL)
        r->guard->r = NULL;
    if (r->state_free != NULL)
        r->state_free(r->state);
    json_decref(r->body);
    h2o_mem_clear_pool(&r->pool);
    r->thread->inflight--;
    free(r);
}

static void send_response(oc_req_t *r, int status, const char *content_type, const char *data, size_t len)
{
    r->status = status;
    if (status < 400 && r->route != NULL && r->route->body == OC_BODY_JSON && !r->validated)
        oc_log_fields(
            OC_LOG_ERROR, "body not validated",
            json_pack("{s:s, s:s, s:s}", "route", r->route->pattern, "method", r->method, "request_id", r->request_id));
    h2o_req_t *req = r->h2o;
    int sent = req != NULL;
    if (req != NULL) {
        req->res.status = status;
        req->res.reason = oc_http_reason(status);
        req->res.content_length = len;
        if (content_type != NULL)
            h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE, NULL,
                           h2o_strdup(&req->pool, content_type, SIZE_MAX).base, strlen(content_type));
        h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CACHE_CONTROL, NULL, H2O_STRLIT("no-store"));
        h2o_add_header_by_str(&req->pool, &req->res.headers, H2O_STRLIT("x-request-id"), 0, NULL,
                              h2o_strdup(&req->pool, r->request_id, SIZE_MAX).base, strlen(r->request_id));
        for (int i = 0; i < r->nheaders; i++)
            h2o_add_header_by_str(&req->pool, &req->res.headers, r->headers[i].name, strlen(r->headers[i].name), 1,
                                  NULL, h2o_strdup(&req->pool, r->headers[i].value, SIZE_MAX).base,
                                  strlen(r->headers[i].value));
        h2o_send_inline(req, data, len);
    }
    log_request(r, sent);
    req_free(r);
}

void oc_respond_raw(oc_req_t *r, int status, const char *content_type, const char *data, size_t len)
{
    send_response(r, status, content_type, data, len);
}

void oc_respond_json(oc_req_t *r, int status, json_t *body)
{
    if (body == NULL) {
        send_response(r, status, NULL, "", 0);
        return;
    }
    /* One error shape, whoever built the body (the ledger's own, ledger_err() in SQL): the id is added here. */
    json_t *err = json_object_get(body, "error");
    if (status >= 400 && json_is_object(err) && json_object_get(err, "request_id") == NULL) {
        if (json_object_get(err, "field") == NULL)
            json_object_set_new(err, "field", json_null());
        json_object_set_new(err, "request_id", json_string(r->request_id));
    }
    char *s = json_dumps(body, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(body);
    if (s == NULL) {
        oc_respond_error(r, 500, "internal", "response could not be encoded", NULL);
        return;
    }
    send_response(r, status, "application/json; charset=utf-8", s, strlen(s));
    free(s);
}

/*
 * A 422 always lists its problems (error.problems, the first being the
 * error's own field and message): one refused field here, every one from
 * the validators and the SOP's checks, so a client reads one shape.
 */
static void add_problem(json_t *body)
{
    json_t *e = json_object_get(body, "error");
    if (json_object_get(e, "problems") != NULL)
        return;
    json_object_set_new(
        e, "problems",
        json_pack("[{s:O, s:O}]", "field", json_object_get(e, "field"), "message", json_object_get(e, "message")));
}

void oc_respond_error(oc_req_t *r, int status, const char *code, const char *message, const char *field)
{
    json_t *body = oc_error_body(code, message, field, r->request_id);
    if (status == 422)
        add_problem(body);
    oc_respond_json(r, status, body);
}

int oc_req_validate(oc_req_t *r, const oc_field_t *fields)
{
    oc_json_error_t err;
    if (oc_json_validate(r->body, fields, &err) == 0) {
        r->validated = 1;
        return 0;
    }
    /* The first problem as the error's field and message, and every problem, so a form marks them all at once. */
    json_t *body = oc_error_body("invalid", err.message, err.field[0] ? err.field : NULL, r->request_id);
    json_t *problems = json_array();
    for (int i = 0; i < err.nproblems && i < OC_JSON_MAX_PROBLEMS; i++)
        json_array_append_new(problems,
                              json_pack("{s:o, s:s}", "field",
                                        err.problems[i].field[0] ? json_string(err.problems[i].field) : json_null(),
                                        "message", err.problems[i].message));
    json_object_set_new(json_object_get(body, "error"), "problems", problems);
    oc_respond_json(r, 422, body);
    return -1;
}

void oc_respond_unavailable(oc_req_t *r, const char *what)
{
    oc_resp_header(r, "retry-after", "1");
    char msg[128];
    snprintf(msg, sizeof(msg), "%s is unavailable; retry shortly", what);
    oc_respond_error(r, 503, "unavailable", msg, NULL);
}

void oc_respond_fail(oc_req_t *r, const oc_fail_t *f)
{
    static const struct {
        int status;
        const char *code;
    } map[] = {
        [OC_FAIL_NONE] = {500, "internal"},       [OC_FAIL_INVALID] = {422, "invalid"},
        [OC_FAIL_NOT_FOUND] = {404, "not_found"}, [OC_FAIL_CONFLICT] = {409, "conflict"},
        [OC_FAIL_FORBIDDEN] = {403, "forbidden"}, [OC_FAIL_UNAVAILABLE] = {503, "unavailable"},
        [OC_FAIL_DB] = {500, "internal"},         [OC_FAIL_INTERNAL] = {500, "internal"},
    };
    if (f->kind == OC_FAIL_DB && f->db != NULL) {
        oc_respond_db_error(r, f->db);
        return;
    }
    size_t k = (size_t)f->kind < OC_ARRAY_SIZE(map) ? (size_t)f->kind : OC_FAIL_INTERNAL;
    if (f->kind == OC_FAIL_UNAVAILABLE)
        oc_resp_header(r, "retry-after", "1");
    json_t *body = oc_error_body(f->code != NULL ? f->code : map[k].code, f->message, f->field, r->request_id);
    if (f->detail != NULL)
        json_object_update(json_object_get(body, "error"), f->detail);
    if (map[k].status == 422)
        add_problem(body);
    oc_respond_json(r, map[k].status, body);
}

void oc_respond_db_error(oc_req_t *r, const oc_db_result_t *res)
{
    /* Idempotency outcomes raised by idem_begin() (migrations/0003). */
    if (strcmp(res->sqlstate, "OCIDR") == 0 && res->extra != NULL) {
        int status = atoi(res->extra);
        const char *body = strchr(res->extra, ' ');
        oc_resp_header(r, "idempotent-replayed", "true");
        oc_respond_raw(r, status > 0 ? status : 200, "application/json; charset=utf-8", body ? body + 1 : "{}",
                       body ? strlen(body + 1) : 2);
        return;
    }
    if (strcmp(res->sqlstate, "OCIDF") == 0) {
        oc_resp_header(r, "retry-after", "1");
        oc_respond_error(r, 409, "in_flight", "a request with this Idempotency-Key is in progress", NULL);
        return;
    }
    if (strcmp(res->sqlstate, "OCIDM") == 0) {
        oc_respond_error(r, 422, "idempotency_mismatch", "this Idempotency-Key was used with a different request",
                         NULL);
        return;
    }
    switch (res->code) {
    case OC_EUNAVAIL:
    case OC_ETIMEDOUT:
    case OC_EBUSY: oc_respond_unavailable(r, "the database"); return;
    case OC_ECONFLICT:
        if (strcmp(res->sqlstate, "40001") == 0 || strcmp(res->sqlstate, "40P01") == 0) {
            oc_respond_unavailable(r, "the database");
            return;
        }
        oc_respond_error(r, 409, "conflict", "the request conflicts with existing data", NULL);
        return;
    default: break;
    }
    if (strncmp(res->sqlstate, "22", 2) == 0) {
        /* A data exception: input the validators should have refused reached SQL.  Still the client's
         * input, so a 4xx; logged as an error because a field table is missing a rule. */
        oc_log_fields(OC_LOG_ERROR, "bad input reached SQL",
                      json_pack("{s:s, s:s, s:s}", "sqlstate", res->sqlstate, "detail", res->err ? res->err : "",
                                "request_id", r->request_id));
        oc_respond_error(r, 422, "invalid", "a value is out of range or malformed", NULL);
        return;
    }
    oc_log_fields(OC_LOG_ERROR, "database error",
                  json_pack("{s:s, s:s, s:s}", "sqlstate", res->sqlstate, "detail", res->detail ? res->detail : "",
                            "request_id", r->request_id));
    oc_respond_error(r, 500, "internal", "internal error", NULL);
}

/* --- the API handler ------------------------------------------------------ */

static int is_api_path(const char *p, size_t l)
{
    return (l >= 5 && memcmp(p, "/api/", 5) == 0) || (l == 4 && memcmp(p, "/api", 4) == 0) ||
           (l == 8 && memcmp(p, "/healthz", 8) == 0) || (l == 7 && memcmp(p, "/readyz", 7) == 0);
}

static int valid_request_id(const char *s, size_t l)
{
    if (l == 0 || l > 64)
        return 0;
    for (size_t i = 0; i < l; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
              c == '.'))
            return 0;
    }
    return 1;
}

/* The name of the first query parameter that does not decode to UTF-8 text (bad escape, NUL), or NULL. */
static const char *bad_query_param(oc_req_t *r)
{
    if (r->query == NULL)
        return NULL;
    size_t len = strlen(r->query);
    char *buf = oc_req_alloc(r, len + 1);
    for (const char *p = r->query; *p != '\0';) {
        const char *amp = strchr(p, '&'), *end = amp != NULL ? amp : p + strlen(p);
        const char *eq = memchr(p, '=', (size_t)(end - p));
        const char *kend = eq != NULL ? eq : end;
        int kl = oc_percent_decode(p, (size_t)(kend - p), buf, len + 1, 1);
        if (kl < 0 || !oc_utf8_ok(buf, (size_t)kl))
            return "query";
        char *name = oc_req_strdup(r, buf, (size_t)kl);
        if (eq != NULL) {
            int vl = oc_percent_decode(eq + 1, (size_t)(end - eq - 1), buf, len + 1, 1);
            if (vl < 0 || !oc_utf8_ok(buf, (size_t)vl))
                return name;
        }
        p = amp != NULL ? amp + 1 : end;
    }
    return NULL;
}

/* A body of only `{}` (what some clients send with any POST) is no body. */
static int empty_json_object(h2o_iovec_t raw)
{
    size_t i = 0, n = raw.len;
    const char *p = raw.base;
    while (i < n && (p[i] == ' ' || p[i] == '\t' || p[i] == '\r' || p[i] == '\n'))
        i++;
    if (i >= n || p[i++] != '{')
        return 0;
    while (i < n && (p[i] == ' ' || p[i] == '\t' || p[i] == '\r' || p[i] == '\n'))
        i++;
    if (i >= n || p[i++] != '}')
        return 0;
    while (i < n && (p[i] == ' ' || p[i] == '\t' || p[i] == '\r' || p[i] == '\n'))
        i++;
    return i == n;
}

/* Idempotency keys are stored and compared as text: 1 to 255 visible ASCII characters. */
static int idempotency_key_ok(const char *k)
{
    size_t n = strlen(k);
    if (n == 0 || n > 255)
        return 0;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)k[i] < 0x21 || (unsigned char)k[i] > 0x7e)
            return 0;
    return 1;
}

static int content_type_is(h2o_req_t *req, const char *want)
{
    ssize_t i = h2o_find_header(&req->headers, H2O_TOKEN_CONTENT_TYPE, -1);
    if (i < 0)
        return 0;
    h2o_iovec_t v = req->headers.entries[i].value;
    size_t l = 0;
    while (l < v.len && v.base[l] != ';' && v.base[l] != ' ')
        l++;
    return oc_strieq(v.base, l, want);
}

/* The client address when the peer is a trusted proxy (server/runtime/netaddr.h);
 * several X-Forwarded-For headers read as one list. */
static void client_behind_proxies(oc_req_t *r)
{
    h2o_headers_t *hs = &r->h2o->headers;
    oc_buf_t xff = {0};
    for (ssize_t i = -1; (i = h2o_find_header_by_str(hs, H2O_STRLIT("x-forwarded-for"), i)) >= 0;) {
        if (xff.len > 0)
            oc_buf_append(&xff, ",", 1);
        oc_buf_append(&xff, hs->entries[i].value.base, hs->entries[i].value.len);
    }
    char peer[sizeof(r->remote_addr)];
    memcpy(peer, r->remote_addr, sizeof(peer));
    oc_client_addr(trusted, ntrusted, peer, xff.len > 0 ? oc_buf_cstr(&xff) : NULL, r->remote_addr,
                   sizeof(r->remote_addr));
    oc_buf_free(&xff);
}

static int on_api_req(h2o_handler_t *self, h2o_req_t *req)
{
    size_t plen = req->query_at != SIZE_MAX ? req->query_at : req->path.len;
    if (!is_api_path(req->path.base, plen))
        return -1;

    oc_thread_t *th = (oc_thread_t *)((char *)req->conn->ctx - offsetof(oc_thread_t, ctx));
    oc_req_t *r = oc_calloc(1, sizeof(*r));
    r->h2o = req;
    r->thread = th;
    r->start_us = oc_mono_us();
    h2o_mem_init_pool(&r->pool);
    th->inflight++;
    r->guard = h2o_mem_alloc_shared(&req->pool, sizeof(*r->guard), on_h2o_req_dispose);
    r->guard->r = r;
    oc_strlcpy(r->method, req->method.base, req->method.len, sizeof(r->method));
    r->path = oc_req_strdup(r, req->path.base, plen);
    if (req->query_at != SIZE_MAX)
        r->query = oc_req_strdup(r, req->path.base + req->query_at + 1, req->path.len - req->query_at - 1);
    ssize_t hi = h2o_find_header_by_str(&req->headers, H2O_STRLIT("x-request-id"), -1);
    if (hi >= 0 && valid_request_id(req->headers.entries[hi].value.base, req->headers.entries[hi].value.len))
        oc_strlcpy(r->request_id, req->headers.entries[hi].value.base, req->headers.entries[hi].value.len,
                   sizeof(r->request_id));
    else
        oc_random_hex(r->request_id, 16);
    if (req->conn->callbacks->get_peername != NULL) {
        struct sockaddr_storage ss;
        socklen_t sl = req->conn->callbacks->get_peername(req->conn, (struct sockaddr *)&ss);
        if (sl > 0 && ss.ss_family == AF_INET)
            inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr, r->remote_addr, sizeof(r->remote_addr));
        else if (sl > 0 && ss.ss_family == AF_INET6)
            inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&ss)->sin6_addr, r->remote_addr, sizeof(r->remote_addr));
    }
    if (ntrusted > 0 && r->remote_addr[0] != '\0')
        client_behind_proxies(r);

    const oc_route_t *route = NULL;
    oc_match_params_t mp;
    char allow[128];
    switch (oc_router_match(oc_routes, oc_routes_count, req->method.base, req->method.len, req->path.base, plen, &route,
                            &mp, allow, sizeof(allow))) {
    case OC_MATCH_NONE: oc_respond_error(r, 404, "not_found", "no such endpoint", NULL); return 0;
    case OC_MATCH_BAD_METHOD:
        oc_resp_header(r, "allow", allow);
        oc_respond_error(r, 405, "method_not_allowed", "method not allowed on this endpoint", NULL);
        return 0;
    case OC_MATCH_FOUND: break;
    }
    r->route = route;
    for (int i = 0; i < mp.n; i++) {
        char *v = oc_req_alloc(r, mp.p[i].len + 1);
        int vl = oc_percent_decode(mp.p[i].value, mp.p[i].len, v, mp.p[i].len + 1, 1);
        if (vl < 0 || !oc_utf8_ok(v, (size_t)vl)) {
            oc_respond_error(r, 400, "bad_path",
                             vl < 0 ? "malformed escape in the path" : "a path segment is not valid UTF-8",
                             mp.p[i].name);
            return 0;
        }
        r->params[r->nparams].name = mp.p[i].name;
        r->params[r->nparams].value = v;
        r->nparams++;
    }

    /* The query string and the headers that reach SQL: text, as PostgreSQL stores it. */
    const char *bad = bad_query_param(r);
    if (bad != NULL) {
        oc_respond_error(r, 400, "bad_query", "a query parameter is malformed or not valid UTF-8", bad);
        return 0;
    }
    const char *idem = oc_req_header(r, "idempotency-key");
    if (idem != NULL && !idempotency_key_ok(idem)) {
        oc_respond_error(r, 400, "bad_idempotency_key", "Idempotency-Key must be 1 to 255 visible ASCII characters",
                         NULL);
        return 0;
    }
    r->idem_key = (char *)idem;

    /* The body: size limit, content type, JSON syntax. */
    size_t limit = route->body == OC_BODY_CSV ? (size_t)oc_config.max_upload_bytes : (size_t)oc_config.max_body_bytes;
    if (req->entity.base != NULL && req->entity.len > limit) {
        char msg[96];
        snprintf(msg, sizeof(msg), "request body exceeds %zu bytes", limit);
        oc_respond_error(r, 413, "too_large", msg, NULL);
        return 0;
    }
    if (req->entity.base != NULL && req->entity.len > 0)
        r->raw = h2o_iovec_init(oc_req_strdup(r, req->entity.base, req->entity.len), req->entity.len);
    if (route->body == OC_BODY_CSV && r->raw.len > 0 && !content_type_is(req, "text/csv")) {
        oc_respond_error(r, 415, "unsupported_media_type", "send the file as text/csv", NULL);
        return 0;
    }
    if (route->body == OC_BODY_NONE && r->raw.len > 0 && !empty_json_object(r->raw)) {
        oc_respond_error(r, 400, "unexpected_body", "this endpoint takes no body", NULL);
        return 0;
    }
    if (route->body == OC_BODY_JSON) {
        if (r->raw.len == 0) {
            r->body = json_object();
        } else {
            if (!content_type_is(req, "application/json")) {
                oc_respond_error(r, 415, "unsupported_media_type", "send the body as application/json", NULL);
                return 0;
            }
            json_error_t jerr;
            r->body = json_loadb(r->raw.base, r->raw.len, JSON_REJECT_DUPLICATES, &jerr);
            if (r->body == NULL) {
                char msg[256];
                snprintf(msg, sizeof(msg), "malformed JSON at line %d, column %d (byte %d): %s", jerr.line, jerr.column,
                         jerr.position, jerr.text);
                oc_respond_error(r, 400, "malformed_json", msg, NULL);
                return 0;
            }
            if (!json_is_object(r->body)) {
                oc_respond_error(r, 400, "malformed_json", "the body must be a JSON object", NULL);
                return 0;
            }
        }
    }
    if (route->perm == OC_PERM_PUBLIC)
        route->handler(r);
    else
        oc_auth_dispatch(r);
    return 0;
}

/* --- static files: security headers and access log ------------------------ */

static void add_security_headers(h2o_req_t *req)
{
    h2o_headers_t *h = &req->res.headers;
    h2o_mem_pool_t *pool = &req->pool;
    h2o_set_header_by_str(pool, h, H2O_STRLIT("content-security-policy"), 0, csp, sizeof(csp) - 1, 1);
    h2o_set_header_by_str(pool, h, H2O_STRLIT("x-content-type-options"), 0, H2O_STRLIT("nosniff"), 1);
    h2o_set_header_by_str(pool, h, H2O_STRLIT("x-frame-options"), 0, H2O_STRLIT("DENY"), 1);
    h2o_set_header_by_str(pool, h, H2O_STRLIT("referrer-policy"), 0, H2O_STRLIT("no-referrer"), 1);
    h2o_set_header_by_str(pool, h, H2O_STRLIT("cross-origin-opener-policy"), 0, H2O_STRLIT("same-origin"), 1);
    if (h2o_find_header_by_str(h, H2O_STRLIT("x-request-id"), -1) < 0) {
        char id[33];
        oc_random_hex(id, 16);
        h2o_add_header_by_str(pool, h, H2O_STRLIT("x-request-id"), 0, NULL, h2o_strdup(pool, id, 32).base, 32);
    }
}

static void on_setup_ostream(h2o_filter_t *self, h2o_req_t *req, h2o_ostream_t **slot)
{
    add_security_headers(req);
    h2o_setup_next_ostream(req, slot);
}

/* --- errors h2o answers itself (413 before any handler ran, broken bodies) ------ */

/* Such an error is answered on the host's fallback path with a text body;
 * this output stream sends the one JSON error shape in its place. */
typedef struct {
    h2o_ostream_t super;
    h2o_iovec_t body;
} json_error_ostream_t;

static void json_error_do_send(h2o_ostream_t *self, h2o_req_t *req, h2o_iovec_t *bufs, size_t bufcnt,
                               h2o_send_state_t state)
{
    json_error_ostream_t *o = (json_error_ostream_t *)self;
    if (h2o_send_state_is_in_progress(state)) {
        h2o_ostream_send_next(self, req, NULL, 0, state);
        return;
    }
    h2o_ostream_send_next(self, req, &o->body, 1, state);
}

static void on_fallback_setup_ostream(h2o_filter_t *self, h2o_req_t *req, h2o_ostream_t **slot)
{
    int status = req->res.status;
    if (status >= 400) {
        char rid[65], msg[160];
        ssize_t hi = h2o_find_header_by_str(&req->headers, H2O_STRLIT("x-request-id"), -1);
        if (hi >= 0 && valid_request_id(req->headers.entries[hi].value.base, req->headers.entries[hi].value.len))
            oc_strlcpy(rid, req->headers.entries[hi].value.base, req->headers.entries[hi].value.len, sizeof(rid));
        else
            oc_random_hex(rid, 16);
        const char *code = status == 413 ? "too_large" : status == 400 ? "bad_request" : "http_error";
        if (status == 413)
            snprintf(msg, sizeof(msg), "request body too large: at most %d bytes (CSV imports), %d bytes (JSON)",
                     oc_config.max_upload_bytes, oc_config.max_body_bytes);
        else
            snprintf(msg, sizeof(msg), "%s", req->res.reason != NULL ? req->res.reason : "the request was refused");
        for (char *p = msg; status != 413 && *p; p++)
            *p = (char)tolower((unsigned char)*p);
        json_t *eb = oc_error_body(code, msg, NULL, rid);
        char *text = json_dumps(eb, JSON_COMPACT | JSON_PRESERVE_ORDER);
        json_decref(eb);
        if (text != NULL) {
            json_error_ostream_t *o = (json_error_ostream_t *)h2o_add_ostream(req, sizeof(*o), slot);
            o->super.do_send = json_error_do_send;
            o->body = h2o_strdup(&req->pool, text, SIZE_MAX);
            free(text);
            req->res.content_length = o->body.len;
            h2o_set_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE,
                           H2O_STRLIT("application/json; charset=utf-8"), 1);
            h2o_set_header(&req->pool, &req->res.headers, H2O_TOKEN_CACHE_CONTROL, H2O_STRLIT("no-store"), 1);
            h2o_set_header_by_str(&req->pool, &req->res.headers, H2O_STRLIT("x-request-id"), 0,
                                  h2o_strdup(&req->pool, rid, SIZE_MAX).base, strlen(rid), 1);
            slot = &o->super.next;
        }
    }
    add_security_headers(req);
    h2o_setup_next_ostream(req, slot);
}

static void log_access(h2o_req_t *req);

static void on_log_access(h2o_logger_t *self, h2o_req_t *req)
{
    size_t plen = req->query_at != SIZE_MAX ? req->query_at : req->path.len;
    if (is_api_path(req->path.base, plen) && req->res.status != 0) {
        /* API requests are logged by log_request; requests h2o itself
         * refused are logged by the fallback path's logger. */
        ssize_t hi = h2o_find_header_by_str(&req->res.headers, H2O_STRLIT("cache-control"), -1);
        if (hi >= 0)
            return;
    }
    log_access(req);
}

static void on_log_fallback(h2o_logger_t *self, h2o_req_t *req)
{
    log_access(req);
}

static void log_access(h2o_req_t *req)
{
    size_t plen = req->query_at != SIZE_MAX ? req->query_at : req->path.len;
    int64_t us = (int64_t)(req->timestamps.response_end_at.tv_sec - req->timestamps.request_begin_at.tv_sec) * 1000000 +
                 (req->timestamps.response_end_at.tv_usec - req->timestamps.request_begin_at.tv_usec);
    if (us < 0)
        us = 0;
    oc_metrics_observe(&static_metrics, req->res.status, (uint64_t)us);
    if (!oc_log_enabled(OC_LOG_INFO))
        return;
    ssize_t hi = h2o_find_header_by_str(&req->res.headers, H2O_STRLIT("x-request-id"), -1);
    char path[512], method[16], rid[65] = "";
    oc_strlcpy(path, req->path.base, plen, sizeof(path));
    oc_strlcpy(method, req->method.base, req->method.len, sizeof(method));
    if (hi >= 0)
        oc_strlcpy(rid, req->res.headers.entries[hi].value.base, req->res.headers.entries[hi].value.len, sizeof(rid));
    oc_log_fields(OC_LOG_INFO, "request",
                  json_pack("{s:s, s:s, s:s, s:i, s:f, s:s}", "event", "http", "method", method, "path", path, "status",
                            req->res.status, "ms", (double)us / 1000.0, "request_id", rid));
}

/* --- threads and lifecycle ------------------------------------------------- */

static void *thread_main(void *p)
{
    oc_thread_t *th = p;
    while (!atomic_load(&shutdown_requested))
        oc_loop_run_once(th->loop, 100);

    /* Graceful shutdown: stop accepting, let in-flight requests finish. */
    if (th->listener != NULL) {
        h2o_socket_read_stop(th->listener);
        h2o_socket_close(th->listener);
        th->listener = NULL;
    }
    if (th->index == 0) {
        oc_opslisten_stop(metrics_listener);
        metrics_listener = NULL;
    }
    h2o_context_request_shutdown(&th->ctx);
    uint64_t deadline = oc_mono_us() + (uint64_t)oc_config.shutdown_timeout_ms * 1000;
    while (th->inflight > 0 && oc_mono_us() < deadline)
        oc_loop_run_once(th->loop, 10);
    if (th->inflight > 0)
        oc_log_warn("shutdown: %d request(s) still running after %d ms", th->inflight, oc_config.shutdown_timeout_ms);
    /* Nothing is in flight: end the remaining (idle keep-alive) connections. */
    oc_conns_close(&th->conns, th->loop);
    th->drained = th->inflight == 0 && oc_conns_empty(&th->conns);
    return NULL;
}

static void setup_globalconf(void)
{
    h2o_config_init(&globalconf);
    globalconf.server_name = h2o_iovec_init(H2O_STRLIT("onecount"));
    /* Our handler enforces per-route limits with a JSON 413; this is h2o's hard ceiling. */
    globalconf.max_request_entity_size = (size_t)oc_config.max_upload_bytes + 1;
    h2o_hostconf_t *host = h2o_config_register_host(&globalconf, h2o_iovec_init(H2O_STRLIT("default")), 65535);
    api_hosts[0] = host; /* the API listener reaches this host only, whatever the Host header says */
    h2o_pathconf_t *path = h2o_config_register_path(host, "/", 0);
    h2o_handler_t *api = h2o_create_handler(path, sizeof(*api));
    api->on_req = on_api_req;
    static const char *index_files[] = {"index.html", NULL};
    h2o_file_register(path, oc_config.web_dir, index_files, NULL, 0);
    h2o_filter_t *filter = h2o_create_filter(path, sizeof(*filter));
    filter->on_setup_ostream = on_setup_ostream;
    h2o_logger_t *logger = h2o_create_logger(path, sizeof(*logger));
    logger->log_access = on_log_access;
    /* What h2o refuses before any handler runs (a body over the ceiling, a broken chunked body) is answered
     * on the host's fallback path: the same headers, the JSON error shape, the access log. */
    h2o_filter_t *fallback = h2o_create_filter(&host->fallback_path, sizeof(*fallback));
    fallback->on_setup_ostream = on_fallback_setup_ostream;
    h2o_logger_t *fallback_logger = h2o_create_logger(&host->fallback_path, sizeof(*fallback_logger));
    fallback_logger->log_access = on_log_fallback;
}

static oc_thread_t *thread_create(int index)
{
    oc_thread_t *th = oc_calloc(1, sizeof(*th));
    th->index = index;
    th->loop = oc_loop_create();
    h2o_context_init(&th->ctx, oc_loop_h2o(th->loop), &globalconf);
    th->accept_ctx.ctx = &th->ctx;
    th->accept_ctx.hosts = api_hosts;
    oc_conns_init(&th->conns, &th->accept_ctx);
    th->db = oc_db_pool_create(th->loop, oc_config.database_url, oc_config.db_pool_size, oc_config.db_queue_max,
                               oc_config.db_query_timeout_ms);
    th->redis = oc_redis_create(th->loop, oc_config.redis_url, oc_config.redis_timeout_ms);
    th->workpool = oc_server_workpool;
    oc_work_receiver_init(&th->work, oc_loop_h2o(th->loop));
    int fd = dup(listen_fd);
    th->listener = h2o_evloop_socket_create(oc_loop_h2o(th->loop), fd, H2O_SOCKET_FLAG_DONT_READ);
    oc_conns_accept(&th->conns, th->listener);
    return th;
}

static void thread_destroy(oc_thread_t *th)
{
    /* Fail what is still in flight first: the callbacks (the holds sweeper's,
     * a background import's) use their module's state, so modules go after. */
    oc_db_pool_destroy(th->db);
    oc_redis_destroy(th->redis);
    oc_thread_dispose_slots(th);
    oc_work_receiver_dispose(&th->work);
    /* HTTP/2's graceful-shutdown timer stays linked after request_shutdown. */
    if (h2o_timeout_is_linked(&th->ctx.http2._graceful_shutdown_timeout))
        h2o_timeout_unlink(&th->ctx.http2._graceful_shutdown_timeout);
    /* A connection still open past the deadline keeps its timers linked and
     * h2o cannot dispose the context; the process is exiting anyway. */
    if (th->drained)
        h2o_context_dispose(&th->ctx);
    /* Let closed sockets be reaped before the loop goes. */
    for (int i = 0; i < 3; i++)
        oc_loop_run_once(th->loop, 0);
    oc_loop_destroy(th->loop);
    free(th);
}

int oc_serve_main(void)
{
    signal(SIGPIPE, SIG_IGN);
    /* Only the main thread takes SIGTERM/SIGINT (sigwait below), so they are blocked before any thread starts —
     * the work pool's too: a SIGTERM sent as soon as the port file exists, while the main thread still starts the
     * others, would otherwise go to a thread that does not block it and kill the process instead of stopping it. */
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGINT);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    oc_metrics_register_route(&static_metrics);
    oc_metrics_register_route(&unmatched_metrics);
    oc_router_init();
    oc_db_metrics_init();
    oc_redis_metrics_init();
    oc_holds_init();
    oc_api_webhooks_init();
    oc_auth_login_init();
    oc_sync_metrics_init();
    oc_ledger_init();
    char why[160];
    ntrusted = oc_cidr_parse_list(oc_config.trusted_proxies, trusted, OC_CIDR_MAX, why, sizeof(why));
    if (ntrusted < 0)
        return 1; /* oc_config_load refused it already */
    setup_globalconf();
    int port;
    if ((listen_fd = oc_listener_open_at(NULL, oc_config.listen_host, oc_config.listen_port, NULL, &port)) < 0)
        return 1;
    int n = oc_config.threads > 0 ? oc_config.threads : (int)sysconf(_SC_NPROCESSORS_ONLN);
    if (n < 1)
        n = 1;
    oc_server_workpool = oc_workpool_create(oc_config.work_threads);
    oc_server_nthreads = n;
    oc_server_threads = oc_calloc((size_t)n, sizeof(*oc_server_threads));
    pthread_t *tids = oc_calloc((size_t)n, sizeof(pthread_t));
    for (int i = 0; i < n; i++)
        oc_server_threads[i] = thread_create(i);
    /* /metrics names brands and connections: never on the API's address, but on a listener of its own, answered
     * by the first thread's loop.  Bound before the API's port file is written: once that file exists, both listen. */
    if (strcmp(oc_config.metrics_listen, "off") != 0) {
        oc_opslisten_opts_t mo = {.role = "metrics",
                                  .listen = oc_config.metrics_listen,
                                  .port_file = oc_config.metrics_port_file,
                                  .token = oc_config.metrics_token,
                                  .metrics_only = 1};
        if ((metrics_listener = oc_opslisten_start(oc_server_threads[0]->loop, &mo)) == NULL)
            return 1;
    }
    oc_listener_write_port_file(oc_config.port_file, port);
    oc_holds_start_sweeper(oc_server_threads[0]);
    oc_catalog_watch(oc_server_threads[0]);
    oc_sync_metrics_start(oc_server_threads[0]);
    for (int i = 0; i < n; i++)
        pthread_create(&tids[i], NULL, thread_main, oc_server_threads[i]);
    oc_log_fields(OC_LOG_INFO, "serving", json_pack("{s:i, s:s}", "threads", n, "web_dir", oc_config.web_dir));

    int sig = 0;
    sigwait(&sigs, &sig);
    oc_log_fields(OC_LOG_INFO, "shutting down", json_pack("{s:s}", "signal", sig == SIGTERM ? "SIGTERM" : "SIGINT"));
    atomic_store(&shutdown_requested, 1);
    /* Every thread closes its dup() of the listener too; once all are closed
     * the kernel refuses new connections instead of queueing them. */
    close(listen_fd);
    for (int i = 0; i < n; i++)
        pthread_join(tids[i], NULL);
    for (int i = 0; i < n; i++)
        thread_destroy(oc_server_threads[i]);
    oc_workpool_destroy(oc_server_workpool);
    free(tids);
    free(oc_server_threads);
    oc_server_threads = NULL;
    oc_log_info("stopped");
    return 0;
}
