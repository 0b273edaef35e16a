/* fuzz/amazon_returns.c — the Amazon returns report reader (tab-separated rows from the channel). */
#include "adapters/internal.h"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    char why[200];
    json_decref(oc_amazon_returns_tsv((const char *)data, size, why, sizeof(why)));
    return 0;
}
