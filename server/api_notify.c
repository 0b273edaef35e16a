/*
 * api_notify.c — notifications (tenants/notify.h): a portfolio's outbound
 * webhook endpoints (admins), their delivery log and test, and each
 * person's own preferences.  The URL's form, kinds and the preference's
 * fields are checked here, every problem at once; brand ids and time zones
 * by the SQL of migration 0034.
 */
#include "server/api.h"
#include "server/page.h"
#include "tenants/notify.h"

#include <curl/curl.h>
#include <ctype.h>
#include <string.h>

/* http:// or https:// with a host, no credentials in it, no spaces or control characters. */
static int url_check(const json_t *v)
{
    const char *s = json_string_value(v);
    if (s == NULL || (strncmp(s, "http://", 7) != 0 && strncmp(s, "https://", 8) != 0))
        return 1;
    for (const char *p = s; *p; p++)
        if ((unsigned char)*p <= ' ' || *p == 0x7f)
            return 1;
    CURLU *u = curl_url();
    int bad = u == NULL || curl_url_set(u, CURLUPART_URL, s, 0) != CURLUE_OK;
    char *host = NULL, *user = NULL;
    if (!bad && (curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK || host == NULL || host[0] == '\0'))
        bad = 1;
    if (!bad && curl_url_get(u, CURLUPART_USER, &user, 0) == CURLUE_OK && user != NULL)
        bad = 1;
    curl_free(host);
    curl_free(user);
    curl_url_cleanup(u);
    return bad;
}

/* An array of distinct-or-not words (a kind: oversell, connection_failing, credentials…): lower case, digits, _ . */
static int kinds_check(const json_t *v)
{
    if (json_is_null(v))
        return 0;
    if (!json_is_array(v) || json_array_size(v) > 50)
        return 1;
    size_t i;
    json_t *k;
    json_array_foreach(v, i, k)
    {
        const char *s = json_string_value(k);
        size_t n = s != NULL ? strlen(s) : 0;
        if (n < 1 || n > 60 || !islower((unsigned char)s[0]))
            return 1;
        for (size_t j = 0; j < n; j++)
            if (!islower((unsigned char)s[j]) && !isdigit((unsigned char)s[j]) && s[j] != '_' && s[j] != '.')
                return 1;
    }
    return 0;
}

static int uuid_ok(const char *s)
{
    if (s == NULL || strlen(s) != 36)
        return 0;
    for (int i = 0; i < 36; i++) {
        int dash = i == 8 || i == 13 || i == 18 || i == 23;
        if (dash ? s[i] != '-' : !(isdigit((unsigned char)s[i]) || (s[i] >= 'a' && s[i] <= 'f')))
            return 0;
    }
    return 1;
}

static int brand_ids_check(const json_t *v)
{
    if (json_is_null(v))
        return 0;
    if (!json_is_array(v) || json_array_size(v) > 1000)
        return 1;
    size_t i;
    json_t *b;
    json_array_foreach(v, i, b) if (!uuid_ok(json_string_value(b))) return 1;
    return 0;
}

#define URL_MSG      "must be an http:// or https:// address with a host (no user name or password in it)"
#define KINDS_MSG    "a list of kinds (lower-case words such as oversell or credentials), or null for every kind"
#define BRANDS_MSG   "a list of brand ids, or null for every brand"
#define SEVERITY_MSG "info (everything), warning (warnings and critical) or critical; null for every severity"

static const char *const severities[] = {"info", "warning", "critical", NULL};

static const oc_field_t endpoint_fields[] = {
    {"name", OC_F_STRING, OC_REQUIRED, 1, 200},
    {"url", OC_F_STRING, OC_REQUIRED, 1, 2000, NULL, NULL, URL_MSG, url_check},
    {"kinds", OC_F_ANY, OC_NULLABLE, 0, 0, NULL, NULL, KINDS_MSG, kinds_check},
    {"min_severity", OC_F_ENUM, OC_NULLABLE, 0, 0, severities, NULL, SEVERITY_MSG},
    {"brand_ids", OC_F_ANY, OC_NULLABLE, 0, 0, NULL, NULL, BRANDS_MSG, brand_ids_check},
    {"active", OC_F_BOOL, 0},
    {NULL},
};
static const oc_field_t endpoint_patch_fields[] = {
    {"name", OC_F_STRING, 0, 1, 200},
    {"url", OC_F_STRING, 0, 1, 2000, NULL, NULL, URL_MSG, url_check},
    {"kinds", OC_F_ANY, OC_NULLABLE, 0, 0, NULL, NULL, KINDS_MSG, kinds_check},
    {"min_severity", OC_F_ENUM, OC_NULLABLE, 0, 0, severities, NULL, SEVERITY_MSG},
    {"brand_ids", OC_F_ANY, OC_NULLABLE, 0, 0, NULL, NULL, BRANDS_MSG, brand_ids_check},
    {"active", OC_F_BOOL, 0},
    {NULL},
};

static const char *endpoint_id(oc_req_t *r)
{
    return oc_req_id_param(r, "wid", "no such webhook endpoint");
}

void oc_api_webhook_endpoints(oc_req_t *r)
{
    oc_notify_endpoints(r->thread, oc_req_actor(r)->portfolio, oc_api_answer, r);
}

void oc_api_webhook_endpoint_create(oc_req_t *r)
{
    if (oc_req_validate(r, endpoint_fields) != 0)
        return;
    oc_notify_endpoint_create(r->thread, oc_req_actor(r), r->body, oc_api_answer_created, r);
}

void oc_api_webhook_endpoint_get(oc_req_t *r)
{
    const char *id = endpoint_id(r);
    if (id != NULL)
        oc_notify_endpoint_get(r->thread, oc_req_actor(r)->portfolio, id, oc_api_answer, r);
}

void oc_api_webhook_endpoint_update(oc_req_t *r)
{
    if (oc_req_validate(r, endpoint_patch_fields) != 0)
        return;
    const char *id = endpoint_id(r);
    if (id != NULL)
        oc_notify_endpoint_update(r->thread, oc_req_actor(r), id, r->body, oc_api_answer, r);
}

void oc_api_webhook_endpoint_delete(oc_req_t *r)
{
    const char *id = endpoint_id(r);
    if (id != NULL)
        oc_notify_endpoint_delete(r->thread, oc_req_actor(r), id, oc_api_answer, r);
}

void oc_api_webhook_endpoint_rotate(oc_req_t *r)
{
    if (oc_req_validate(r, oc_no_fields) != 0)
        return;
    const char *id = endpoint_id(r);
    if (id != NULL)
        oc_notify_endpoint_rotate(r->thread, oc_req_actor(r), id, oc_api_answer, r);
}

void oc_api_webhook_endpoint_test(oc_req_t *r)
{
    if (oc_req_validate(r, oc_no_fields) != 0)
        return;
    const char *id = endpoint_id(r);
    if (id != NULL)
        oc_notify_endpoint_test(r->thread, oc_req_actor(r), id, oc_api_answer_created, r);
}

void oc_api_webhook_deliveries(oc_req_t *r)
{
    const char *id = endpoint_id(r);
    if (id == NULL)
        return;
    oc_page_t *pg = oc_page_start(r, 2, oc_api_created_key);
    if (pg == NULL)
        return;
    oc_page_keys_t keys = oc_page_keys(pg);
    oc_notify_deliveries(r->thread, oc_req_actor(r)->portfolio, id, &keys, oc_page_answer, pg);
}

/* --- the caller's own preferences --- */

static const char *person(oc_req_t *r)
{
    if (r->auth.kind != OC_AUTH_SESSION) {
        oc_respond_error(r, 403, "forbidden",
                         "notification preferences belong to a person signed in, not to an API token", NULL);
        return NULL;
    }
    return r->auth.user_id;
}

void oc_api_notify_prefs_get(oc_req_t *r)
{
    const char *user = person(r);
    if (user != NULL)
        oc_notify_prefs_get(r->thread, oc_req_actor(r)->portfolio, user, oc_api_answer, r);
}

void oc_api_notify_prefs_put(oc_req_t *r)
{
    static const char *const modes[] = {"off", "immediate", "digest", NULL};
    static const oc_field_t fields[] = {
        {"email_mode", OC_F_ENUM, 0, 0, 0, modes},
        {"kinds", OC_F_ANY, OC_NULLABLE, 0, 0, NULL, NULL, KINDS_MSG, kinds_check},
        {"min_severity", OC_F_ENUM, OC_NULLABLE, 0, 0, severities, NULL, SEVERITY_MSG},
        {"brand_ids", OC_F_ANY, OC_NULLABLE, 0, 0, NULL, NULL, BRANDS_MSG, brand_ids_check},
        {"digest_hour", OC_F_INT, 0, 0, 23, NULL, NULL, "an hour of the day, 0 to 23"},
        {"timezone", OC_F_STRING, OC_NULLABLE, 1, 64},
        {NULL},
    };
    if (oc_req_validate(r, fields) != 0)
        return;
    const char *user = person(r);
    if (user != NULL)
        oc_notify_prefs_put(r->thread, oc_req_actor(r)->portfolio, user, r->body, oc_api_answer, r);
}
