/*
 * alloc.h — the allocation policy: memory is not a recoverable error.
 *
 * Every allocation in onecount goes through these (tests/lint/alloc.sh
 * refuses a bare malloc, calloc, realloc, strdup or strndup outside this
 * file).  When the system cannot give memory they do what h2o's
 * h2o_mem_alloc and PostgreSQL's palloc do: write one fatal log line to
 * stderr and abort the process — the supervisor restarts it, and every
 * promise already answered is in PostgreSQL.  So a result is never NULL and
 * callers do not check it; code that handles OC_ENOMEM from its callees
 * (buffers, JSON) keeps doing so for the errors that are not memory.
 *
 * oc_alloc_init() makes jansson allocate the same way (call it first in
 * main, before any JSON is made).  libpq and hiredis allocate with the C
 * library and report failure through their own results.
 */
#ifndef OC_ALLOC_H
#define OC_ALLOC_H

#include <stddef.h>

void *oc_malloc(size_t n);
void *oc_calloc(size_t count, size_t size);
void *oc_realloc(void *p, size_t n);
char *oc_strdup(const char *s);
char *oc_strndup(const char *s, size_t n);

/** Routes jansson's allocations through oc_malloc (process-wide; call once, before any JSON). */
void oc_alloc_init(void);

/** Writes the fatal line ("out of memory", the size asked) and aborts. */
_Noreturn void oc_alloc_failed(size_t n);

#endif
