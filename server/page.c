/*
 * page.c — cursor pagination (see page.h).
 */
#include "server/page.h"
#include "runtime/alloc.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

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

oc_page_t *oc_page_start_sorted(oc_req_t *r, size_t cursor_len, json_t *(*key_of)(json_t *item),
                                const oc_sort_col_t *cols, const char *tiebreak)
{
    const char *s = oc_req_query(r, "sort");
    int index = 0, desc = 0;
    if (s != NULL && *s != '\0') {
        desc = *s == '-';
        const char *name = desc ? s + 1 : s;
        for (index = 0; cols[index].name != NULL && strcmp(cols[index].name, name) != 0; index++)
            ;
        if (cols[index].name == NULL) {
            char msg[256];
            size_t n = (size_t)snprintf(msg, sizeof(msg), "sort must be one of");
            for (int i = 0; cols[i].name != NULL && n < sizeof(msg); i++)
                n += (size_t)snprintf(msg + n, sizeof(msg) - n, "%s %s", i ? "," : "", cols[i].name);
            if (n < sizeof(msg))
                snprintf(msg + n, sizeof(msg) - n, ", with a leading - for descending");
            oc_respond_error(r, 422, "invalid", msg, "sort");
            return NULL;
        }
    }
    int sorted = index != 0 || desc;
    oc_page_t *pg = oc_page_start(r, sorted ? 2 : cursor_len, key_of);
    if (pg == NULL)
        return NULL;
    pg->sort = sorted ? &cols[index] : NULL;
    pg->tiebreak = tiebreak;
    pg->sort_index = index;
    pg->sort_desc = desc;
    return pg;
}

/* A member of an item as a cursor key: strings as they are, numbers in decimal, null as `null_as`. */
static json_t *key_text(json_t *item, const char *field, const char *null_as)
{
    json_t *v = json_object_get(item, field);
    char buf[64];
    if (json_is_string(v))
        return json_string(json_string_value(v));
    if (json_is_integer(v)) {
        snprintf(buf, sizeof(buf), "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        return json_string(buf);
    }
    if (json_is_real(v)) {
        snprintf(buf, sizeof(buf), "%.17g", json_real_value(v));
        return json_string(buf);
    }
    if (json_is_boolean(v))
        return json_string(json_is_true(v) ? "true" : "false");
    return json_string(null_as != NULL ? null_as : "");
}

void oc_page_answer(void *arg, json_t *v, const oc_fail_t *f)
{
    oc_page_t *pg = arg;
    if (f != NULL) {
        oc_respond_fail(pg->req, f);
        return;
    }
    if (pg->sort == NULL) {
        oc_respond_json(pg->req, 200, oc_page_result(pg, v, pg->key_of));
        return;
    }
    /* oc_page_result with the sorted key [value, tiebreak] of the last kept item */
    json_t *next = json_null();
    if (json_array_size(v) > (size_t)pg->limit) {
        json_array_remove(v, json_array_size(v) - 1);
        json_t *last = json_array_get(v, json_array_size(v) - 1);
        json_t *key =
            json_pack("[o, o]", key_text(last, pg->sort->field, pg->sort->null_as), key_text(last, pg->tiebreak, NULL));
        char *s = json_dumps(key, JSON_COMPACT);
        json_decref(key);
        size_t sl = strlen(s), cap = sodium_base64_ENCODED_LEN(sl, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
        char *enc = oc_malloc(cap);
        sodium_bin2base64(enc, cap, (const unsigned char *)s, sl, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
        next = json_string(enc);
        free(enc);
        free(s);
    }
    oc_respond_json(pg->req, 200, json_pack("{s:o, s:o}", "items", v, "next_cursor", next));
}

/* --- time ranges ----------------------------------------------------------------------------- */

static int digits(const char *s, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return 0;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return 1;
}

/* A full RFC 3339 time (seconds and fraction optional, Z or ±hh:mm): 1 with *at its instant, else 0. */
static int rfc3339(const char *s, double *at)
{
    static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int y, mo, d, hh, mi, ss = 0;
    if (strlen(s) < 16 || !digits(s, 4, &y) || s[4] != '-' || !digits(s + 5, 2, &mo) || s[7] != '-' ||
        !digits(s + 8, 2, &d) || (s[10] != 'T' && s[10] != 't' && s[10] != ' ') || !digits(s + 11, 2, &hh) ||
        s[13] != ':' || !digits(s + 14, 2, &mi))
        return 0;
    const char *p = s + 16;
    double frac = 0;
    if (*p == ':') {
        if (!digits(p + 1, 2, &ss))
            return 0;
        p += 3;
        if (*p == '.') {
            double scale = 0.1;
            if (p[1] < '0' || p[1] > '9')
                return 0;
            for (p++; *p >= '0' && *p <= '9'; p++, scale /= 10)
                frac += (*p - '0') * scale;
        }
    }
    if (y < 1 || mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] || hh > 23 || mi > 59 || ss > 60)
        return 0;
    if (mo == 2 && d == 29 && !((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
        return 0;
    int off = 0;
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        int oh, om;
        if (!digits(p + 1, 2, &oh) || p[3] != ':' || !digits(p + 4, 2, &om) || oh > 23 || om > 59)
            return 0;
        off = (*p == '-' ? -1 : 1) * (oh * 3600 + om * 60);
        p += 6;
    } else {
        return 0;
    }
    if (*p != '\0')
        return 0;
    struct tm tm = {.tm_year = y - 1900, .tm_mon = mo - 1, .tm_mday = d, .tm_hour = hh, .tm_min = mi, .tm_sec = ss};
    *at = (double)timegm(&tm) - off + frac;
    return 1;
}

int oc_query_range_ok(oc_req_t *r, const char *from, const char *to)
{
    static const char bad[] = "use a full RFC 3339 time such as 2026-11-28T00:00:00Z or 2026-11-28T00:00:00-05:00";
    double f = 0, t = 0;
    int fok = from == NULL || rfc3339(from, &f), tok = to == NULL || rfc3339(to, &t);
    if (fok && tok && from != NULL && to != NULL && f > t) {
        oc_respond_error(r, 422, "invalid", "the first day is after the last: from must not be after to", "from");
        return 0;
    }
    if (fok && tok)
        return 1;
    json_t *body = oc_error_body("invalid", bad, fok ? "to" : "from", r->request_id);
    json_t *problems = json_array();
    if (!fok)
        json_array_append_new(problems, json_pack("{s:s, s:s}", "field", "from", "message", bad));
    if (!tok)
        json_array_append_new(problems, json_pack("{s:s, s:s}", "field", "to", "message", bad));
    json_object_set_new(json_object_get(body, "error"), "problems", problems);
    oc_respond_json(r, 422, body);
    return 0;
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
