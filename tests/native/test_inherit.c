/* ni_get_inheritable, ni_set_inheritable. */
#include "ni_test.h"

#include <string.h>

static int32_t inheritable(ni_handle h)
{
    int32_t value = -1;
    CHECK_OK(ni_get_inheritable(h, &value));
    return value;
}

/* A file, a pipe's read end (with 5 bytes waiting) and a bound socket, all from the library. */
struct handles
{
    ni_handle file, r, w, socket;
};

static int open_handles(struct handles* h)
{
    char path[NI_TEST_PATH_MAX];
    ni_test_path(path, "file");
    memset(h, 0xff, sizeof *h); /* NI_INVALID_HANDLE */
    return CHECK_OK(ni_open(path, NI_O_RDWR | NI_O_CREAT, 0644, &h->file)) && CHECK_OK(ni_pipe(&h->r, &h->w)) &&
           CHECK_INT(ni_test_write(h->w, "bytes", 5), 5) &&
           CHECK_OK(ni_socket(NI_AF_INET, NI_SOCK_STREAM, 0, &h->socket)) && CHECK(ni_test_bind_loopback(h->socket) > 0);
}

static void close_handles(struct handles* h)
{
    const ni_handle all[] = { h->file, h->r, h->w, h->socket };
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        if (all[i] != NI_INVALID_HANDLE)
            CHECK_OK(ni_close(all[i]));
}

static void get_set_round_trip(void)
{
    struct handles h;
    if (open_handles(&h))
    {
        const ni_handle each[] = { h.file, h.r, h.socket };
        for (size_t i = 0; i < sizeof each / sizeof each[0]; i++)
        {
            CHECK_INT(inheritable(each[i]), 0);
            CHECK_OK(ni_set_inheritable(each[i], 1));
            CHECK_INT(inheritable(each[i]), 1);
            CHECK_INT(ni_test_inherit_flag(each[i]), 1);
            CHECK_OK(ni_set_inheritable(each[i], 1)); /* idempotent */
            CHECK_INT(inheritable(each[i]), 1);
            CHECK_OK(ni_set_inheritable(each[i], 0));
            CHECK_INT(inheritable(each[i]), 0);
            CHECK_INT(ni_test_inherit_flag(each[i]), 0);
            CHECK_OK(ni_set_inheritable(each[i], 0));
            CHECK_INT(inheritable(each[i]), 0);
        }
    }
    close_handles(&h);

    /* Made without the library, inheritable: read as such. */
    char path[NI_TEST_PATH_MAX];
    ni_test_path(path, "plain");
    ni_handle plain = ni_test_plain_file(path), r, w;
    if (CHECK(plain != NI_INVALID_HANDLE))
    {
        CHECK_INT(inheritable(plain), 1);
        CHECK_OK(ni_close(plain));
    }
    if (CHECK(ni_test_plain_pipe(&r, &w)))
    {
        CHECK_INT(inheritable(r), 1);
        CHECK_OK(ni_close(r));
        CHECK_OK(ni_close(w));
    }
}

static void inheritable_errors(void)
{
    int32_t value = 12345;
    CHECK_RC(ni_get_inheritable(NI_TEST_BAD_HANDLE, &value), NI_TEST_EBADF);
    CHECK_RC(ni_set_inheritable(NI_TEST_BAD_HANDLE, 0), NI_TEST_EBADF);
    CHECK_RC(ni_set_inheritable(NI_TEST_BAD_HANDLE, 1), NI_TEST_EBADF);
    CHECK_INT(value, 12345);

    ni_handle r, w;
    if (!CHECK_OK(ni_pipe(&r, &w)))
        return;
    CHECK_RC(ni_get_inheritable(r, NULL), NI_TEST_EINVAL);
    CHECK_RC(ni_set_inheritable(r, 2), NI_TEST_EINVAL);
    CHECK_RC(ni_set_inheritable(r, -1), NI_TEST_EINVAL);
    CHECK_INT(inheritable(r), 0); /* a rejected call changes nothing */
    CHECK_OK(ni_close(r));
    CHECK_OK(ni_close(w));
}

static void set_inheritable_reaches_child(void)
{
    /* The same handle, seen by three children: absent, present once made inheritable, absent
       again. The middle one is also the control that shows the child can see it. */
    struct handles h;
    if (open_handles(&h))
    {
        const ni_handle each[] = { h.file, h.r, h.socket };
        for (size_t i = 0; i < sizeof each / sizeof each[0]; i++)
        {
            CHECK(!ni_test_child_sees(each[i]));
            CHECK_OK(ni_set_inheritable(each[i], 1));
            CHECK(ni_test_child_sees(each[i]));
            CHECK_OK(ni_set_inheritable(each[i], 0));
            CHECK(!ni_test_child_sees(each[i]));
        }
    }
    close_handles(&h);
}

NI_TEST_MAIN(
    NI_TEST(get_set_round_trip),
    NI_TEST(inheritable_errors),
    NI_TEST(set_inheritable_reaches_child))
