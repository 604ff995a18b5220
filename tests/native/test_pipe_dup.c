/* ni_pipe, ni_dup, ni_close. */
#include "ni_test.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

static int lowest_free_fd(void)
{
    int fd = 0;
    while (fcntl(fd, F_GETFD) >= 0)
        fd++;
    return fd;
}

static void pipe_works(void)
{
    ni_handle r = 12345, w = 12345;
    CHECK_RC(ni_pipe(NULL, &w), EINVAL);
    CHECK_RC(ni_pipe(&r, NULL), EINVAL);
    CHECK(r == 12345 && w == 12345);
    if (!CHECK_OK(ni_pipe(&r, &w)))
        return;
    CHECK(fcntl((int)r, F_GETFD) & FD_CLOEXEC);
    CHECK(fcntl((int)w, F_GETFD) & FD_CLOEXEC);
    CHECK_INT(fcntl((int)r, F_GETFL) & O_ACCMODE, O_RDONLY);
    CHECK_INT(fcntl((int)w, F_GETFL) & O_ACCMODE, O_WRONLY);
    char buffer[4] = { 0 };
    CHECK_INT(write((int)w, "abc", 3), 3);
    CHECK_INT(read((int)r, buffer, sizeof buffer), 3);
    CHECK_OK(ni_close(w));
    CHECK_INT(read((int)r, buffer, sizeof buffer), 0); /* the write end really was closed */
    CHECK_OK(ni_close(r));
}

static void pipe_is_not_inherited(void)
{
    ni_handle r, w;
    int control[2];
    if (!CHECK_OK(ni_pipe(&r, &w)))
        return;
    if (CHECK_INT(pipe(control), 0))
    {
        char ours_target[64], control_target[64];
        ni_test_inode_target((int)r, ours_target, sizeof ours_target);
        ni_test_inode_target(control[0], control_target, sizeof control_target);
        /* Both ends of one pipe have the same target; the fd number tells them apart. */
        CHECK_NOT_INHERITED(r, ours_target, control[0], control_target);
        CHECK_NOT_INHERITED(w, ours_target, control[1], control_target);
        close(control[0]);
        close(control[1]);
    }
    CHECK_OK(ni_close(r));
    CHECK_OK(ni_close(w));
}

static void dup_works(void)
{
    char path[PATH_MAX];
    ni_test_path(path, "file");
    int original = open(path, O_RDWR | O_CREAT, 0644); /* inheritable: the copy still must not be */
    if (!CHECK(original >= 0))
        return;
    ni_handle copy = 12345;
    CHECK_RC(ni_dup(NI_TEST_BAD_HANDLE, &copy), EBADF);
    CHECK_RC(ni_dup(original, NULL), EINVAL);
    CHECK_INT(copy, 12345);
    int expected = lowest_free_fd();
    if (CHECK_OK(ni_dup(original, &copy)))
    {
        CHECK_INT(copy, expected);
        CHECK(fcntl((int)copy, F_GETFD) & FD_CLOEXEC);
        CHECK_INT(fcntl(original, F_GETFD) & FD_CLOEXEC, 0); /* the original is left alone */
        /* One open file description: the offset is shared. */
        CHECK_INT(write((int)copy, "xyz", 3), 3);
        CHECK_INT(lseek(original, 0, SEEK_CUR), 3);
        CHECK_OK(ni_close(copy));
    }
    close(original);
}

static void dup_is_not_inherited(void)
{
    char path[PATH_MAX];
    ni_test_path(path, "file");
    ni_handle original, ours;
    if (!CHECK_OK(ni_open(path, NI_O_RDWR | NI_O_CREAT, 0644, &original)))
        return;
    if (CHECK_OK(ni_dup(original, &ours)))
    {
        int control = dup((int)original);
        if (CHECK(control >= 0))
        {
            CHECK_NOT_INHERITED(ours, path, control, path);
            close(control);
        }
        CHECK_OK(ni_close(ours));
    }
    CHECK_OK(ni_close(original));
}

static void close_works(void)
{
    ni_handle r, w;
    if (!CHECK_OK(ni_pipe(&r, &w)))
        return;
    CHECK_OK(ni_close(r));
    CHECK(fcntl((int)r, F_GETFD) < 0 && errno == EBADF);
    CHECK_RC(ni_close(r), EBADF); /* already closed */
    CHECK_RC(ni_close(NI_TEST_BAD_HANDLE), EBADF);
    CHECK_RC(ni_close(NI_INVALID_HANDLE), EBADF);
    CHECK_OK(ni_close(w));
}

NI_TEST_MAIN(
    NI_TEST(pipe_works),
    NI_TEST(pipe_is_not_inherited),
    NI_TEST(dup_works),
    NI_TEST(dup_is_not_inherited),
    NI_TEST(close_works))
