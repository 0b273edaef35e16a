/* Unit tests for tenants/csv.c: quoting, line endings, BOM, bad UTF-8, ragged rows, huge fields. */
#include "tenants/csv.h"
#include "runtime/common.h"
#include "test.h"

#include <stdlib.h>

/* Renders the parse as "line:f1|f2;line:f1…" with "!problem@field" after a bad record. */
static char *render(const char *data, size_t len)
{
    oc_csv_t csv;
    if (oc_csv_parse(&csv, data, len) != 0)
        return strdup("(failed)");
    oc_buf_t b = {0};
    for (size_t r = 0; r < csv.nrecords; r++) {
        const oc_csv_record_t *rec = &csv.records[r];
        oc_buf_printf(&b, "%s%u:", r ? ";" : "", rec->line);
        for (uint32_t f = 0; f < rec->nfields; f++) {
            size_t n;
            const char *v = oc_csv_value(&csv, rec, f, &n);
            CHECK(strlen(v) == n || rec->problem == OC_CSV_NUL);
            oc_buf_printf(&b, "%s", f ? "|" : "");
            oc_buf_append(&b, v, n);
        }
        if (rec->problem != OC_CSV_OK)
            oc_buf_printf(&b, "!%d@%u", (int)rec->problem, rec->problem_field);
    }
    oc_csv_free(&csv);
    oc_buf_cstr(&b);
    return b.data != NULL ? b.data : strdup("");
}

#define PARSES(input, want)                                                                                            \
    do {                                                                                                               \
        char *got_ = render(input, sizeof(input) - 1);                                                                 \
        CHECK_STR(got_, want);                                                                                         \
        free(got_);                                                                                                    \
    } while (0)

static void test_basics(void)
{
    PARSES("", "");
    PARSES("a,b,c", "1:a|b|c");
    PARSES("a,b\nc,d\n", "1:a|b;2:c|d");
    PARSES("a,b\r\nc,d\r\n", "1:a|b;2:c|d");
    PARSES("a,b\rc,d", "1:a|b;2:c|d"); /* a lone CR ends a line too */
    PARSES("a,,c,\n", "1:a||c|");      /* empty fields, a trailing comma */
    PARSES(",", "1:|");
    PARSES("a\n\n\r\nb\n", "1:a;4:b"); /* lines holding nothing are not records */
    PARSES("\xef\xbb\xbf"
           "code\nX\n",
           "1:code;2:X");           /* the byte-order mark is dropped */
    PARSES(" a , b ", "1: a | b "); /* spaces are data */
}

static void test_quotes(void)
{
    PARSES("\"a,b\",c", "1:a,b|c");
    PARSES("\"say \"\"hi\"\"\",x", "1:say \"hi\"|x");
    PARSES("\"\",\"\"", "1:|");
    PARSES("\"line1\nline2\",x\ny,z", "1:line1\nline2|x;3:y|z"); /* the record after a multi-line field */
    PARSES("\"a\r\nb\"\r\nc", "1:a\r\nb;3:c");
    PARSES("\"\"\"\"", "1:\"");
    /* Problems are recorded on the record and parsing goes on. */
    PARSES("ab\"c,d\ne,f", "1:ab\"c|d!3@0;2:e|f");
    PARSES("\"ab\"c,d\ne,f", "1:abc|d!4@0;2:e|f");
    PARSES("x,\"open\nstill open", "1:x|open\nstill open!5@1");
    PARSES("\"a\",\"b\"\n", "1:a|b");
}

static void test_bytes(void)
{
    PARSES("caf\xc3\xa9,ok", "1:caf\xc3\xa9|ok");
    PARSES("a,caf\xe9\nb,c", "1:a|caf\xe9!1@1;2:b|c");    /* Latin-1 é */
    PARSES("\xc0\xaf", "1:\xc0\xaf!1@0");                 /* overlong */
    PARSES("\xed\xa0\x80", "1:\xed\xa0\x80!1@0");         /* a surrogate */
    PARSES("\xf4\x90\x80\x80", "1:\xf4\x90\x80\x80!1@0"); /* past U+10FFFF */
    PARSES("\xe2\x82", "1:\xe2\x82!1@0");                 /* truncated */
    PARSES("\xf0\x9f\x93\xa6 box", "1:\xf0\x9f\x93\xa6 box");
    CHECK(oc_utf8_valid("", 0));
    CHECK_INT(oc_utf8_length("\xf0\x9f\x93\xa6"
                             "ab\xc3\xa9",
                             7),
              4);

    oc_csv_t csv;
    const char nul[] = "a,b\0c\nd,e";
    CHECK_INT(oc_csv_parse(&csv, nul, sizeof(nul) - 1), 0);
    CHECK_INT(csv.nrecords, 2);
    CHECK_INT(csv.records[0].problem, OC_CSV_NUL);
    CHECK_INT(csv.records[0].problem_field, 1);
    CHECK_INT(csv.records[1].problem, OC_CSV_OK);
    oc_csv_free(&csv);
}

static void test_ragged_and_lines(void)
{
    oc_csv_t csv;
    const char in[] = "code,title\nA,one\nB\nC,three,extra\n\"D\",\"multi\nline\"\nE,five\n";
    CHECK_INT(oc_csv_parse(&csv, in, sizeof(in) - 1), 0);
    CHECK_INT(csv.nrecords, 6);
    uint32_t want_fields[] = {2, 2, 1, 3, 2, 2}, want_lines[] = {1, 2, 3, 4, 5, 7};
    for (size_t i = 0; i < 6; i++) {
        CHECK_INT(csv.records[i].nfields, want_fields[i]);
        CHECK_INT(csv.records[i].line, want_lines[i]);
    }
    oc_csv_free(&csv);
    oc_csv_free(&csv); /* freeing twice is harmless */
}

static void test_huge(void)
{
    /* One 8 MiB quoted field full of commas, quotes and line breaks, then a normal record. */
    size_t n = 8u << 20;
    char *in = malloc(2 * n + 64);
    size_t k = 0;
    in[k++] = '"';
    size_t lines = 0;
    for (size_t i = 0; i < n; i++) {
        char c = "ab,\n\"x"[i % 6];
        if (c == '"')
            in[k++] = '"';
        lines += c == '\n';
        in[k++] = c;
    }
    k += (size_t)sprintf(in + k, "\",tail\nnext,row\n");
    oc_csv_t csv;
    CHECK_INT(oc_csv_parse(&csv, in, k), 0);
    CHECK_INT(csv.nrecords, 2);
    size_t len;
    const char *v = oc_csv_value(&csv, &csv.records[0], 0, &len);
    CHECK_INT(len, n);
    CHECK(v[0] == 'a' && v[2] == ',' && v[3] == '\n' && v[4] == '"');
    CHECK_STR(oc_csv_value(&csv, &csv.records[0], 1, NULL), "tail");
    CHECK_INT(csv.records[1].line, 2 + lines);
    CHECK_INT(csv.records[0].problem, OC_CSV_OK);
    oc_csv_free(&csv);
    free(in);

    /* Many small records. */
    oc_buf_t b = {0};
    for (int i = 0; i < 200000; i++)
        oc_buf_printf(&b, "SKU-%d,%d\r\n", i, i);
    CHECK_INT(oc_csv_parse(&csv, b.data, b.len), 0);
    CHECK_INT(csv.nrecords, 200000);
    CHECK_STR(oc_csv_value(&csv, &csv.records[199999], 0, NULL), "SKU-199999");
    CHECK_INT(csv.records[199999].line, 200000);
    oc_csv_free(&csv);
    oc_buf_free(&b);
}

int main(void)
{
    test_basics();
    test_quotes();
    test_bytes();
    test_ragged_and_lines();
    test_huge();
    CHECK(strstr(oc_csv_problem_text(OC_CSV_BAD_UTF8), "UTF-8") != NULL);
    return oc_test_report();
}
