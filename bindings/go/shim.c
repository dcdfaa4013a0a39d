#include <string.h>
#include "shim.h"

wtfperf_status wtfgo_check(wtfperf_status st, char **err) {
    if (st < 0 && err != NULL) {
        const char *msg = wtfperf_last_error();
        *err = strdup(msg != NULL ? msg : "");
    }
    return st;
}

wtfperf_status wtfgo_debug_force_panic(const char *message, char **err) {
    return wtfgo_check(wtfperf_debug_force_panic(message), err);
}
