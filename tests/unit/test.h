/*
 * test.h — the unit-test harness: checks count, failures print file:line,
 * and main() ends with the plain "N passed, N failed" line.
 */
#ifndef OC_TEST_H
#define OC_TEST_H

#include <stdio.h>
#include <string.h>

static int oc_test_passed, oc_test_failed;

#define CHECK(cond)                                                                                                    \
    do {                                                                                                               \
        if (cond) {                                                                                                    \
            oc_test_passed++;                                                                                          \
        } else {                                                                                                       \
            oc_test_failed++;                                                                                          \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);                                   \
        }                                                                                                              \
    } while (0)

#define CHECK_STR(a, b)                                                                                                \
    do {                                                                                                               \
        const char *a_ = (a), *b_ = (b);                                                                               \
        if (a_ != NULL && b_ != NULL && strcmp(a_, b_) == 0) {                                                         \
            oc_test_passed++;                                                                                          \
        } else {                                                                                                       \
            oc_test_failed++;                                                                                          \
            fprintf(stderr, "%s:%d: expected \"%s\", got \"%s\"\n", __FILE__, __LINE__, b_ ? b_ : "(null)",            \
                    a_ ? a_ : "(null)");                                                                               \
        }                                                                                                              \
    } while (0)

#define CHECK_INT(a, b)                                                                                                \
    do {                                                                                                               \
        long long a_ = (long long)(a), b_ = (long long)(b);                                                            \
        if (a_ == b_) {                                                                                                \
            oc_test_passed++;                                                                                          \
        } else {                                                                                                       \
            oc_test_failed++;                                                                                          \
            fprintf(stderr, "%s:%d: %s: expected %lld, got %lld\n", __FILE__, __LINE__, #a, b_, a_);                   \
        }                                                                                                              \
    } while (0)

static inline int oc_test_report(void)
{
    printf("%d passed, %d failed\n", oc_test_passed, oc_test_failed);
    return oc_test_failed == 0 && oc_test_passed > 0 ? 0 : 1;
}

#endif
