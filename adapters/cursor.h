/*
 * cursor.h — the one pagination helper of the adapters: opaque order and
 * return cursors that never skip a change and never repeat one.
 *
 * A poll ("pass") asks the channel for records whose time field (Shopify
 * updated_at, Amazon LastUpdateDate, Walmart's last status date, the date of
 * a return) is at or after `since - overlap`, page by page with the
 * channel's own page token.  The overlap catches records whose time lands
 * just before the high-water mark after we looked (clock skew, second
 * precision, eventual consistency).  To keep the overlap from repeating
 * records, the cursor remembers (id, time) of what it returned inside the
 * window: the same record at the same time is dropped; a record that
 * changed has a new time and comes back.  When the pass ends (no next page),
 * `since` moves to the highest time seen and the remembered set is pruned
 * to the new window.  The encoded cursor is base64url(JSON), opaque to
 * callers.  The worker still dedupes by order and line id.
 */
#ifndef OC_CURSOR_H
#define OC_CURSOR_H

#include "runtime/common.h"

#include <jansson.h>

#define OC_CURSOR_MAX_SEEN 2000

typedef struct oc_cursor_seen {
    char *id;
    uint64_t t_ms;
} oc_cursor_seen_t;

typedef struct oc_cursor {
    uint64_t since_ms; /* high-water mark of the completed passes */
    uint64_t hwm_ms;   /* highest record time of the pass in progress */
    uint64_t from_ms;  /* lower bound the pass in progress queried from */
    char *page;        /* the channel's page token, NULL = start a new pass */
    oc_cursor_seen_t *seen;
    size_t nseen, cap;
} oc_cursor_t;

/**
 * Decodes `s` into `c`; NULL (or "") gives a fresh cursor starting at
 * `fresh_since_ms`.  Returns 0, or OC_EINVAL for a cursor that is not ours
 * (c is then empty but safe to free).
 */
int oc_cursor_decode(oc_cursor_t *c, const char *s, uint64_t fresh_since_ms);
/** Encodes `c`; a new malloc'd string, or NULL when jansson cannot encode it. */
char *oc_cursor_encode(const oc_cursor_t *c);
void oc_cursor_free(oc_cursor_t *c);

/** Starts a pass when none is in progress: returns the lower bound to query from (since - overlap). */
uint64_t oc_cursor_begin(oc_cursor_t *c, uint64_t overlap_ms);
/**
 * Offers a record of the page: returns 1 when it is new (and remembers it),
 * 0 when this (id, time) was already returned.  Times below the pass's lower
 * bound count as the bound.
 */
int oc_cursor_admit(oc_cursor_t *c, const char *id, uint64_t t_ms);
/**
 * The same for a record that can change within one tick of the channel's
 * clock (orders: Shopify and Walmart stamp changes to the second): the
 * record's content is part of what was "already returned", so a change in
 * the same second still comes through.
 */
int oc_cursor_admit_record(oc_cursor_t *c, const char *id, uint64_t t_ms, const json_t *record);
/** Ends a page: `next` is the channel's token for the next page, NULL when the pass is complete. */
int oc_cursor_page_done(oc_cursor_t *c, const char *next, uint64_t overlap_ms);

/** Extracts the URL of rel="next" from an RFC 8288 Link header into out; 0, or -1 when there is none. */
int oc_cursor_link_next(const char *link, char *out, size_t cap);
/** The (still percent-encoded) value of query parameter `name` in `url`; 0 or -1. */
int oc_cursor_url_param(const char *url, const char *name, char *out, size_t cap);

#endif
