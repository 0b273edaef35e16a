/*
 * chttp.c — libcurl multi driven by the evloop (see chttp.h).
 *
 * curl tells us which sockets to watch (CURLMOPT_SOCKETFUNCTION) and when to
 * call it back (CURLMOPT_TIMERFUNCTION).  Each watched socket gets an h2o
 * socket over a dup() of curl's descriptor, created with DONT_READ so h2o
 * only reports readiness and curl does the reading.  Write interest uses
 * h2o_socket_notify_write, which is one-shot and must never be armed twice:
 * `write_armed` tracks it, and it is re-armed after each notification while
 * curl still wants to write.  A watched socket may be released by curl in the
 * middle of curl_multi_socket_action; `in_action` defers its free until the
 * action returns.
 */
#include "adapters/chttp.h"
#include "runtime/log.h"

#include <curl/curl.h>
#include <fcntl.h>
#include <pthread.h>
#include <sodium.h>
#include <stdlib.h>
#include <unistd.h>

#define MAX_BODY        (32u * 1024 * 1024)
#define MAX_HEADERS     100
#define DEFAULT_TIMEOUT 30000u

typedef struct watch {
    h2o_linklist_t link;
    oc_chttp_t *c;
    curl_socket_t fd;
    h2o_socket_t *sock;
    int want_read, want_write;
    int reading, write_armed;
    int in_action, removed;
} watch_t;

typedef struct xfer {
    h2o_linklist_t link;
    oc_chttp_t *c;
    CURL *easy;
    oc_chttp_cb cb;
    void *arg;
    struct curl_slist *hdrs;
    char *body;
    size_t body_len;
    oc_buf_t resp;
    int too_large;
    /* response headers: the last header block only */
    oc_chttp_header_t headers[MAX_HEADERS];
    size_t nheaders;
    char method[8];
    char where[200]; /* scheme://host/path without the query, for debug logs */
    char errbuf[CURL_ERROR_SIZE];
} xfer_t;

struct oc_chttp {
    oc_loop_t *loop;
    CURLM *multi;
    oc_timer_t timer;
    h2o_linklist_t xfers;
    h2o_linklist_t watches;
    size_t npending;
    int destroying;
};

/* --- sockets ------------------------------------------------------------------ */

static void drive(oc_chttp_t *c, curl_socket_t fd, int ev_bitmask);

static void watch_release(watch_t *w)
{
    h2o_linklist_unlink(&w->link);
    if (w->sock != NULL) {
        h2o_socket_close(w->sock);
        w->sock = NULL;
    }
    if (w->in_action)
        w->removed = 1; /* freed by the caller of curl_multi_socket_action */
    else
        free(w);
}

static void on_sock_read(h2o_socket_t *sock, const char *err);
static void on_sock_write(h2o_socket_t *sock, const char *err);

static void watch_update(watch_t *w)
{
    if (w->sock == NULL)
        return;
    if (w->want_read && !w->reading) {
        w->reading = 1;
        h2o_socket_read_start(w->sock, on_sock_read);
    } else if (!w->want_read && w->reading) {
        w->reading = 0;
        h2o_socket_read_stop(w->sock);
    }
    if (w->want_write && !w->write_armed) {
        w->write_armed = 1;
        h2o_socket_notify_write(w->sock, on_sock_write);
    }
}

/* Runs curl on one socket; `w` may be released inside, so it is pinned. */
static void watch_drive(watch_t *w, int ev_bitmask)
{
    oc_chttp_t *c = w->c;
    w->in_action = 1;
    drive(c, w->fd, ev_bitmask);
    w->in_action = 0;
    if (w->removed) {
        free(w);
        return;
    }
    watch_update(w);
}

static void on_sock_read(h2o_socket_t *sock, const char *err)
{
    watch_t *w = sock->data;
    watch_drive(w, CURL_CSELECT_IN | (err != NULL ? CURL_CSELECT_ERR : 0));
}

static void on_sock_write(h2o_socket_t *sock, const char *err)
{
    watch_t *w = sock->data;
    w->write_armed = 0;
    if (w->want_write)
        watch_drive(w, CURL_CSELECT_OUT | (err != NULL ? CURL_CSELECT_ERR : 0));
}

static int on_curl_socket(CURL *easy, curl_socket_t fd, int what, void *userp, void *socketp)
{
    oc_chttp_t *c = userp;
    watch_t *w = socketp;
    if (what == CURL_POLL_REMOVE) {
        if (w != NULL) {
            curl_multi_assign(c->multi, fd, NULL);
            watch_release(w);
        }
        return 0;
    }
    if (w == NULL) {
        int dupfd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
        if (dupfd < 0) {
            oc_log_error("http client cannot watch a socket");
            return -1;
        }
        w = oc_calloc(1, sizeof(*w));
        w->c = c;
        w->fd = fd;
        w->sock = h2o_evloop_socket_create(oc_loop_h2o(c->loop), dupfd, H2O_SOCKET_FLAG_DONT_READ);
        w->sock->data = w;
        h2o_linklist_insert(&c->watches, &w->link);
        curl_multi_assign(c->multi, fd, w);
    }
    w->want_read = (what & CURL_POLL_IN) != 0;
    w->want_write = (what & CURL_POLL_OUT) != 0;
    if (!w->in_action) /* inside an action, watch_drive updates once curl returns */
        watch_update(w);
    return 0;
}

/* --- timer ---------------------------------------------------------------------- */

static void on_timer(oc_timer_t *t)
{
    drive(t->data, CURL_SOCKET_TIMEOUT, 0);
}

static int on_curl_timer(CURLM *multi, long timeout_ms, void *userp)
{
    oc_chttp_t *c = userp;
    if (timeout_ms < 0)
        oc_timer_stop(c->loop, &c->timer);
    else
        oc_timer_start(c->loop, &c->timer, (uint64_t)timeout_ms);
    return 0;
}

/* --- transfers ------------------------------------------------------------------- */

static void xfer_free(xfer_t *x)
{
    if (x->easy != NULL)
        curl_easy_cleanup(x->easy);
    for (struct curl_slist *l = x->hdrs; l != NULL; l = l->next)
        sodium_memzero(l->data, strlen(l->data)); /* auth headers */
    curl_slist_free_all(x->hdrs);
    if (x->body != NULL)
        sodium_memzero(x->body, x->body_len); /* token requests carry client secrets */
    free(x->body);
    oc_buf_free(&x->resp);
    for (size_t i = 0; i < x->nheaders; i++)
        free((char *)x->headers[i].name); /* name and value share one allocation */
    free(x);
}

static size_t on_body(char *p, size_t size, size_t n, void *arg)
{
    xfer_t *x = arg;
    size_t len = size * n;
    if (x->resp.len + len > MAX_BODY) {
        x->too_large = 1;
        return 0; /* aborts the transfer */
    }
    if (oc_buf_append(&x->resp, p, len) != 0)
        return 0;
    return len;
}

static size_t on_header(char *p, size_t size, size_t n, void *arg)
{
    xfer_t *x = arg;
    size_t len = size * n;
    if (len >= 5 && memcmp(p, "HTTP/", 5) == 0) { /* a new header block: keep only the last one */
        for (size_t i = 0; i < x->nheaders; i++)
            free((char *)x->headers[i].name);
        x->nheaders = 0;
        return len;
    }
    const char *colon = memchr(p, ':', len);
    if (colon == NULL || x->nheaders == MAX_HEADERS)
        return len;
    size_t nl = (size_t)(colon - p);
    const char *v = colon + 1, *end = p + len;
    while (v < end && (*v == ' ' || *v == '\t'))
        v++;
    while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' ' || end[-1] == '\t'))
        end--;
    size_t vl = (size_t)(end - v);
    char *mem = oc_malloc(nl + vl + 2);
    memcpy(mem, p, nl);
    mem[nl] = '\0';
    memcpy(mem + nl + 1, v, vl);
    mem[nl + 1 + vl] = '\0';
    x->headers[x->nheaders].name = mem;
    x->headers[x->nheaders].value = mem + nl + 1;
    x->nheaders++;
    return len;
}

static void complete(oc_chttp_t *c, xfer_t *x, CURLcode rc)
{
    h2o_linklist_unlink(&x->link);
    c->npending--;
    curl_multi_remove_handle(c->multi, x->easy);
    long status = 0;
    curl_off_t total_us = 0;
    curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_getinfo(x->easy, CURLINFO_TOTAL_TIME_T, &total_us);
    oc_chttp_res_t res = {
        .status = rc == CURLE_OK ? (int)status : 0,
        .headers = x->headers,
        .nheaders = x->nheaders,
        .body = x->resp.data != NULL ? x->resp.data : "",
        .body_len = x->resp.len,
        .elapsed_ms = (uint64_t)total_us / 1000,
    };
    if (rc != CURLE_OK) {
        res.timed_out = rc == CURLE_OPERATION_TIMEDOUT;
        res.err = x->too_large           ? "response too large"
                  : res.timed_out        ? "timed out"
                  : x->errbuf[0] != '\0' ? x->errbuf
                                         : curl_easy_strerror(rc);
        res.body = "";
        res.body_len = 0;
    }
    if (oc_log_enabled(OC_LOG_DEBUG))
        oc_log_fields(OC_LOG_DEBUG, "channel request",
                      json_pack("{s:s, s:s, s:i, s:I, s:s?}", "method", x->method, "url", x->where, "status",
                                res.status, "ms", (json_int_t)res.elapsed_ms, "error", res.err));
    x->cb(x->arg, &res);
    xfer_free(x);
}

static void process_done(oc_chttp_t *c)
{
    CURLMsg *m;
    int left;
    while ((m = curl_multi_info_read(c->multi, &left)) != NULL) {
        if (m->msg != CURLMSG_DONE)
            continue;
        xfer_t *x = NULL;
        curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&x);
        if (x != NULL)
            complete(c, x, m->data.result);
    }
}

static void drive(oc_chttp_t *c, curl_socket_t fd, int ev_bitmask)
{
    int running;
    curl_multi_socket_action(c->multi, fd, ev_bitmask, &running);
    process_done(c);
}

/* --- public ------------------------------------------------------------------------ */

static void global_init(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT); /* not thread-safe in 7.88: once, whichever thread comes first */
}

oc_chttp_t *oc_chttp_create(oc_loop_t *loop)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, global_init);
    oc_chttp_t *c = oc_calloc(1, sizeof(*c));
    c->loop = loop;
    h2o_linklist_init_anchor(&c->xfers);
    h2o_linklist_init_anchor(&c->watches);
    oc_timer_init(&c->timer, on_timer, c);
    if ((c->multi = curl_multi_init()) == NULL) {
        free(c);
        return NULL;
    }
    curl_multi_setopt(c->multi, CURLMOPT_SOCKETFUNCTION, on_curl_socket);
    curl_multi_setopt(c->multi, CURLMOPT_SOCKETDATA, c);
    curl_multi_setopt(c->multi, CURLMOPT_TIMERFUNCTION, on_curl_timer);
    curl_multi_setopt(c->multi, CURLMOPT_TIMERDATA, c);
    curl_multi_setopt(c->multi, CURLMOPT_MAX_HOST_CONNECTIONS, 8L);
    curl_multi_setopt(c->multi, CURLMOPT_MAXCONNECTS, 32L);
    return c;
}

void oc_chttp_destroy(oc_chttp_t *c)
{
    if (c == NULL)
        return;
    c->destroying = 1;
    while (!h2o_linklist_is_empty(&c->xfers)) {
        xfer_t *x = H2O_STRUCT_FROM_MEMBER(xfer_t, link, c->xfers.next);
        h2o_linklist_unlink(&x->link);
        c->npending--;
        curl_multi_remove_handle(c->multi, x->easy);
        oc_chttp_res_t res = {.err = "http client closed", .cancelled = 1, .body = ""};
        x->cb(x->arg, &res);
        xfer_free(x);
    }
    curl_multi_cleanup(c->multi); /* closes cached connections, releasing most watches through on_curl_socket */
    while (!h2o_linklist_is_empty(&c->watches))
        watch_release(H2O_STRUCT_FROM_MEMBER(watch_t, link, c->watches.next));
    oc_timer_stop(c->loop, &c->timer);
    free(c);
}

oc_loop_t *oc_chttp_loop(oc_chttp_t *c)
{
    return c->loop;
}

size_t oc_chttp_pending(oc_chttp_t *c)
{
    return c->npending;
}

static void describe(xfer_t *x, const char *url)
{
    size_t n = strcspn(url, "?#");
    oc_strlcpy(x->where, url, n, sizeof(x->where));
}

int oc_chttp_request(oc_chttp_t *c, const oc_chttp_req_t *req, oc_chttp_cb cb, void *arg)
{
    if (c->destroying)
        return OC_EUNAVAIL;
    if (req->url == NULL || req->method == NULL || cb == NULL ||
        (strncmp(req->url, "http://", 7) != 0 && strncmp(req->url, "https://", 8) != 0) ||
        strlen(req->method) >= sizeof(((xfer_t *)0)->method))
        return OC_EINVAL;
    int rc = OC_ENOMEM; /* libcurl could not allocate */
    xfer_t *x = oc_calloc(1, sizeof(*x));
    x->c = c;
    x->cb = cb;
    x->arg = arg;
    snprintf(x->method, sizeof(x->method), "%s", req->method);
    describe(x, req->url);
    if ((x->easy = curl_easy_init()) == NULL)
        goto Error;
    for (size_t i = 0; i < req->nheaders; i++) {
        oc_buf_t line = {0};
        if (oc_buf_printf(&line, "%s: %s", req->headers[i].name, req->headers[i].value) != 0)
            goto Error;
        struct curl_slist *l = curl_slist_append(x->hdrs, line.data);
        oc_buf_free(&line);
        if (l == NULL)
            goto Error;
        x->hdrs = l;
    }
    struct curl_slist *l = curl_slist_append(x->hdrs, "Expect:"); /* no 100-continue round trip */
    if (l == NULL)
        goto Error;
    x->hdrs = l;
    uint32_t timeout = req->timeout_ms ? req->timeout_ms : DEFAULT_TIMEOUT;
    uint32_t connect = req->connect_timeout_ms ? req->connect_timeout_ms : timeout < 10000 ? timeout : 10000;
    CURL *e = x->easy;
    curl_easy_setopt(e, CURLOPT_URL, req->url);
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_PRIVATE, x);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)timeout);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)connect);
    curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, "");
    curl_easy_setopt(e, CURLOPT_USERAGENT, "onecount/1.0 (Language=C)");
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, x->hdrs);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, x);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, x);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, x->errbuf);
    if (strcmp(req->method, "GET") == 0 && req->body == NULL) {
        curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
    } else {
        if (strcmp(req->method, "POST") == 0)
            curl_easy_setopt(e, CURLOPT_POST, 1L);
        else
            curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, req->method);
        if (req->body != NULL || strcmp(req->method, "POST") == 0 || strcmp(req->method, "PUT") == 0 ||
            strcmp(req->method, "PATCH") == 0) {
            x->body = oc_malloc(req->body_len + 1);
            if (req->body_len > 0)
                memcpy(x->body, req->body, req->body_len);
            x->body[req->body_len] = '\0';
            x->body_len = req->body_len;
            curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
            curl_easy_setopt(e, CURLOPT_POSTFIELDS, x->body);
        }
    }
    h2o_linklist_insert(&c->xfers, &x->link);
    c->npending++;
    if (curl_multi_add_handle(c->multi, e) != CURLM_OK) {
        h2o_linklist_unlink(&x->link);
        c->npending--;
        rc = OC_EIO;
        goto Error;
    }
    return 0;
Error:
    xfer_free(x);
    return rc;
}

void oc_chttp_cancel(oc_chttp_t *c, void *arg)
{
    h2o_linklist_t *node = c->xfers.next;
    while (node != &c->xfers) {
        xfer_t *x = H2O_STRUCT_FROM_MEMBER(xfer_t, link, node);
        node = node->next;
        if (x->arg != arg)
            continue;
        h2o_linklist_unlink(&x->link);
        c->npending--;
        curl_multi_remove_handle(c->multi, x->easy);
        xfer_free(x);
    }
}

const char *oc_chttp_header(const oc_chttp_res_t *res, const char *name)
{
    const char *found = NULL;
    for (size_t i = 0; i < res->nheaders; i++)
        if (oc_strieq(res->headers[i].name, strlen(res->headers[i].name), name))
            found = res->headers[i].value;
    return found;
}
