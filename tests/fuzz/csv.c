/* fuzz/csv.c — tenants/csv.c, the RFC 4180 parser behind every CSV import, on arbitrary bytes. */
#include "tenants/csv.h"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    oc_csv_t csv = {0};
    oc_csv_parse(&csv, (const char *)data, size);
    oc_csv_free(&csv);
    return 0;
}
