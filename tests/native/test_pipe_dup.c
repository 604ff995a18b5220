/* ni_pipe, ni_dup, ni_close. */
#include "ni_test.h"

#include <string.h>
#ifndef _WIN32
#  include <fcntl.h>
#endif

static void pipe_works(void)
{
    ni_handle r = 12345, w = 12345;
    CHECK_RC(ni_pipe(NULL, &w), NI_TEST_EINVAL);
    CHECK_RC(ni_pipe(&r, NULL), NI_TEST_EINVAL);
    CHECK(r == 12345 && w == 12345);
    if (!CHECK_OK(ni_pipe(&r, &w)))
        return;
    CHECK_INT(ni_test_inherit_flag(r), 0);
    CHECK_INT(ni_test_inherit_flag(w), 0);
#ifdef _WIN32
    CHECK_INT(GetFileType((HANDLE)r), FILE_TYPE_PIPE);
#else
    CHECK_INT(fcntl((int)r, F_GETFL) & O_ACCMODE, O_RDONLY);
    CHECK_INT(fcntl((int)w, F_GETFL) & O_ACCMODE, O_WRONLY);
#endif
    char buffer[4] = { 0 };
    CHECK_INT(ni_test_write(w, "abc", 3), 3);
    CHECK(ni_test_read(r, buffer, sizeof buffer) == 3 && memcmp(buffer, "abc", 3) == 0);
    CHECK(ni_test_write(r, "x", 1) < 0); /* the read end is only that */
    CHECK_OK(ni_close(w));
    CHECK_INT(ni_test_read(r, buffer, sizeof buffer), 0); /* the write end really was closed: the end */
    CHECK_OK(ni_close(r));
}

static void pipe_is_not_inherited(void)
{
    /* Different amounts waiting in each pipe: where the child describes a pipe by its bytes, that tells
       them apart; elsewhere both ends of one pipe look alike and the number tells them apart. */
    ni_handle r, w, control_r, control_w;
    if (!CHECK_OK(ni_pipe(&r, &w)))
        return;
    if (CHECK(ni_test_plain_pipe(&control_r, &control_w)))
    {
        CHECK(ni_test_write(w, "ours", 4) == 4 && ni_test_write(control_w, "control", 7) == 7);
        CHECK_NOT_INHERITED(r, control_r);
        CHECK_NOT_INHERITED(w, control_w);
        CHECK_OK(ni_close(control_r));
        CHECK_OK(ni_close(control_w));
    }
    CHECK_OK(ni_close(r));
    CHECK_OK(ni_close(w));
}

static void dup_works(void)
{
    char path[NI_TEST_PATH_MAX];
    ni_test_path(path, "file");
    ni_handle original = ni_test_plain_file(path); /* inheritable: the copy still must not be */
    if (!CHECK(original != NI_INVALID_HANDLE))
        return;
    ni_handle copy = 12345;
    CHECK_RC(ni_dup(NI_TEST_BAD_HANDLE, &copy), NI_TEST_EBADF);
    CHECK_RC(ni_dup(original, NULL), NI_TEST_EINVAL);
    CHECK_INT(copy, 12345);
#ifndef _WIN32
    int lowest_free = 0; /* where dup puts it */
    while (fcntl(lowest_free, F_GETFD) >= 0)
        lowest_free++;
#endif
    if (CHECK_OK(ni_dup(original, &copy)))
    {
        CHECK(copy != original);
#ifndef _WIN32
        CHECK_INT(copy, lowest_free);
#endif
        CHECK_INT(ni_test_inherit_flag(copy), 0);
        CHECK_INT(ni_test_inherit_flag(original), 1); /* the original is left alone */
        /* One open file: the position is shared. */
        CHECK_INT(ni_test_write(copy, "xyz", 3), 3);
        CHECK_INT(ni_test_seek(original, 0, SEEK_CUR), 3);
        CHECK_OK(ni_close(copy));
    }
    CHECK_OK(ni_close(original));
}

static void dup_is_not_inherited(void)
{
    char path[NI_TEST_PATH_MAX];
    ni_test_path(path, "file");
    ni_handle original, ours;
    if (!CHECK_OK(ni_open(path, NI_O_RDWR | NI_O_CREAT, 0644, &original)))
        return;
    if (CHECK_OK(ni_dup(original, &ours)))
    {
        ni_handle control = ni_test_plain_dup(original);
        if (CHECK(control != NI_INVALID_HANDLE))
        {
            CHECK_NOT_INHERITED(ours, control);
            CHECK_OK(ni_close(control));
        }
        CHECK_OK(ni_close(ours));
    }
    CHECK_OK(ni_close(original));
}

static void close_works(void)
{
    char path[NI_TEST_PATH_MAX];
    ni_test_path(path, "file");
    ni_handle file, socket, r, w;
    if (CHECK_OK(ni_open(path, NI_O_RDWR | NI_O_CREAT, 0644, &file)))
    {
        CHECK_OK(ni_close(file));
        CHECK_INT(ni_test_inherit_flag(file), -1);
        CHECK_RC(ni_close(file), NI_TEST_EBADF); /* already closed */
    }
    if (CHECK_OK(ni_socket(NI_AF_INET, NI_SOCK_STREAM, 0, &socket)))
    {
        CHECK_OK(ni_close(socket));
        int type;
        socklen_t length = sizeof type;
        CHECK(getsockopt(NI_TEST_SOCKET(socket), SOL_SOCKET, SO_TYPE, (char*)&type, &length) != 0);
        CHECK_INT(ni_test_inherit_flag(socket), -1);
    }
    if (CHECK_OK(ni_pipe(&r, &w)))
    {
        CHECK_OK(ni_close(r));
        CHECK_INT(ni_test_inherit_flag(r), -1);
        CHECK_RC(ni_close(r), NI_TEST_EBADF); /* already closed */
        CHECK_OK(ni_close(w));
    }
    CHECK_RC(ni_close(NI_TEST_BAD_HANDLE), NI_TEST_EBADF);
    CHECK_INT(ni_error_kind(ni_close(NI_TEST_BAD_HANDLE)), NI_ERR_BADF);
#ifndef _WIN32
    CHECK_RC(ni_close(NI_INVALID_HANDLE), EBADF);
#endif
}

NI_TEST_MAIN(
    NI_TEST(pipe_works),
    NI_TEST(pipe_is_not_inherited),
    NI_TEST(dup_works),
    NI_TEST(dup_is_not_inherited),
    NI_TEST(close_works))
