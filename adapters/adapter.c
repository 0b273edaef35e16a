/*
 * adapter.c — finding a channel's adapter by name.
 */
#include "adapters/adapter.h"

#include <string.h>

/* Weak so the rest of the program links before every channel file exists. */
extern const oc_adapter_t oc_adapter_shopify __attribute__((weak));
extern const oc_adapter_t oc_adapter_amazon __attribute__((weak));
extern const oc_adapter_t oc_adapter_walmart __attribute__((weak));

const oc_adapter_t *oc_adapter_by_name(const char *name)
{
    const oc_adapter_t *all[] = {&oc_adapter_shopify, &oc_adapter_amazon, &oc_adapter_walmart};
    for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
        if (all[i] != NULL && name != NULL && strcmp(all[i]->name, name) == 0)
            return all[i];
    return NULL;
}
