/* Code shared by every platform: the version and the checks of the portable flag words. */
#include "ni_internal.h"

const char* ni_version(void)
{
    return NI_VERSION_STRING;
}

int32_t ni_check_open_flags(int32_t flags)
{
    if ((flags & ~NI_O_KNOWN) != 0)
        return NI_ERROR_INVALID_ARGUMENT;
    if ((flags & NI_O_ACCMODE) == NI_O_ACCMODE)
        return NI_ERROR_INVALID_ARGUMENT; /* WRONLY|RDWR is not an access mode */
    if ((flags & NI_O_SHLOCK) && (flags & NI_O_EXLOCK))
        return NI_ERROR_INVALID_ARGUMENT;
    if ((flags & NI_O_EXCL) && !(flags & NI_O_CREAT))
        return NI_ERROR_INVALID_ARGUMENT; /* O_EXCL without O_CREAT is undefined in POSIX */
    if ((flags & NI_O_TRUNC) && (flags & NI_O_ACCMODE) == NI_O_RDONLY)
        return NI_ERROR_INVALID_ARGUMENT; /* truncating needs write access, as FileMode.Truncate does */
    return 0;
}

int32_t ni_check_copy_flags(int32_t flags)
{
    return (flags & ~NI_COPY_KNOWN) != 0 ? NI_ERROR_INVALID_ARGUMENT : 0;
}
