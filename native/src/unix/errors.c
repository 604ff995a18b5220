/* Error codes: the portable class of an errno and its message. No _GNU_SOURCE here, so that
   strerror_r is the POSIX (int-returning) variant on every libc. */
#define _POSIX_C_SOURCE 200809L
#include "unix.h"

#include <string.h>
#include <stdio.h>

int32_t ni_error_kind(int32_t error)
{
    switch (error)
    {
        case ENOENT: return NI_ERR_NOENT;
        case EACCES: case EPERM: return NI_ERR_ACCESS;
        case EEXIST: return NI_ERR_EXIST;
        case EISDIR: return NI_ERR_ISDIR;
        case ENOTDIR: return NI_ERR_NOTDIR;
        case ENAMETOOLONG: return NI_ERR_NAMETOOLONG;
        case EWOULDBLOCK: return NI_ERR_WOULDBLOCK;
#if EAGAIN != EWOULDBLOCK
        case EAGAIN: return NI_ERR_WOULDBLOCK;
#endif
        case EINVAL: return NI_ERR_INVAL;
        case EBADF: return NI_ERR_BADF;
        case EMFILE: case ENFILE: return NI_ERR_MFILE;
        case ENOSPC: return NI_ERR_NOSPC;
        case EFBIG: return NI_ERR_FBIG;
        case ELOOP: return NI_ERR_LOOP;
        case EROFS: return NI_ERR_ROFS;
        case EAFNOSUPPORT: return NI_ERR_AFNOSUPPORT;
        case EPROTONOSUPPORT: return NI_ERR_PROTONOSUPPORT;
        case EPROTOTYPE: return NI_ERR_PROTOTYPE;
#ifdef ESOCKTNOSUPPORT
        case ESOCKTNOSUPPORT: return NI_ERR_SOCKTNOSUPPORT;
#endif
        case ENOTSOCK: return NI_ERR_NOTSOCK;
        case EOPNOTSUPP: return NI_ERR_OPNOTSUPP;
#if defined(ENOTSUP) && ENOTSUP != EOPNOTSUPP
        case ENOTSUP: return NI_ERR_OPNOTSUPP;
#endif
        case ECONNABORTED: return NI_ERR_CONNABORTED;
        case ECONNRESET: return NI_ERR_CONNRESET;
        case ENOTCONN: return NI_ERR_NOTCONN;
        case ENOMEM: case ENOBUFS: return NI_ERR_NOMEM;
        case EINTR: return NI_ERR_INTR;
        case ECANCELED: return NI_ERR_CANCELED;
        case ESRCH: return NI_ERR_SRCH;
        case ECHILD: return NI_ERR_CHILD;
        case EPIPE: return NI_ERR_PIPE;
        default: return NI_ERR_OTHER;
    }
}

int32_t ni_error_code(int32_t kind)
{
    switch (kind)
    {
        case NI_ERR_NOENT: return ENOENT;
        case NI_ERR_ACCESS: return EACCES;
        case NI_ERR_EXIST: return EEXIST;
        case NI_ERR_ISDIR: return EISDIR;
        case NI_ERR_NOTDIR: return ENOTDIR;
        case NI_ERR_NAMETOOLONG: return ENAMETOOLONG;
        case NI_ERR_WOULDBLOCK: return EWOULDBLOCK;
        case NI_ERR_INVAL: return EINVAL;
        case NI_ERR_BADF: return EBADF;
        case NI_ERR_MFILE: return EMFILE;
        case NI_ERR_NOSPC: return ENOSPC;
        case NI_ERR_FBIG: return EFBIG;
        case NI_ERR_LOOP: return ELOOP;
        case NI_ERR_ROFS: return EROFS;
        case NI_ERR_AFNOSUPPORT: return EAFNOSUPPORT;
        case NI_ERR_PROTONOSUPPORT: return EPROTONOSUPPORT;
        case NI_ERR_PROTOTYPE: return EPROTOTYPE;
#ifdef ESOCKTNOSUPPORT
        case NI_ERR_SOCKTNOSUPPORT: return ESOCKTNOSUPPORT;
#endif
        case NI_ERR_NOTSOCK: return ENOTSOCK;
        case NI_ERR_OPNOTSUPP: return EOPNOTSUPP;
        case NI_ERR_CONNABORTED: return ECONNABORTED;
        case NI_ERR_NOMEM: return ENOMEM;
        case NI_ERR_INTR: return EINTR;
        case NI_ERR_CONNRESET: return ECONNRESET;
        case NI_ERR_NOTCONN: return ENOTCONN;
        case NI_ERR_CANCELED: return ECANCELED;
        case NI_ERR_SRCH: return ESRCH;
        case NI_ERR_CHILD: return ECHILD;
        case NI_ERR_PIPE: return EPIPE;
        default: return 0;
    }
}

int32_t ni_error_message(int32_t error, char* buffer, int32_t size)
{
    if (buffer == NULL || size < 1)
        return EINVAL;
    if (strerror_r(error, buffer, (size_t)size) == EINVAL) /* ERANGE: the text was truncated, keep it */
        snprintf(buffer, (size_t)size, "Unknown error %d", (int)error);
    buffer[size - 1] = '\0';
    return 0;
}
