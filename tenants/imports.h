/*
 * imports.h — CSV imports of SKUs, bundles, opening counts and listings:
 * the part that needs no database.
 *
 * oc_import_prepare() parses an uploaded file (tenants/csv.h), maps its
 * header, checks every row on its own — codes, numbers, lengths, duplicates
 * within the file, the shape of bundles — and cuts the rows into chunks.  A
 * chunk's parameters are PostgreSQL array literals that feed both the
 * checks against the brand and the statements that apply the rows
 * (tenants/import_jobs.c), so a file is turned into SQL parameters once, on
 * the work pool, and never on an event loop.
 *
 * The formats (a header row is required; column order is free; header
 * names are matched without regard to case or surrounding spaces):
 *
 *   skus     code*, title, barcode, archived (true/false), kind (simple; rows
 *            of kind bundle are skipped: bundles come from a bundles file);
 *            on_hand, committed, held, available are accepted and ignored,
 *            so a SKU export can be imported as it is
 *   bundles  bundle_code*, bundle_title, component_code*, qty*  (one row per
 *            component; a bundle's rows need not be adjacent)
 *   counts   code*, on_hand*  (the units counted, 0 or more)
 *   listings connection* (the connection's id or its name), sku* (the SKU
 *            code), external_sku, item_ref, location_ref  (the fields of
 *            POST /listings).  A (connection, sku) not yet mapped is created
 *            (external_sku defaults to the SKU code); one already mapped is
 *            updated as PATCH /listings/{id} updates it: an empty cell keeps
 *            the current value.  Rules and state are not imported.
 *
 * Chunk parameters, in order:
 *
 *   skus     lines int[], code text[], title text[], barcode text[], archived bool[]
 *   bundles  lines int[], bundle_code text[], bundle_title text[], component_code text[], qty int[]
 *   counts   lines int[], code text[], on_hand bigint[]
 *   listings lines int[], connection text[], sku text[], external_sku text[], item_ref text[],
 *            location_ref text[]  (empty cells NULL)
 *
 * A value that failed its own check is NULL in the arrays, so the checks
 * against the brand look only at values worth looking up; an import with
 * any error is never applied.  Duplicates within the file are found here
 * as the file spells them: (connection, sku) twice, (connection,
 * external_sku) twice.
 */
#ifndef OC_IMPORTS_H
#define OC_IMPORTS_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "runtime/common.h"

typedef enum { OC_IMPORT_SKUS = 0, OC_IMPORT_BUNDLES, OC_IMPORT_COUNTS, OC_IMPORT_LISTINGS } oc_import_type_t;

#define OC_IMPORT_MAX_ERRORS   1000 /* errors kept per job; the rest are counted */
#define OC_IMPORT_CHUNK_MIN    2000 /* rows per chunk, unless a file needs bigger ones to fit max_chunks */
#define OC_IMPORT_CHUNK_PARAMS 6
#define OC_IMPORT_QTY_MAX      1000000000LL /* the largest count, as for movements */
#define OC_IMPORT_COMPONENTS   50           /* components per bundle, as for the API */

/** "skus", "bundles", "counts", "listings". */
const char *oc_import_type_name(oc_import_type_t t);
/** Parses a type name; returns 0 or OC_EINVAL. */
int oc_import_type_parse(const char *name, oc_import_type_t *out);

/** One problem: a line (1 = the header; 0 = the whole file), a column (NULL = the row), a reason. */
typedef struct oc_import_error {
    uint32_t line;
    char *column;
    char *reason;
} oc_import_error_t;

/** Problems found, the first OC_IMPORT_MAX_ERRORS kept; `total` counts all of them. */
typedef struct oc_import_errors {
    oc_import_error_t *items;
    size_t n, total;
} oc_import_errors_t;

/** Records a problem (strings copied).  `column` may be NULL. */
void oc_import_error_add(oc_import_errors_t *e, uint32_t line, const char *column, const char *fmt, ...)
    OC_PRINTF(4, 5);
/** Orders the kept problems by line, then column. */
void oc_import_errors_sort(oc_import_errors_t *e);
/** The kept problems as [{"line", "column", "reason"}] (new reference). */
json_t *oc_import_errors_json(const oc_import_errors_t *e);
/** Frees the problems; accepts a zeroed struct. */
void oc_import_errors_free(oc_import_errors_t *e);

typedef struct oc_import_chunk {
    uint32_t nrows;                       /* rows the chunk carries */
    char *params[OC_IMPORT_CHUNK_PARAMS]; /* array literals (see above); unused ones NULL */
} oc_import_chunk_t;

/** A prepared file; owns everything it points to (oc_import_free). */
typedef struct oc_import {
    oc_import_type_t type;
    uint32_t rows_total; /* records after the header */
    int header_ok;       /* the header named the required columns: rows were checked */
    oc_import_errors_t errors;
    oc_import_chunk_t *chunks;
    size_t nchunks;
    char *all_codes; /* counts, listings: every SKU code, one text[] literal (to lock balances in one order); else
                        NULL */
    json_t *summary; /* what the file holds: {"skus", "skipped_bundle_rows"}, {"bundles", "components"}, {"skus",
                        "units"}, {"listings"} (the server adds created, updated, unchanged) */
} oc_import_t;

/**
 * Prepares `len` bytes of CSV as an import of `type`, in at most
 * `max_chunks` chunks.  Returns 0 (problems in the file are in imp->errors),
 * OC_ENOMEM, or OC_EINVAL for a file over OC_CSV_MAX_BYTES; on failure
 * `imp` holds nothing to free.
 */
int oc_import_prepare(oc_import_t *imp, oc_import_type_t type, const char *data, size_t len, size_t max_chunks);

/** Frees a prepared import; accepts a zeroed struct. */
void oc_import_free(oc_import_t *imp);

#endif
