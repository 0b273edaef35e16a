/*
 * notify.c — delivering notifications (tenants/notify.h, migration 0034):
 * webhooks through the worker's libcurl multi client (adapters/chttp.h),
 * e-mail through the SMTP relay on a work-pool thread, daily digests.
 *
 * The worker is woken by NOTIFY oc_notify (notify_event and the API queue a
 * delivery) and looks every notify_poll_ms for retries whose backoff ended.
 * A claim takes due outbox rows FOR UPDATE SKIP LOCKED under a lease, at
 * most notify_in_flight at once; each is sent, then finished (delivered,
 * retried later, or failed after its last attempt).  Nothing here waits on
 * the loop: a webhook is one more request of the multi client, an e-mail a
 * blocking libcurl SMTP exchange on a pool thread.
 *
 * At least once: a worker that dies between sending and finishing leaves
 * the lease to expire and another worker sends the row again, with the same
 * delivery id (receivers dedupe on X-Onecount-Delivery / Message-ID).
 *
 * Nothing logged names a secret, a signature, an address's query or an
 * e-mail's text (an invitation's carries its token).
 */
#include "adapters/sync/sync_internal.h"
#include "runtime/config.h"
#include "runtime/log.h"
#include "runtime/workpool.h"
#include "tenants/notify.h"

#include <curl/curl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define LEASE_S         120
#define WEBHOOK_TIMEOUT 10000
#define DIGEST_EVERY_MS 5000
#define PRUNE_EVERY_MS  60000

static struct {
    oc_timer_t timer;
    int claiming;  /* a claim in flight */
    int again;     /* woken while claiming: claim once more after */
    int in_flight; /* deliveries being sent or finished */
    uint64_t last_digest_ms, last_prune_ms;
    int digesting, pruning;
    oc_workpool_t *pool;
    oc_work_receiver_t rcv;
    int started;
} n;

oc_metric_t oc_sync_m_notify_ok = {"onecount_worker_notifications_total", "notification attempts",
                                   "result=\"delivered\"", OC_METRIC_COUNTER};
oc_metric_t oc_sync_m_notify_fail = {"onecount_worker_notifications_total", "notification attempts",
                                     "result=\"failed\"", OC_METRIC_COUNTER};

typedef struct delivery {
    oc_work_t work; /* e-mail: the SMTP exchange on a pool thread (must be first) */
    char id[37];
    char *url, *rcpt, *subject, *event;
    char *body; /* webhook: the JSON; e-mail: the text */
    size_t body_len;
    char *secret; /* webhook: the signing secret (wiped) */
    size_t secret_len;
    int sealed; /* the e-mail text was sealed (wipe it) */
    uint64_t started_ms;
    /* the outcome */
    int ok, status;
    char error[300];
    /* SMTP upload */
    char *msg;
    size_t msg_len, msg_off;
} delivery_t;

static void claim(void);

static char *dup_or_null(const char *s)
{
    return s != NULL ? oc_strdup(s) : NULL;
}

static void delivery_free(delivery_t *d)
{
    if (d->secret != NULL) {
        sodium_memzero(d->secret, d->secret_len);
        free(d->secret);
    }
    if (d->body != NULL && d->sealed)
        sodium_memzero(d->body, d->body_len);
    if (d->msg != NULL)
        sodium_memzero(d->msg, d->msg_len);
    free(d->body);
    free(d->msg);
    free(d->url);
    free(d->rcpt);
    free(d->subject);
    free(d->event);
    free(d);
}

static void on_finished(void *arg, const oc_fail_t *f)
{
    delivery_t *d = arg;
    if (f != NULL)
        oc_log_fields(OC_LOG_WARN, "a notification's outcome was not recorded (it is sent again after its lease)",
                      json_pack("{s:s, s:s}", "delivery", d->id, "error", oc_sync_fail_text(f, 0)));
    delivery_free(d);
    n.in_flight--;
    if (!oc_sync.stop)
        claim();
}

static void finish(delivery_t *d)
{
    uint64_t ms = oc_now_ms() - d->started_ms;
    oc_metric_add(d->ok ? &oc_sync_m_notify_ok : &oc_sync_m_notify_fail, 1);
    if (!d->ok)
        oc_log_fields(OC_LOG_INFO, "a notification attempt failed",
                      json_pack("{s:s, s:s, s:i, s:s}", "delivery", d->id, "channel",
                                d->url != NULL ? "webhook" : "email", "status", d->status, "error", d->error));
    if (oc_notify_finish(oc_sync.db, d->id, oc_sync.owner, d->ok, d->status, (long long)ms, d->ok ? NULL : d->error,
                         on_finished, d) != 0) {
        delivery_free(d);
        n.in_flight--;
    }
}

/* --- webhooks ------------------------------------------------------------------ */

static void on_webhook(void *arg, const oc_chttp_res_t *res)
{
    delivery_t *d = arg;
    if (res->cancelled) { /* the worker is stopping: the lease expires and the row is sent again */
        delivery_free(d);
        n.in_flight--;
        return;
    }
    d->status = res->status;
    if (res->err != NULL)
        snprintf(d->error, sizeof(d->error), "%s", res->err);
    else if (res->status >= 200 && res->status < 300)
        d->ok = 1;
    else
        snprintf(d->error, sizeof(d->error), "the endpoint answered HTTP %d", res->status);
    finish(d);
}

static void send_webhook(delivery_t *d)
{
    char ts[24];
    snprintf(ts, sizeof(ts), "%lld", (long long)time(NULL));
    unsigned char mac[crypto_auth_hmacsha256_BYTES];
    crypto_auth_hmacsha256_state st;
    crypto_auth_hmacsha256_init(&st, (const unsigned char *)d->secret, d->secret_len);
    crypto_auth_hmacsha256_update(&st, (const unsigned char *)ts, strlen(ts));
    crypto_auth_hmacsha256_update(&st, (const unsigned char *)".", 1);
    crypto_auth_hmacsha256_update(&st, (const unsigned char *)d->body, d->body_len);
    crypto_auth_hmacsha256_final(&st, mac);
    sodium_memzero(&st, sizeof(st));
    char sig[3 + 2 * sizeof(mac) + 1];
    memcpy(sig, "v1=", 3);
    sodium_bin2hex(sig + 3, sizeof(sig) - 3, mac, sizeof(mac));
    oc_chttp_header_t h[] = {
        {"Content-Type", "application/json"}, {"User-Agent", "onecount-webhooks/1"}, {"X-Onecount-Event", d->event},
        {"X-Onecount-Delivery", d->id},       {"X-Onecount-Timestamp", ts},          {"X-Onecount-Signature", sig},
    };
    oc_chttp_req_t req = {.method = "POST",
                          .url = d->url,
                          .headers = h,
                          .nheaders = OC_ARRAY_SIZE(h),
                          .body = d->body,
                          .body_len = d->body_len,
                          .timeout_ms = WEBHOOK_TIMEOUT};
    int rc = oc_chttp_request(oc_sync.http, &req, on_webhook, d);
    sodium_memzero(sig, sizeof(sig));
    if (rc != 0) {
        snprintf(d->error, sizeof(d->error), "the request could not start (%s)", oc_strerror(rc));
        finish(d);
    }
}

/* --- e-mail ---------------------------------------------------------------------- */

/* A header value on one line: CR and LF become spaces (no header injection). */
static void one_line(oc_buf_t *b, const char *s)
{
    for (const char *p = s != NULL ? s : ""; *p; p++)
        oc_buf_append(b, *p == '\r' || *p == '\n' ? " " : p, 1);
}

/* Subject: RFC 2047 base64 when not plain ASCII. */
static void subject_header(oc_buf_t *b, const char *s)
{
    int ascii = 1;
    for (const char *p = s; *p; p++)
        if ((unsigned char)*p >= 0x80)
            ascii = 0;
    oc_buf_printf(b, "%s", "Subject: ");
    if (ascii) {
        one_line(b, s);
    } else {
        size_t cap = sodium_base64_ENCODED_LEN(strlen(s), sodium_base64_VARIANT_ORIGINAL);
        char *e = oc_malloc(cap);
        sodium_bin2base64(e, cap, (const unsigned char *)s, strlen(s), sodium_base64_VARIANT_ORIGINAL);
        oc_buf_printf(b, "%s", "=?UTF-8?B?");
        oc_buf_printf(b, "%s", e);
        oc_buf_printf(b, "%s", "?=");
        free(e);
    }
    oc_buf_printf(b, "%s", "\r\n");
}

static void compose(delivery_t *d)
{
    oc_buf_t b = {0};
    char date[64];
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S +0000", &tm);
    oc_buf_printf(&b, "%s", "Date: ");
    oc_buf_printf(&b, "%s", date);
    oc_buf_printf(&b, "%s", "\r\nFrom: onecount <");
    one_line(&b, oc_config.smtp_from);
    oc_buf_printf(&b, "%s", ">\r\nTo: <");
    one_line(&b, d->rcpt);
    oc_buf_printf(&b, "%s", ">\r\n");
    subject_header(&b, d->subject != NULL ? d->subject : "onecount");
    oc_buf_printf(&b, "%s", "Message-ID: <");
    oc_buf_printf(&b, "%s", d->id);
    oc_buf_printf(&b, "%s", "@onecount>\r\nX-Onecount-Delivery: ");
    oc_buf_printf(&b, "%s", d->id);
    oc_buf_printf(&b, "%s", "\r\nX-Onecount-Event: ");
    one_line(&b, d->event);
    oc_buf_printf(&b, "%s",
                  "\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n"
                  "Content-Transfer-Encoding: 8bit\r\n\r\n");
    for (size_t i = 0; i < d->body_len; i++) {
        if (d->body[i] == '\n' && (i == 0 || d->body[i - 1] != '\r'))
            oc_buf_append(&b, "\r", 1);
        oc_buf_append(&b, &d->body[i], 1);
    }
    if (d->body_len == 0 || d->body[d->body_len - 1] != '\n')
        oc_buf_printf(&b, "%s", "\r\n");
    d->msg = b.data;
    d->msg_len = b.len;
}

static size_t read_msg(char *buf, size_t size, size_t nitems, void *arg)
{
    delivery_t *d = arg;
    size_t room = size * nitems, left = d->msg_len - d->msg_off;
    size_t k = left < room ? left : room;
    memcpy(buf, d->msg + d->msg_off, k);
    d->msg_off += k;
    return k;
}

/* On a pool thread: one SMTP exchange (blocking here, never on the loop). */
static void smtp_run(oc_work_t *w)
{
    delivery_t *d = (delivery_t *)w;
    CURL *c = curl_easy_init();
    if (c == NULL) {
        snprintf(d->error, sizeof(d->error), "libcurl could not start");
        return;
    }
    struct curl_slist *rcpt = NULL;
    char to[300];
    snprintf(to, sizeof(to), "<%s>", d->rcpt);
    rcpt = curl_slist_append(rcpt, to);
    char from[300];
    snprintf(from, sizeof(from), "<%s>", oc_config.smtp_from);
    curl_easy_setopt(c, CURLOPT_URL, oc_config.smtp_url);
    curl_easy_setopt(c, CURLOPT_MAIL_FROM, from);
    curl_easy_setopt(c, CURLOPT_MAIL_RCPT, rcpt);
    curl_easy_setopt(c, CURLOPT_READFUNCTION, read_msg);
    curl_easy_setopt(c, CURLOPT_READDATA, d);
    curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, (curl_off_t)d->msg_len);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, 10000L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 30000L);
    curl_easy_setopt(c, CURLOPT_USE_SSL, (long)CURLUSESSL_TRY);
    if (oc_config.smtp_user[0] != '\0') {
        curl_easy_setopt(c, CURLOPT_USERNAME, oc_config.smtp_user);
        curl_easy_setopt(c, CURLOPT_PASSWORD, oc_config.smtp_password);
    }
    CURLcode rc = curl_easy_perform(c);
    long code = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
    d->status = (int)code;
    if (rc == CURLE_OK)
        d->ok = 1;
    else
        snprintf(d->error, sizeof(d->error), "the SMTP relay refused or failed: %s%s", curl_easy_strerror(rc),
                 code > 0 ? "" : "");
    curl_slist_free_all(rcpt);
    curl_easy_cleanup(c);
}

static void smtp_done(oc_work_t *w)
{
    finish((delivery_t *)w);
}

static void send_email(delivery_t *d)
{
    if (!oc_notify_email_enabled()) {
        snprintf(d->error, sizeof(d->error), "no SMTP relay is configured (smtp_url)");
        finish(d);
        return;
    }
    compose(d);
    d->work.run = smtp_run;
    d->work.done = smtp_done;
    oc_work_submit(n.pool, &n.rcv, &d->work);
}

/* --- claiming -------------------------------------------------------------------- */

static void on_claim(void *arg, const oc_notify_item_t *items, int count, const oc_fail_t *f)
{
    (void)arg;
    n.claiming = 0;
    if (f != NULL) {
        oc_log_fields(OC_LOG_WARN, "notifications could not be claimed",
                      json_pack("{s:s}", "error", oc_sync_fail_text(f, 0)));
        return;
    }
    for (int i = 0; i < count; i++) {
        const oc_notify_item_t *it = &items[i];
        delivery_t *d = oc_calloc(1, sizeof(*d));
        snprintf(d->id, sizeof(d->id), "%s", it->id);
        d->started_ms = oc_now_ms();
        d->event = dup_or_null(it->event);
        d->rcpt = dup_or_null(it->rcpt);
        d->subject = dup_or_null(it->subject);
        n.in_flight++;
        if (strcmp(it->channel, "webhook") == 0) {
            d->url = dup_or_null(it->url);
            d->body = dup_or_null(it->body != NULL ? it->body : "{}");
            d->body_len = strlen(d->body);
            if (it->secret == NULL) {
                snprintf(d->error, sizeof(d->error), "the signing secret does not open with this key-encryption key");
                finish(d);
                continue;
            }
            d->secret = oc_malloc(it->secret_len + 1);
            memcpy(d->secret, it->secret, it->secret_len);
            d->secret_len = it->secret_len;
            send_webhook(d);
        } else {
            if (it->secret != NULL) { /* a sealed text (an invitation) */
                d->body = oc_malloc(it->secret_len + 1);
                memcpy(d->body, it->secret, it->secret_len);
                d->body[it->secret_len] = '\0';
                d->body_len = it->secret_len;
                d->sealed = 1;
            } else if (it->body != NULL && strcmp(it->body, "(sealed text discarded after delivery)") != 0) {
                d->body = oc_strdup(it->body);
                d->body_len = strlen(d->body);
            } else {
                snprintf(d->error, sizeof(d->error), "the e-mail's text does not open with this key-encryption key");
                finish(d);
                continue;
            }
            send_email(d);
        }
    }
    if (n.again || count > 0)
        claim();
}

static void claim(void)
{
    if (!n.started || oc_sync.stop || n.claiming || !oc_db_pool_ready(oc_sync.db))
        return;
    int room = oc_config.notify_in_flight - n.in_flight;
    if (room <= 0)
        return;
    n.claiming = 1;
    n.again = 0;
    if (oc_notify_claim(oc_sync.db, oc_sync.owner, LEASE_S, room, on_claim, NULL) != 0)
        n.claiming = 0;
}

static void on_digests(void *arg, const oc_fail_t *f)
{
    (void)arg;
    n.digesting = 0;
    if (f != NULL)
        oc_log_fields(OC_LOG_WARN, "daily digests could not be composed",
                      json_pack("{s:s}", "error", oc_sync_fail_text(f, 0)));
    else
        claim();
}

static void on_pruned(void *arg, const oc_fail_t *f)
{
    (void)arg;
    n.pruning = 0;
    if (f != NULL)
        oc_log_fields(OC_LOG_WARN, "old deliveries could not be pruned",
                      json_pack("{s:s}", "error", oc_sync_fail_text(f, 0)));
}

static void tick(oc_timer_t *t)
{
    (void)t;
    if (oc_sync.stop)
        return;
    claim();
    uint64_t now = oc_now_ms();
    if (!n.digesting && now - n.last_digest_ms >= DIGEST_EVERY_MS && oc_db_pool_ready(oc_sync.db)) {
        n.last_digest_ms = now;
        n.digesting = 1;
        if (oc_notify_digests(oc_sync.db, 200, on_digests, NULL) != 0)
            n.digesting = 0;
    }
    /* Deliveries that ended are kept as long as the push log. */
    if (!n.pruning && now - n.last_prune_ms >= PRUNE_EVERY_MS && oc_db_pool_ready(oc_sync.db)) {
        n.last_prune_ms = now;
        n.pruning = 1;
        if (oc_notify_prune(oc_sync.db, (long long)oc_config.retention_push_log_days * 86400,
                            oc_config.prune_batch_rows, on_pruned, NULL) != 0)
            n.pruning = 0;
    }
    oc_timer_start(oc_sync.loop, &n.timer, (uint64_t)oc_config.notify_poll_ms);
}

void oc_sync_notify_wake(void)
{
    if (n.claiming)
        n.again = 1;
    else
        claim();
}

void oc_sync_notify_start(void)
{
    oc_metrics_register(&oc_sync_m_notify_ok);
    oc_metrics_register(&oc_sync_m_notify_fail);
    n.pool = oc_workpool_create(2);
    oc_work_receiver_init(&n.rcv, oc_loop_h2o(oc_sync.loop));
    oc_timer_init(&n.timer, tick, NULL);
    oc_timer_start(oc_sync.loop, &n.timer, 300);
    n.started = 1;
    if (!oc_notify_email_enabled())
        oc_log_info("e-mail is off: no SMTP relay is configured (smtp_url); webhooks are delivered");
}

void oc_sync_notify_stop(void)
{
    if (!n.started)
        return;
    oc_timer_stop(oc_sync.loop, &n.timer);
    oc_workpool_destroy(n.pool); /* e-mails being sent finish; their outcomes were waited for by busy() */
    oc_work_receiver_dispose(&n.rcv);
    n.started = 0;
}

int oc_sync_notify_running(void)
{
    return n.in_flight + n.claiming + n.digesting + n.pruning;
}
