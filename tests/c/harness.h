/* Tiny assertion helpers shared by the C harness programs. */
#ifndef WTFPERF_HARNESS_H
#define WTFPERF_HARNESS_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wtfperf.h"

static int harness_checks = 0;

#define CHECK(cond)                                                                    \
    do {                                                                               \
        harness_checks++;                                                              \
        if (!(cond)) {                                                                 \
            fprintf(stderr, "%s:%d: CHECK failed: %s (last error: %s)\n", __FILE__,    \
                    __LINE__, #cond, wtfperf_last_error());                            \
            exit(1);                                                                   \
        }                                                                              \
    } while (0)

/* Checks a call returns the expected status, printing names on failure. */
#define CHECK_STATUS(call, expected)                                                   \
    do {                                                                               \
        harness_checks++;                                                              \
        wtfperf_status got_ = (call);                                                  \
        if (got_ != (expected)) {                                                      \
            fprintf(stderr, "%s:%d: %s returned %s, expected %s (last error: %s)\n",   \
                    __FILE__, __LINE__, #call, wtfperf_status_str(got_),               \
                    wtfperf_status_str(expected), wtfperf_last_error());               \
            exit(1);                                                                   \
        }                                                                              \
    } while (0)

#define CHECK_OK(call) CHECK_STATUS(call, WTFPERF_OK)

/* The last error message is non-empty (a failing call must explain itself). */
#define CHECK_MESSAGE() CHECK(wtfperf_last_error()[0] != '\0')

#define HARNESS_DONE(name)                                                             \
    do {                                                                               \
        printf("%s: %d checks passed\n", name, harness_checks);                        \
        return 0;                                                                      \
    } while (0)

#endif
