/*
 * webhook.c — Shopify webhook deliveries from their own thread.
 *
 * The loop thread queues an event (oc_sim_webhooks_send copies everything
 * it needs); the delivery thread POSTs it with libcurl multi, signing the
 * raw body with HMAC-SHA256 (base64) under the account's webhook secret.
 * Duplicates of one event share X-Shopify-Event-Id and get their own
 * X-Shopify-Webhook-Id; retries of one delivery keep both.  A non-2xx
 * answer or a timeout is retried with exponential backoff up to
 * max_attempts.  Every attempt is recorded in a bounded log the control API
 * reads; at most MAX_PENDING deliveries wait, newer ones are dropped.
 *
 * Threads: the queue and the log are shared under `mu`; everything curl
 * touches belongs to the delivery thread (curl_multi_wakeup is the only
 * call the loop thread makes on the multi handle).
 */
#include "adapters/sim/sim_internal.h"
#include "runtime/log.h"

#include <curl/curl.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>

#define MAX_INFLIGHT 32
#define MAX_PENDING  100000 /* beyond this new events are dropped (and logged as such) */
#define LOG_CAP      4096

typedef struct delivery {
    struct delivery *next;
    int account_id;
    char *url, *body;
    size_t body_len;
    struct curl_slist *headers;
    char topic[40], event_id[40], webhook_id[40];
    int attempt, max_attempts, retry_base_ms, timeout_ms;
    uint64_t due_us, started_us;
    CURL *easy;
    int cancelled;
} delivery_t;

typedef struct wlog {
    long long id;
    uint64_t ts_ms;
    int account_id;
    char topic[40], event_id[40], webhook_id[40];
    int attempt;
    long status;
    const char *result;
    double ms;
    char error[96];
} wlog_t;

struct oc_sim_webhooks {
    pthread_t thread;
    pthread_mutex_t mu;
    CURLM *multi;
    delivery_t *pending;  /* waiting for their due time */
    delivery_t *inflight; /* handed to curl */
    int ninflight;
    int npending;
    int stop;
    wlog_t *log;
    size_t log_head, log_len;
    long long next_log_id;
};

static void delivery_free(delivery_t *d)
{
    if (d == NULL)
        return;
    free(d->url);
    free(d->body);
    curl_slist_free_all(d->headers);
    free(d);
}

static size_t discard(char *p, size_t size, size_t n, void *ud)
{
    return size * n;
}

/* Called with mu held. */
static void record(oc_sim_webhooks_t *w, const delivery_t *d, long status, const char *result, const char *error)
{
    wlog_t *e;
    if (w->log_len == LOG_CAP) {
        e = &w->log[w->log_head];
        w->log_head = (w->log_head + 1) % LOG_CAP;
    } else {
        e = &w->log[(w->log_head + w->log_len) % LOG_CAP];
        w->log_len++;
    }
    memset(e, 0, sizeof(*e));
    e->id = ++w->next_log_id;
    e->ts_ms = oc_now_ms();
    e->account_id = d->account_id;
    memcpy(e->topic, d->topic, sizeof(e->topic));
    memcpy(e->event_id, d->event_id, sizeof(e->event_id));
    memcpy(e->webhook_id, d->webhook_id, sizeof(e->webhook_id));
    e->attempt = d->attempt;
    e->status = status;
    e->result = result;
    e->ms = d->started_us ? (double)(oc_mono_us() - d->started_us) / 1000.0 : 0;
    snprintf(e->error, sizeof(e->error), "%s", error != NULL ? error : "");
}

static int start_one(oc_sim_webhooks_t *w, delivery_t *d)
{
    CURL *e = curl_easy_init();
    if (e == NULL)
        return -1;
    d->attempt++;
    d->started_us = oc_mono_us();
    curl_easy_setopt(e, CURLOPT_URL, d->url);
    curl_easy_setopt(e, CURLOPT_POST, 1L);
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, d->body);
    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, (long)d->body_len);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, d->headers);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)(d->timeout_ms < 1000 ? d->timeout_ms : 1000));
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)d->timeout_ms);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, discard);
    curl_easy_setopt(e, CURLOPT_PRIVATE, d);
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    if (curl_multi_add_handle(w->multi, e) != CURLM_OK) {
        curl_easy_cleanup(e);
        return -1;
    }
    d->easy = e;
    return 0;
}

/* Called with mu held: moves due deliveries to curl; returns ms until the next one is due. */
static long start_due(oc_sim_webhooks_t *w)
{
    uint64_t now = oc_mono_us(), next = UINT64_MAX;
    delivery_t **pp = &w->pending;
    while (*pp != NULL) {
        delivery_t *d = *pp;
        if (d->due_us <= now && w->ninflight < MAX_INFLIGHT) {
            *pp = d->next;
            w->npending--;
            if (start_one(w, d) != 0) {
                record(w, d, 0, "failed", "cannot start a transfer");
                delivery_free(d);
                continue;
            }
            d->next = w->inflight;
            w->inflight = d;
            w->ninflight++;
            continue;
        }
        if (d->due_us < next)
            next = d->due_us;
        pp = &d->next;
    }
    if (next == UINT64_MAX)
        return 200;
    long ms = next <= now ? 0 : (long)((next - now + 999) / 1000);
    return ms < 200 ? ms : 200;
}

/* Called with mu held. */
static void finish_one(oc_sim_webhooks_t *w, delivery_t *d, CURLcode code)
{
    for (delivery_t **pp = &w->inflight; *pp != NULL; pp = &(*pp)->next)
        if (*pp == d) {
            *pp = d->next;
            break;
        }
    w->ninflight--;
    long status = 0;
    if (code == CURLE_OK)
        curl_easy_getinfo(d->easy, CURLINFO_RESPONSE_CODE, &status);
    curl_multi_remove_handle(w->multi, d->easy);
    curl_easy_cleanup(d->easy);
    d->easy = NULL;
    if (d->cancelled) {
        delivery_free(d);
        return;
    }
    const char *error = code != CURLE_OK ? curl_easy_strerror(code) : NULL;
    if (code == CURLE_OK && status >= 200 && status < 300) {
        record(w, d, status, "delivered", NULL);
        delivery_free(d);
    } else if (d->attempt < d->max_attempts) {
        record(w, d, status, "retrying", error);
        uint64_t backoff = (uint64_t)d->retry_base_ms << (d->attempt - 1 < 20 ? d->attempt - 1 : 20);
        if (backoff > 3600000)
            backoff = 3600000;
        d->due_us = oc_mono_us() + backoff * 1000;
        d->next = w->pending;
        w->pending = d;
        w->npending++;
    } else {
        record(w, d, status, "failed", error);
        delivery_free(d);
    }
}

static void *thread_main(void *p)
{
    oc_sim_webhooks_t *w = p;
    pthread_mutex_lock(&w->mu);
    while (!w->stop) {
        long wait = start_due(w);
        pthread_mutex_unlock(&w->mu);
        int running = 0;
        curl_multi_perform(w->multi, &running);
        CURLMsg *m;
        int left;
        while ((m = curl_multi_info_read(w->multi, &left)) != NULL) {
            if (m->msg != CURLMSG_DONE)
                continue;
            delivery_t *d = NULL;
            curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&d);
            CURLcode code = m->data.result;
            pthread_mutex_lock(&w->mu);
            finish_one(w, d, code);
            pthread_mutex_unlock(&w->mu);
        }
        curl_multi_poll(w->multi, NULL, 0, (int)(running > 0 && wait > 50 ? 50 : wait), NULL);
        pthread_mutex_lock(&w->mu);
    }
    pthread_mutex_unlock(&w->mu);
    return NULL;
}

oc_sim_webhooks_t *oc_sim_webhooks_start(void)
{
    oc_sim_webhooks_t *w = oc_calloc(1, sizeof(*w));
    pthread_mutex_init(&w->mu, NULL);
    w->log = oc_calloc(LOG_CAP, sizeof(*w->log));
    if ((w->multi = curl_multi_init()) == NULL)
        goto Error;
    if (pthread_create(&w->thread, NULL, thread_main, w) != 0)
        goto Error;
    return w;
Error:
    if (w->multi != NULL)
        curl_multi_cleanup(w->multi);
    free(w->log);
    pthread_mutex_destroy(&w->mu);
    free(w);
    return NULL;
}

static void free_list(delivery_t *d)
{
    while (d != NULL) {
        delivery_t *next = d->next;
        delivery_free(d);
        d = next;
    }
}

void oc_sim_webhooks_stop(oc_sim_webhooks_t *w)
{
    if (w == NULL)
        return;
    pthread_mutex_lock(&w->mu);
    w->stop = 1;
    pthread_mutex_unlock(&w->mu);
    curl_multi_wakeup(w->multi);
    pthread_join(w->thread, NULL);
    for (delivery_t *d = w->inflight; d != NULL; d = d->next) {
        curl_multi_remove_handle(w->multi, d->easy);
        curl_easy_cleanup(d->easy);
    }
    free_list(w->inflight);
    free_list(w->pending);
    curl_multi_cleanup(w->multi);
    pthread_mutex_destroy(&w->mu);
    free(w->log);
    free(w);
}

static struct curl_slist *add_header(struct curl_slist *l, const char *name, const char *value, int *ok)
{
    char line[600];
    snprintf(line, sizeof(line), "%s:%s%s", name, *value != '\0' ? " " : "", value); /* "Name:" removes it */
    struct curl_slist *n = curl_slist_append(l, line);
    if (n == NULL)
        *ok = 0;
    return n != NULL ? n : l;
}

int oc_sim_webhooks_send(oc_sim_webhooks_t *w, const oc_sim_delivery_spec_t *spec, char *event_id)
{
    unsigned char mac[crypto_auth_hmacsha256_BYTES];
    crypto_auth_hmacsha256_state st;
    crypto_auth_hmacsha256_init(&st, (const unsigned char *)spec->secret, strlen(spec->secret));
    crypto_auth_hmacsha256_update(&st, (const unsigned char *)spec->body, spec->body_len);
    crypto_auth_hmacsha256_final(&st, mac);
    char hmac[sodium_base64_ENCODED_LEN(crypto_auth_hmacsha256_BYTES, sodium_base64_VARIANT_ORIGINAL)];
    sodium_bin2base64(hmac, sizeof(hmac), mac, sizeof(mac), sodium_base64_VARIANT_ORIGINAL);
    char triggered[32];
    oc_time_format(triggered, oc_now_ms(), OC_TIME_MS);
    oc_uuid_v4(event_id);

    delivery_t *batch = NULL;
    int copies = spec->copies < 1 ? 1 : spec->copies;
    for (int i = 0; i < copies; i++) {
        delivery_t *d = oc_calloc(1, sizeof(*d));
        int ok = 1;
        d->account_id = spec->account_id;
        d->url = oc_strdup(spec->url);
        d->body = oc_malloc(spec->body_len + 1);
        memcpy(d->body, spec->body, spec->body_len);
        d->body[spec->body_len] = '\0';
        d->body_len = spec->body_len;
        snprintf(d->topic, sizeof(d->topic), "%s", spec->topic);
        snprintf(d->event_id, sizeof(d->event_id), "%s", event_id);
        oc_uuid_v4(d->webhook_id);
        d->max_attempts = spec->max_attempts;
        d->retry_base_ms = spec->retry_base_ms;
        d->timeout_ms = spec->timeout_ms;
        /* duplicates arrive as separate deliveries shortly after the first */
        d->due_us = oc_mono_us() + (uint64_t)i * 50000;
        struct curl_slist *h = NULL;
        h = add_header(h, "Content-Type", "application/json", &ok);
        h = add_header(h, "User-Agent", "Shopify-Captain-Hook", &ok);
        h = add_header(h, "Expect", "", &ok);
        h = add_header(h, "X-Shopify-Topic", spec->topic, &ok);
        h = add_header(h, "X-Shopify-Hmac-Sha256", hmac, &ok);
        h = add_header(h, "X-Shopify-Shop-Domain", spec->shop_domain, &ok);
        h = add_header(h, "X-Shopify-API-Version", spec->api_version, &ok);
        h = add_header(h, "X-Shopify-Webhook-Id", d->webhook_id, &ok);
        h = add_header(h, "X-Shopify-Event-Id", event_id, &ok);
        h = add_header(h, "X-Shopify-Triggered-At", triggered, &ok);
        d->headers = h;
        if (!ok) {
            delivery_free(d);
            free_list(batch);
            return OC_ENOMEM;
        }
        d->next = batch;
        batch = d;
    }
    pthread_mutex_lock(&w->mu);
    while (batch != NULL) {
        delivery_t *d = batch;
        batch = d->next;
        if (w->npending >= MAX_PENDING) {
            record(w, d, 0, "dropped", "too many deliveries waiting");
            delivery_free(d);
            continue;
        }
        d->next = w->pending;
        w->pending = d;
        w->npending++;
    }
    pthread_mutex_unlock(&w->mu);
    curl_multi_wakeup(w->multi);
    return 0;
}

void oc_sim_webhooks_cancel(oc_sim_webhooks_t *w, int account_id)
{
    if (w == NULL)
        return;
    pthread_mutex_lock(&w->mu);
    delivery_t **pp = &w->pending;
    while (*pp != NULL) {
        delivery_t *d = *pp;
        if (account_id < 0 || d->account_id == account_id) {
            *pp = d->next;
            w->npending--;
            delivery_free(d);
        } else {
            pp = &d->next;
        }
    }
    for (delivery_t *d = w->inflight; d != NULL; d = d->next)
        if (account_id < 0 || d->account_id == account_id)
            d->cancelled = 1;
    if (account_id < 0) {
        w->log_head = w->log_len = 0;
        w->next_log_id = 0;
    }
    pthread_mutex_unlock(&w->mu);
}

json_t *oc_sim_webhooks_log(oc_sim_webhooks_t *w, int account_id, long long since, size_t limit)
{
    json_t *arr = json_array();
    long long last = since;
    int pending = 0;
    pthread_mutex_lock(&w->mu);
    for (size_t i = 0; i < w->log_len && json_array_size(arr) < limit; i++) {
        wlog_t *e = &w->log[(w->log_head + i) % LOG_CAP];
        if (e->id <= since || (account_id > 0 && e->account_id != account_id))
            continue;
        char ts[32];
        oc_time_format(ts, e->ts_ms, OC_TIME_MS);
        json_t *j =
            json_pack("{s:I, s:s, s:i, s:s, s:s, s:s, s:i, s:I, s:s, s:f}", "id", (json_int_t)e->id, "time", ts,
                      "account", e->account_id, "topic", e->topic, "event_id", e->event_id, "webhook_id", e->webhook_id,
                      "attempt", e->attempt, "status", (json_int_t)e->status, "result", e->result, "ms", e->ms);
        if (e->error[0] != '\0')
            json_object_set_new(j, "error", json_string(e->error));
        json_array_append_new(arr, j);
        last = e->id;
    }
    for (delivery_t *d = w->pending; d != NULL; d = d->next)
        pending += account_id <= 0 || d->account_id == account_id;
    for (delivery_t *d = w->inflight; d != NULL; d = d->next)
        pending += !d->cancelled && (account_id <= 0 || d->account_id == account_id);
    pthread_mutex_unlock(&w->mu);
    return json_pack("{s:o, s:I, s:i}", "deliveries", arr, "next_since", (json_int_t)last, "pending", pending);
}
