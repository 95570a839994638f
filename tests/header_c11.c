/* The public header alone, compiled as strict C11 (-std=c11 -Wall -Wextra -pedantic -Werror):
 * it must need nothing else, and its ABI values must not move. Links and runs as a test. */
#include <swin/swin.h>

_Static_assert(SWIN_OK == 0, "SWIN_OK is 0");
_Static_assert(SWIN_ERR_INVALID_ARGUMENT == 1 && SWIN_ERR_INTERNAL == 14,
               "status values are stable");
_Static_assert(SWIN_OUTPUT_LOGITS == 0 && SWIN_OUTPUT_FEATURES == 1 && SWIN_OUTPUT_STAGE == 2,
               "output kinds are stable");
_Static_assert(SWIN_MAX_DIMS == 8, "SWIN_MAX_DIMS");
_Static_assert(SWIN_VERSION_NUMBER ==
                   SWIN_VERSION_MAJOR * 10000 + SWIN_VERSION_MINOR * 100 + SWIN_VERSION_PATCH,
               "version number");

int main(void) {
    /* the library linked is the one this header describes */
    if (swin_version_number() != SWIN_VERSION_NUMBER) return 1;
    const char *a = swin_version_string(), *b = SWIN_VERSION_STRING;
    while (*a && *a == *b)
        a++, b++;
    if (*a != *b) return 1;
    swin_model_free((swin_model *)0);
    return swin_status_string(SWIN_OK)[0] == 'S' ? 0 : 1;
}
