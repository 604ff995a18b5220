/* ni_error_kind, ni_error_message and ni_capabilities on POSIX. */
#include "ni_test.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static void error_kind_maps(void)
{
    static const struct { int error, kind; } cases[] = {
        { ENOENT, NI_ERR_NOENT }, { EACCES, NI_ERR_ACCESS }, { EPERM, NI_ERR_ACCESS },
        { EEXIST, NI_ERR_EXIST }, { EISDIR, NI_ERR_ISDIR }, { ENOTDIR, NI_ERR_NOTDIR },
        { ENAMETOOLONG, NI_ERR_NAMETOOLONG }, { EWOULDBLOCK, NI_ERR_WOULDBLOCK },
        { EAGAIN, NI_ERR_WOULDBLOCK }, { EINVAL, NI_ERR_INVAL }, { EBADF, NI_ERR_BADF },
        { EMFILE, NI_ERR_MFILE }, { ENFILE, NI_ERR_MFILE }, { ENOSPC, NI_ERR_NOSPC },
        { EFBIG, NI_ERR_FBIG }, { ELOOP, NI_ERR_LOOP }, { EROFS, NI_ERR_ROFS },
        { EAFNOSUPPORT, NI_ERR_AFNOSUPPORT }, { EPROTONOSUPPORT, NI_ERR_PROTONOSUPPORT },
        { EPROTOTYPE, NI_ERR_PROTOTYPE }, { ESOCKTNOSUPPORT, NI_ERR_SOCKTNOSUPPORT },
        { ENOTSOCK, NI_ERR_NOTSOCK }, { EOPNOTSUPP, NI_ERR_OPNOTSUPP }, { ENOTSUP, NI_ERR_OPNOTSUPP },
        { ECONNABORTED, NI_ERR_CONNABORTED }, { ECONNRESET, NI_ERR_CONNRESET },
        { ENOTCONN, NI_ERR_NOTCONN }, { ENOMEM, NI_ERR_NOMEM }, { ENOBUFS, NI_ERR_NOMEM },
        { EINTR, NI_ERR_INTR }, { ECANCELED, NI_ERR_CANCELED },
        { 0, NI_ERR_OTHER }, { EIO, NI_ERR_OTHER }, { EPIPE, NI_ERR_OTHER }, { -1, NI_ERR_OTHER },
        { 99999, NI_ERR_OTHER },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        if (!CHECK_INT(ni_error_kind(cases[i].error), cases[i].kind))
            printf("  for errno %d\n", cases[i].error);

    /* And for codes as the library really returns them. */
    char missing[PATH_MAX];
    ni_test_path(missing, "missing");
    ni_handle h;
    CHECK_INT(ni_error_kind(ni_open(missing, NI_O_RDONLY, 0, &h)), NI_ERR_NOENT);
    CHECK_INT(ni_error_kind(ni_close(NI_TEST_BAD_HANDLE)), NI_ERR_BADF);
    CHECK_INT(ni_error_kind(ni_socket(99, NI_SOCK_STREAM, 0, &h)), NI_ERR_AFNOSUPPORT);
}

static void error_message(void)
{
    /* The text is strerror's; the buffer contract is checked for every platform in test_common.c. */
    char buffer[256];
    CHECK_OK(ni_error_message(ENOENT, buffer, (int32_t)sizeof buffer));
    CHECK(strcmp(buffer, strerror(ENOENT)) == 0);
    CHECK_OK(ni_error_message(EWOULDBLOCK, buffer, (int32_t)sizeof buffer));
    CHECK(strcmp(buffer, strerror(EWOULDBLOCK)) == 0);
}

static void capabilities(void)
{
    /* Linux has every atomic form: O_CLOEXEC, SOCK_CLOEXEC, accept4, pipe2, F_DUPFD_CLOEXEC. */
    const uint32_t all = NI_CAP_OPEN_ATOMIC | NI_CAP_SOCKET_ATOMIC | NI_CAP_ACCEPT_ATOMIC |
                         NI_CAP_PIPE_ATOMIC | NI_CAP_DUP_ATOMIC;
    CHECK_INT(ni_capabilities(), all);
}

NI_TEST_MAIN(
    NI_TEST(error_kind_maps),
    NI_TEST(error_message),
    NI_TEST(capabilities))
