/* Unit tests for server/runtime/text.c: RFC 3339 times, percent-encoding and HTTP reason phrases. */
#include "runtime/text.h"
#include "test.h"

#include <stdlib.h>

static void test_time_format(void)
{
    char out[OC_TIME_LEN];
    oc_time_format(out, 1767323045678ULL, OC_TIME_S);
    CHECK_STR(out, "2026-01-02T03:04:05Z");
    oc_time_format(out, 1767323045678ULL, OC_TIME_MS);
    CHECK_STR(out, "2026-01-02T03:04:05.678Z");
    oc_time_format(out, 1795860000250ULL, OC_TIME_OFFSET);
    CHECK_STR(out, "2026-11-28T10:00:00+00:00");
    oc_time_format(out, 5, OC_TIME_MS);
    CHECK_STR(out, "1970-01-01T00:00:00.005Z");
    char tight[25]; /* the milliseconds form fits the 25 bytes callers have always given it */
    oc_time_format(tight, 1767323045678ULL, OC_TIME_MS);
    CHECK_STR(tight, "2026-01-02T03:04:05.678Z");
}

static void test_time_parse(void)
{
    static const struct {
        const char *s;
        uint64_t ms;
    } good[] = {
        {"2026-01-02T03:04:05Z", 1767323045000ULL},
        {"2026-01-02T03:04:05.678Z", 1767323045678ULL},
        {"2026-01-02T03:04:05,5z", 1767323045500ULL},
        {"2026-01-02T04:04:05+01:00", 1767323045000ULL},
        {"2026-01-02T04:34:05+0130", 1767323045000ULL},
        {"2026-01-02T04:04:05+01", 1767323045000ULL},
        {"2026-01-01T22:04:05-05:00", 1767323045000ULL},
        {"2026-11-28T05:00:00.250-05:00", 1795860000250ULL},
        {"2026-01-02T03:04:05.1234567Z", 1767323045123ULL},
        {"2026-01-02 03:04", 1767323040000ULL}, /* no seconds, no zone: UTC */
        {"2026-01-02", 1767312000000ULL},
    };
    uint64_t ms;
    for (size_t i = 0; i < OC_ARRAY_SIZE(good); i++) {
        ms = 0;
        CHECK_INT(oc_time_parse(good[i].s, &ms), 0);
        CHECK_INT(ms, good[i].ms);
    }
    const char *bad[] = {"",
                         "2026",
                         "2026-13-01T00:00:00Z",
                         "2026-01-32",
                         "2026-01-02T24:00:00Z",
                         "2026-01-02T03:04:05Zjunk",
                         "2026-01-02T03:04:05+01:0",
                         "yesterday",
                         "1795860000250",
                         "2026-01-02T3:04:05Z",
                         "2026-01-02T03:04:05.Z",
                         "1969-12-31T23:59:59Z"};
    for (size_t i = 0; i < OC_ARRAY_SIZE(bad); i++) {
        ms = 42;
        CHECK_INT(oc_time_parse(bad[i], &ms), -1);
        CHECK_INT(ms, 42); /* untouched on failure */
    }
    CHECK_INT(oc_time_parse(NULL, &ms), -1);

    /* What one writes, the other reads back. */
    char out[OC_TIME_LEN];
    for (int style = OC_TIME_S; style <= OC_TIME_OFFSET; style++) {
        oc_time_format(out, 1767323045678ULL, (oc_time_style_t)style);
        CHECK_INT(oc_time_parse(out, &ms), 0);
        CHECK_INT(ms, style == OC_TIME_MS ? 1767323045678ULL : 1767323045000ULL);
    }
}

static void test_percent_decode(void)
{
    char out[32];
    CHECK_INT(oc_percent_decode("ABC%2F1", 7, out, sizeof(out), 1), 5);
    CHECK_STR(out, "ABC/1");
    CHECK_INT(oc_percent_decode("a+b%20c", 7, out, sizeof(out), 1), 5);
    CHECK_STR(out, "a b c");
    CHECK_INT(oc_percent_decode("SKU%2f1+a", 9, out, sizeof(out), 0), 7); /* a path: '+' is itself */
    CHECK_STR(out, "SKU/1+a");
    CHECK_INT(oc_percent_decode("", 0, out, sizeof(out), 1), 0);
    CHECK_STR(out, "");
    CHECK_INT(oc_percent_decode("%zz", 3, out, sizeof(out), 1), -1);
    CHECK_INT(oc_percent_decode("%2", 2, out, sizeof(out), 1), -1);
    CHECK_INT(oc_percent_decode("%", 1, out, sizeof(out), 1), -1);
    CHECK_INT(oc_percent_decode("bad%2", 5, out, sizeof(out), 0), -1);
    CHECK_INT(oc_percent_decode("a%00b", 5, out, sizeof(out), 1), -1);
    CHECK_INT(oc_percent_decode("abcdef", 6, out, 4, 1), -1); /* does not fit */
    CHECK_INT(oc_percent_decode("abc", 3, out, 4, 1), 3);     /* fits exactly */
    CHECK_STR(out, "abc");
}

static void test_percent_encode(void)
{
    oc_buf_t b = {0};
    CHECK_INT(oc_percent_encode(&b, ""), 0);
    CHECK(b.data != NULL);
    CHECK_STR(oc_buf_cstr(&b), "");
    CHECK_INT(oc_percent_encode(&b, "a b/c~d_e.f-G9|\xc3\xa9"), 0);
    CHECK_STR(oc_buf_cstr(&b), "a%20b%2Fc~d_e.f-G9%7C%C3%A9");
    char back[64];
    CHECK_INT(oc_percent_decode(b.data, b.len, back, sizeof(back), 0), 17);
    CHECK_STR(back, "a b/c~d_e.f-G9|\xc3\xa9");
    oc_buf_free(&b);
}

static void test_http_reason(void)
{
    CHECK_STR(oc_http_reason(200), "OK");
    CHECK_STR(oc_http_reason(404), "Not Found");
    CHECK_STR(oc_http_reason(422), "Unprocessable Entity");
    CHECK_STR(oc_http_reason(429), "Too Many Requests");
    CHECK_STR(oc_http_reason(504), "Gateway Timeout");
    CHECK_STR(oc_http_reason(299), "OK");
}

int main(void)
{
    test_time_format();
    test_time_parse();
    test_percent_decode();
    test_percent_encode();
    test_http_reason();
    return oc_test_report();
}
