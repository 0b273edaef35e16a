/* Unit tests for server/runtime/common.c: growable arrays and buffers. */
#include "runtime/common.h"
#include "test.h"

#include <stdlib.h>

static void test_array_grow(void)
{
    int *v = NULL;
    size_t cap = 0, len = 0;
    for (int i = 0; i < 100; i++) {
        CHECK_INT(oc_array_grow(&v, &cap, len, sizeof(*v), 4), 0);
        CHECK(len < cap);
        v[len++] = i;
    }
    CHECK_INT(cap, 128); /* 4, doubled */
    for (int i = 0; i < 100; i++)
        CHECK_INT(v[i], i);
    int *same = v;
    CHECK_INT(oc_array_grow(&v, &cap, 5, sizeof(*v), 4), 0); /* room already: nothing moves */
    CHECK(v == same);
    CHECK_INT(cap, 128);
    size_t huge = SIZE_MAX / 2 + 1;
    CHECK_INT(oc_array_grow(&v, &huge, huge, sizeof(*v), 4), OC_ENOMEM); /* would overflow: unchanged */
    CHECK(v == same);
    free(v);
}

static void test_buf(void)
{
    oc_buf_t b = {0};
    CHECK_INT(oc_buf_append(&b, "ab", 2), 0);
    CHECK_INT(oc_buf_printf(&b, "%d-%s", 7, "x"), 0);
    CHECK_STR(oc_buf_cstr(&b), "ab7-x");
    CHECK_INT(b.len, 5);
    char big[1500];
    memset(big, 'z', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    CHECK_INT(oc_buf_printf(&b, "[%s]", big), 0); /* longer than the stack buffer */
    CHECK_INT(b.len, 5 + 2 + sizeof(big) - 1);
    CHECK(b.data[6] == 'z' && b.data[b.len - 1] == ']');
    oc_buf_free(&b);
}

static void test_uuid(void)
{
    unsigned char b[16];
    for (int i = 0; i < 16; i++)
        b[i] = (unsigned char)(0xf0 | i);
    char out[37];
    oc_uuid_format(b, out); /* the version and variant bits are set, the rest kept */
    CHECK_STR(out, "f0f1f2f3-f4f5-46f7-b8f9-fafbfcfdfeff");
    CHECK(oc_is_uuid(out, strlen(out)));
    oc_uuid_v4(out);
    CHECK(oc_is_uuid(out, strlen(out)));
    CHECK(out[14] == '4');
}

int main(void)
{
    test_array_grow();
    test_buf();
    test_uuid();
    return oc_test_report();
}
