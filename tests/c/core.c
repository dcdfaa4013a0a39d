/* Core boundary: version, status names, last error, buffers, panic guard. */
#include "harness.h"

int main(void) {
    /* Version matches the header it was compiled against. */
    CHECK(strcmp(wtfperf_version(), WTFPERF_VERSION_STRING) == 0);

    /* Status names are static and total. */
    CHECK(strcmp(wtfperf_status_str(WTFPERF_OK), "WTFPERF_OK") == 0);
    CHECK(strcmp(wtfperf_status_str(WTFPERF_MISS), "WTFPERF_MISS") == 0);
    CHECK(strcmp(wtfperf_status_str(WTFPERF_ABORTED), "WTFPERF_ABORTED") == 0);
    CHECK(strcmp(wtfperf_status_str(WTFPERF_ERR_NULL), "WTFPERF_ERR_NULL") == 0);
    CHECK(strcmp(wtfperf_status_str(WTFPERF_ERR_INVALID), "WTFPERF_ERR_INVALID") == 0);
    CHECK(strcmp(wtfperf_status_str(WTFPERF_ERR_IO), "WTFPERF_ERR_IO") == 0);
    CHECK(strcmp(wtfperf_status_str(WTFPERF_ERR_STORE), "WTFPERF_ERR_STORE") == 0);
    CHECK(strcmp(wtfperf_status_str(WTFPERF_ERR_STATE), "WTFPERF_ERR_STATE") == 0);
    CHECK(strcmp(wtfperf_status_str(WTFPERF_ERR_PANIC), "WTFPERF_ERR_PANIC") == 0);
    CHECK(strcmp(wtfperf_status_str(WTFPERF_ERR_CALLBACK), "WTFPERF_ERR_CALLBACK") == 0);
    CHECK(strcmp(wtfperf_status_str(12345), "WTFPERF_UNKNOWN") == 0);
    CHECK(strcmp(wtfperf_status_str(-12345), "WTFPERF_UNKNOWN") == 0);

    /* No error yet on this thread. */
    CHECK(wtfperf_last_error() != NULL);
    CHECK(strcmp(wtfperf_last_error(), "") == 0);

    /* A forced internal panic is caught and reported, never unwinds. */
    CHECK_STATUS(wtfperf_debug_force_panic("boom from the harness"), WTFPERF_ERR_PANIC);
    CHECK(strstr(wtfperf_last_error(), "boom from the harness") != NULL);
    CHECK_STATUS(wtfperf_debug_force_panic(NULL), WTFPERF_ERR_PANIC);
    CHECK(strstr(wtfperf_last_error(), "forced panic") != NULL);
    /* The library is still usable after a panic. */
    CHECK(strcmp(wtfperf_status_str(WTFPERF_OK), "WTFPERF_OK") == 0);

    /* Buffers: freeing NULL or a zeroed buffer is a no-op, twice too. */
    wtfperf_buf_free(NULL);
    wtfperf_buf zero = {NULL, 0};
    wtfperf_buf_free(&zero);
    wtfperf_buf_free(&zero);
    CHECK(zero.data == NULL && zero.len == 0);

    HARNESS_DONE("core");
}
