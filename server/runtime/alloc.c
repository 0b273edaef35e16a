/*
 * alloc.c — allocations that never return NULL (see alloc.h).
 */
#include "runtime/alloc.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

_Noreturn void oc_alloc_failed(size_t n)
{
    /* No allocation here: the log machinery may need memory it cannot get. */
    fprintf(stderr, "{\"level\":\"fatal\",\"msg\":\"out of memory\",\"bytes\":%zu}\n", n);
    fflush(stderr);
    abort();
}

void *oc_malloc(size_t n)
{
    void *p = malloc(n != 0 ? n : 1);
    if (p == NULL)
        oc_alloc_failed(n);
    return p;
}

void *oc_calloc(size_t count, size_t size)
{
    void *p = calloc(count != 0 ? count : 1, size != 0 ? size : 1);
    if (p == NULL)
        oc_alloc_failed(count * size);
    return p;
}

void *oc_realloc(void *p, size_t n)
{
    void *q = realloc(p, n != 0 ? n : 1);
    if (q == NULL)
        oc_alloc_failed(n);
    return q;
}

char *oc_strdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = oc_malloc(n);
    memcpy(d, s, n);
    return d;
}

char *oc_strndup(const char *s, size_t n)
{
    size_t len = strnlen(s, n);
    char *d = oc_malloc(len + 1);
    memcpy(d, s, len);
    d[len] = '\0';
    return d;
}

void oc_alloc_init(void)
{
    json_set_alloc_funcs(oc_malloc, free);
}
