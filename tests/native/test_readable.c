/* ni_wait_readable: which of two pipes can be read, waiting for the first; not on Windows. */
#include "ni_test.h"

#ifndef _WIN32
#  include <pthread.h>
#  include <time.h>
#endif

static void wait_readable_rejects_bad_arguments(void)
{
    ni_handle r, w;
    if (!CHECK_OK(ni_pipe(&r, &w)))
        return;
    int32_t ready = 12345;
    CHECK_RC(ni_wait_readable(r, NI_INVALID_HANDLE, 0, NULL), NI_TEST_EINVAL);
    CHECK_RC(ni_wait_readable(r, NI_INVALID_HANDLE, -2, &ready), NI_TEST_EINVAL);
    CHECK_RC(ni_wait_readable(NI_INVALID_HANDLE, NI_INVALID_HANDLE, 0, &ready), NI_TEST_EINVAL);
#ifdef _WIN32
    CHECK_RC(ni_wait_readable(r, w, 0, &ready), ERROR_NOT_SUPPORTED);
#else
    CHECK_RC(ni_wait_readable(r, NI_TEST_BAD_HANDLE, 0, &ready), EBADF);
    CHECK_RC(ni_wait_readable((ni_handle)-5, r, 0, &ready), EBADF); /* names no descriptor: not skipped as "none" */
#endif
    CHECK_INT(ready, 12345); /* written only on success */
    CHECK_OK(ni_close(w));
#ifndef _WIN32
    ni_handle closed = r;
    CHECK_OK(ni_close(r));
    CHECK_RC(ni_wait_readable(closed, NI_INVALID_HANDLE, 0, &ready), EBADF);
#else
    CHECK_OK(ni_close(r));
#endif
}

#ifndef _WIN32
/* Says which pipe has data or has ended, and 0 once the time has run out with neither. */
static void wait_readable_says_which(void)
{
    ni_handle r1, w1, r2, w2;
    if (!CHECK_OK(ni_pipe(&r1, &w1)))
        return;
    if (CHECK_OK(ni_pipe(&r2, &w2)))
    {
        int32_t ready = -1;
        CHECK_OK(ni_wait_readable(r1, r2, 0, &ready));
        CHECK_INT(ready, 0);
        long long before = ni_test_now_ms();
        CHECK_OK(ni_wait_readable(r1, r2, 100, &ready));
        long long waited = ni_test_now_ms() - before;
        CHECK_INT(ready, 0);
        CHECK(waited >= 90 && waited < 5000);
        CHECK_INT(ni_test_write(w2, "b", 1), 1);
        CHECK_OK(ni_wait_readable(r1, r2, -1, &ready));
        CHECK_INT(ready, NI_READABLE_SECOND);
        CHECK_OK(ni_wait_readable(r1, NI_INVALID_HANDLE, 0, &ready)); /* the other one left out */
        CHECK_INT(ready, 0);
        CHECK_INT(ni_test_write(w1, "a", 1), 1);
        CHECK_OK(ni_wait_readable(r1, r2, -1, &ready));
        CHECK_INT(ready, NI_READABLE_FIRST | NI_READABLE_SECOND);
        char c;
        CHECK_INT(ni_test_read(r1, &c, 1), 1);
        CHECK_OK(ni_wait_readable(r1, r2, 0, &ready));
        CHECK_INT(ready, NI_READABLE_SECOND); /* read: it waits again */
        CHECK_OK(ni_close(w1)); /* the end: readable (a read gives 0 at once) */
        CHECK_OK(ni_wait_readable(r1, NI_INVALID_HANDLE, 0, &ready));
        CHECK_INT(ready, NI_READABLE_FIRST);
        CHECK_INT(ni_test_read(r1, &c, 1), 0);
        CHECK_OK(ni_close(r2));
        CHECK_OK(ni_close(w2));
    }
    CHECK_OK(ni_close(r1));
}

struct late_write
{
    ni_handle w;
    int delay_ms;
};

static void* late_write_main(void* arg)
{
    struct late_write* late = arg;
    struct timespec ts = { 0, (long)late->delay_ms * 1000000L };
    nanosleep(&ts, NULL);
    ni_test_write(late->w, "x", 1);
    return NULL;
}

/* Without a time limit it blocks until the data comes, and returns as soon as it does. */
static void wait_readable_blocks_until_data(void)
{
    ni_handle r1, w1, r2, w2;
    if (!CHECK_OK(ni_pipe(&r1, &w1)))
        return;
    if (CHECK_OK(ni_pipe(&r2, &w2)))
    {
        struct late_write late = { w2, 200 };
        pthread_t thread;
        if (CHECK_INT(pthread_create(&thread, NULL, late_write_main, &late), 0))
        {
            int32_t ready = -1;
            long long before = ni_test_now_ms();
            CHECK_OK(ni_wait_readable(r1, r2, -1, &ready));
            long long waited = ni_test_now_ms() - before;
            pthread_join(thread, NULL);
            CHECK_INT(ready, NI_READABLE_SECOND);
            CHECK(waited >= 150 && waited < 10000);
        }
        CHECK_OK(ni_close(r2));
        CHECK_OK(ni_close(w2));
    }
    CHECK_OK(ni_close(r1));
    CHECK_OK(ni_close(w1));
}
#endif

NI_TEST_MAIN(
    NI_TEST(wait_readable_rejects_bad_arguments),
    NI_TEST_POSIX(wait_readable_says_which),
    NI_TEST_POSIX(wait_readable_blocks_until_data))
