/*
 * catalog.h — SKU codes resolved to ids, kinds and bundle components, with a
 * cache shared by the process's threads for the hot paths (holds and sales check Redis before
 * PostgreSQL and need component ids to do it).
 *
 * The cache is an accelerator only.  Every catalog write in this process
 * drops it at once (oc_catalog_invalidate), and so does every change
 * PostgreSQL announces on the oc_catalog channel (any process's, heard
 * through oc_catalog_watch): entries then live ten minutes; while that LISTEN
 * is down, 30 seconds.  PostgreSQL re-checks every sale, so a stale entry can
 * refuse or admit a hold a moment early or late but never oversell.
 */
#ifndef OC_CATALOG_H
#define OC_CATALOG_H

#include "runtime/thread.h"

#define OC_CATALOG_MAX_COMPONENTS 32

typedef struct oc_sku_ref {
    long long sku_id;
    int is_bundle;
    int ncomp;
    struct {
        long long sku_id;
        long long qty;
    } comp[OC_CATALOG_MAX_COMPONENTS];
} oc_sku_ref_t;

/**
 * Called on the loop thread; refs[i] is NULL for an unknown code.  `err` non-NULL: database failure.
 * `refs` and what they point to live only during the call: copy what is needed later.
 */
typedef void (*oc_catalog_cb)(void *arg, const oc_db_result_t *err, const oc_sku_ref_t *const *refs);

/** Resolves `n` codes (n <= 100).  Returns 0 (cb called later, possibly synchronously from cache) or OC_EUNAVAIL. */
int oc_catalog_resolve(oc_thread_t *th, const char *tenant, const char *const *codes, int n, oc_catalog_cb cb,
                       void *arg);

/** Drops every cached entry of this process. */
void oc_catalog_invalidate(void);

/** LISTENs on oc_catalog from `th`'s loop (one thread per process) and drops the cache on every notification. */
void oc_catalog_watch(oc_thread_t *th);

/**
 * Expands requested (code, qty) lines into summed component requirements,
 * sorted by sku id.  Returns the number of distinct SKUs, or -1 if more than `cap`.
 */
int oc_catalog_expand(const oc_sku_ref_t *const *refs, const long long *qty, int n, long long *out_sku,
                      long long *out_qty, int cap);

/**
 * For each SKU of an expansion (skus[j], from oc_catalog_expand), the index
 * of the last requested line that moves it, into line_of[j] — to name the
 * requested code when a component turns out short.
 */
void oc_catalog_lines_of(const oc_sku_ref_t *const *refs, int n, const long long *skus, int nskus, int *line_of);

#endif
