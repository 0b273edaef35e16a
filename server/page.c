/*
 * page.c — cursor pagination (see page.h).
 */
#include "server/page.h"
#include "runtime/alloc.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void free_json(void *p)
{
    json_decref(p);
}

int oc_page_parse(oc_req_t *r, oc_page_t *pg, size_t cursor_len)
{
    pg->limit = OC_PAGE_DEFAULT;
    pg->after = NULL;
    const char *l = oc_req_query(r, "limit");
    if (l != NULL) {
        char *end;
        long v = strtol(l, &end, 10);
        if (*l == '\0' || *end != '\0' || v < 1 || v > OC_PAGE_MAX) {
            char msg[64];
            snprintf(msg, sizeof(msg), "limit must be an integer from 1 to %d", OC_PAGE_MAX);
            oc_respond_error(r, 422, "invalid", msg, "limit");
            return -1;
        }
        pg->limit = (int)v;
    }
    snprintf(pg->limit_plus_one, sizeof(pg->limit_plus_one), "%d", pg->limit + 1);
    const char *c = oc_req_query(r, "cursor");
    if (c != NULL && *c != '\0') {
        size_t cl = strlen(c), binlen = 0;
        unsigned char *bin = oc_req_alloc(r, cl + 1);
        json_t *arr = NULL;
        if (sodium_base642bin(bin, cl, c, cl, NULL, &binlen, NULL, sodium_base64_VARIANT_URLSAFE_NO_PADDING) == 0)
            arr = json_loadb((const char *)bin, binlen, 0, NULL);
        if (!json_is_array(arr) || json_array_size(arr) != cursor_len) {
            json_decref(arr);
            oc_respond_error(r, 422, "invalid", "cursor is not one this endpoint issued", "cursor");
            return -1;
        }
        for (size_t i = 0; i < cursor_len; i++) {
            if (!json_is_string(json_array_get(arr, i))) {
                json_decref(arr);
                oc_respond_error(r, 422, "invalid", "cursor is not one this endpoint issued", "cursor");
                return -1;
            }
        }
        pg->after = arr;
        oc_req_dispose_later(r, free_json, arr);
    }
    return 0;
}

const char *oc_page_after(const oc_page_t *pg, size_t i)
{
    return pg->after != NULL ? json_string_value(json_array_get(pg->after, i)) : NULL;
}

json_t *oc_page_result(const oc_page_t *pg, json_t *items, json_t *(*key_of)(json_t *item))
{
    json_t *next = json_null();
    if (json_array_size(items) > (size_t)pg->limit) {
        json_array_remove(items, json_array_size(items) - 1);
        json_t *key = key_of(json_array_get(items, json_array_size(items) - 1));
        char *s = json_dumps(key, JSON_COMPACT);
        json_decref(key);
        size_t sl = strlen(s), cap = sodium_base64_ENCODED_LEN(sl, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
        char *enc = oc_malloc(cap);
        sodium_bin2base64(enc, cap, (const unsigned char *)s, sl, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
        next = json_string(enc);
        free(enc);
        free(s);
    }
    return json_pack("{s:o, s:o}", "items", items, "next_cursor", next);
}

int oc_query_time_ok(oc_req_t *r, const char *v, const char *field)
{
    if (v == NULL)
        return 1;
    size_t n = strlen(v);
    int ok = n >= 10 && n <= 40 && v[4] == '-' && v[7] == '-';
    for (size_t i = 0; ok && i < n; i++)
        ok = strchr("0123456789-:T.Z+ ", v[i]) != NULL;
    if (!ok)
        oc_respond_error(r, 422, "invalid", "use an RFC 3339 time such as 2026-11-28T14:02:00Z", field);
    return ok;
}

oc_page_t *oc_page_start(oc_req_t *r, size_t cursor_len, json_t *(*key_of)(json_t *item))
{
    oc_page_t *pg = oc_req_alloc(r, sizeof(*pg));
    memset(pg, 0, sizeof(*pg));
    pg->req = r;
    pg->key_of = key_of;
    return oc_page_parse(r, pg, cursor_len) == 0 ? pg : NULL;
}

oc_page_keys_t oc_page_keys(const oc_page_t *pg)
{
    return (oc_page_keys_t){
        .after = {oc_page_after(pg, 0), oc_page_after(pg, 1), oc_page_after(pg, 2)},
        .limit_plus_one = pg->limit_plus_one,
    };
}

void oc_page_answer(void *arg, json_t *v, const oc_fail_t *f)
{
    oc_page_t *pg = arg;
    if (f != NULL) {
        oc_respond_fail(pg->req, f);
        return;
    }
    oc_respond_json(pg->req, 200, oc_page_result(pg, v, pg->key_of));
}

json_t *oc_page_key_lower(json_t *item, const char *name, const char *id)
{
    const char *v = json_string_value(json_object_get(item, name));
    size_t n = v != NULL ? strlen(v) : 0;
    char *lower = oc_malloc(n + 1);
    for (size_t i = 0; i < n; i++)
        lower[i] = (char)((v[i] >= 'A' && v[i] <= 'Z') ? v[i] + 32 : v[i]);
    lower[n] = '\0';
    json_t *k = json_pack("[s, s]", lower, json_string_value(json_object_get(item, id)));
    free(lower);
    return k;
}
