/* fuzz/gunzip.c — adapters/gunzip.c (its cap and member loop around zlib) on arbitrary bytes: Amazon report
 * documents are untrusted. */
#include "adapters/gunzip.h"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    oc_buf_t out = {0};
    char why[200];
    oc_gunzip(data, size, &out, 1 << 20, why, sizeof(why));
    oc_buf_free(&out);
    return 0;
}
