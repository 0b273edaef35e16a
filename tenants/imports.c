/*
 * imports.c — preparing a CSV import: header, row checks, chunks (see imports.h).
 *
 * Memory: the parsed file (oc_csv_t) lives only inside oc_import_prepare;
 * what survives is the chunks' array literals, the problems and the
 * summary, all owned by the oc_import_t.
 */
#include "tenants/imports.h"
#include "tenants/csv.h"
#include "runtime/db.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* --- types ----------------------------------------------------------------------------- */

static const char *const type_names[] = {"skus", "bundles", "counts", "listings"};

const char *oc_import_type_name(oc_import_type_t t)
{
    return (size_t)t < OC_ARRAY_SIZE(type_names) ? type_names[t] : "unknown";
}

int oc_import_type_parse(const char *name, oc_import_type_t *out)
{
    for (size_t i = 0; name != NULL && i < OC_ARRAY_SIZE(type_names); i++) {
        if (strcmp(name, type_names[i]) == 0) {
            *out = (oc_import_type_t)i;
            return 0;
        }
    }
    return OC_EINVAL;
}

/* --- problems ---------------------------------------------------------------------------- */

/* A copy of at most `cap` - 1 bytes of s that stays valid UTF-8 (a cut never splits a character). */
static char *utf8_dup(const char *s, size_t cap)
{
    size_t n = strnlen(s, cap - 1);
    while (n > 0 && !oc_utf8_valid(s, n))
        n--;
    return oc_strndup(s, n);
}

void oc_import_error_add(oc_import_errors_t *e, uint32_t line, const char *column, const char *fmt, ...)
{
    e->total++;
    if (e->n >= OC_IMPORT_MAX_ERRORS)
        return;
    if (e->n % 64 == 0)
        e->items = oc_realloc(e->items, (e->n + 64) * sizeof(*e->items));
    char reason[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(reason, sizeof(reason), fmt, ap);
    va_end(ap);
    oc_import_error_t *it = &e->items[e->n];
    it->line = line;
    it->column = column != NULL ? utf8_dup(column, 96) : NULL;
    it->reason = utf8_dup(reason, sizeof(reason));
    e->n++;
}

static int cmp_error(const void *a, const void *b)
{
    const oc_import_error_t *x = a, *y = b;
    if (x->line != y->line)
        return x->line < y->line ? -1 : 1;
    if ((x->column == NULL) != (y->column == NULL))
        return x->column == NULL ? -1 : 1;
    int c = x->column != NULL ? strcmp(x->column, y->column) : 0;
    return c != 0 ? c : strcmp(x->reason, y->reason);
}

void oc_import_errors_sort(oc_import_errors_t *e)
{
    if (e->n > 1)
        qsort(e->items, e->n, sizeof(*e->items), cmp_error);
}

json_t *oc_import_errors_json(const oc_import_errors_t *e)
{
    json_t *arr = json_array();
    for (size_t i = 0; i < e->n; i++) {
        const oc_import_error_t *it = &e->items[i];
        json_t *o = json_object();
        json_object_set_new(o, "line", it->line > 0 ? json_integer(it->line) : json_null());
        json_object_set_new(o, "column", it->column != NULL ? json_string(it->column) : json_null());
        json_object_set_new(o, "reason", json_string(it->reason));
        json_array_append_new(arr, o);
    }
    return arr;
}

void oc_import_errors_free(oc_import_errors_t *e)
{
    for (size_t i = 0; i < e->n; i++) {
        free(e->items[i].column);
        free(e->items[i].reason);
    }
    free(e->items);
    memset(e, 0, sizeof(*e));
}

/* --- a string map for duplicates: code → first line ------------------------------------------ */

typedef struct slot {
    const char *key; /* borrowed from the parsed file */
    uint32_t len, value;
} slot_t;

typedef struct map {
    slot_t *slots;
    size_t cap, n;
} map_t;

static uint64_t hash(const char *s, size_t n)
{
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)s[i]) * 1099511628211ULL;
    return h;
}

static slot_t *map_find(const map_t *m, const char *k, size_t n)
{
    if (m->cap == 0)
        return NULL;
    for (size_t i = hash(k, n) & (m->cap - 1);; i = (i + 1) & (m->cap - 1)) {
        slot_t *s = &m->slots[i];
        if (s->key == NULL || (s->len == n && memcmp(s->key, k, n) == 0))
            return s;
    }
}

static int map_has(const map_t *m, const char *k, size_t n)
{
    const slot_t *s = map_find(m, k, n);
    return s != NULL && s->key != NULL;
}

/* Inserts k → v unless present.  Returns 1 if inserted, 0 if present (*old = its value). */
static int map_put(map_t *m, const char *k, size_t n, uint32_t v, uint32_t *old)
{
    if ((m->n + 1) * 2 > m->cap) {
        map_t g = {.cap = m->cap ? m->cap * 2 : 1024};
        g.slots = oc_calloc(g.cap, sizeof(slot_t));
        for (size_t i = 0; i < m->cap; i++)
            if (m->slots[i].key != NULL)
                *map_find(&g, m->slots[i].key, m->slots[i].len) = m->slots[i];
        g.n = m->n;
        free(m->slots);
        *m = g;
    }
    slot_t *s = map_find(m, k, n);
    if (s->key != NULL) {
        *old = s->value;
        return 0;
    }
    *s = (slot_t){k, (uint32_t)n, v};
    m->n++;
    return 1;
}

/* --- the chunk parameters: one PostgreSQL array literal each (runtime/db.h) ----------------------- */

typedef struct builder {
    oc_import_t *imp;
    size_t target, chunks_cap;
    oc_buf_t p[OC_IMPORT_CHUNK_PARAMS];
    int nparams;
    uint32_t nrows;
    int failed; /* OC_ENOMEM seen */
} builder_t;

static void b_text(builder_t *b, int i, const char *s, size_t len)
{
    if (oc_db_array_add_n(&b->p[i], s, len) != 0)
        b->failed = 1;
}

static void b_int(builder_t *b, int i, long long v, int valid)
{
    if ((valid ? oc_db_array_add_ll(&b->p[i], v) : oc_db_array_add(&b->p[i], NULL)) != 0)
        b->failed = 1;
}

static void b_bool(builder_t *b, int i, int v)
{
    if (oc_db_array_add(&b->p[i], v ? "t" : "f") != 0)
        b->failed = 1;
}

/* Closes the current chunk (if it has rows) and hands its literals to the import. */
static void b_flush(builder_t *b)
{
    if (b->nrows == 0 || b->failed)
        return;
    oc_import_t *imp = b->imp;
    if (imp->nchunks == b->chunks_cap) {
        size_t cap = b->chunks_cap ? b->chunks_cap * 2 : 8;
        imp->chunks = oc_realloc(imp->chunks, cap * sizeof(*imp->chunks));
        b->chunks_cap = cap;
    }
    oc_import_chunk_t *c = &imp->chunks[imp->nchunks++];
    memset(c, 0, sizeof(*c));
    c->nrows = b->nrows;
    for (int i = 0; i < b->nparams; i++) {
        if (oc_db_array_end(&b->p[i]) == NULL)
            b->failed = 1;
        oc_buf_cstr(&b->p[i]);
        c->params[i] = b->p[i].data;
        memset(&b->p[i], 0, sizeof(b->p[i]));
    }
    b->nrows = 0;
}

static void b_row_end(builder_t *b)
{
    if (++b->nrows >= b->target)
        b_flush(b);
}

static void b_free(builder_t *b)
{
    for (int i = 0; i < OC_IMPORT_CHUNK_PARAMS; i++)
        oc_buf_free(&b->p[i]);
}

/* --- the header ------------------------------------------------------------------------------- */

typedef struct column_spec {
    const char *name;
    int required;
} column_spec_t;

enum { MAX_COLUMNS = 9 };

/* Per type, the columns it knows; index = column id. */
static const column_spec_t specs[][MAX_COLUMNS + 1] = {
    [OC_IMPORT_SKUS] = {{"code", 1},
                        {"title", 0},
                        {"barcode", 0},
                        {"archived", 0},
                        {"kind", 0},
                        {"on_hand", 0},
                        {"committed", 0},
                        {"held", 0},
                        {"available", 0},
                        {NULL, 0}},
    [OC_IMPORT_BUNDLES] = {{"bundle_code", 1}, {"bundle_title", 0}, {"component_code", 1}, {"qty", 1}, {NULL, 0}},
    [OC_IMPORT_COUNTS] = {{"code", 1}, {"on_hand", 1}, {NULL, 0}},
    [OC_IMPORT_LISTINGS] =
        {{"connection", 1}, {"sku", 1}, {"external_sku", 0}, {"item_ref", 0}, {"location_ref", 0}, {NULL, 0}},
};
static const char *const expected[] = {
    [OC_IMPORT_SKUS] = "code, title, barcode, archived, kind (on_hand, committed, held and available are ignored)",
    [OC_IMPORT_BUNDLES] = "bundle_code, bundle_title, component_code, qty",
    [OC_IMPORT_COUNTS] = "code, on_hand",
    [OC_IMPORT_LISTINGS] = "connection, sku, external_sku, item_ref, location_ref",
};

enum { SKU_CODE = 0, SKU_TITLE, SKU_BARCODE, SKU_ARCHIVED, SKU_KIND };
enum { B_CODE = 0, B_TITLE, B_COMP, B_QTY };
enum { C_CODE = 0, C_ON_HAND };
enum { L_CONN = 0, L_SKU, L_EXT, L_ITEM, L_LOC };

typedef struct ctx {
    oc_import_t *imp;
    oc_csv_t csv;
    int col[MAX_COLUMNS]; /* column id → field index in the file, -1 absent */
    const char **name_of; /* field index → canonical column name (NULL for unknown columns) */
    uint32_t ncols;       /* fields in the header */
    int failed;           /* an array literal could not be built (OC_ENOMEM) */
} ctx_t;

static void problem(ctx_t *c, uint32_t line, const char *column, const char *fmt, ...) OC_PRINTF(4, 5);
static void problem(ctx_t *c, uint32_t line, const char *column, const char *fmt, ...)
{
    char reason[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(reason, sizeof(reason), fmt, ap);
    va_end(ap);
    oc_import_error_add(&c->imp->errors, line, column, "%s", reason);
}

static void trim(const char **s, size_t *n)
{
    while (*n > 0 && ((*s)[0] == ' ' || (*s)[0] == '\t'))
        (*s)++, (*n)--;
    while (*n > 0 && ((*s)[*n - 1] == ' ' || (*s)[*n - 1] == '\t'))
        (*n)--;
}

/* Maps the header; returns 1 when every required column is there, once, and the header is well-formed. */
static int read_header(ctx_t *c)
{
    oc_import_t *imp = c->imp;
    const column_spec_t *spec = specs[imp->type];
    for (int i = 0; i < MAX_COLUMNS; i++)
        c->col[i] = -1;
    if (c->csv.nrecords == 0) {
        problem(c, 1, NULL, "the file is empty: its first line names the columns (%s)", expected[imp->type]);
        return 0;
    }
    const oc_csv_record_t *h = &c->csv.records[0];
    c->ncols = h->nfields;
    c->name_of = oc_calloc(h->nfields, sizeof(*c->name_of));
    int ok = 1;
    if (h->problem != OC_CSV_OK) {
        problem(c, h->line, NULL, "the header: %s", oc_csv_problem_text(h->problem));
        return 0;
    }
    for (uint32_t f = 0; f < h->nfields; f++) {
        size_t n;
        const char *v = oc_csv_value(&c->csv, h, f, &n);
        trim(&v, &n);
        int id = -1;
        for (int k = 0; spec[k].name != NULL; k++)
            if (oc_strieq(v, n, spec[k].name))
                id = k;
        if (id < 0) {
            char *name = oc_strndup(v, n); /* shortened by oc_import_error_add */
            problem(c, h->line, name, "unknown column; the columns are %s", expected[imp->type]);
            free(name);
        } else if (c->col[id] >= 0) {
            problem(c, h->line, spec[id].name, "the column appears twice");
            ok = 0;
        } else {
            c->col[id] = (int)f;
            c->name_of[f] = spec[id].name;
        }
    }
    for (int k = 0; spec[k].name != NULL; k++) {
        if (spec[k].required && c->col[k] < 0) {
            problem(c, h->line, spec[k].name, "required column is missing");
            ok = 0;
        }
    }
    return ok;
}

/* Checks the record's shape; reports and returns 0 when its fields cannot be used. */
static int usable(ctx_t *c, const oc_csv_record_t *rec)
{
    if (rec->problem != OC_CSV_OK) {
        const char *col = rec->problem_field < c->ncols ? c->name_of[rec->problem_field] : NULL;
        problem(c, rec->line, col, "%s", oc_csv_problem_text(rec->problem));
        return 0;
    }
    if (rec->nfields != c->ncols) {
        problem(c, rec->line, NULL, "the row has %u field%s; the header has %u", rec->nfields,
                rec->nfields == 1 ? "" : "s", c->ncols);
        return 0;
    }
    return 1;
}

/* Field of column `id`, or "" when the file has no such column. */
static const char *value(ctx_t *c, const oc_csv_record_t *rec, int id, size_t *n)
{
    if (c->col[id] < 0) {
        *n = 0;
        return "";
    }
    return oc_csv_value(&c->csv, rec, (uint32_t)c->col[id], n);
}

/* --- values ----------------------------------------------------------------------------------- */

/* What is wrong with a SKU code (the rules of the skus table), or NULL. */
static const char *code_problem(const char *s, size_t n)
{
    if (n == 0)
        return "a SKU code is required";
    if (oc_utf8_length(s, n) > 64)
        return "a SKU code is at most 64 characters";
    if (s[0] == ' ' || s[n - 1] == ' ')
        return "a SKU code has no leading or trailing spaces";
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        /* C0 and DEL, C1 (U+0080-U+009F), and U+2028/U+2029: what PostgreSQL calls [[:cntrl:]]. */
        if (ch < 0x20 || ch == 0x7f || (ch == 0xc2 && i + 1 < n && (unsigned char)s[i + 1] < 0xa0) ||
            (ch == 0xe2 && i + 2 < n && (unsigned char)s[i + 1] == 0x80 &&
             ((unsigned char)s[i + 2] == 0xa8 || (unsigned char)s[i + 2] == 0xa9)))
            return "a SKU code has no control characters";
    }
    return NULL;
}

/* A whole number, surrounding spaces allowed.  Returns 0, or -1 when it is not one. */
static int parse_int(const char *s, size_t n, long long *out)
{
    trim(&s, &n);
    int neg = n > 0 && s[0] == '-';
    if (neg || (n > 0 && s[0] == '+'))
        s++, n--;
    if (n == 0 || n > 18)
        return -1;
    long long v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    *out = neg ? -v : v;
    return 0;
}

/* Checks a code and that it is new in the file; returns it, or NULL after reporting. */
static const char *check_code(ctx_t *c, map_t *seen, const oc_csv_record_t *rec, int id, const char *column, size_t *n)
{
    const char *v = value(c, rec, id, n);
    const char *why = code_problem(v, *n);
    if (why != NULL) {
        problem(c, rec->line, column, "%s", why);
        return NULL;
    }
    if (seen == NULL)
        return v;
    uint32_t first;
    if (map_put(seen, v, *n, rec->line, &first) == 0) {
        problem(c, rec->line, column, "%s appears twice in the file (first on line %u)", v, first);
        return NULL;
    }
    return v;
}

static int check_length(ctx_t *c, const oc_csv_record_t *rec, const char *column, const char *v, size_t n, size_t max)
{
    if (oc_utf8_length(v, n) <= max)
        return 1;
    problem(c, rec->line, column, "%s is at most %zu characters", column, max);
    return 0;
}

/* --- skus -------------------------------------------------------------------------------------- */

static void prepare_skus(ctx_t *c, builder_t *b)
{
    map_t seen = {0};
    long long skus = 0, skipped = 0;
    b->nparams = 5;
    for (size_t r = 1; r < c->csv.nrecords && !c->failed && !b->failed; r++) {
        const oc_csv_record_t *rec = &c->csv.records[r];
        if (!usable(c, rec))
            continue;
        size_t n;
        const char *kind = value(c, rec, SKU_KIND, &n);
        trim(&kind, &n);
        if (oc_strieq(kind, n, "bundle")) {
            skipped++;
            continue;
        }
        if (n > 0 && !oc_strieq(kind, n, "simple"))
            problem(c, rec->line, "kind", "kind is simple or bundle (bundle rows are skipped: import bundles)");
        size_t code_n, title_n, barcode_n, arch_n;
        const char *code = check_code(c, &seen, rec, SKU_CODE, "code", &code_n);
        const char *title = value(c, rec, SKU_TITLE, &title_n);
        const char *barcode = value(c, rec, SKU_BARCODE, &barcode_n);
        const char *arch = value(c, rec, SKU_ARCHIVED, &arch_n);
        check_length(c, rec, "title", title, title_n, 300);
        check_length(c, rec, "barcode", barcode, barcode_n, 64);
        trim(&arch, &arch_n);
        int archived = oc_strieq(arch, arch_n, "true");
        if (arch_n > 0 && !archived && !oc_strieq(arch, arch_n, "false"))
            problem(c, rec->line, "archived", "archived is true, false or empty");
        b_int(b, 0, rec->line, 1);
        b_text(b, 1, code, code_n);
        b_text(b, 2, title, title_n);
        b_text(b, 3, barcode_n > 0 ? barcode : NULL, barcode_n);
        b_bool(b, 4, archived);
        b_row_end(b);
        skus++;
    }
    b_flush(b);
    free(seen.slots);
    c->imp->summary = json_pack("{s:I, s:I}", "skus", (json_int_t)skus, "skipped_bundle_rows", (json_int_t)skipped);
}

/* --- counts ------------------------------------------------------------------------------------- */

static void prepare_counts(ctx_t *c, builder_t *b)
{
    map_t seen = {0};
    oc_buf_t all = {0};
    long long skus = 0, units = 0;
    b->nparams = 3;
    for (size_t r = 1; r < c->csv.nrecords && !c->failed && !b->failed; r++) {
        const oc_csv_record_t *rec = &c->csv.records[r];
        if (!usable(c, rec))
            continue;
        size_t code_n, qty_n;
        const char *code = check_code(c, &seen, rec, C_CODE, "code", &code_n);
        const char *qty_s = value(c, rec, C_ON_HAND, &qty_n);
        long long qty = 0;
        int qty_ok = 0;
        if (parse_int(qty_s, qty_n, &qty) != 0)
            problem(c, rec->line, "on_hand",
                    qty_n == 0 ? "on_hand is required: the units counted" : "on_hand must be a whole number");
        else if (qty < 0)
            problem(c, rec->line, "on_hand", "on_hand must be 0 or more");
        else if (qty > OC_IMPORT_QTY_MAX)
            problem(c, rec->line, "on_hand", "on_hand must be at most %lld", OC_IMPORT_QTY_MAX);
        else
            qty_ok = 1;
        b_int(b, 0, rec->line, 1);
        b_text(b, 1, code, code_n);
        b_int(b, 2, qty, qty_ok);
        b_row_end(b);
        if (code != NULL && oc_db_array_add_n(&all, code, code_n) != 0)
            c->failed = 1;
        skus++;
        units += qty_ok ? qty : 0;
    }
    b_flush(b);
    free(seen.slots);
    if (oc_db_array_end(&all) == NULL)
        c->failed = 1;
    oc_buf_cstr(&all);
    c->imp->all_codes = all.data;
    c->imp->summary = json_pack("{s:I, s:I}", "skus", (json_int_t)skus, "units", (json_int_t)units);
}

/* --- bundles ------------------------------------------------------------------------------------ */

typedef struct brow {
    uint32_t line;
    int32_t next; /* next row of the same bundle, -1 */
    const char *comp;
    size_t comp_n;
    long long qty;
    int qty_ok;
} brow_t;

typedef struct bundle {
    const char *code, *title;
    size_t code_n, title_n;
    uint32_t title_line;
    int32_t head, tail;
    uint32_t ncomp;
} bundle_t;

static void prepare_bundles(ctx_t *c, builder_t *b)
{
    map_t index = {0}; /* bundle code → index in bundles */
    bundle_t *bundles = oc_calloc(c->csv.nrecords, sizeof(*bundles));
    brow_t *rows = oc_calloc(c->csv.nrecords, sizeof(*rows));
    size_t nbundles = 0, nrows = 0, components = 0;
    b->nparams = 5;
    /* First pass: check each row and group the rows by bundle. */
    for (size_t r = 1; r < c->csv.nrecords && !c->failed; r++) {
        const oc_csv_record_t *rec = &c->csv.records[r];
        if (!usable(c, rec))
            continue;
        size_t code_n, title_n, qty_n;
        const char *code = check_code(c, NULL, rec, B_CODE, "bundle_code", &code_n);
        bundle_t *bd = NULL;
        if (code != NULL) {
            uint32_t at;
            if (map_put(&index, code, code_n, (uint32_t)nbundles, &at) == 1) {
                at = (uint32_t)nbundles++;
                bundles[at] = (bundle_t){.code = code, .code_n = code_n, .head = -1, .tail = -1};
            }
            bd = &bundles[at];
        }
        /* The row itself: title, component, quantity. */
        const char *title = value(c, rec, B_TITLE, &title_n);
        if (check_length(c, rec, "bundle_title", title, title_n, 300) && title_n > 0 && bd != NULL) {
            if (bd->title == NULL) {
                bd->title = title, bd->title_n = title_n, bd->title_line = rec->line;
            } else if (bd->title_n != title_n || memcmp(bd->title, title, title_n) != 0) {
                problem(c, rec->line, "bundle_title", "bundle_title differs from line %u for bundle %s", bd->title_line,
                        code);
            }
        }
        brow_t *row = &rows[nrows];
        *row = (brow_t){.line = rec->line, .next = -1};
        row->comp = check_code(c, NULL, rec, B_COMP, "component_code", &row->comp_n);
        const char *qty_s = value(c, rec, B_QTY, &qty_n);
        if (parse_int(qty_s, qty_n, &row->qty) != 0 || row->qty < 1 || row->qty > 10000)
            problem(c, rec->line, "qty", "qty must be a whole number from 1 to 10000");
        else
            row->qty_ok = 1;
        if (bd == NULL)
            continue;
        for (int32_t k = bd->head; row->comp != NULL && k >= 0; k = rows[k].next) {
            if (rows[k].comp != NULL && rows[k].comp_n == row->comp_n &&
                memcmp(rows[k].comp, row->comp, row->comp_n) == 0) {
                problem(c, rec->line, "component_code", "%s is listed twice in bundle %s (first on line %u)", row->comp,
                        code, rows[k].line);
                row->comp = NULL;
            }
        }
        if (++bd->ncomp > OC_IMPORT_COMPONENTS) {
            problem(c, rec->line, "component_code", "a bundle has at most %d components", OC_IMPORT_COMPONENTS);
            continue;
        }
        if (bd->tail >= 0)
            rows[bd->tail].next = (int32_t)nrows;
        else
            bd->head = (int32_t)nrows;
        bd->tail = (int32_t)nrows;
        nrows++;
    }
    /* Second pass, once every bundle of the file is known: a component is never the bundle itself nor
     * another bundle of the file. */
    for (size_t i = 0; i < nbundles && !c->failed; i++) {
        bundle_t *bd = &bundles[i];
        for (int32_t k = bd->head; k >= 0; k = rows[k].next) {
            brow_t *row = &rows[k];
            if (row->comp == NULL)
                continue;
            if (row->comp_n == bd->code_n && memcmp(row->comp, bd->code, bd->code_n) == 0) {
                problem(c, row->line, "component_code", "a bundle cannot contain itself");
                row->comp = NULL;
            } else if (map_has(&index, row->comp, row->comp_n)) {
                problem(c, row->line, "component_code", "%s is a bundle in this file; a component is a simple SKU",
                        row->comp);
                row->comp = NULL;
            }
        }
    }
    /* Chunks: whole bundles, in the order they first appear. */
    for (size_t i = 0; i < nbundles && !c->failed && !b->failed; i++) {
        bundle_t *bd = &bundles[i];
        for (int32_t k = bd->head; k >= 0; k = rows[k].next) {
            brow_t *row = &rows[k];
            b_int(b, 0, row->line, 1);
            b_text(b, 1, bd->code, bd->code_n);
            b_text(b, 2, bd->title != NULL ? bd->title : "", bd->title_n);
            b_text(b, 3, row->comp, row->comp_n);
            b_int(b, 4, row->qty, row->qty_ok);
            b->nrows++;
            components++;
        }
        if (b->nrows >= b->target)
            b_flush(b);
    }
    b_flush(b);
    free(index.slots);
    free(bundles);
    free(rows);
    c->imp->summary = json_pack("{s:I, s:I}", "bundles", (json_int_t)nbundles, "components", (json_int_t)components);
}

/* --- listings ------------------------------------------------------------------------------------ */

/* A key of two values (a connection, then a code) in `keys`, sized for the whole file so keys never move. */
static const char *pair_key(oc_buf_t *keys, const char *a, size_t an, const char *b, size_t bn, size_t *n)
{
    char *at = keys->data + keys->len;
    memcpy(at, a, an);
    at[an] = '\0';
    memcpy(at + an + 1, b, bn);
    *n = an + 1 + bn;
    keys->len += *n;
    return at;
}

/* An optional identifier of at most `max` characters; returns it (NULL when empty or bad, after reporting). */
static const char *check_ident(ctx_t *c, const oc_csv_record_t *rec, int id, const char *column, size_t max, size_t *n)
{
    const char *v = value(c, rec, id, n);
    if (*n == 0)
        return NULL;
    return check_length(c, rec, column, v, *n, max) ? v : NULL;
}

/* Reports a key seen before on the same connection; returns 1 when the key is new. */
static int first_time(ctx_t *c, map_t *m, oc_buf_t *keys, const oc_csv_record_t *rec, const char *conn, size_t conn_n,
                      const char *v, size_t n, uint32_t *first)
{
    size_t kn;
    const char *k = pair_key(keys, conn, conn_n, v, n, &kn);
    return map_put(m, k, kn, rec->line, first);
}

static void prepare_listings(ctx_t *c, builder_t *b, size_t len)
{
    map_t pairs = {0}, exts = {0}; /* (connection, sku) and (connection, external_sku) → first line */
    oc_buf_t keys = {0}, all = {0};
    long long listings = 0;
    b->nparams = 6;
    /* A row's keys hold its connection twice, its sku and external_sku, and two separators. */
    keys.cap = 2 * (len + c->csv.nrecords) + 1;
    keys.data = oc_malloc(keys.cap);
    for (size_t r = 1; r < c->csv.nrecords && !c->failed && !b->failed; r++) {
        const oc_csv_record_t *rec = &c->csv.records[r];
        if (!usable(c, rec))
            continue;
        size_t conn_n, sku_n, ext_n, item_n, loc_n;
        const char *conn = value(c, rec, L_CONN, &conn_n);
        if (conn_n == 0) {
            problem(c, rec->line, "connection", "a connection is required: its id or its name");
            conn = NULL;
        } else if (!check_length(c, rec, "connection", conn, conn_n, 100)) {
            conn = NULL;
        }
        const char *sku = check_code(c, NULL, rec, L_SKU, "sku", &sku_n);
        const char *ext = check_ident(c, rec, L_EXT, "external_sku", 200, &ext_n);
        const char *item = check_ident(c, rec, L_ITEM, "item_ref", 200, &item_n);
        const char *loc = check_ident(c, rec, L_LOC, "location_ref", 200, &loc_n);
        /* Duplicates within the file, as the file spells the connection (the check against the brand also
         * finds a connection given once by its id and once by its name). */
        uint32_t first;
        if (conn != NULL && sku != NULL && !first_time(c, &pairs, &keys, rec, conn, conn_n, sku, sku_n, &first)) {
            problem(c, rec->line, "sku", "%s is mapped to this connection twice in the file (first on line %u)", sku,
                    first);
            sku = NULL;
        }
        if (conn != NULL && ext != NULL && !first_time(c, &exts, &keys, rec, conn, conn_n, ext, ext_n, &first)) {
            problem(c, rec->line, "external_sku",
                    "external_sku %s is used twice on this connection in the file (first on line %u)", ext, first);
            ext = NULL;
        }
        b_int(b, 0, rec->line, 1);
        b_text(b, 1, conn, conn_n);
        b_text(b, 2, sku, sku_n);
        b_text(b, 3, ext, ext_n);
        b_text(b, 4, item, item_n);
        b_text(b, 5, loc, loc_n);
        b_row_end(b);
        if (sku != NULL && oc_db_array_add_n(&all, sku, sku_n) != 0)
            c->failed = 1;
        listings++;
    }
    b_flush(b);
    free(pairs.slots);
    free(exts.slots);
    oc_buf_free(&keys);
    if (oc_db_array_end(&all) == NULL)
        c->failed = 1;
    oc_buf_cstr(&all);
    c->imp->all_codes = all.data;
    c->imp->summary = json_pack("{s:I}", "listings", (json_int_t)listings);
}

/* --- the whole file ------------------------------------------------------------------------------- */

int oc_import_prepare(oc_import_t *imp, oc_import_type_t type, const char *data, size_t len, size_t max_chunks)
{
    memset(imp, 0, sizeof(*imp));
    imp->type = type;
    ctx_t c = {.imp = imp};
    builder_t b = {.imp = imp};
    int rc = oc_csv_parse(&c.csv, data, len);
    if (rc != 0)
        return rc;
    imp->rows_total = c.csv.nrecords > 0 ? (uint32_t)(c.csv.nrecords - 1) : 0;
    if (max_chunks == 0)
        max_chunks = 1;
    b.target = (imp->rows_total + max_chunks - 1) / max_chunks;
    if (b.target < OC_IMPORT_CHUNK_MIN)
        b.target = OC_IMPORT_CHUNK_MIN;
    imp->header_ok = read_header(&c);
    if (imp->header_ok && !c.failed) {
        switch (type) {
        case OC_IMPORT_SKUS: prepare_skus(&c, &b); break;
        case OC_IMPORT_BUNDLES: prepare_bundles(&c, &b); break;
        case OC_IMPORT_COUNTS: prepare_counts(&c, &b); break;
        case OC_IMPORT_LISTINGS: prepare_listings(&c, &b, len); break;
        }
    }
    if (imp->summary == NULL)
        imp->summary = json_object();
    rc = c.failed || b.failed ? OC_ENOMEM : 0;
    oc_import_errors_sort(&imp->errors);
    b_free(&b);
    free(c.name_of);
    oc_csv_free(&c.csv);
    if (rc != 0)
        oc_import_free(imp);
    return rc;
}

void oc_import_free(oc_import_t *imp)
{
    oc_import_errors_free(&imp->errors);
    for (size_t i = 0; i < imp->nchunks; i++)
        for (int k = 0; k < OC_IMPORT_CHUNK_PARAMS; k++)
            free(imp->chunks[i].params[k]);
    free(imp->chunks);
    free(imp->all_codes);
    json_decref(imp->summary);
    memset(imp, 0, sizeof(*imp));
}
