/* ni_get_inheritable, ni_set_inheritable. */
#include "ni_test.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

static int32_t inheritable(ni_handle h)
{
    int32_t value = -1;
    CHECK_OK(ni_get_inheritable(h, &value));
    return value;
}

static void get_set_round_trip(void)
{
    char path[PATH_MAX];
    ni_test_path(path, "file");
    ni_handle h;
    if (!CHECK_OK(ni_open(path, NI_O_RDWR | NI_O_CREAT, 0644, &h)))
        return;
    CHECK_INT(inheritable(h), 0);
    CHECK_OK(ni_set_inheritable(h, 1));
    CHECK_INT(inheritable(h), 1);
    CHECK_INT(fcntl((int)h, F_GETFD) & FD_CLOEXEC, 0);
    CHECK_OK(ni_set_inheritable(h, 1)); /* idempotent */
    CHECK_INT(inheritable(h), 1);
    CHECK_OK(ni_set_inheritable(h, 0));
    CHECK_INT(inheritable(h), 0);
    CHECK(fcntl((int)h, F_GETFD) & FD_CLOEXEC);
    CHECK_OK(ni_set_inheritable(h, 0));
    CHECK_INT(inheritable(h), 0);
    CHECK_OK(ni_close(h));

    int plain = open(path, O_RDONLY); /* made without the library: inheritable */
    if (CHECK(plain >= 0))
    {
        CHECK_INT(inheritable(plain), 1);
        close(plain);
    }
}

static void inheritable_errors(void)
{
    int32_t value = 12345;
    CHECK_RC(ni_get_inheritable(NI_TEST_BAD_HANDLE, &value), EBADF);
    CHECK_RC(ni_set_inheritable(NI_TEST_BAD_HANDLE, 0), EBADF);
    CHECK_RC(ni_set_inheritable(NI_TEST_BAD_HANDLE, 1), EBADF);
    CHECK_INT(value, 12345);

    ni_handle r, w;
    if (!CHECK_OK(ni_pipe(&r, &w)))
        return;
    CHECK_RC(ni_get_inheritable(r, NULL), EINVAL);
    CHECK_RC(ni_set_inheritable(r, 2), EINVAL);
    CHECK_RC(ni_set_inheritable(r, -1), EINVAL);
    CHECK_INT(inheritable(r), 0); /* a rejected call changes nothing */
    CHECK_OK(ni_close(r));
    CHECK_OK(ni_close(w));
}

static void set_inheritable_reaches_child(void)
{
    /* The same descriptor, seen by three children: absent, present once made inheritable, absent
       again. The middle one is also the control that shows the check can see it. */
    char path[PATH_MAX], pipe_target[64];
    ni_test_path(path, "file");
    ni_handle file, r, w;
    if (!CHECK_OK(ni_open(path, NI_O_RDWR | NI_O_CREAT, 0644, &file)))
        return;
    if (CHECK_OK(ni_pipe(&r, &w)))
    {
        ni_test_inode_target((int)r, pipe_target, sizeof pipe_target);
        const struct { ni_handle h; const char* target; } cases[] = { { file, path }, { r, pipe_target } };
        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        {
            int fd = (int)cases[i].h;
            CHECK(!ni_test_child_sees(fd, cases[i].target));
            CHECK_OK(ni_set_inheritable(cases[i].h, 1));
            CHECK(ni_test_child_sees(fd, cases[i].target));
            CHECK_OK(ni_set_inheritable(cases[i].h, 0));
            CHECK(!ni_test_child_sees(fd, cases[i].target));
        }
        CHECK_OK(ni_close(r));
        CHECK_OK(ni_close(w));
    }
    CHECK_OK(ni_close(file));
}

NI_TEST_MAIN(
    NI_TEST(get_set_round_trip),
    NI_TEST(inheritable_errors),
    NI_TEST(set_inheritable_reaches_child))
