/*
 * page.h — the one pagination helper: `?limit=&cursor=` in, `{"items":[…],
 * "next_cursor":…}` out.  A cursor is opaque to clients: base64url of a JSON
 * array holding the sort key of the last item returned.  Handlers fetch
 * limit + 1 rows to learn whether another page exists.
 */
#ifndef OC_PAGE_H
#define OC_PAGE_H

#include "server/http.h"
#include "tenants/query.h"

#define OC_PAGE_DEFAULT 50
#define OC_PAGE_MAX     200

/**
 * One column a list may be sorted by (`?sort=name` ascending, `?sort=-name`
 * descending): `field` is the item's member holding the column's value,
 * `null_as` the value the domain sorts a null as (the SQL's coalesce), NULL
 * when the column is never null.  A table of them ends with {NULL}; its
 * first row is the list's default order.
 */
typedef struct oc_sort_col {
    const char *name;
    const char *field;
    const char *null_as;
} oc_sort_col_t;

typedef struct oc_page {
    int limit;
    json_t *after; /* decoded cursor (array of strings), or NULL on the first page; freed with the request */
    char limit_plus_one[16];
    oc_req_t *req;                   /* oc_page_start: the request oc_page_answer answers */
    json_t *(*key_of)(json_t *item); /* oc_page_start: the sort key of an item (see oc_page_result) */
    const oc_sort_col_t *sort;       /* oc_page_start_sorted: the column when not the default order, else NULL */
    const char *tiebreak;            /* the item's member that orders rows equal in `sort` */
    int sort_index, sort_desc;       /* the column's row in its table, and whether descending */
} oc_page_t;

/**
 * Reads limit and cursor from the query string.  On a bad value responds 422
 * naming the parameter and returns -1.  `cursor_len` is the number of key
 * values a valid cursor holds.
 */
int oc_page_parse(oc_req_t *r, oc_page_t *pg, size_t cursor_len);

/**
 * oc_page_parse for a list the domain reads (tenants/query.h): allocates the
 * page in the request's pool and remembers the request and `key_of` for
 * oc_page_answer.  Returns the page, or NULL when it responded 422.
 */
oc_page_t *oc_page_start(oc_req_t *r, size_t cursor_len, json_t *(*key_of)(json_t *item));

/**
 * oc_page_start for a list with a `sort` parameter: reads it against `cols`
 * (422 naming `sort` and the columns it takes when unknown).  The default
 * order (the first column, ascending) pages as oc_page_start does with
 * `cursor_len` and `key_of`; any other pages by [the column's value, the
 * item's `tiebreak`] (a cursor of two), and oc_page_answer builds that key.
 * pg->sort_index and pg->sort_desc say the order to the domain.
 */
oc_page_t *oc_page_start_sorted(oc_req_t *r, size_t cursor_len, json_t *(*key_of)(json_t *item),
                                const oc_sort_col_t *cols, const char *tiebreak);

/**
 * Checks the `from` and `to` of a time range in the query string: each
 * absent or a full RFC 3339 time (2026-11-28T00:00:00Z, offsets allowed),
 * `from` not after `to`.  On a bad one responds 422 with every problem
 * (error.problems) and returns 0.
 */
int oc_query_range_ok(oc_req_t *r, const char *from, const char *to);

/** The cursor's key values and limit + 1, as a domain list read takes them. */
oc_page_keys_t oc_page_keys(const oc_page_t *pg);

/**
 * An oc_query_cb with `arg` the page from oc_page_start: answers the failure,
 * or 200 with oc_page_result() over the rows `v` (stolen).
 */
void oc_page_answer(void *arg, json_t *v, const oc_fail_t *f);

/**
 * A sort key [lower(item[`name`]), item[`id`]] for lists ordered by a name
 * without case (new reference): users by e-mail, brands by name.
 */
json_t *oc_page_key_lower(json_t *item, const char *name, const char *id);

/** Key value i of the cursor (NULL on the first page). */
const char *oc_page_after(const oc_page_t *pg, size_t i);

/**
 * Builds the list response from `items` (stolen).  When items holds more
 * than pg->limit elements the extra one is dropped and the sort key of the
 * last kept item, from key_of (a new reference to an array of strings),
 * becomes next_cursor; otherwise next_cursor is null.
 */
json_t *oc_page_result(const oc_page_t *pg, json_t *items, json_t *(*key_of)(json_t *item));

/**
 * Checks a time in the query string (RFC 3339 shape; PostgreSQL parses the
 * rest).  NULL is fine; a bad one gets 422 naming `field` and returns 0.
 */
int oc_query_time_ok(oc_req_t *r, const char *v, const char *field);

#endif
