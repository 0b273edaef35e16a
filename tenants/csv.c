/*
 * csv.c — the RFC 4180 parser (see csv.h).
 *
 * One pass over the input.  Decoded fields are written into one buffer
 * allocated up front: a field's decoded bytes plus its NUL never exceed its
 * raw bytes plus the delimiter after it, so len + 1 bytes always suffice and
 * the buffer never moves.  Field and record arrays grow by doubling.
 */
#include "tenants/csv.h"
#include "runtime/common.h"

#include <stdlib.h>
#include <string.h>

typedef struct parser {
    oc_csv_t *csv;
    size_t fields_cap, records_cap;
    size_t out; /* next free byte of csv->text */
    uint32_t line;
} parser_t;

const char *oc_csv_problem_text(oc_csv_problem_t p)
{
    switch (p) {
    case OC_CSV_OK: return "no problem";
    case OC_CSV_BAD_UTF8: return "invalid UTF-8 (save the file as UTF-8)";
    case OC_CSV_NUL: return "a NUL byte (is this a text file?)";
    case OC_CSV_STRAY_QUOTE: return "a quote inside an unquoted field (quote the field and double the quote)";
    case OC_CSV_AFTER_QUOTE: return "text after a closing quote (a quote inside a field is written as two quotes)";
    case OC_CSV_UNTERMINATED: return "a quoted field is never closed";
    }
    return "unknown problem";
}

int oc_utf8_valid(const char *str, size_t len)
{
    const unsigned char *s = (const unsigned char *)str, *end = s + len;
    while (s < end) {
        unsigned c = *s;
        if (c < 0x80) {
            s++;
            continue;
        }
        size_t n;
        unsigned min;
        if (c >= 0xc2 && c <= 0xdf)
            n = 1, min = 0x80;
        else if (c >= 0xe0 && c <= 0xef)
            n = 2, min = 0x800;
        else if (c >= 0xf0 && c <= 0xf4)
            n = 3, min = 0x10000;
        else
            return 0;
        if ((size_t)(end - s) <= n)
            return 0;
        unsigned cp = c & (0x3fu >> n);
        for (size_t i = 1; i <= n; i++) {
            if ((s[i] & 0xc0) != 0x80)
                return 0;
            cp = (cp << 6) | (s[i] & 0x3fu);
        }
        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return 0;
        s += n + 1;
    }
    return 1;
}

size_t oc_utf8_length(const char *str, size_t len)
{
    size_t n = 0;
    for (size_t i = 0; i < len; i++)
        n += ((unsigned char)str[i] & 0xc0) != 0x80;
    return n;
}

static void grow(void **p, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap)
        return;
    size_t ncap = *cap ? *cap * 2 : 1024;
    while (ncap < need)
        ncap *= 2;
    *p = oc_realloc(*p, ncap * elem);
    *cap = ncap;
}

static void note(oc_csv_record_t *rec, oc_csv_problem_t problem)
{
    if (rec->problem == OC_CSV_OK) {
        rec->problem = problem;
        rec->problem_field = rec->nfields;
    }
}

/* Copies raw bytes into the current field, noting NUL bytes and counting line breaks. */
static void copy(parser_t *ps, oc_csv_record_t *rec, const char *p, size_t n, const char *end)
{
    char *dst = ps->csv->text + ps->out;
    for (size_t i = 0; i < n; i++) {
        char c = p[i];
        if (c == '\0')
            note(rec, OC_CSV_NUL);
        else if (c == '\n' || (c == '\r' && (p + i + 1 == end || p[i + 1] != '\n')))
            ps->line++;
        dst[i] = c;
    }
    ps->out += n;
}

static int is_delim(char c)
{
    return c == ',' || c == '\r' || c == '\n';
}

/*
 * Parses one field starting at *pp into the text buffer and appends it to
 * the record.  Leaves *pp at the delimiter after the field (or the end).
 */
static void parse_field(parser_t *ps, oc_csv_record_t *rec, const char **pp, const char *end)
{
    oc_csv_t *csv = ps->csv;
    const char *p = *pp;
    size_t start = ps->out;
    if (p < end && *p == '"') {
        p++;
        for (;;) {
            const char *q = memchr(p, '"', (size_t)(end - p));
            if (q == NULL) {
                copy(ps, rec, p, (size_t)(end - p), end);
                p = end;
                note(rec, OC_CSV_UNTERMINATED);
                break;
            }
            copy(ps, rec, p, (size_t)(q - p), end);
            p = q + 1;
            if (p < end && *p == '"') {
                csv->text[ps->out++] = '"';
                p++;
                continue;
            }
            /* The closing quote: anything before the next delimiter is a problem, kept as text. */
            const char *d = p;
            while (d < end && !is_delim(*d))
                d++;
            if (d > p) {
                note(rec, OC_CSV_AFTER_QUOTE);
                copy(ps, rec, p, (size_t)(d - p), end);
            }
            p = d;
            break;
        }
    } else {
        const char *d = p;
        while (d < end && !is_delim(*d)) {
            if (*d == '"')
                note(rec, OC_CSV_STRAY_QUOTE);
            d++;
        }
        copy(ps, rec, p, (size_t)(d - p), end);
        p = d;
    }
    size_t n = ps->out - start;
    csv->text[ps->out++] = '\0';
    if (rec->problem == OC_CSV_OK && !oc_utf8_valid(csv->text + start, n))
        note(rec, OC_CSV_BAD_UTF8);
    grow((void **)&csv->fields, &ps->fields_cap, csv->nfields + 1, sizeof(*csv->fields));
    csv->fields[csv->nfields].off = (uint32_t)start;
    csv->fields[csv->nfields].len = (uint32_t)n;
    csv->nfields++;
    rec->nfields++;
    *pp = p;
}

int oc_csv_parse(oc_csv_t *csv, const char *data, size_t len)
{
    memset(csv, 0, sizeof(*csv));
    if (len > OC_CSV_MAX_BYTES)
        return OC_EINVAL;
    parser_t ps = {.csv = csv, .line = 1};
    const char *p = data, *end = data + len;
    if (len >= 3 && memcmp(p, "\xef\xbb\xbf", 3) == 0)
        p += 3;
    csv->text = oc_malloc(len + 1);
    while (p < end) {
        if (*p == '\n' || *p == '\r') { /* a line holding nothing */
            p += *p == '\r' && p + 1 < end && p[1] == '\n' ? 2 : 1;
            ps.line++;
            continue;
        }
        oc_csv_record_t rec = {.first = (uint32_t)csv->nfields, .line = ps.line};
        for (;;) {
            parse_field(&ps, &rec, &p, end);
            if (p < end && *p == ',') { /* another field follows, empty if the comma ends the file */
                p++;
                continue;
            }
            break;
        }
        if (p < end) { /* the line break ending the record */
            p += *p == '\r' && p + 1 < end && p[1] == '\n' ? 2 : 1;
            ps.line++;
        }
        grow((void **)&csv->records, &ps.records_cap, csv->nrecords + 1, sizeof(*csv->records));
        csv->records[csv->nrecords++] = rec;
    }
    return 0;
}

void oc_csv_free(oc_csv_t *csv)
{
    free(csv->text);
    free(csv->fields);
    free(csv->records);
    memset(csv, 0, sizeof(*csv));
}
