/* ni_pty_open, ni_pty_resize, ni_pty_close and NI_SPAWN_TERMINAL: children on a pseudo-terminal of their own,
   with real programs (python3, stty, sh), and no descriptor of any terminal anywhere else. POSIX only for now:
   Windows' pseudo console is not implemented yet (native/src/windows/pending.c). */
#include "ni_test.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#ifdef __linux__
#  include <sys/sysmacros.h>
#endif

#define PYTHON "/usr/bin/python3"
/* How the master's reads end once no slave is open (ni_pty_open): EIO on Linux, a 0-byte read elsewhere. */
#ifdef __linux__
#  define PTY_END EIO
#else
#  define PTY_END 0
#endif

/* What the terminal shows: everything read from the master until `want` appears (NULL: until the end), the end
   (*end: the errno of the read that ended it, EIO on Linux once no slave is open, or 0 for a 0-byte read), or 20 s
   pass. Malloc'd, NUL-terminated. */
static char* read_terminal(const ni_pty* pty, const char* want, int* end)
{
    size_t size = 0, capacity = 4096;
    char* text = malloc(capacity);
    text[0] = '\0';
    *end = -1;
    long long deadline = ni_test_now_ms() + 20000;
    for (;;)
    {
        int left = (int)(deadline - ni_test_now_ms());
        struct pollfd p = { (int)pty->output, POLLIN, 0 };
        int ready = left > 0 ? poll(&p, 1, left) : 0;
        if (ready < 0 && errno == EINTR)
            continue;
        if (ready <= 0)
            break;
        if (size + 1024 > capacity)
            text = realloc(text, capacity *= 2);
        ssize_t n = read((int)pty->output, text + size, capacity - size - 1);
        if (n <= 0)
        {
            *end = n < 0 ? errno : 0;
            break;
        }
        size += (size_t)n;
        text[size] = '\0';
        if (want != NULL && strstr(text, want) != NULL)
            break;
    }
    return text;
}

/* Starts argv on the terminal (and `extra` flags), with nothing else mapped. */
static int start_on(const ni_pty* pty, const char* const* argv, int32_t flags, ni_process* process)
{
    ni_fd_mapping m[] = { { pty->console, NI_SPAWN_TERMINAL } };
    return CHECK_OK(ni_spawn(argv[0], argv, NULL, NULL, m, 1, flags, process));
}

static int32_t exit_code(ni_process* process)
{
    int32_t exited = 0, code = -1;
    CHECK_OK(ni_wait(process, 20000, &exited, &code));
    CHECK_INT(exited, 1);
    CHECK_OK(ni_process_close(process));
    return code;
}

/* The name of the console's device, as the child should see it from ttyname (and, on Linux, as the checker
   describes it). */
static void console_name(const ni_pty* pty, char* name, size_t size)
{
    if (ttyname_r((int)pty->console, name, size) != 0)
        name[0] = '\0';
}

/* The child's standard streams are the terminal; the end of output is EIO once our slave is closed too, after
   the output and before the exit code is collected. */
static void child_sees_a_terminal(void)
{
    ni_pty pty;
    if (!CHECK_OK(ni_pty_open(80, 24, &pty)))
        return;
    char name[NI_TEST_DESCRIPTION_MAX], expected[NI_TEST_DESCRIPTION_MAX + 32];
    console_name(&pty, name, sizeof name);
    const char* argv[] = { PYTHON, "-c", "import os; print(os.isatty(0), os.isatty(1), os.ttyname(0))", NULL };
    ni_process process;
    if (start_on(&pty, argv, 0, &process))
    {
        CHECK_OK(ni_close(pty.console)); /* ours: the child holds the slave now */
        pty.console = NI_INVALID_HANDLE;
        int end;
        char* text = read_terminal(&pty, NULL, &end);
        snprintf(expected, sizeof expected, "True True %s\r\n", name); /* the terminal turns \n into \r\n */
        if (!CHECK(strcmp(text, expected) == 0))
            fprintf(stderr, "got \"%s\", expected \"%s\"\n", text, expected);
        CHECK_INT(end, PTY_END);
        free(text);
        CHECK_INT(exit_code(&process), 0);
    }
    CHECK_OK(ni_pty_close(&pty));
}

#ifdef __linux__
/* The session the child leads and its controlling terminal, from /proc; the exit code after the end of output;
   and SIGHUP for a child still on the terminal when the master is closed. */
static void child_leads_a_session_on_the_terminal(void)
{
    ni_pty pty;
    if (!CHECK_OK(ni_pty_open(80, 24, &pty)))
        return;
    struct stat console;
    const char* argv[] = { "/bin/sh", "-c", "echo hello; exit 7", NULL };
    ni_process process;
    int end;
    if (start_on(&pty, argv, 0, &process))
    {
        ni_close(pty.console);
        pty.console = NI_INVALID_HANDLE;
        char* text = read_terminal(&pty, NULL, &end);
        CHECK(strcmp(text, "hello\r\n") == 0);
        CHECK_INT(end, PTY_END);
        free(text);
        CHECK_INT(exit_code(&process), 7);
    }
    CHECK_OK(ni_pty_close(&pty));
    CHECK_INT(pty.input, NI_INVALID_HANDLE);
    CHECK_INT(pty.output, NI_INVALID_HANDLE);
    CHECK_OK(ni_pty_close(&pty)); /* twice is harmless */

    const char* sleeper[] = { "/bin/sleep", "30", NULL };
    if (!CHECK_OK(ni_pty_open(80, 24, &pty)) || !CHECK(fstat((int)pty.console, &console) == 0) ||
        !start_on(&pty, sleeper, 0, &process))
        return;
    struct ni_test_proc proc;
    if (CHECK(ni_test_proc_stat((int)process.pid, &proc)))
    {
        CHECK_INT(proc.session, process.pid);
        CHECK_INT(proc.group, process.pid);
        CHECK_INT(proc.foreground, process.pid); /* its group is the terminal's foreground group */
        /* ...and its controlling terminal is the console (tty_nr: the kernel's encoding of the device number). */
        unsigned int major = major(console.st_rdev), minor = minor(console.st_rdev);
        CHECK_INT(proc.tty, (int)((minor & 0xff) | (major << 8) | ((minor & ~0xffu) << 12)));
    }
    CHECK_OK(ni_pty_close(&pty)); /* hangs the terminal up */
    CHECK_INT(exit_code(&process), 128 + SIGHUP);
}
#endif

/* stty reads the size; a resize changes it for the next child. */
static void stty_size_follows_resize(void)
{
    ni_pty pty;
    if (!CHECK_OK(ni_pty_open(80, 24, &pty)))
        return;
    const char* argv[] = { "/bin/stty", "size", NULL };
    const char* expected[] = { "24 80\r\n", "40 100\r\n" };
    for (int round = 0; round < 2; round++)
    {
        if (round == 1)
            CHECK_OK(ni_pty_resize(&pty, 100, 40));
        ni_process process;
        if (!start_on(&pty, argv, 0, &process))
            break;
        int end;
        char* text = read_terminal(&pty, "\n", &end);
        if (!CHECK(strcmp(text, expected[round]) == 0))
            fprintf(stderr, "round %d: got \"%s\"\n", round, text);
        free(text);
        CHECK_INT(exit_code(&process), 0);
    }
    CHECK_OK(ni_pty_close(&pty));
}

/* Starts Python on the terminal with `handler` (a Python statement) for `signal_name`, and waits until it is
   ready for the signal. It sleeps in short steps: Python runs a handler between two bytecodes, so a signal
   that comes after its last check and before a long sleep began would wait for the end of that sleep. */
static int start_waiting_python(const ni_pty* pty, const char* signal_name, const char* handler, ni_process* process)
{
    char script[512];
    snprintf(script, sizeof script,
             "import os, signal, sys, time\n"
             "def handler(s, f):\n"
             "    %s\n"
             "signal.signal(signal.%s, handler)\n"
             "print('ready', flush=True)\n"
             "for _ in range(600): time.sleep(0.05)\n",
             handler, signal_name);
    const char* argv[] = { PYTHON, "-c", script, NULL };
    if (!start_on(pty, argv, 0, process))
        return 0;
    int end;
    char* text = read_terminal(pty, "ready\r\n", &end);
    int ready = CHECK(strstr(text, "ready\r\n") != NULL);
    free(text);
    return ready;
}

/* A resize sends SIGWINCH to the child (the terminal's foreground group), which reads the new size. */
static void resize_delivers_sigwinch(void)
{
    ni_pty pty;
    if (!CHECK_OK(ni_pty_open(80, 24, &pty)))
        return;
    ni_process process;
    if (start_waiting_python(&pty, "SIGWINCH", "print('WINCH', *os.get_terminal_size(0), flush=True); sys.exit(3)",
                             &process))
    {
        CHECK_OK(ni_pty_resize(&pty, 132, 43));
        int end;
        char* text = read_terminal(&pty, "\r\n", &end);
        if (!CHECK(strcmp(text, "WINCH 132 43\r\n") == 0))
            fprintf(stderr, "got \"%s\" (end %d)\n", text, end);
        free(text);
        CHECK_INT(exit_code(&process), 3);
    }
    CHECK_OK(ni_pty_close(&pty));
}

/* Ctrl-C typed on the terminal (0x03 written to the master) is SIGINT for the foreground group: the child. It
   answers with its exit code, not with output: the terminal sends the signal, then flushes its output, which
   could take a line the child wrote at once (the terminal echoes "^C" before either). */
static void ctrl_c_interrupts_the_foreground_group(void)
{
    ni_pty pty;
    if (!CHECK_OK(ni_pty_open(80, 24, &pty)))
        return;
    ni_process process;
    if (start_waiting_python(&pty, "SIGINT", "sys.exit(5 if os.tcgetpgrp(0) == os.getpgrp() else 6)", &process))
    {
        CHECK(write((int)pty.input, "\x03", 1) == 1);
        int end;
        char* text = read_terminal(&pty, "^C", &end);
        CHECK(strstr(text, "^C") != NULL); /* echoed */
        free(text);
        CHECK_INT(exit_code(&process), 5); /* interrupted, in the foreground group: not the sleep's 0 */
    }
    CHECK_OK(ni_pty_close(&pty));
}

#ifdef __linux__
/* Whether the checker's `list` has the console `name` or a master under any number. */
static int holds_a_terminal(const char* list, const char* name)
{
    return ni_test_probe_has(list, NI_INVALID_HANDLE, name) || ni_test_probe_has(list, NI_INVALID_HANDLE, "/dev/ptmx") ||
           ni_test_probe_has(list, NI_INVALID_HANDLE, "/dev/pts/ptmx");
}

/* No descriptor of the terminal anywhere else: not in a child started alongside (ni_spawn, fork + exec), and the
   child on the terminal holds the slave as 0, 1, 2 and nothing more (no master). Ours are close-on-exec, and
   opening did not make it our controlling terminal. */
static void no_terminal_descriptor_leaks(void)
{
    struct ni_test_proc before, after;
    ni_pty pty;
    if (!CHECK(ni_test_proc_stat(getpid(), &before)) || !CHECK_OK(ni_pty_open(80, 24, &pty)))
        return;
    char name[NI_TEST_DESCRIPTION_MAX];
    console_name(&pty, name, sizeof name);
    CHECK_INT(ni_test_inherit_flag(pty.output), 0);
    CHECK_INT(ni_test_inherit_flag(pty.console), 0);
    CHECK_INT(pty.input, pty.output);
    CHECK(ni_test_proc_stat(getpid(), &after) && after.tty == before.tty);

    char* list = ni_test_probe(NULL, 0); /* fork + exec */
    CHECK(list != NULL && !holds_a_terminal(list, name));
    free(list);
    char* const* checker = ni_test_child_argv();
    ni_handle r, w;
    ni_process process;
    if (CHECK_OK(ni_pipe(&r, &w)))
    {
        ni_fd_mapping m[] = { { w, 1 } };
        CHECK_OK(ni_spawn(checker[0], (const char* const*)checker, NULL, NULL, m, 1, NI_SPAWN_INHERIT_STDIO, &process));
        ni_close(w);
        int end;
        ni_pty reader = { r, r, NI_INVALID_HANDLE };
        list = read_terminal(&reader, NULL, &end);
        CHECK(!holds_a_terminal(list, name));
        free(list);
        CHECK_INT(exit_code(&process), 0);
        ni_close(r);
    }
    if (start_on(&pty, (const char* const*)checker, 0, &process))
    {
        ni_close(pty.console);
        pty.console = NI_INVALID_HANDLE;
        int end;
        list = read_terminal(&pty, NULL, &end);
        for (char* cr; (cr = strchr(list, '\r')) != NULL;)
            memmove(cr, cr + 1, strlen(cr)); /* the terminal's \r\n back to \n */
        for (int fd = 0; fd <= 2; fd++)
            CHECK(ni_test_probe_has(list, fd, name));
        if (!CHECK(!ni_test_probe_has(list, 3, NULL)))
            fprintf(stderr, "the child on the terminal holds:\n%s", list);
        free(list);
        CHECK_INT(exit_code(&process), 0);
    }
    CHECK_OK(ni_pty_close(&pty));
}

#endif

/* 200 terminals at once, then closed: every descriptor goes (the runner counts them around each case too). */
static void many_terminals_leave_nothing_behind(void)
{
    enum { COUNT = 200 };
    static ni_pty ptys[COUNT];
    int before = ni_test_count_handles();
    int opened = 0;
    for (; opened < COUNT; opened++)
        if (!CHECK_OK(ni_pty_open(80, 24, &ptys[opened])))
            break;
    CHECK_INT(ni_test_count_handles(), before + 2 * opened);
    for (int i = 0; i < opened; i++)
        CHECK_OK(ni_pty_close(&ptys[i]));
    CHECK_INT(ni_test_count_handles(), before);
}

static void bad_arguments(void)
{
    ni_pty pty = { 7, 8, 9 };
    CHECK_RC(ni_pty_open(80, 24, NULL), EINVAL);
    const int32_t sizes[][2] = { { 0, 24 }, { 80, 0 }, { -1, 24 }, { 80, -5 }, { 65536, 24 }, { 80, 65536 } };
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++)
        CHECK_RC(ni_pty_open(sizes[i][0], sizes[i][1], &pty), EINVAL);
    CHECK_INT(pty.input, 7); /* untouched on failure */
    CHECK_RC(ni_pty_resize(NULL, 80, 24), EINVAL);
    CHECK_RC(ni_pty_close(NULL), EINVAL);
    if (!CHECK_OK(ni_pty_open(65535, 1, &pty)))
        return;
    CHECK_RC(ni_pty_resize(&pty, 0, 24), EINVAL);
    CHECK_OK(ni_pty_resize(&pty, 1, 65535));
    const char* argv[] = { "/bin/true", NULL };
    ni_process process;
    ni_fd_mapping two[] = { { pty.console, NI_SPAWN_TERMINAL }, { pty.console, NI_SPAWN_TERMINAL } };
    ni_fd_mapping with_stdout[] = { { pty.console, NI_SPAWN_TERMINAL }, { pty.console, 1 } };
    ni_fd_mapping same_number[] = { { pty.console, NI_SPAWN_TERMINAL }, { 2, NI_SPAWN_SAME_NUMBER } };
    ni_fd_mapping not_a_terminal[] = { { 2, NI_SPAWN_TERMINAL } };
    int null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    not_a_terminal[0].source = null_fd;
    ni_fd_mapping closed[] = { { NI_TEST_BAD_HANDLE, NI_SPAWN_TERMINAL } };
    CHECK_RC(ni_spawn(argv[0], argv, NULL, NULL, two, 2, 0, &process), EINVAL);
    CHECK_RC(ni_spawn(argv[0], argv, NULL, NULL, with_stdout, 2, 0, &process), EINVAL);
    CHECK_RC(ni_spawn(argv[0], argv, NULL, NULL, same_number, 2, 0, &process), EINVAL);
    CHECK_RC(ni_spawn(argv[0], argv, NULL, NULL, two, 1, NI_SPAWN_DETACHED, &process), EINVAL);
    CHECK_RC(ni_spawn(argv[0], argv, NULL, NULL, not_a_terminal, 1, 0, &process), ENOTTY);
    CHECK_RC(ni_spawn(argv[0], argv, NULL, NULL, closed, 1, 0, &process), EBADF);
    close(null_fd);
    CHECK_OK(ni_pty_close(&pty));
    CHECK_RC(ni_pty_resize(&pty, 80, 24), EBADF);
}

NI_TEST_MAIN(
    NI_TEST_POSIX(child_sees_a_terminal),
    NI_TEST_LINUX(child_leads_a_session_on_the_terminal),
    NI_TEST_POSIX(stty_size_follows_resize),
    NI_TEST_POSIX(resize_delivers_sigwinch),
    NI_TEST_POSIX(ctrl_c_interrupts_the_foreground_group),
    NI_TEST_LINUX(no_terminal_descriptor_leaks),
    NI_TEST_POSIX(many_terminals_leave_nothing_behind),
    NI_TEST_POSIX(bad_arguments))
