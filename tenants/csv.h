/*
 * csv.h — an RFC 4180 CSV parser for uploaded files.
 *
 * Accepts what spreadsheets and scripts write: fields separated by commas,
 * quoted fields with embedded commas, doubled quotes and line breaks,
 * records ending in CRLF, LF or a lone CR, an optional UTF-8 byte-order
 * mark, and no line break after the last record.  Lines holding nothing are
 * not records.
 *
 * Parsing never stops at a bad record: each record carries its first
 * problem (bad UTF-8, a NUL byte, a stray quote, text after a closing
 * quote, a quoted field still open at the end of the file) and the field it
 * is in, so a caller can report every bad row with its line.
 *
 * Pure code: no I/O, safe on any thread (imports parse on the work pool).
 */
#ifndef OC_CSV_H
#define OC_CSV_H

#include <stddef.h>
#include <stdint.h>

typedef enum {
    OC_CSV_OK = 0,
    OC_CSV_BAD_UTF8,     /* bytes that are not UTF-8 */
    OC_CSV_NUL,          /* a NUL byte */
    OC_CSV_STRAY_QUOTE,  /* a quote inside a field that does not start with one */
    OC_CSV_AFTER_QUOTE,  /* characters between a closing quote and the next comma or line end */
    OC_CSV_UNTERMINATED, /* a quoted field still open at the end of the file */
} oc_csv_problem_t;

typedef struct oc_csv_record {
    uint32_t first;         /* index of the record's first field in oc_csv_t.fields */
    uint32_t nfields;       /* at least 1 */
    uint32_t line;          /* line on which the record begins, from 1 */
    uint32_t problem_field; /* 0-based field of the first problem */
    oc_csv_problem_t problem;
} oc_csv_record_t;

typedef struct oc_csv_field {
    uint32_t off, len; /* decoded value: text + off, NUL-terminated, len bytes */
} oc_csv_field_t;

/** A parsed file; owns everything it points to (oc_csv_free). */
typedef struct oc_csv {
    char *text; /* every decoded field, each NUL-terminated */
    oc_csv_field_t *fields;
    size_t nfields;
    oc_csv_record_t *records;
    size_t nrecords;
} oc_csv_t;

/** Largest input oc_csv_parse accepts (offsets are 32-bit). */
#define OC_CSV_MAX_BYTES ((size_t)INT32_MAX)

/**
 * Parses `len` bytes of `data` into `csv` (which it initialises).  Returns
 * 0, or OC_EINVAL (input over OC_CSV_MAX_BYTES) with `csv` holding
 * nothing to free.  Problems in the data are not failures: they
 * are recorded on their records.
 */
int oc_csv_parse(oc_csv_t *csv, const char *data, size_t len);

/** Frees what oc_csv_parse allocated; accepts a zeroed struct. */
void oc_csv_free(oc_csv_t *csv);

/** Field `i` of record `rec` (NUL-terminated, borrowed from csv); *len gets its length. */
static inline const char *oc_csv_value(const oc_csv_t *csv, const oc_csv_record_t *rec, uint32_t i, size_t *len)
{
    const oc_csv_field_t *f = &csv->fields[rec->first + i];
    if (len != NULL)
        *len = f->len;
    return csv->text + f->off;
}

/** A static, user-facing description of a problem ("invalid UTF-8"...). */
const char *oc_csv_problem_text(oc_csv_problem_t p);

/** Returns 1 when `s` (len bytes) is well-formed UTF-8 (no overlongs, surrogates or code points past U+10FFFF). */
int oc_utf8_valid(const char *s, size_t len);

/** Number of code points in well-formed UTF-8 `s`. */
size_t oc_utf8_length(const char *s, size_t len);

#endif
