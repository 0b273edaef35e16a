/* Unit tests for tenants/imports.c: headers, row checks, every bad row reported, chunks and their literals. */
#include "tenants/imports.h"
#include "test.h"

#include <stdlib.h>

static oc_import_t imp;

static int prepare(oc_import_type_t type, const char *csv, size_t max_chunks)
{
    oc_import_free(&imp);
    return oc_import_prepare(&imp, type, csv, strlen(csv), max_chunks);
}

/* "line/column: reason" of error i. */
static char *error_at(size_t i)
{
    static char buf[600];
    if (i >= imp.errors.n)
        return "(none)";
    const oc_import_error_t *e = &imp.errors.items[i];
    snprintf(buf, sizeof(buf), "%u/%s: %s", e->line, e->column ? e->column : "-", e->reason);
    return buf;
}

static int has_error(uint32_t line, const char *column, const char *reason_part)
{
    for (size_t i = 0; i < imp.errors.n; i++) {
        const oc_import_error_t *e = &imp.errors.items[i];
        if (e->line == line && (column == NULL ? e->column == NULL : e->column && strcmp(e->column, column) == 0) &&
            strstr(e->reason, reason_part) != NULL)
            return 1;
    }
    fprintf(stderr, "  no error %u/%s ~ \"%s\"; have:\n", line, column ? column : "-", reason_part);
    for (size_t i = 0; i < imp.errors.n; i++)
        fprintf(stderr, "    %s\n", error_at(i));
    return 0;
}

static void test_headers(void)
{
    CHECK_INT(prepare(OC_IMPORT_SKUS, "", 30), 0);
    CHECK(!imp.header_ok);
    CHECK(has_error(1, NULL, "the file is empty"));

    /* Case-insensitive, any order, surrounding spaces ignored. */
    CHECK_INT(prepare(OC_IMPORT_SKUS, " Title ,CODE,barcode\nMug,M-1,123\n", 30), 0);
    CHECK(imp.header_ok);
    CHECK_INT(imp.errors.total, 0);
    CHECK_INT(imp.rows_total, 1);
    CHECK_INT(imp.nchunks, 1);
    CHECK_STR(imp.chunks[0].params[1], "{\"M-1\"}");
    CHECK_STR(imp.chunks[0].params[2], "{\"Mug\"}");

    CHECK_INT(prepare(OC_IMPORT_SKUS, "title,colour\nMug,blue\n", 30), 0);
    CHECK(!imp.header_ok);
    CHECK(has_error(1, "colour", "unknown column"));
    CHECK(has_error(1, "code", "required column is missing"));
    CHECK_INT(imp.nchunks, 0);

    CHECK_INT(prepare(OC_IMPORT_COUNTS, "code,on_hand,code\nA,1,A\n", 30), 0);
    CHECK(!imp.header_ok);
    CHECK(has_error(1, "code", "appears twice"));

    /* A long unknown column name is shortened without splitting a character. */
    oc_buf_t h = {0};
    oc_buf_printf(&h, "code,on_hand,");
    for (int i = 0; i < 60; i++)
        oc_buf_printf(&h, "\xc3\xa9");
    oc_buf_printf(&h, "\nA,1,x\n");
    oc_buf_cstr(&h);
    CHECK_INT(prepare(OC_IMPORT_COUNTS, h.data, 30), 0);
    CHECK_INT(imp.errors.n, 1);
    CHECK(imp.errors.items[0].column != NULL && strlen(imp.errors.items[0].column) == 94);
    json_t *j = oc_import_errors_json(&imp.errors);
    CHECK(json_is_string(json_object_get(json_array_get(j, 0), "column")));
    json_decref(j);
    oc_buf_free(&h);

    /* An unknown column is reported but the rows are still checked. */
    CHECK_INT(prepare(OC_IMPORT_COUNTS, "code,on_hand,note\nA,-1,x\n", 30), 0);
    CHECK(imp.header_ok);
    CHECK(has_error(1, "note", "unknown column"));
    CHECK(has_error(2, "on_hand", "0 or more"));
}

static void test_skus(void)
{
    const char *csv = "code,title,barcode,archived\n"
                      "A,Alpha,,false\n"                   /* 2 fine */
                      "A,Again,,\n"                        /* 3 duplicate */
                      " B,Lead,,\n"                        /* 4 leading space */
                      ",No code,,\n"                       /* 5 missing */
                      "C,Ragged\n"                         /* 6 ragged */
                      "D,\"quoted, with comma\",42,TRUE\n" /* 7 fine */
                      "E,caf\xe9,,\n"                      /* 8 bad UTF-8 in title */
                      "F,x,,maybe\n"                       /* 9 archived */
                      "0123456789012345678901234567890123456789012345678901234567890123X,long,,\n" /* 10 */
                      "G\x01,ctl,,\n"; /* 11 control character */
    CHECK_INT(prepare(OC_IMPORT_SKUS, csv, 30), 0);
    CHECK_INT(imp.rows_total, 10);
    CHECK(has_error(3, "code", "A appears twice in the file (first on line 2)"));
    CHECK(has_error(4, "code", "leading or trailing spaces"));
    CHECK(has_error(5, "code", "required"));
    CHECK(has_error(6, NULL, "the row has 2 fields; the header has 4"));
    CHECK(has_error(8, "title", "UTF-8"));
    CHECK(has_error(9, "archived", "true, false or empty"));
    CHECK(has_error(10, "code", "at most 64 characters"));
    CHECK(has_error(11, "code", "control characters"));
    CHECK_INT(imp.errors.total, 8);
    /* In line order. */
    for (size_t i = 1; i < imp.errors.n; i++)
        CHECK(imp.errors.items[i - 1].line <= imp.errors.items[i].line);
    /* Bad values are NULL in the arrays; good ones quoted and escaped. */
    CHECK_INT(imp.nchunks, 1);
    CHECK_STR(imp.chunks[0].params[0], "{2,3,4,5,7,9,10,11}");
    CHECK_STR(imp.chunks[0].params[1], "{\"A\",NULL,NULL,NULL,\"D\",\"F\",NULL,NULL}");
    CHECK_STR(imp.chunks[0].params[3], "{NULL,NULL,NULL,NULL,\"42\",NULL,NULL,NULL}");
    CHECK_STR(imp.chunks[0].params[4], "{\"f\",\"f\",\"f\",\"f\",\"t\",\"f\",\"f\",\"f\"}");

    /* An export's columns import as they are; bundle rows are skipped. */
    CHECK_INT(prepare(OC_IMPORT_SKUS,
                      "code,title,barcode,kind,on_hand,committed,held,available,archived\r\n"
                      "K-1,\"Say \"\"hi\"\" \\o/\",,simple,5,0,0,5,false\r\n"
                      "BND,Box,,bundle,,,,2,false\r\n",
                      30),
              0);
    CHECK_INT(imp.errors.total, 0);
    CHECK_STR(imp.chunks[0].params[1], "{\"K-1\"}");
    CHECK_STR(imp.chunks[0].params[2], "{\"Say \\\"hi\\\" \\\\o/\"}");
    char *s = json_dumps(imp.summary, JSON_COMPACT | JSON_SORT_KEYS);
    CHECK_STR(s, "{\"skipped_bundle_rows\":1,\"skus\":1}");
    free(s);
}

static void test_counts(void)
{
    CHECK_INT(
        prepare(OC_IMPORT_COUNTS, "on_hand,code\n5,A\n-1,B\n1.5,C\n,D\nabc,E\n3,A\n 7 ,F\n1000000001,G\n0,H\n", 30), 0);
    CHECK(has_error(3, "on_hand", "0 or more"));
    CHECK(has_error(4, "on_hand", "whole number"));
    CHECK(has_error(5, "on_hand", "required"));
    CHECK(has_error(6, "on_hand", "whole number"));
    CHECK(has_error(7, "code", "A appears twice"));
    CHECK(has_error(9, "on_hand", "at most 1000000000"));
    CHECK_INT(imp.errors.total, 6);
    CHECK_STR(imp.chunks[0].params[1], "{\"A\",\"B\",\"C\",\"D\",\"E\",NULL,\"F\",\"G\",\"H\"}");
    CHECK_STR(imp.chunks[0].params[2], "{5,NULL,NULL,NULL,NULL,3,7,NULL,0}");
    CHECK_STR(imp.all_codes, "{\"A\",\"B\",\"C\",\"D\",\"E\",\"F\",\"G\",\"H\"}");
    char *s = json_dumps(imp.summary, JSON_COMPACT | JSON_SORT_KEYS);
    CHECK_STR(s, "{\"skus\":9,\"units\":15}");
    free(s);
}

static void test_bundles(void)
{
    const char *csv = "bundle_code,bundle_title,component_code,qty\n"
                      "KIT,Starter kit,MUG,1\n"   /* 2 */
                      "GIFT,Gift,KIT,1\n"         /* 3 nested: KIT is a bundle of this file */
                      "KIT,,LID,2\n"              /* 4 fine, title from line 2 */
                      "KIT,Other title,SPOON,1\n" /* 5 title differs */
                      "KIT,,MUG,3\n"              /* 6 listed twice */
                      "SELF,,SELF,1\n"            /* 7 itself */
                      "GIFT,,CARD,0\n"            /* 8 qty */
                      "GIFT,,CARD2,x\n";          /* 9 qty */
    CHECK_INT(prepare(OC_IMPORT_BUNDLES, csv, 30), 0);
    CHECK(has_error(3, "component_code", "KIT is a bundle in this file"));
    CHECK(has_error(5, "bundle_title", "differs from line 2"));
    CHECK(has_error(6, "component_code", "MUG is listed twice in bundle KIT (first on line 2)"));
    CHECK(has_error(7, "component_code", "cannot contain itself"));
    CHECK(has_error(8, "qty", "from 1 to 10000"));
    CHECK(has_error(9, "qty", "from 1 to 10000"));
    CHECK_INT(imp.errors.total, 6);
    /* Grouped by bundle, in order of first appearance; every row carries its bundle's title. */
    CHECK_INT(imp.nchunks, 1);
    CHECK_STR(imp.chunks[0].params[0], "{2,4,5,6,3,8,9,7}");
    CHECK_STR(imp.chunks[0].params[1], "{\"KIT\",\"KIT\",\"KIT\",\"KIT\",\"GIFT\",\"GIFT\",\"GIFT\",\"SELF\"}");
    CHECK_STR(imp.chunks[0].params[2], "{\"Starter kit\",\"Starter kit\",\"Starter kit\",\"Starter kit\",\"Gift\","
                                       "\"Gift\",\"Gift\",\"\"}");
    CHECK_STR(imp.chunks[0].params[3], "{\"MUG\",\"LID\",\"SPOON\",NULL,NULL,\"CARD\",\"CARD2\",NULL}");
    CHECK_STR(imp.chunks[0].params[4], "{1,2,1,3,1,NULL,NULL,1}");

    /* More than 50 components. */
    oc_buf_t b = {0};
    oc_buf_printf(&b, "bundle_code,component_code,qty\n");
    for (int i = 0; i < 52; i++)
        oc_buf_printf(&b, "BIG,C%d,1\n", i);
    oc_buf_cstr(&b);
    CHECK_INT(prepare(OC_IMPORT_BUNDLES, b.data, 30), 0);
    CHECK_INT(imp.errors.total, 2);
    CHECK(has_error(52, "component_code", "at most 50 components"));
    CHECK(has_error(53, "component_code", "at most 50 components"));
    oc_buf_free(&b);
}

static void test_listings(void)
{
    /* The header: connection and sku required, the identifiers optional, in any order and case. */
    CHECK_INT(prepare(OC_IMPORT_LISTINGS, "sku,external_sku\nA,X\n", 30), 0);
    CHECK(!imp.header_ok);
    CHECK(has_error(1, "connection", "required column is missing"));
    CHECK_INT(prepare(OC_IMPORT_LISTINGS, "connection,sku,code\nShop,A,A\n", 30), 0);
    CHECK(has_error(1, "code", "unknown column; the columns are connection, sku, external_sku"));
    CHECK_INT(prepare(OC_IMPORT_LISTINGS, " SKU ,Connection\nA,Shop\n", 30), 0);
    CHECK(imp.header_ok);
    CHECK_INT(imp.errors.total, 0);
    CHECK_STR(imp.chunks[0].params[1], "{\"Shop\"}");
    CHECK_STR(imp.chunks[0].params[2], "{\"A\"}");
    CHECK_STR(imp.chunks[0].params[3], "{NULL}");
    CHECK_STR(imp.chunks[0].params[5], "{NULL}");

    oc_buf_t b = {0};
    char ext[202], conn[102];
    memset(ext, 'e', 201), ext[201] = '\0';
    memset(conn, 'c', 101), conn[101] = '\0';
    oc_buf_printf(&b,
                  "connection,sku,external_sku,item_ref,location_ref\n"
                  "Shop,A,SH-A,gid://shopify/InventoryItem/1,gid://shopify/Location/1\n" /* 2 fine */
                  ",B,,,\n"                                                              /* 3 no connection */
                  "Shop,,,,\n"                                                           /* 4 no sku */
                  "Shop,A,,,\n"                                                          /* 5 (Shop, A) again */
                  "Amazon,A,,,\n"                        /* 6 fine: another connection */
                  "Shop,C,SH-A,,\n"                      /* 7 external_sku again on Shop */
                  "Walmart,D,%s,,\n"                     /* 8 external_sku too long */
                  "Walmart,E,,%s,\n"                     /* 9 item_ref too long */
                  "Walmart, F,,,\n"                      /* 10 sku with a leading space */
                  "%s,G,,,\n"                            /* 11 connection too long */
                  "Walmart,H\n"                          /* 12 ragged */
                  "\"Shop, \"\"EU\"\"\",I,\"a\\b\",,\n", /* 13 fine: quotes and a backslash survive */
                  ext, ext, conn);
    oc_buf_cstr(&b);
    CHECK_INT(prepare(OC_IMPORT_LISTINGS, b.data, 30), 0);
    CHECK(imp.header_ok);
    CHECK_INT(imp.rows_total, 12);
    CHECK(has_error(3, "connection", "a connection is required"));
    CHECK(has_error(4, "sku", "a SKU code is required"));
    CHECK(has_error(5, "sku", "A is mapped to this connection twice in the file (first on line 2)"));
    CHECK(has_error(7, "external_sku",
                    "external_sku SH-A is used twice on this connection in the file (first on "
                    "line 2)"));
    CHECK(has_error(8, "external_sku", "at most 200 characters"));
    CHECK(has_error(9, "item_ref", "at most 200 characters"));
    CHECK(has_error(10, "sku", "leading or trailing spaces"));
    CHECK(has_error(11, "connection", "at most 100 characters"));
    CHECK(has_error(12, NULL, "the row has 2 fields; the header has 5"));
    CHECK_INT(imp.errors.total, 9);
    CHECK_INT(imp.nchunks, 1);
    CHECK_INT(imp.chunks[0].nrows, 11);
    CHECK_STR(imp.chunks[0].params[0], "{2,3,4,5,6,7,8,9,10,11,13}");
    CHECK_STR(imp.chunks[0].params[1], "{\"Shop\",NULL,\"Shop\",\"Shop\",\"Amazon\",\"Shop\",\"Walmart\",\"Walmart\","
                                       "\"Walmart\",NULL,\"Shop, \\\"EU\\\"\"}");
    CHECK_STR(imp.chunks[0].params[2], "{\"A\",\"B\",NULL,NULL,\"A\",\"C\",\"D\",\"E\",NULL,\"G\",\"I\"}");
    CHECK_STR(imp.chunks[0].params[3], "{\"SH-A\",NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL,\"a\\\\b\"}");
    CHECK_STR(imp.chunks[0].params[4],
              "{\"gid://shopify/InventoryItem/1\",NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL}");
    CHECK_STR(imp.chunks[0].params[5], "{\"gid://shopify/Location/1\",NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL,"
                                       "NULL}");
    /* Every SKU worth looking up, for the locks and the refresh. */
    CHECK_STR(imp.all_codes, "{\"A\",\"B\",\"A\",\"C\",\"D\",\"E\",\"G\",\"I\"}");
    char *s = json_dumps(imp.summary, JSON_COMPACT);
    CHECK_STR(s, "{\"listings\":11}");
    free(s);
    oc_buf_free(&b);

    /* Many rows: chunked like the others, every duplicate still found across chunks. */
    b = (oc_buf_t){0};
    oc_buf_printf(&b, "connection,sku\n");
    for (int i = 0; i < 5000; i++)
        oc_buf_printf(&b, "Shop,S%d\n", i);
    oc_buf_printf(&b, "Shop,S1\n");
    oc_buf_cstr(&b);
    CHECK_INT(prepare(OC_IMPORT_LISTINGS, b.data, 30), 0);
    CHECK(imp.nchunks >= 2);
    CHECK_INT(imp.errors.total, 1);
    CHECK(has_error(5002, "sku", "S1 is mapped to this connection twice in the file (first on line 3)"));
    oc_buf_free(&b);
}

static void test_chunks_and_caps(void)
{
    /* 100,000 rows in at most 30 chunks, none under the minimum but the last. */
    oc_buf_t b = {0};
    oc_buf_printf(&b, "code,on_hand\n");
    for (int i = 0; i < 100000; i++)
        oc_buf_printf(&b, "S%06d,%d\n", i, i % 7);
    oc_buf_cstr(&b);
    CHECK_INT(prepare(OC_IMPORT_COUNTS, b.data, 30), 0);
    CHECK_INT(imp.rows_total, 100000);
    CHECK(imp.nchunks <= 30 && imp.nchunks >= 2);
    uint32_t rows = 0;
    for (size_t i = 0; i < imp.nchunks; i++) {
        rows += imp.chunks[i].nrows;
        CHECK(i + 1 == imp.nchunks || imp.chunks[i].nrows >= OC_IMPORT_CHUNK_MIN);
    }
    CHECK_INT(rows, 100000);
    oc_buf_free(&b);

    /* Every bad row is counted; the first OC_IMPORT_MAX_ERRORS are kept. */
    b = (oc_buf_t){0};
    oc_buf_printf(&b, "code,on_hand\n");
    for (int i = 0; i < 5000; i++)
        oc_buf_printf(&b, "S%d,-1\n", i);
    oc_buf_cstr(&b);
    CHECK_INT(prepare(OC_IMPORT_COUNTS, b.data, 30), 0);
    CHECK_INT(imp.errors.total, 5000);
    CHECK_INT(imp.errors.n, OC_IMPORT_MAX_ERRORS);
    CHECK_INT(imp.errors.items[0].line, 2);
    json_t *j = oc_import_errors_json(&imp.errors);
    CHECK_INT(json_array_size(j), OC_IMPORT_MAX_ERRORS);
    CHECK_INT(json_integer_value(json_object_get(json_array_get(j, 0), "line")), 2);
    CHECK_STR(json_string_value(json_object_get(json_array_get(j, 0), "column")), "on_hand");
    json_decref(j);
    oc_buf_free(&b);
}

int main(void)
{
    oc_import_type_t t;
    CHECK_INT(oc_import_type_parse("bundles", &t), 0);
    CHECK_INT(t, OC_IMPORT_BUNDLES);
    CHECK_INT(oc_import_type_parse("listings", &t), 0);
    CHECK_INT(t, OC_IMPORT_LISTINGS);
    CHECK_STR(oc_import_type_name(OC_IMPORT_LISTINGS), "listings");
    CHECK_INT(oc_import_type_parse("listing", &t), OC_EINVAL);
    CHECK_STR(oc_import_type_name(OC_IMPORT_COUNTS), "counts");
    test_headers();
    test_skus();
    test_counts();
    test_bundles();
    test_listings();
    test_chunks_and_caps();
    oc_import_free(&imp);
    return oc_test_report();
}
