/* ni_exit_watcher_*: one thread told of the exits of many children through their pidfds (Linux); refused elsewhere. */
#include "ni_test.h"

#ifndef _WIN32
#  include <errno.h>
#  include <signal.h>
#endif

static void exit_watcher_rejects_bad_arguments(void)
{
    CHECK_RC(ni_exit_watcher_create(NULL), NI_TEST_EINVAL);
    int64_t keys[4];
    int32_t count = 12345;
    CHECK_RC(ni_exit_watcher_wait(NI_INVALID_HANDLE, 0, NULL, 4, &count), NI_TEST_EINVAL);
    CHECK_RC(ni_exit_watcher_wait(NI_INVALID_HANDLE, 0, keys, 4, NULL), NI_TEST_EINVAL);
    CHECK_RC(ni_exit_watcher_wait(NI_INVALID_HANDLE, 0, keys, 0, &count), NI_TEST_EINVAL);
    CHECK_RC(ni_exit_watcher_wait(NI_INVALID_HANDLE, -2, keys, 4, &count), NI_TEST_EINVAL);
    CHECK_RC(ni_exit_watcher_add(NI_INVALID_HANDLE, NULL, 1), NI_TEST_EINVAL);
    CHECK_INT(count, 12345); /* written only on success */
    ni_handle watcher = NI_INVALID_HANDLE;
#ifdef _WIN32
    CHECK_RC(ni_exit_watcher_create(&watcher), ERROR_NOT_SUPPORTED);
    CHECK(watcher == NI_INVALID_HANDLE);
#else
    int32_t error = ni_exit_watcher_create(&watcher);
    if (error == ENOTSUP)
    {
        ni_test_skip("no exit watcher on this system (Linux only)");
        return;
    }
    if (!CHECK_OK(error))
        return;
    CHECK_INT(ni_test_inherit_flag(watcher), 0);
    ni_process no_pidfd = { 1, NI_INVALID_HANDLE, NI_INVALID_HANDLE, NI_INVALID_HANDLE };
    CHECK_RC(ni_exit_watcher_add(watcher, &no_pidfd, 1), ENOTSUP);
    ni_process bad = { 1, NI_TEST_BAD_HANDLE, NI_INVALID_HANDLE, NI_INVALID_HANDLE };
    CHECK_RC(ni_exit_watcher_add(watcher, &bad, 1), EBADF);
    CHECK_RC(ni_exit_watcher_add(NI_TEST_BAD_HANDLE, &bad, 1), EBADF);
    CHECK_RC(ni_exit_watcher_wait(NI_TEST_BAD_HANDLE, 0, keys, 4, &count), EBADF);
    ni_handle r, w; /* a descriptor that is not a watcher */
    if (CHECK_OK(ni_pipe(&r, &w)))
    {
        CHECK_RC(ni_exit_watcher_wait(r, 0, keys, 4, &count), EBADF);
        CHECK_OK(ni_close(r));
        CHECK_OK(ni_close(w));
    }
    CHECK_OK(ni_exit_watcher_wait(watcher, 0, keys, 4, &count));
    CHECK_INT(count, 0); /* nothing watched: the time (none) runs out */
    ni_handle closed = watcher;
    CHECK_OK(ni_close(watcher));
    CHECK_RC(ni_exit_watcher_wait(closed, 0, keys, 4, &count), EBADF);
#endif
}

#ifdef __linux__
/* Starts `sh -c script`; 1 if it started with a pidfd (else the case is skipped and the child collected). */
static int start_shell(const char* script, ni_process* process)
{
    const char* argv[] = { "/bin/sh", "-c", script, NULL };
    if (!CHECK_OK(ni_spawn(argv[0], argv, NULL, NULL, NULL, 0, 0, process)))
        return 0;
    if (process->handle != NI_INVALID_HANDLE)
        return 1;
    ni_test_skip("no pidfd_open here (kernel before 5.3, or an emulator without it)");
    int32_t exited, code;
    CHECK_OK(ni_wait(process, -1, &exited, &code));
    CHECK_OK(ni_process_close(process));
    return 0;
}

/* Three children (one gone before it is watched) are each reported once, with their key, as they exit, two keys
   at most per call; their exits are left to ni_wait, which gets each code. */
static void exit_watcher_reports_each_exit_once(void)
{
    ni_handle watcher;
    if (!CHECK_OK(ni_exit_watcher_create(&watcher)))
        return;
    const char* scripts[] = { "sleep 0.3; exit 11", "sleep 0.1; exit 12", "exit 13" };
    ni_process children[3];
    int started = 0;
    for (; started < 3 && start_shell(scripts[started], &children[started]); started++)
    {
        if (started == 2) /* this one has exited before it is watched: reported at once */
        {
            int32_t exited = 0;
            CHECK_OK(ni_wait_for_exit(&children[2], -1, &exited));
        }
        CHECK_OK(ni_exit_watcher_add(watcher, &children[started], 100 + started));
    }
    int seen[3] = { 0, 0, 0 }, total = 0;
    long long start = ni_test_now_ms();
    while (started == 3 && total < 3 && ni_test_now_ms() - start < 10000)
    {
        int64_t keys[2] = { -1, -1 };
        int32_t count = -1;
        if (!CHECK_OK(ni_exit_watcher_wait(watcher, 5000, keys, 2, &count)) || !CHECK(count >= 1 && count <= 2))
            break;
        for (int32_t i = 0; i < count; i++)
        {
            if (!CHECK(keys[i] >= 100 && keys[i] <= 102))
                continue;
            seen[keys[i] - 100]++;
            total++;
            /* Reported means exited: a wait that only looks finds it so. */
            int32_t exited = 0;
            CHECK_OK(ni_wait_for_exit(&children[keys[i] - 100], 0, &exited));
            CHECK_INT(exited, 1);
        }
    }
    if (started == 3)
    {
        CHECK(seen[0] == 1 && seen[1] == 1 && seen[2] == 1);
        int64_t keys[2];
        int32_t count = -1;
        CHECK_OK(ni_exit_watcher_wait(watcher, 200, keys, 2, &count));
        CHECK_INT(count, 0); /* once each, although the pidfds stay readable */
    }
    for (int i = 0; i < started; i++)
    {
        int32_t exited = 0, code = -1;
        CHECK_OK(ni_wait(&children[i], -1, &exited, &code)); /* not collected by the watcher */
        CHECK_INT(code, 11 + i);
        CHECK_OK(ni_process_close(&children[i]));
    }
    CHECK_OK(ni_close(watcher));
    CHECK(ni_test_no_children_left());
}

/* A child released (collected, its handles closed) before its exit was reported is not reported. */
static void exit_watcher_forgets_a_released_child(void)
{
    ni_handle watcher;
    if (!CHECK_OK(ni_exit_watcher_create(&watcher)))
        return;
    ni_process child;
    if (start_shell("sleep 30", &child))
    {
        CHECK_OK(ni_exit_watcher_add(watcher, &child, 7));
        CHECK_OK(ni_kill(&child, SIGKILL));
        int32_t exited = 0, code = -1;
        CHECK_OK(ni_wait(&child, -1, &exited, &code));
        CHECK_OK(ni_process_close(&child));
        int64_t keys[2];
        int32_t count = -1;
        CHECK_OK(ni_exit_watcher_wait(watcher, 200, keys, 2, &count));
        CHECK_INT(count, 0);
    }
    CHECK_OK(ni_close(watcher));
    CHECK(ni_test_no_children_left());
}
#endif

#ifdef __linux__
/* The watcher is close-on-exec from its creation: a child started now does not hold it; the control, a pipe made
   inheritable without the library, it does. */
static void exit_watcher_is_not_inherited(void)
{
    ni_handle watcher, control_r, control_w;
    if (!CHECK_OK(ni_exit_watcher_create(&watcher)))
        return;
    if (CHECK(ni_test_plain_pipe(&control_r, &control_w)))
    {
        CHECK_NOT_INHERITED(watcher, control_r);
        CHECK_OK(ni_close(control_r));
        CHECK_OK(ni_close(control_w));
    }
    CHECK_OK(ni_close(watcher));
}
#endif

NI_TEST_MAIN(
    NI_TEST(exit_watcher_rejects_bad_arguments),
    NI_TEST_LINUX(exit_watcher_is_not_inherited),
    NI_TEST_LINUX(exit_watcher_reports_each_exit_once),
    NI_TEST_LINUX(exit_watcher_forgets_a_released_child))
