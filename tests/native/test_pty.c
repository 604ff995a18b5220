/* ni_pty_open, ni_pty_resize, ni_pty_close and NI_SPAWN_TERMINAL: children on a pseudo-terminal of their own
   (POSIX: with real programs, python3, stty, sh; Windows: a pseudo console, with this program in its console
   role), and no descriptor of any terminal anywhere else. */
#include "ni_test.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#ifndef _WIN32
#  include <fcntl.h>
#  include <poll.h>
#  include <signal.h>
#  include <sys/stat.h>
#  include <time.h>
#endif
#ifdef __linux__
#  include <sys/sysmacros.h>
#endif

/* The largest size a terminal takes: struct winsize counts in unsigned short, COORD in SHORT. */
#define SIZE_MAX_HERE NI_TEST_CODE(65535, 32767)

static int32_t exit_code(ni_process* process)
{
    int32_t exited = 0, code = -1;
    CHECK_OK(ni_wait(process, 20000, &exited, &code));
    CHECK_INT(exited, 1);
    CHECK_OK(ni_process_close(process));
    return code;
}

#ifndef _WIN32
/* Starts argv on the terminal (and `extra` flags), with nothing else mapped. */
static int start_on(const ni_pty* pty, const char* const* argv, int32_t flags, ni_process* process)
{
    ni_fd_mapping m[] = { { pty->console, NI_SPAWN_TERMINAL } };
    return CHECK_OK(ni_spawn(argv[0], argv, NULL, NULL, m, 1, flags, process));
}

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
/* The SigIgn mask of `pid` (/proc/<pid>/status), or 0 when it cannot be read. */
static unsigned long long ignored_signals(int64_t pid)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%lld/status", (long long)pid);
    char* status = ni_test_read_file(path, NULL);
    const char* line = status != NULL ? strstr(status, "SigIgn:") : NULL;
    unsigned long long mask = 0;
    if (line != NULL)
        sscanf(line, "SigIgn: %llx", &mask);
    free(status);
    return mask;
}

/* Whether `pid` runs `name` (its /proc/<pid>/comm) within 10 s: it has executed it. */
static int runs(int64_t pid, const char* name)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%lld/comm", (long long)pid);
    for (long long deadline = ni_test_now_ms() + 10000; ni_test_now_ms() < deadline; usleep(10000))
    {
        char* comm = ni_test_read_file(path, NULL);
        int same = comm != NULL && strncmp(comm, name, strlen(name)) == 0;
        free(comm);
        if (same)
            return 1;
    }
    return 0;
}

/* A child on a terminal starts with SIGINT and SIGQUIT at their defaults even when we ignore them (a background job
   of a shell does), so that Ctrl-C reaches it; the control, a child without a terminal, keeps them ignored, as
   Process.Start's children do. */
static void terminal_child_gets_default_signals(void)
{
    struct sigaction ignore = { 0 }, old_int, old_quit;
    ignore.sa_handler = SIG_IGN;
    sigaction(SIGINT, &ignore, &old_int);
    sigaction(SIGQUIT, &ignore, &old_quit);
    const unsigned long long int_and_quit = (1ULL << (SIGINT - 1)) | (1ULL << (SIGQUIT - 1));
    const char* argv[] = { "/bin/sleep", "30", NULL };
    ni_pty pty;
    ni_process on_terminal, plain;
    if (CHECK_OK(ni_pty_open(80, 24, &pty)))
    {
        if (start_on(&pty, argv, 0, &on_terminal))
        {
            CHECK(runs(on_terminal.pid, "sleep"));
            CHECK_INT((int)(ignored_signals(on_terminal.pid) & int_and_quit), 0);
            CHECK_OK(ni_kill(&on_terminal, SIGKILL));
            exit_code(&on_terminal);
        }
        CHECK_OK(ni_pty_close(&pty));
    }
    if (CHECK_OK(ni_spawn(argv[0], argv, NULL, NULL, NULL, 0, 0, &plain)))
    {
        CHECK(runs(plain.pid, "sleep"));
        CHECK((ignored_signals(plain.pid) & int_and_quit) == int_and_quit);
        CHECK_OK(ni_kill(&plain, SIGKILL));
        exit_code(&plain);
    }
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGQUIT, &old_quit, NULL);
}

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

#endif

/* Many terminals at once (200; Windows: 20, each a console host process), then closed: every descriptor goes (the
   runner counts them around each case too). */
static void many_terminals_leave_nothing_behind(void)
{
    enum { COUNT = NI_TEST_CODE(200, 20) };
    static ni_pty ptys[COUNT];
    int before = ni_test_count_handles();
    int opened = 0;
    for (; opened < COUNT; opened++)
        if (!CHECK_OK(ni_pty_open(80, 24, &ptys[opened])))
            break;
#ifndef _WIN32
    CHECK_INT(ni_test_count_handles(), before + 2 * opened); /* a master and a slave each */
#endif
    for (int i = 0; i < opened; i++)
        CHECK_OK(ni_pty_close(&ptys[i]));
    CHECK_INT(ni_test_count_handles(), before);
}

/* ni_pty_resize where the system has no resize: wine 8's ResizePseudoConsole answers E_NOTIMPL. */
static int32_t resized(const ni_pty* pty, int32_t columns, int32_t rows)
{
    int32_t rc = ni_pty_resize(pty, columns, rows);
#ifdef _WIN32
    if (rc == ERROR_NOT_SUPPORTED && ni_test_wine())
        return 0;
#endif
    return rc;
}

static void bad_arguments(void)
{
    ni_pty pty = { 7, 8, 9 };
    CHECK_RC(ni_pty_open(80, 24, NULL), NI_TEST_EINVAL);
    const int32_t sizes[][2] = { { 0, 24 }, { 80, 0 }, { -1, 24 }, { 80, -5 }, { SIZE_MAX_HERE + 1, 24 }, { 80, SIZE_MAX_HERE + 1 } };
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++)
        CHECK_RC(ni_pty_open(sizes[i][0], sizes[i][1], &pty), NI_TEST_EINVAL);
    CHECK_INT(pty.input, 7); /* untouched on failure */
    CHECK_RC(ni_pty_resize(NULL, 80, 24), NI_TEST_EINVAL);
    CHECK_RC(ni_pty_close(NULL), NI_TEST_EINVAL);
    if (!CHECK_OK(ni_pty_open(SIZE_MAX_HERE, 1, &pty)))
        return;
    CHECK_RC(ni_pty_resize(&pty, 0, 24), NI_TEST_EINVAL);
    CHECK_RC(ni_pty_resize(&pty, 80, SIZE_MAX_HERE + 1), NI_TEST_EINVAL);
    CHECK_OK(resized(&pty, 1, SIZE_MAX_HERE));
    const char* argv[] = { NI_TEST_CODE("/bin/true", ni_test_self()), NULL };
    ni_process process;
    ni_fd_mapping two[] = { { pty.console, NI_SPAWN_TERMINAL }, { pty.console, NI_SPAWN_TERMINAL } };
    ni_fd_mapping with_stdout[] = { { pty.console, NI_SPAWN_TERMINAL }, { pty.console, 1 } };
    ni_fd_mapping closed[] = { { NI_TEST_BAD_HANDLE, NI_SPAWN_TERMINAL } };
    CHECK_RC(ni_spawn(argv[0], argv, NULL, NULL, two, 2, 0, &process), NI_TEST_EINVAL);
    CHECK_RC(ni_spawn(argv[0], argv, NULL, NULL, with_stdout, 2, 0, &process), NI_TEST_EINVAL);
    CHECK_RC(ni_spawn(argv[0], argv, NULL, NULL, two, 1, NI_SPAWN_DETACHED, &process), NI_TEST_EINVAL);
    CHECK_RC(ni_spawn(argv[0], argv, NULL, NULL, closed, 1, 0, &process), NI_TEST_EBADF);
#ifdef _WIN32
    /* Any handle that is no open pseudo console of ni_pty_open: a pipe, or the console once closed (below). */
    ni_handle r, w;
    if (CHECK_OK(ni_pipe(&r, &w)))
    {
        ni_fd_mapping not_a_console[] = { { r, NI_SPAWN_TERMINAL } };
        CHECK_RC(ni_spawn(argv[0], argv, NULL, NULL, not_a_console, 1, 0, &process), ERROR_INVALID_HANDLE);
        ni_close(r), ni_close(w);
    }
    ni_pty copy = pty;
#else
    ni_fd_mapping same_number[] = { { pty.console, NI_SPAWN_TERMINAL }, { 2, NI_SPAWN_SAME_NUMBER } };
    ni_fd_mapping not_a_terminal[] = { { 2, NI_SPAWN_TERMINAL } };
    int null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    not_a_terminal[0].source = null_fd;
    CHECK_RC(ni_spawn(argv[0], argv, NULL, NULL, same_number, 2, 0, &process), EINVAL);
    CHECK_RC(ni_spawn(argv[0], argv, NULL, NULL, not_a_terminal, 1, 0, &process), ENOTTY);
    close(null_fd);
#endif
    CHECK_OK(ni_pty_close(&pty));
    CHECK_RC(ni_pty_resize(&pty, 80, 24), NI_TEST_EBADF);
#ifdef _WIN32
    ni_fd_mapping stale[] = { { copy.console, NI_SPAWN_TERMINAL } };
    CHECK_RC(ni_spawn(argv[0], argv, NULL, NULL, stale, 1, 0, &process), ERROR_INVALID_HANDLE);
    CHECK_RC(ni_pty_resize(&copy, 80, 24), ERROR_INVALID_HANDLE);
#endif
}

/* ---- Windows: the pseudo console ---- */

#ifdef _WIN32
/* NI_TEST_ROLE=console: on its console (CONOUT$, CONIN$: wine gives a pseudo console's child no standard handles)
   says "size <columns>x<rows> stdout <console|none|other>", then reads a line and says "got [<line>]"; exits 7. */
static int console_role(void)
{
    HANDLE out = CreateFileW(L"CONOUT$", GENERIC_READ | GENERIC_WRITE, FILE_SHARE_READ | FILE_SHARE_WRITE, NULL,
                             OPEN_EXISTING, 0, NULL);
    HANDLE in = CreateFileW(L"CONIN$", GENERIC_READ | GENERIC_WRITE, FILE_SHARE_READ | FILE_SHARE_WRITE, NULL,
                            OPEN_EXISTING, 0, NULL);
    CONSOLE_SCREEN_BUFFER_INFO info;
    if (out == INVALID_HANDLE_VALUE || in == INVALID_HANDLE_VALUE || !GetConsoleScreenBufferInfo(out, &info))
        return 3;
    HANDLE std = GetStdHandle(STD_OUTPUT_HANDLE);
    DWORD mode, done;
    const char* kind = std == NULL || std == INVALID_HANDLE_VALUE ? "none" : GetConsoleMode(std, &mode) ? "console" : "other";
    char text[128];
    int n = snprintf(text, sizeof text, "size %dx%d stdout %s\r\n", info.srWindow.Right - info.srWindow.Left + 1,
                     info.srWindow.Bottom - info.srWindow.Top + 1, kind);
    WriteConsoleA(out, text, (DWORD)n, &done, NULL);
    char line[64];
    DWORD got = 0;
    if (!ReadConsoleA(in, line, sizeof line - 1, &got, NULL))
        return 4;
    line[got] = '\0';
    line[strcspn(line, "\r\n")] = '\0';
    n = snprintf(text, sizeof text, "got [%s]\r\n", line);
    WriteConsoleA(out, text, (DWORD)n, &done, NULL);
    return 7;
}

NI_TEST_ROLES({ "console", console_role })

/* Starts the console role on `pty`, with nothing else mapped. */
static int start_console(const ni_pty* pty, ni_process* process)
{
    const char* argv[] = { ni_test_self(), NULL };
    ni_fd_mapping m[] = { { pty->console, NI_SPAWN_TERMINAL } };
    return CHECK_OK(ni_spawn(argv[0], argv, ni_test_role_env("console"), NULL, m, 1, 0, process));
}

/* What the console shows until `want` (20 s at most); whether it came. The text (VT sequences and all) is freed. */
static int console_shows(const ni_pty* pty, const char* want)
{
    int timed_out;
    char* text = ni_test_read_until(pty->output, want, 20000, &timed_out);
    int seen = strstr(text, want) != NULL;
    if (!seen)
        fprintf(stderr, "the console showed \"%s\", not \"%s\"\n", text, want);
    free(text);
    return seen;
}

/* The child is on the console, of the size asked for, and reads what is typed. The output ends once the console is
   closed (closing the console alone, while our pipe end is still read). No handle can be passed with a console
   (ERROR_NOT_SUPPORTED): a child that gets handles is created from the helper process, and CreateProcessW looks for
   the console (a handle of ours) among the helper's handles. */
static void child_sees_a_console(void)
{
    ni_pty pty;
    ni_handle r, w;
    if (!CHECK_OK(ni_pty_open(100, 30, &pty)))
        return;
    if (!CHECK_OK(ni_pipe(&r, &w)))
    {
        ni_pty_close(&pty);
        return;
    }
    const char* argv[] = { ni_test_self(), NULL };
    ni_fd_mapping with_a_pipe[] = { { pty.console, NI_SPAWN_TERMINAL }, { w, NI_SPAWN_SAME_NUMBER } };
    ni_process process = { 12345, 678, 679, 680 };
    CHECK_RC(ni_spawn(argv[0], argv, ni_test_role_env("console"), NULL, with_a_pipe, 2, 0, &process), ERROR_NOT_SUPPORTED);
    CHECK_INT(process.pid, 12345);
    ni_close(r), ni_close(w);
    if (start_console(&pty, &process))
    {
        CHECK(console_shows(&pty, "size 100x30 stdout "));
        CHECK_INT(ni_test_write(pty.input, "typed\r", 6), 6);
        CHECK(console_shows(&pty, "got [typed]"));
        CHECK_INT(exit_code(&process), 7);
        int timed_out;
        ni_pty console_only = { NI_INVALID_HANDLE, NI_INVALID_HANDLE, pty.console };
        CHECK_OK(ni_pty_close(&console_only));
        pty.console = NI_INVALID_HANDLE;
        char* text = ni_test_read_all(pty.output, 10000, &timed_out);
        CHECK(!timed_out); /* the end of the output */
        free(text);
    }
    CHECK_OK(ni_pty_close(&pty));
    CHECK_INT(pty.input, NI_INVALID_HANDLE);
    CHECK_INT(pty.output, NI_INVALID_HANDLE);
    CHECK_OK(ni_pty_close(&pty)); /* twice is harmless */
}

/* Closing the console (alone, our pipe ends still open) ends the children still on it and the output: the child
   here waits for a line that never comes. */
static void closing_the_console_ends_its_children(void)
{
    ni_pty pty;
    if (!CHECK_OK(ni_pty_open(80, 25, &pty)))
        return;
    ni_process process;
    if (start_console(&pty, &process))
    {
        CHECK(console_shows(&pty, "stdout ")); /* it runs, and waits for its line */
        ni_pty console_only = { NI_INVALID_HANDLE, NI_INVALID_HANDLE, pty.console };
        CHECK_OK(ni_pty_close(&console_only));
        pty.console = NI_INVALID_HANDLE;
        int32_t exited = 0, code = -1;
        CHECK_OK(ni_wait(&process, 10000, &exited, &code));
        CHECK_INT(exited, 1);
        if (!exited)
            ni_kill(&process, SIGKILL);
        CHECK_OK(ni_process_close(&process));
        int timed_out;
        char* text = ni_test_read_all(pty.output, 10000, &timed_out);
        CHECK(!timed_out); /* the end of the output */
        free(text);
    }
    CHECK_OK(ni_pty_close(&pty));
}

/* The child's standard handles are the console's: ni_spawn gives it NULL ones (STARTF_USESTDHANDLES), never ours,
   and Windows puts the console's in their place. */
static void console_is_the_childs_stdout(void)
{
    ni_pty pty;
    if (!CHECK_OK(ni_pty_open(80, 25, &pty)))
        return;
    ni_process process;
    if (start_console(&pty, &process))
    {
        int timed_out;
        char* text = ni_test_read_until(pty.output, "\r\n", 20000, &timed_out);
        if (ni_test_wine() && strstr(text, "stdout none\r\n") != NULL)
            ni_test_skip("wine 8 gives a pseudo console's child no standard handles (NULL where Windows puts the "
                         "console's, seen here): the child reaches the console through CONOUT$ and CONIN$ only");
        else if (!CHECK(strstr(text, "stdout console\r\n") != NULL))
            fprintf(stderr, "the console showed \"%s\"\n", text);
        free(text);
        CHECK_INT(ni_test_write(pty.input, "\r", 1), 1);
        CHECK_INT(exit_code(&process), 7);
    }
    CHECK_OK(ni_pty_close(&pty));
}

/* A resize is the size the next child sees. */
static void resize_reaches_the_console(void)
{
    ni_pty pty;
    if (!CHECK_OK(ni_pty_open(80, 25, &pty)))
        return;
    int32_t rc = ni_pty_resize(&pty, 120, 40);
    if (ni_test_wine() && rc == ERROR_NOT_SUPPORTED)
        ni_test_skip("wine 8's ResizePseudoConsole is not implemented (E_NOTIMPL, given as ERROR_NOT_SUPPORTED)");
    else if (CHECK_OK(rc))
    {
        ni_process process;
        if (start_console(&pty, &process))
        {
            CHECK(console_shows(&pty, "size 120x40 "));
            CHECK_INT(ni_test_write(pty.input, "\r", 1), 1);
            CHECK_INT(exit_code(&process), 7);
        }
    }
    CHECK_OK(ni_pty_close(&pty));
}

/* Our ends of the console's pipes are not inheritable: an ordinary child (CreateProcess with bInheritHandles=TRUE)
   holds neither, while it holds an inheritable control. */
static void no_console_handle_leaks(void)
{
    ni_pty pty;
    ni_handle control_r, control_w;
    if (!CHECK_OK(ni_pty_open(80, 25, &pty)))
        return;
    if (CHECK(ni_test_plain_pipe(&control_r, &control_w)))
    {
        CHECK_NOT_INHERITED(pty.input, control_r);
        CHECK_NOT_INHERITED(pty.output, control_r);
        ni_close(control_r), ni_close(control_w);
    }
    CHECK_OK(ni_pty_close(&pty));
}
#endif

NI_TEST_MAIN(
    NI_TEST_POSIX(child_sees_a_terminal),
    NI_TEST_LINUX(child_leads_a_session_on_the_terminal),
    NI_TEST_POSIX(stty_size_follows_resize),
    NI_TEST_POSIX(resize_delivers_sigwinch),
    NI_TEST_POSIX(ctrl_c_interrupts_the_foreground_group),
    NI_TEST_LINUX(terminal_child_gets_default_signals),
    NI_TEST_LINUX(no_terminal_descriptor_leaks),
    NI_TEST(many_terminals_leave_nothing_behind),
    NI_TEST(bad_arguments),
    NI_TEST_WINDOWS(child_sees_a_console),
    NI_TEST_WINDOWS(console_is_the_childs_stdout),
    NI_TEST_WINDOWS(closing_the_console_ends_its_children),
    NI_TEST_WINDOWS(resize_reaches_the_console),
    NI_TEST_WINDOWS(no_console_handle_leaks))
