/*
 * api_webhooks.c — channel webhooks in: verify, store, answer.
 *
 * Shopify posts each subscribed event to
 * /api/v1/webhooks/shopify/{bid}/{cid}.  The signature (base64 HMAC-SHA256
 * of the raw body under the app's secret) is checked before the body is
 * parsed; a good delivery is stored in channel_events, deduplicated on the
 * channel's event id, and answered 200 at once.  The worker processes it
 * right after (a trigger notifies it).  Nothing of the body is logged.
 */
#include "server/api.h"
#include "runtime/log.h"
#include "runtime/metrics.h"
#include "adapters/adapter.h"
#include "adapters/sync/conn.h"
#include "tenants/channels.h"
#include "tenants/events.h"

#include <stdio.h>
#include <string.h>

static oc_metric_t m_hooks_ok = {"onecount_webhooks_total", "channel webhook deliveries", "result=\"stored\"",
                                 OC_METRIC_COUNTER};
static oc_metric_t m_hooks_dup = {"onecount_webhooks_total", "channel webhook deliveries", "result=\"duplicate\"",
                                  OC_METRIC_COUNTER};
static oc_metric_t m_hooks_bad = {"onecount_webhooks_total", "channel webhook deliveries", "result=\"bad_signature\"",
                                  OC_METRIC_COUNTER};

void oc_api_webhooks_init(void)
{
    oc_metrics_register(&m_hooks_ok);
    oc_metrics_register(&m_hooks_dup);
    oc_metrics_register(&m_hooks_bad);
}

static void on_stored(void *arg, int duplicate, const oc_fail_t *f)
{
    oc_req_t *r = arg;
    if (f != NULL) {
        /* not stored: a 5xx makes Shopify deliver it again later */
        oc_respond_fail(r, f);
        return;
    }
    oc_metric_add(duplicate ? &m_hooks_dup : &m_hooks_ok, 1);
    oc_respond_json(r, 200, json_pack("{s:b}", "duplicate", duplicate));
}

static void on_conn(void *arg, const char *err, const oc_db_result_t *res, oc_channel_conn_t *conn)
{
    oc_req_t *r = arg;
    if (conn == NULL && res != NULL) {
        oc_respond_db_error(r, res);
        return;
    }
    if (conn == NULL && strcmp(err, "not found") != 0) {
        oc_respond_error(r, 503, "vault_unavailable", err, NULL);
        return;
    }
    /* An unknown connection answers exactly like a bad signature: the
     * endpoint is public and must not tell which ids exist. */
    const oc_adapter_t *ad = oc_adapter_by_name("shopify");
    const char *sig = oc_req_header(r, "x-shopify-hmac-sha256");
    int ok = conn != NULL && conn->kind == OC_CHANNEL_SHOPIFY && ad != NULL && ad->verify_webhook != NULL &&
             sig != NULL && ad->verify_webhook(conn, sig, r->raw.base, r->raw.len) == 0;
    oc_conn_free(conn);
    if (!ok) {
        oc_metric_add(&m_hooks_bad, 1);
        oc_log_fields(OC_LOG_WARN, "webhook signature refused",
                      json_pack("{s:s, s:s, s:s}", "tenant", r->tenant, "connection", oc_req_param(r, "cid"),
                                "request_id", r->request_id));
        oc_respond_error(r, 401, "bad_signature", "the webhook signature does not verify", NULL);
        return;
    }
    json_error_t jerr;
    json_t *body = json_loadb(r->raw.base, r->raw.len, 0, &jerr);
    if (!json_is_object(body)) {
        json_decref(body);
        oc_respond_error(r, 400, "bad_request", "the webhook body is not a JSON object", NULL);
        return;
    }
    json_decref(body);
    const char *topic = oc_req_header(r, "x-shopify-topic");
    const char *event = oc_req_header(r, "x-shopify-event-id");
    if (event == NULL)
        event = oc_req_header(r, "x-shopify-webhook-id");
    if (topic == NULL || event == NULL) {
        oc_respond_error(r, 400, "bad_request", "X-Shopify-Topic and X-Shopify-Event-Id are required", NULL);
        return;
    }
    /* The signature covers the body only: these headers are stored as text, so they must be text. */
    if (!oc_utf8_ok(topic, strlen(topic)) || !oc_utf8_ok(event, strlen(event)) || strlen(topic) > 200 ||
        strlen(event) > 200) {
        oc_respond_error(r, 400, "bad_request", "X-Shopify-Topic and X-Shopify-Event-Id must be short UTF-8 text",
                         NULL);
        return;
    }
    if (oc_events_store(r->thread->db, r->tenant, oc_req_param(r, "cid"), event, topic, r->raw.base, r->raw.len,
                        on_stored, r) != 0)
        oc_respond_unavailable(r, "the database");
}

void oc_api_webhook_shopify(oc_req_t *r)
{
    const char *bid = oc_req_param(r, "bid"), *cid = oc_req_param(r, "cid");
    if (!oc_is_uuid(bid, strlen(bid)) || !oc_is_uuid(cid, strlen(cid)) ||
        oc_req_header(r, "x-shopify-hmac-sha256") == NULL) {
        oc_metric_add(&m_hooks_bad, 1);
        oc_respond_error(r, 401, "bad_signature", "the webhook signature does not verify", NULL);
        return;
    }
    oc_strlcpy(r->tenant, bid, 36, sizeof(r->tenant));
    if (oc_conn_load(r->thread->db, r->tenant, cid, on_conn, r) != 0)
        oc_respond_unavailable(r, "the database");
}
