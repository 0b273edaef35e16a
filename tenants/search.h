/*
 * search.h — one search box across the brands a caller may read: SKUs (code
 * prefix, title words, exact barcode), listings (channel SKU prefix, exact
 * item reference) and channel orders (order number prefix), grouped by kind
 * and bounded per kind.
 */
#ifndef OC_SEARCH_H
#define OC_SEARCH_H

#include "tenants/query.h"

#define OC_SEARCH_MIN 2 /* characters in a query */
#define OC_SEARCH_MAX 100

/**
 * Searches `q` (matched without case) in the brands of `portfolio` listed
 * in `brands` (comma-separated ids; NULL = every brand of the portfolio), archived
 * brands left out.  Answers {q, skus: [...], listings: [...], orders:
 * [...], more: {skus, listings, orders}} with at most `limit` hits per kind,
 * exact matches first; `more` says whether a kind had more hits.  Each hit
 * names its brand (brand_id, brand).  Row-level security holds the read to
 * those brands.
 */
void oc_search(oc_thread_t *th, const char *portfolio, const char *brands, const char *q, int limit, oc_query_cb cb,
               void *arg);

#endif
