/*
 * Unit tests for adapters/gunzip.c: the wrapper's contract around zlib.
 * The gzip members are made here by zlib's own deflate (stored, fixed and
 * dynamic blocks, empty, named with extra field, comment and header CRC),
 * then broken: truncated at every length, a flipped bit anywhere, checksum
 * and length mismatches, not gzip, trailing bytes, over the cap.
 */
#define ZLIB_CONST
#include "adapters/gunzip.h"
#include "test.h"

#include <stdlib.h>
#include <zlib.h>

/* Appends `data` as one gzip member made at `level`, with `head` (NULL: a bare header); exits on failure. */
static void gz(oc_buf_t *doc, const void *data, size_t len, int level, gz_header *head)
{
    z_stream z = {0};
    if (deflateInit2(&z, level, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY) != Z_OK ||
        (head != NULL && deflateSetHeader(&z, head) != Z_OK)) {
        fprintf(stderr, "deflateInit2 failed\n");
        exit(2);
    }
    size_t bound = deflateBound(&z, len) + 256; /* + the header's name, comment and extra field */
    unsigned char *tmp = malloc(bound);
    z.next_in = data;
    z.avail_in = (uInt)len;
    z.next_out = tmp;
    z.avail_out = (uInt)bound;
    if (tmp == NULL || deflate(&z, Z_FINISH) != Z_STREAM_END || oc_buf_append(doc, tmp, z.total_out) != 0) {
        fprintf(stderr, "deflate failed\n");
        exit(2);
    }
    deflateEnd(&z);
    free(tmp);
}

/* `n` bytes of report-like text: repetitive enough for dynamic Huffman blocks. */
static char *text(size_t n)
{
    char *t = malloc(n + 64);
    size_t len = 0;
    for (unsigned i = 0; len < n; i++)
        len += (size_t)sprintf(t + len, "2026-12-%02u\t%u-%07u\tSKU-%u\n", i % 28 + 1, i * 7919 % 1000, i, i % 97);
    return t;
}

static int gunzip(const oc_buf_t *doc, size_t len, oc_buf_t *out, size_t max, char *why)
{
    out->len = 0;
    return oc_gunzip((const unsigned char *)doc->data, len, out, max, why, 200);
}

static void test_good(void)
{
    oc_buf_t doc = {0}, out = {0};
    char why[200] = "";
    char *t = text(100000);
    for (int level = 0; level <= 9; level += 3) { /* 0: stored blocks; 1: fixed and dynamic */
        doc.len = 0;
        gz(&doc, t, 100000, level, NULL);
        CHECK_INT(gunzip(&doc, doc.len, &out, 1 << 20, why), 0);
        CHECK(out.len == 100000 && memcmp(out.data, t, 100000) == 0);
    }
    doc.len = 0;
    gz(&doc, "hello, hello, hello world", 25, Z_BEST_SPEED, NULL); /* short: a fixed-Huffman block */
    CHECK_INT(gunzip(&doc, doc.len, &out, 1 << 20, why), 0);
    CHECK(out.len == 25 && memcmp(out.data, "hello, hello, hello world", 25) == 0);

    doc.len = 0;
    gz(&doc, "", 0, 6, NULL);
    CHECK_INT(gunzip(&doc, doc.len, &out, 1 << 20, why), 0);
    CHECK_INT(out.len, 0);

    doc.len = 0;
    gz(&doc, "first member; ", 14, 6, NULL);
    gz(&doc, "", 0, 6, NULL);
    gz(&doc, "second member", 13, 0, NULL);
    CHECK_INT(gunzip(&doc, doc.len, &out, 1 << 20, why), 0);
    CHECK(out.len == 27 && memcmp(out.data, "first member; second member", 27) == 0);

    /* FEXTRA, FNAME, FCOMMENT and FHCRC are read past */
    unsigned char extra[] = "AP\x04\x00"
                            "abcd"; /* one subfield: id AP, 4 bytes */
    gz_header head = {.name = (Bytef *)"returns.tsv",
                      .comment = (Bytef *)"a comment",
                      .extra = extra,
                      .extra_len = sizeof(extra) - 1,
                      .hcrc = 1,
                      .os = 3};
    doc.len = 0;
    gz(&doc, "named member", 12, 6, &head);
    CHECK(doc.data[3] == (2 | 4 | 8 | 16));
    CHECK_INT(gunzip(&doc, doc.len, &out, 1 << 20, why), 0);
    CHECK(out.len == 12 && memcmp(out.data, "named member", 12) == 0);

    /* zero padding after the last member is tolerated */
    oc_buf_append(&doc, "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0", 16);
    CHECK_INT(gunzip(&doc, doc.len, &out, 1 << 20, why), 0);
    CHECK(out.len == 12 && memcmp(out.data, "named member", 12) == 0);

    /* appends to what `out` holds; the cap counts what this call adds */
    doc.len = 0;
    gz(&doc, t, 1000, 6, NULL);
    oc_buf_t acc = {0};
    oc_buf_append(&acc, "abc", 3);
    CHECK_INT(oc_gunzip((const unsigned char *)doc.data, doc.len, &acc, 1000, why, sizeof(why)), 0);
    CHECK(acc.len == 1003 && memcmp(acc.data, "abc", 3) == 0 && memcmp(acc.data + 3, t, 1000) == 0);
    oc_buf_free(&acc);
    free(t);
    oc_buf_free(&doc);
    oc_buf_free(&out);
}

static void test_not_gzip(void)
{
    oc_buf_t doc = {0}, out = {0};
    char why[200];
    oc_buf_append(&doc, "plain text, not gzip at all", 27);
    CHECK_INT(gunzip(&doc, doc.len, &out, 1 << 20, why), -1);
    CHECK_STR(why, "not gzip data");
    CHECK_INT(oc_gunzip((const unsigned char *)"", 0, &out, 1 << 20, why, sizeof(why)), -1);
    CHECK_STR(why, "not gzip data");
    /* a zlib (RFC 1950) stream is not a gzip document */
    unsigned char zl[64];
    uLongf zlen = sizeof(zl);
    CHECK(compress(zl, &zlen, (const Bytef *)"zlib, not gzip", 14) == Z_OK);
    CHECK_INT(oc_gunzip(zl, zlen, &out, 1 << 20, why, sizeof(why)), -1);
    CHECK_STR(why, "not gzip data");
    /* the gzip magic with another method, or reserved flags */
    doc.len = 0;
    gz(&doc, "x", 1, 6, NULL);
    doc.data[2] = 7;
    CHECK_INT(gunzip(&doc, doc.len, &out, 1 << 20, why), -1);
    CHECK_STR(why, "gzip data: unknown compression method");
    doc.data[2] = 8;
    doc.data[3] = (char)0xe0;
    CHECK_INT(gunzip(&doc, doc.len, &out, 1 << 20, why), -1);
    CHECK_STR(why, "gzip data: unknown header flags set");
    oc_buf_free(&doc);
    oc_buf_free(&out);
}

static void test_broken(void)
{
    oc_buf_t doc = {0}, out = {0};
    char why[200];
    char *t = text(20000);
    gz(&doc, t, 10000, 6, NULL);
    size_t first = doc.len; /* cut there, the document is the first member alone */
    gz(&doc, t + 10000, 10000, 0, NULL);
    /* every truncation fails cleanly, in either member, header or trailer */
    int all_fail = 1;
    for (size_t n = 0; n < doc.len; n++)
        all_fail &= n == first || gunzip(&doc, n, &out, 1 << 20, why) == -1;
    CHECK(all_fail);
    CHECK_INT(gunzip(&doc, doc.len - 1, &out, 1 << 20, why), -1);
    CHECK_STR(why, "gzip data: truncated");

    CHECK_INT(gunzip(&doc, first, &out, 1 << 20, why), 0);
    CHECK(out.len == 10000 && memcmp(out.data, t, 10000) == 0);

    /* a flipped bit anywhere after the header is caught (by the inflater or the checksum), but in
     * the last byte of the deflate stream, whose high bits may be padding that nobody reads */
    doc.len = 0;
    gz(&doc, t, 20000, 6, NULL);
    int caught = 1;
    for (size_t i = 10; i < doc.len; i++) {
        if (i == doc.len - 9)
            continue;
        doc.data[i] ^= 0x10;
        caught &= gunzip(&doc, doc.len, &out, 1 << 20, why) == -1;
        doc.data[i] ^= 0x10;
    }
    CHECK(caught);
    doc.data[doc.len - 8] ^= 1; /* the CRC itself */
    CHECK_INT(gunzip(&doc, doc.len, &out, 1 << 20, why), -1);
    CHECK_STR(why, "gzip data: incorrect data check");
    doc.data[doc.len - 8] ^= 1;
    doc.data[doc.len - 4] ^= 1; /* the length */
    CHECK_INT(gunzip(&doc, doc.len, &out, 1 << 20, why), -1);
    CHECK_STR(why, "gzip data: incorrect length check");
    doc.data[doc.len - 4] ^= 1;

    /* trailing garbage after a member, even after zero padding */
    oc_buf_append(&doc, "xyz", 3);
    CHECK_INT(gunzip(&doc, doc.len, &out, 1 << 20, why), -1);
    CHECK_STR(why, "trailing bytes after the gzip data");
    doc.len -= 3;
    oc_buf_append(&doc, "\0\0\0xyz", 6);
    CHECK_INT(gunzip(&doc, doc.len, &out, 1 << 20, why), -1);
    CHECK_STR(why, "trailing bytes after the gzip data");
    free(t);
    oc_buf_free(&doc);
    oc_buf_free(&out);
}

static void test_cap(void)
{
    oc_buf_t doc = {0}, out = {0};
    char why[200];
    char *t = text(50000);
    gz(&doc, t, 30000, 6, NULL);
    gz(&doc, t + 30000, 20000, 6, NULL);
    CHECK_INT(gunzip(&doc, doc.len, &out, 50000, why), 0); /* exactly the cap */
    CHECK_INT(out.len, 50000);
    CHECK_INT(gunzip(&doc, doc.len, &out, 49999, why), -1);
    CHECK_STR(why, "gzip data: larger than allowed");
    CHECK(out.len <= 49999);
    CHECK_INT(gunzip(&doc, doc.len, &out, 1000, why), -1);
    CHECK_STR(why, "gzip data: larger than allowed");
    CHECK(out.len <= 1000);

    /* a bomb: 64 MB of zeros in ~64 KB, refused before more than the cap is kept */
    size_t big = 64u << 20;
    char *zeros = calloc(1, big);
    doc.len = 0;
    gz(&doc, zeros, big, 9, NULL);
    free(zeros);
    CHECK(doc.len < 100000);
    CHECK_INT(gunzip(&doc, doc.len, &out, 1 << 20, why), -1);
    CHECK_STR(why, "gzip data: larger than allowed");
    CHECK(out.len <= 1 << 20);
    free(t);
    oc_buf_free(&doc);
    oc_buf_free(&out);
}

static void test_crc(void)
{
    CHECK(oc_crc32(0, (const unsigned char *)"123456789", 9) == 0xCBF43926u);
    CHECK(oc_crc32(oc_crc32(0, (const unsigned char *)"1234", 4), (const unsigned char *)"56789", 5) == 0xCBF43926u);
}

int main(void)
{
    test_crc();
    test_good();
    test_not_gzip();
    test_broken();
    test_cap();
    return oc_test_report();
}
