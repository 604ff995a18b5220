/* Internal declarations shared by the platform files. Not installed, not part of the ABI. */
#ifndef NI_INTERNAL_H
#define NI_INTERNAL_H

#include "noinherit.h"
#include "ni_config.h"

#if defined(_WIN32)
#  define NI_ERROR_INVALID_ARGUMENT 87 /* ERROR_INVALID_PARAMETER */
#else
#  include <errno.h>
#  define NI_ERROR_INVALID_ARGUMENT EINVAL
#endif

#define NI_O_KNOWN (NI_O_ACCMODE | NI_O_CREAT | NI_O_EXCL | NI_O_TRUNC | NI_O_APPEND | NI_O_SYNC | \
                    NI_O_NOFOLLOW | NI_O_NOTDIR | NI_O_SHLOCK | NI_O_EXLOCK | NI_O_SHARE_READ | \
                    NI_O_SHARE_WRITE | NI_O_SHARE_DELETE | NI_O_DELETE_ON_CLOSE | NI_O_ASYNC | \
                    NI_O_RANDOM | NI_O_SEQUENTIAL)
#define NI_COPY_KNOWN (NI_COPY_OVERWRITE | NI_COPY_DURABLE)

/* Checks of the portable flag words, the same on every platform: 0 or NI_ERROR_INVALID_ARGUMENT. */
int32_t ni_check_open_flags(int32_t flags);
int32_t ni_check_copy_flags(int32_t flags);

#endif
