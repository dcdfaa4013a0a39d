/* C side of the Go binding: small wrappers that make one wtfperf call and,
 * when it fails, copy wtfperf_last_error() before returning to Go. Goroutines
 * can move between OS threads between two cgo calls, and the last error is
 * thread-local, so it must be read inside the same native call. The copy is
 * malloc'd; the Go side frees it. */
#ifndef WTFPERF_GO_SHIM_H
#define WTFPERF_GO_SHIM_H

#include <stdint.h>
#include <stdlib.h>
#include "wtfperf.h"

/* Copies the last error into *err (malloc'd) when st is an error. */
wtfperf_status wtfgo_check(wtfperf_status st, char **err);

wtfperf_status wtfgo_debug_force_panic(const char *message, char **err);

#endif
