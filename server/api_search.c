/*
 * api_search.c — GET /portfolios/{pid}/search?q=&limit=: the search box
 * across the brands the caller may read (tenants/search.h).
 */
#include "server/api.h"
#include "tenants/search.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SEARCH_LIMIT_DEFAULT 10
#define SEARCH_LIMIT_MAX     50

void oc_api_search(oc_req_t *r)
{
    const char *raw = oc_req_query(r, "q"), *l = oc_req_query(r, "limit");
    json_t *problems = json_array();
    char *q = NULL;
    if (raw != NULL) {
        while (*raw == ' ' || *raw == '\t')
            raw++;
        size_t n = strlen(raw);
        while (n > 0 && (raw[n - 1] == ' ' || raw[n - 1] == '\t'))
            n--;
        q = oc_req_alloc(r, n + 1);
        memcpy(q, raw, n);
        q[n] = '\0';
    }
    /* characters, not bytes: UTF-8 continuation bytes do not count */
    size_t chars = 0;
    for (const char *p = q; p != NULL && *p; p++)
        chars += ((unsigned char)*p & 0xC0) != 0x80;
    if (q == NULL || chars < OC_SEARCH_MIN || chars > OC_SEARCH_MAX)
        json_array_append_new(problems,
                              json_pack("{s:s, s:s}", "field", "q", "message",
                                        "type 2 to 100 characters: a SKU code, title, channel SKU or order number"));
    long limit = SEARCH_LIMIT_DEFAULT;
    if (l != NULL) {
        char *end;
        limit = strtol(l, &end, 10);
        if (*l == '\0' || *end != '\0' || limit < 1 || limit > SEARCH_LIMIT_MAX)
            json_array_append_new(problems,
                                  json_pack("{s:s, s:s}", "field", "limit", "message", "limit must be from 1 to 50"));
    }
    if (json_array_size(problems) > 0) {
        json_t *first = json_array_get(problems, 0);
        json_t *body = oc_error_body("invalid", json_string_value(json_object_get(first, "message")),
                                     json_string_value(json_object_get(first, "field")), r->request_id);
        json_object_set_new(json_object_get(body, "error"), "problems", problems);
        oc_respond_json(r, 422, body);
        return;
    }
    json_decref(problems);
    oc_search(r->thread, r->portfolio, oc_api_brands_seen(r), q, (int)limit, oc_api_answer, r);
}
