/*
 * cursor.c — order and return cursors, Link headers and timestamps (see cursor.h).
 */
#include "adapters/cursor.h"

#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define CURSOR_VERSION 1

void oc_cursor_free(oc_cursor_t *c)
{
    if (c == NULL)
        return;
    for (size_t i = 0; i < c->nseen; i++)
        free(c->seen[i].id);
    free(c->seen);
    free(c->page);
    memset(c, 0, sizeof(*c));
}

static int remember(oc_cursor_t *c, const char *id, uint64_t t_ms)
{
    if (c->nseen == OC_CURSOR_MAX_SEEN) { /* forget the oldest: at worst a repeat, never a skip */
        size_t oldest = 0;
        for (size_t i = 1; i < c->nseen; i++)
            if (c->seen[i].t_ms < c->seen[oldest].t_ms)
                oldest = i;
        free(c->seen[oldest].id);
        c->seen[oldest] = c->seen[--c->nseen];
    }
    if (oc_array_grow(&c->seen, &c->cap, c->nseen, sizeof(*c->seen), 32) != 0)
        return OC_ENOMEM;
    c->seen[c->nseen].id = oc_strdup(id);
    c->seen[c->nseen].t_ms = t_ms;
    c->nseen++;
    return 0;
}

int oc_cursor_decode(oc_cursor_t *c, const char *s, uint64_t fresh_since_ms)
{
    memset(c, 0, sizeof(*c));
    if (s == NULL || *s == '\0') {
        c->since_ms = c->hwm_ms = c->from_ms = fresh_since_ms;
        return 0;
    }
    size_t len = strlen(s), binlen = 0;
    if (len > 1024 * 1024)
        return OC_EINVAL;
    unsigned char *bin = oc_malloc(len + 1);
    json_t *j = NULL;
    int rc = OC_EINVAL;
    if (sodium_base642bin(bin, len, s, len, NULL, &binlen, NULL, sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0)
        goto Error;
    j = json_loadb((const char *)bin, binlen, JSON_REJECT_DUPLICATES, NULL);
    json_t *v = json_object_get(j, "v"), *q = json_object_get(j, "q"), *p = json_object_get(j, "p");
    json_t *since = json_object_get(j, "s"), *hwm = json_object_get(j, "h"), *from = json_object_get(j, "f");
    if (!json_is_integer(v) || json_integer_value(v) != CURSOR_VERSION || !json_is_integer(since) ||
        !json_is_integer(hwm) || !json_is_integer(from) || json_integer_value(since) < 0 ||
        json_integer_value(hwm) < 0 || json_integer_value(from) < 0 || !json_is_array(q) ||
        (p != NULL && !json_is_null(p) && !json_is_string(p)))
        goto Error;
    c->since_ms = (uint64_t)json_integer_value(since);
    c->hwm_ms = (uint64_t)json_integer_value(hwm);
    c->from_ms = (uint64_t)json_integer_value(from);
    if (json_is_string(p))
        c->page = oc_strdup(json_string_value(p));
    size_t i;
    json_t *e;
    json_array_foreach(q, i, e)
    {
        const char *id = json_string_value(json_array_get(e, 0));
        json_t *t = json_array_get(e, 1);
        if (id == NULL || !json_is_integer(t) || json_integer_value(t) < 0)
            goto Error;
        if ((rc = remember(c, id, (uint64_t)json_integer_value(t))) != 0)
            goto Error;
        rc = OC_EINVAL;
    }
    json_decref(j);
    free(bin);
    return 0;
Error:
    json_decref(j);
    free(bin);
    oc_cursor_free(c);
    return rc;
}

char *oc_cursor_encode(const oc_cursor_t *c)
{
    json_t *q = json_array();
    for (size_t i = 0; i < c->nseen; i++)
        json_array_append_new(q, json_pack("[s, I]", c->seen[i].id, (json_int_t)c->seen[i].t_ms));
    json_t *j = json_pack("{s:i, s:I, s:I, s:I, s:s?, s:o}", "v", CURSOR_VERSION, "s", (json_int_t)c->since_ms, "h",
                          (json_int_t)c->hwm_ms, "f", (json_int_t)c->from_ms, "p", c->page, "q", q);
    char *raw = j != NULL ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    if (raw == NULL)
        return NULL;
    size_t rl = strlen(raw), cap = sodium_base64_ENCODED_LEN(rl, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    char *out = oc_malloc(cap);
    sodium_bin2base64(out, cap, (const unsigned char *)raw, rl, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    free(raw);
    return out;
}

uint64_t oc_cursor_begin(oc_cursor_t *c, uint64_t overlap_ms)
{
    if (c->page == NULL) {
        c->from_ms = c->since_ms > overlap_ms ? c->since_ms - overlap_ms : 0;
        c->hwm_ms = c->since_ms;
    }
    return c->from_ms;
}

int oc_cursor_admit(oc_cursor_t *c, const char *id, uint64_t t_ms)
{
    if (t_ms < c->from_ms)
        t_ms = c->from_ms;
    for (size_t i = 0; i < c->nseen; i++)
        if (c->seen[i].t_ms == t_ms && strcmp(c->seen[i].id, id) == 0)
            return 0;
    /* a record seen at another time changed since: forget the old entry */
    for (size_t i = 0; i < c->nseen; i++)
        if (strcmp(c->seen[i].id, id) == 0) {
            free(c->seen[i].id);
            c->seen[i] = c->seen[--c->nseen];
            break;
        }
    if (t_ms > c->hwm_ms)
        c->hwm_ms = t_ms;
    remember(c, id, t_ms); /* fails only on a size that would overflow: a repeat later, not a skip */
    return 1;
}

int oc_cursor_admit_record(oc_cursor_t *c, const char *id, uint64_t t_ms, const json_t *record)
{
    /* channels stamp changes to the second: a record that changed within the
     * same second is told apart by what it says */
    char *text = json_dumps(record, JSON_COMPACT | JSON_SORT_KEYS);
    unsigned char h[8];
    crypto_generichash(h, sizeof(h), (const unsigned char *)(text != NULL ? text : ""), text != NULL ? strlen(text) : 0,
                       NULL, 0);
    free(text);
    char key[512];
    snprintf(key, sizeof(key), "%.480s#%02x%02x%02x%02x%02x%02x%02x%02x", id != NULL ? id : "", h[0], h[1], h[2], h[3],
             h[4], h[5], h[6], h[7]);
    return oc_cursor_admit(c, key, t_ms);
}

int oc_cursor_page_done(oc_cursor_t *c, const char *next, uint64_t overlap_ms)
{
    free(c->page);
    c->page = NULL;
    if (next != NULL) {
        c->page = oc_strdup(next);
        return 0;
    }
    if (c->hwm_ms > c->since_ms)
        c->since_ms = c->hwm_ms;
    uint64_t keep = c->since_ms > overlap_ms ? c->since_ms - overlap_ms : 0;
    for (size_t i = 0; i < c->nseen;) {
        if (c->seen[i].t_ms < keep) {
            free(c->seen[i].id);
            c->seen[i] = c->seen[--c->nseen];
        } else {
            i++;
        }
    }
    return 0;
}

/* --- Link headers and URLs ------------------------------------------------------------ */

int oc_cursor_link_next(const char *link, char *out, size_t cap)
{
    if (link == NULL)
        return -1;
    const char *p = link;
    while ((p = strchr(p, '<')) != NULL) {
        const char *close = strchr(p, '>');
        if (close == NULL)
            return -1;
        const char *params = close + 1, *end = strchr(params, ',');
        /* a comma may also sit inside a quoted parameter; ours never does */
        size_t plen = end != NULL ? (size_t)(end - params) : strlen(params);
        int is_next = 0;
        for (const char *r = params; r < params + plen; r++) {
            if (strncasecmp(r, "rel=", 4) != 0)
                continue;
            r += 4;
            const char *v = r;
            if (*v == '"')
                v++;
            /* rel may list several types: rel="next last" */
            while (v < params + plen && *v != '"' && *v != ';') {
                size_t wl = strcspn(v, " \";,");
                if (wl == 4 && strncasecmp(v, "next", 4) == 0)
                    is_next = 1;
                v += wl;
                while (*v == ' ')
                    v++;
            }
            break;
        }
        if (is_next) {
            size_t ul = (size_t)(close - p - 1);
            if (ul + 1 > cap)
                return -1;
            oc_strlcpy(out, p + 1, ul, cap);
            return 0;
        }
        p = end != NULL ? end + 1 : params + plen;
    }
    return -1;
}

int oc_cursor_url_param(const char *url, const char *name, char *out, size_t cap)
{
    const char *q = url != NULL ? strchr(url, '?') : NULL;
    size_t nl = strlen(name);
    while (q != NULL) {
        q++;
        if (strncmp(q, name, nl) == 0 && q[nl] == '=') {
            const char *v = q + nl + 1;
            size_t vl = strcspn(v, "&#");
            if (vl + 1 > cap)
                return -1;
            oc_strlcpy(out, v, vl, cap);
            return 0;
        }
        q = strchr(q, '&');
    }
    return -1;
}
