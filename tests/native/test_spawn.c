/* ni_spawn, ni_wait, ni_kill, ni_process_close: a child with exactly the descriptors listed; the process flags
   (suspended, groups and sessions, kill on parent exit, LISTEN_PID), ni_process_resume, ni_kill_tree and
   ni_signal_group, with real processes and real process trees. */
#include "ni_test.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void parent_death_role(void);

/* The test binary doubles as a child, before the test runner starts: with NI_SPAWN_TEST_ROLE=accept it
   accepts one connection on fd 3, sends "accepted" and exits; with NI_SPAWN_TEST_ROLE=parent it is the
   parent of kill_on_parent_exit_holds (parent_death_role). */
__attribute__((constructor)) static void child_role(void)
{
    const char* role = getenv("NI_SPAWN_TEST_ROLE");
    if (role != NULL && strcmp(role, "parent") == 0)
        parent_death_role();
    if (role == NULL || strcmp(role, "accept") != 0)
        return;
    int connection = accept(3, NULL, NULL);
    if (connection < 0)
        _exit(3);
    ssize_t n = write(connection, "accepted", 8);
    close(connection);
    _exit(n == 8 ? 0 : 4);
}

#define MAX_ARGS 32

/* [emulator..., program, extra..., NULL] where program is the checker (NULL) or `program`. */
static void command_line(const char* program, const char* const* extra, const char* out[MAX_ARGS])
{
    char* const* child = ni_test_child_argv();
    size_t n = 0;
    for (; child[n + 1] != NULL; n++) /* the emulator and its arguments */
        out[n] = child[n];
    out[n] = program != NULL ? program : child[n];
    n++;
    for (size_t i = 0; extra != NULL && extra[i] != NULL && n < MAX_ARGS - 1; i++)
        out[n++] = extra[i];
    out[n] = NULL;
}

/* Reads everything from fd until EOF, waiting at most timeout_ms for each read; malloc'd, NUL-terminated. */
static char* read_all(int fd, int timeout_ms, int* timed_out)
{
    size_t size = 0, capacity = 4096;
    char* text = malloc(capacity);
    *timed_out = 0;
    for (;;)
    {
        struct pollfd p = { fd, POLLIN, 0 };
        int ready = poll(&p, 1, timeout_ms);
        if (ready == 0)
        {
            *timed_out = 1;
            break;
        }
        if (size + 1024 > capacity)
            text = realloc(text, capacity *= 2);
        ssize_t n = read(fd, text + size, capacity - size - 1);
        if (n <= 0)
            break;
        size += (size_t)n;
    }
    text[size] = '\0';
    return text;
}

/* Runs argv with stdout mapped to a pipe (plus `extra` mappings); returns the output and exit code. */
static char* run(const char* const* argv, const ni_fd_mapping* extra, int32_t extra_count, int32_t* exit_code)
{
    ni_handle r, w;
    if (!CHECK_OK(ni_pipe(&r, &w)))
        return NULL;
    ni_fd_mapping mappings[16];
    mappings[0].source = w;
    mappings[0].target = 1;
    for (int32_t i = 0; i < extra_count; i++)
        mappings[i + 1] = extra[i];
    ni_process process;
    int32_t rc = ni_spawn(argv[0], argv, NULL, NULL, mappings, extra_count + 1, 0, &process);
    ni_close(w);
    if (!CHECK_OK(rc))
    {
        ni_close(r);
        return NULL;
    }
    int timed_out;
    char* output = read_all((int)r, 20000, &timed_out);
    CHECK(!timed_out);
    ni_close(r);
    int32_t exited = 0;
    CHECK_OK(ni_wait(&process, -1, &exited, exit_code));
    CHECK_INT(exited, 1);
    CHECK_OK(ni_process_close(&process));
    return output;
}

static int line_count(const char* text)
{
    int lines = 0;
    for (; *text != '\0'; text++)
        lines += *text == '\n';
    return lines;
}

static void child_gets_exactly_the_mapped(void)
{
    /* Inheritable on purpose and not listed: a file (as FileShare.Inheritable makes), a socket, a pipe. */
    char path[PATH_MAX], file_target[PATH_MAX], socket_target[64], pipe_target[64], listed_target[64];
    ni_test_path(path, "inheritable");
    int file = open(path, O_RDWR | O_CREAT, 0600);
    int sock = socket(AF_INET, SOCK_STREAM, 0);
    int leaky[2];
    if (!CHECK(file >= 0) || !CHECK(sock >= 0) || !CHECK(pipe(leaky) == 0))
        return;
    snprintf(file_target, sizeof file_target, "%s", path);
    ni_test_inode_target(sock, socket_target, sizeof socket_target);
    ni_test_inode_target(leaky[0], pipe_target, sizeof pipe_target);

    /* Listed, and non-inheritable here: a pipe end mapped to 3, a socket to 9. */
    ni_handle lr, lw, listed_socket;
    if (!CHECK_OK(ni_pipe(&lr, &lw)) || !CHECK_OK(ni_socket(NI_AF_INET, NI_SOCK_STREAM, 0, &listed_socket)))
        return;
    ni_test_inode_target((int)lr, listed_target, sizeof listed_target);
    char listed_socket_target[64];
    ni_test_inode_target((int)listed_socket, listed_socket_target, sizeof listed_socket_target);

    /* Control: a plain fork+exec child does see the inheritable three. */
    CHECK(ni_test_child_sees(file, file_target));
    CHECK(ni_test_child_sees(sock, socket_target));
    CHECK(ni_test_child_sees(leaky[0], pipe_target));

    const char* argv[MAX_ARGS];
    command_line(NULL, NULL, argv);
    ni_fd_mapping extra[] = { { lr, 3 }, { listed_socket, 9 } };
    int32_t code = -1;
    char* list = run(argv, extra, 2, &code);
    if (CHECK(list != NULL))
    {
        CHECK_INT(code, 0);
        CHECK(ni_test_fds_have(list, 1, NULL));
        CHECK(ni_test_fds_have(list, 3, listed_target));
        CHECK(ni_test_fds_have(list, 9, listed_socket_target));
        CHECK(!ni_test_fds_have(list, -1, file_target));
        CHECK(!ni_test_fds_have(list, -1, socket_target));
        CHECK(!ni_test_fds_have(list, -1, pipe_target));
        CHECK(!ni_test_fds_have(list, 0, NULL)); /* stdin and stderr were not mapped: absent */
        CHECK(!ni_test_fds_have(list, 2, NULL));
        if (!CHECK_INT(line_count(list), 3))
            fprintf(stderr, "child's descriptors:\n%s", list);
        free(list);
    }
    /* Still non-inheritable here: listing a handle does not change it in this process. */
    int32_t inheritable = -1;
    CHECK_OK(ni_get_inheritable(lr, &inheritable));
    CHECK_INT(inheritable, 0);
    close(file);
    close(sock);
    close(leaky[0]);
    close(leaky[1]);
    ni_close(lr);
    ni_close(lw);
    ni_close(listed_socket);
}

static void mappings_do_not_clobber_each_other(void)
{
    /* Two pipes whose read ends swap numbers in the child, and a third mapped onto its own number:
       every target is another mapping's source. */
    ni_handle a, aw, b, bw, c, cw;
    if (!CHECK_OK(ni_pipe(&a, &aw)) || !CHECK_OK(ni_pipe(&b, &bw)) || !CHECK_OK(ni_pipe(&c, &cw)))
        return;
    char ta[64], tb[64], tc[64];
    ni_test_inode_target((int)a, ta, sizeof ta);
    ni_test_inode_target((int)b, tb, sizeof tb);
    ni_test_inode_target((int)c, tc, sizeof tc);
    const char* argv[MAX_ARGS];
    command_line(NULL, NULL, argv);
    ni_fd_mapping extra[] = { { a, (int32_t)b }, { b, (int32_t)a }, { c, NI_SPAWN_SAME_NUMBER } };
    int32_t code = -1;
    char* list = run(argv, extra, 3, &code);
    if (CHECK(list != NULL))
    {
        CHECK(ni_test_fds_have(list, (int)b, ta));
        CHECK(ni_test_fds_have(list, (int)a, tb));
        CHECK(ni_test_fds_have(list, (int)c, tc));
        if (!CHECK_INT(line_count(list), 4))
            fprintf(stderr, "child's descriptors:\n%s", list);
        free(list);
    }
    /* The child's stdout (target 1) is not special: map the checker's stdout pipe onto a's number too. */
    ni_fd_mapping onto[] = { { a, 1 }, { c, (int32_t)a } };
    ni_handle r, w;
    if (CHECK_OK(ni_pipe(&r, &w)))
    {
        /* stdout is `a`'s pipe here, so the list goes nowhere we read: just check it runs cleanly. */
        ni_process process;
        onto[0].source = w;
        if (CHECK_OK(ni_spawn(argv[0], argv, NULL, NULL, onto, 2, 0, &process)))
        {
            ni_close(w);
            int timed_out;
            char* text = read_all((int)r, 20000, &timed_out);
            CHECK(ni_test_fds_have(text, (int)a, tc));
            CHECK(ni_test_fds_have(text, 1, NULL));
            CHECK_INT(line_count(text), 2);
            free(text);
            int32_t exited, code;
            CHECK_OK(ni_wait(&process, -1, &exited, &code));
            CHECK_INT(code, 0);
            ni_process_close(&process);
        }
        else
        {
            ni_close(w);
        }
        ni_close(r);
    }
    ni_close(a), ni_close(aw), ni_close(b), ni_close(bw), ni_close(c), ni_close(cw);
}

/* Targets at the very top of the descriptor range (RLIMIT_NOFILE 1024 here: 1022, 1023), which the header
   promises like any other number. The child once parked its report pipe and its temporary copies above
   every target, where no number was left: EINVAL. Now they go to free numbers that no mapping targets. In a
   forked child, so that the lowered limit stays there. */
static int top_of_the_range_round(void* arg)
{
    (void)arg;
    struct rlimit limit;
    if (!CHECK_INT(getrlimit(RLIMIT_NOFILE, &limit), 0))
        return 0;
    limit.rlim_cur = 1024;
    ni_handle a, aw, b, bw;
    if (!CHECK_INT(setrlimit(RLIMIT_NOFILE, &limit), 0) || !CHECK_OK(ni_pipe(&a, &aw)) || !CHECK_OK(ni_pipe(&b, &bw)))
        return 0;
    char ta[64], tb[64];
    ni_test_inode_target((int)a, ta, sizeof ta);
    ni_test_inode_target((int)b, tb, sizeof tb);
    int top = dup3((int)a, 1023, O_CLOEXEC); /* a descriptor of our own at 1023, non-inheritable */
    const char* argv[MAX_ARGS];
    command_line(NULL, NULL, argv);
    const ni_fd_mapping same_number[] = { { top, NI_SPAWN_SAME_NUMBER } };
    const ni_fd_mapping as_1023[] = { { b, 1023 } };
    const ni_fd_mapping both[] = { { a, 1022 }, { b, 1023 } };
    const struct { const ni_fd_mapping* mappings; int32_t count; int fd1022; const char* at1022; const char* at1023; }
        cases[] = { { same_number, 1, 0, NULL, ta }, { as_1023, 1, 0, NULL, tb }, { both, 2, 1, ta, tb } };
    int ok = CHECK_INT(top, 1023);
    for (size_t i = 0; top == 1023 && i < sizeof cases / sizeof cases[0]; i++)
    {
        int32_t code = -1;
        char* list = run(argv, cases[i].mappings, cases[i].count, &code);
        int good = CHECK(list != NULL) && CHECK_INT(code, 0) && CHECK(ni_test_fds_have(list, 1023, cases[i].at1023)) &&
                   CHECK_INT(ni_test_fds_have(list, 1022, cases[i].at1022), cases[i].fd1022) &&
                   CHECK_INT(line_count(list), 2 + cases[i].fd1022); /* and its stdout */
        ok &= good;
        if (!good && list != NULL)
            fprintf(stderr, "case %zu, the child's descriptors:\n%s", i, list);
        free(list);
    }
    /* Control: a target at the limit itself is no descriptor number here. */
    const ni_fd_mapping above[] = { { b, 1024 } };
    ni_process process;
    ok &= CHECK_RC(ni_spawn(argv[0], argv, NULL, NULL, above, 1, 0, &process), EBADF);
    close(top);
    ni_close(a), ni_close(aw), ni_close(b), ni_close(bw);
    return ok;
}

static void targets_at_the_top_of_the_range(void)
{
    CHECK_INT(ni_test_run_injected(NULL, 0, top_of_the_range_round, NULL), 1);
}

static void inherit_stdio_adds_the_open_standard_streams(void)
{
    ni_handle r, w;
    if (!CHECK_OK(ni_pipe(&r, &w)))
        return;
    const char* argv[MAX_ARGS];
    command_line(NULL, NULL, argv);
    ni_fd_mapping m[] = { { w, 1 } };
    ni_process process;
    if (CHECK_OK(ni_spawn(argv[0], argv, NULL, NULL, m, 1, NI_SPAWN_INHERIT_STDIO | NI_SPAWN_DEFAULT_SIGPIPE, &process)))
    {
        ni_close(w);
        int timed_out;
        char* list = read_all((int)r, 20000, &timed_out);
        int expected = 1;
        for (int std = 0; std <= 2; std += 2)
        {
            int open_here = fcntl(std, F_GETFD) >= 0;
            expected += open_here;
            CHECK_INT(ni_test_fds_have(list, std, NULL), open_here);
        }
        CHECK(ni_test_fds_have(list, 1, NULL));
        CHECK_INT(line_count(list), expected);
        free(list);
        int32_t exited, code;
        CHECK_OK(ni_wait(&process, -1, &exited, &code));
        CHECK_INT(code, 0);
        ni_process_close(&process);
    }
    else
    {
        ni_close(w);
    }
    ni_close(r);
}

static int no_children_left(void)
{
    int status;
    return waitpid(-1, &status, WNOHANG) < 0 && errno == ECHILD;
}

static void exec_failures_are_errors(void)
{
    const char* argv[] = { "missing", NULL };
    ni_process process = { 12345, 678, 679, 680 };
    char missing[PATH_MAX], plain[PATH_MAX];
    ni_test_path(missing, "no-such-program");
    ni_test_path(plain, "not-executable");
    CHECK_RC(ni_spawn(missing, argv, NULL, NULL, NULL, 0, 0, &process), ENOENT);
    CHECK(no_children_left()); /* reaped: no zombie, no child that "exited 127" */
    CHECK_INT(process.pid, 12345); /* untouched on failure */
    CHECK_OK(ni_test_write_file(plain, "#!/bin/sh\n", 10, 0644));
    CHECK_RC(ni_spawn(plain, argv, NULL, NULL, NULL, 0, 0, &process), EACCES);
    CHECK(no_children_left());
    CHECK_RC(ni_spawn("/bin/sh", argv, NULL, missing, NULL, 0, 0, &process), ENOENT); /* cwd */
    ni_fd_mapping bad[] = { { NI_TEST_BAD_HANDLE, 3 } };
    CHECK_RC(ni_spawn("/bin/sh", argv, NULL, NULL, bad, 1, 0, &process), EBADF);
    CHECK(no_children_left());
    CHECK_INT(process.pid, 12345);
}

static void bad_arguments(void)
{
    const char* argv[] = { "sh", NULL };
    ni_process process;
    ni_fd_mapping twice[] = { { 1, 3 }, { 2, 3 } };
    ni_fd_mapping negative[] = { { 1, -3 } }; /* -1 and -2 are NI_SPAWN_SAME_NUMBER and NI_SPAWN_TERMINAL */
    CHECK_RC(ni_spawn("/bin/sh", argv, NULL, NULL, twice, 2, 0, &process), EINVAL);
    CHECK_RC(ni_spawn("/bin/sh", argv, NULL, NULL, negative, 1, 0, &process), EINVAL);
    CHECK_RC(ni_spawn("/bin/sh", argv, NULL, NULL, NULL, 0, 0x40000000, &process), EINVAL);
    CHECK_RC(ni_spawn(NULL, argv, NULL, NULL, NULL, 0, 0, &process), EINVAL);
    CHECK_RC(ni_spawn("/bin/sh", NULL, NULL, NULL, NULL, 0, 0, &process), EINVAL);
    CHECK_RC(ni_spawn("/bin/sh", argv, NULL, NULL, NULL, 1, 0, &process), EINVAL);
    CHECK_RC(ni_spawn("/bin/sh", argv, NULL, NULL, NULL, 0, 0, NULL), EINVAL);
    int32_t exited, code;
    CHECK_RC(ni_wait(NULL, 0, &exited, &code), EINVAL);
    CHECK_RC(ni_kill(NULL, SIGTERM), EINVAL);
    CHECK_RC(ni_process_close(NULL), EINVAL);
    CHECK(no_children_left());
}

static void argv_round_trips(void)
{
    const char* argv[] = { "/bin/sh", "-c", "for a; do printf '[%s]' \"$a\"; done", "sh", "a b", "", "q\"uote",
                           "back\\slash\\", "  ", "tab\there", "'single'", "*", NULL };
    int32_t code = -1;
    char* output = run(argv, NULL, 0, &code);
    if (CHECK(output != NULL))
    {
        CHECK_INT(code, 0);
        const char* expected = "[a b][][q\"uote][back\\slash\\][  ][tab\there]['single'][*]";
        if (!CHECK(strcmp(output, expected) == 0))
            fprintf(stderr, "got %s\n", output);
        free(output);
    }
}

static void environment_and_directory(void)
{
    char dir[PATH_MAX];
    ni_test_path(dir, "");
    const char* argv[] = { "/bin/sh", "-c", "printf '%s|%s|%s' \"$ONE\" \"$TWO\" \"$(pwd -P)\"", NULL };
    const char* envp[] = { "ONE=1", "TWO=two words", NULL };
    ni_handle r, w;
    if (!CHECK_OK(ni_pipe(&r, &w)))
        return;
    ni_fd_mapping m[] = { { w, 1 } };
    ni_process process;
    if (CHECK_OK(ni_spawn(argv[0], argv, envp, dir, m, 1, 0, &process)))
    {
        ni_close(w);
        int timed_out;
        char* output = read_all((int)r, 20000, &timed_out);
        char expected[PATH_MAX + 64];
        size_t dir_length = strlen(dir);
        if (dir_length > 1 && dir[dir_length - 1] == '/')
            dir[dir_length - 1] = '\0';
        snprintf(expected, sizeof expected, "1|two words|%s", dir);
        if (!CHECK(strcmp(output, expected) == 0))
            fprintf(stderr, "got %s, expected %s\n", output, expected);
        free(output);
        int32_t exited, code;
        CHECK_OK(ni_wait(&process, -1, &exited, &code));
        CHECK_INT(code, 0);
        ni_process_close(&process);
    }
    else
    {
        ni_close(w);
    }
    ni_close(r);
}

static int32_t exit_code_of(const char* script)
{
    const char* argv[] = { "/bin/sh", "-c", script, NULL };
    ni_process process;
    if (!CHECK_OK(ni_spawn(argv[0], argv, NULL, NULL, NULL, 0, 0, &process)))
        return -1;
    int32_t exited = 0, code = -1;
    CHECK_OK(ni_wait(&process, -1, &exited, &code));
    CHECK_INT(exited, 1);
    CHECK_OK(ni_process_close(&process));
    return code;
}

static void exit_codes(void)
{
    CHECK_INT(exit_code_of("exit 0"), 0);
    CHECK_INT(exit_code_of("exit 1"), 1);
    CHECK_INT(exit_code_of("exit 255"), 255);
    CHECK_INT(exit_code_of("kill -TERM $$"), 128 + SIGTERM);
    CHECK(no_children_left());
}

/* Whether this kernel keeps a collected child's wait status in its pidfd (PIDFD_GET_INFO with PIDFD_INFO_EXIT,
   Linux 6.15), asked directly of a forked child: the test's own probe, not the library's code. */
static int kernel_keeps_exit_status_in_pidfd(void)
{
    struct
    {
        uint64_t mask, cgroupid;
        uint32_t ids[11];
        int32_t exit_code;
        uint32_t coredump_mask, spare;
    } info;
    pid_t pid = fork();
    if (pid == 0)
        _exit(5);
    int fd = (int)syscall(434 /* pidfd_open */, pid, 0);
    int status;
    waitpid(pid, &status, 0);
    if (fd < 0)
        return 0;
    memset(&info, 0, sizeof info);
    info.mask = UINT64_C(1) << 3;
    int kept = ioctl(fd, (int)_IOWR(0xFF, 11, info), &info) == 0 && (info.mask & (UINT64_C(1) << 3)) &&
               WIFEXITED(info.exit_code) && WEXITSTATUS(info.exit_code) == 5;
    close(fd);
    return kept;
}

static void wait_timeout_and_kill(void)
{
    const char* argv[] = { "/bin/sleep", "30", NULL };
    ni_process process;
    if (!CHECK_OK(ni_spawn(argv[0], argv, NULL, NULL, NULL, 0, 0, &process)))
        return;
    CHECK(process.pid > 0);
    int32_t exited = -1, code = -1;
    CHECK_OK(ni_wait(&process, 0, &exited, &code));
    CHECK_INT(exited, 0);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    CHECK_OK(ni_wait(&process, 200, &exited, &code));
    clock_gettime(CLOCK_MONOTONIC, &t1);
    CHECK_INT(exited, 0);
    long elapsed = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
    CHECK(elapsed >= 190 && elapsed < 5000);
    CHECK_OK(ni_kill(&process, SIGKILL));
    CHECK_OK(ni_wait(&process, 10000, &exited, &code));
    CHECK_INT(exited, 1);
    CHECK_INT(code, 128 + SIGKILL);
    if (process.handle != NI_INVALID_HANDLE && kernel_keeps_exit_status_in_pidfd())
    {
        CHECK_OK(ni_wait(&process, 0, &exited, &code)); /* reaped, but the pidfd keeps the status */
        CHECK_INT(code, 128 + SIGKILL);
    }
    else
        CHECK_RC(ni_wait(&process, 0, &exited, &code), ECHILD); /* reaped: the code was the one report */
    CHECK_RC(ni_kill(&process, SIGKILL), ESRCH);
    CHECK_OK(ni_process_close(&process));
    CHECK_INT(process.handle, NI_INVALID_HANDLE);
    CHECK_OK(ni_process_close(&process)); /* twice is harmless */
}

static void pidfd_when_the_kernel_has_one(void)
{
    const char* argv[] = { "/bin/true", NULL };
    ni_process process;
    if (!CHECK_OK(ni_spawn(argv[0], argv, NULL, NULL, NULL, 0, 0, &process)))
        return;
    if (process.handle == NI_INVALID_HANDLE)
        ni_test_skip("no pidfd_open here (kernel before 5.3, or an emulator without it)");
    else
        CHECK(fcntl((int)process.handle, F_GETFD) & FD_CLOEXEC);
    int32_t exited, code;
    CHECK_OK(ni_wait(&process, -1, &exited, &code));
    CHECK_INT(code, 0);
    CHECK_OK(ni_process_close(&process));
}

static void listening_socket_as_fd_3(void)
{
    ni_handle listener;
    if (!CHECK_OK(ni_socket(NI_AF_INET, NI_SOCK_STREAM, 0, &listener)))
        return;
    struct sockaddr_in address;
    memset(&address, 0, sizeof address);
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof address;
    if (!CHECK(bind((int)listener, (struct sockaddr*)&address, sizeof address) == 0) ||
        !CHECK(listen((int)listener, 1) == 0) ||
        !CHECK(getsockname((int)listener, (struct sockaddr*)&address, &length) == 0))
        return;

    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (!CHECK(n > 0))
        return;
    self[n] = '\0';
    const char* argv[MAX_ARGS];
    command_line(self, NULL, argv);
    const char* envp[] = { "NI_SPAWN_TEST_ROLE=accept", NULL };
    ni_fd_mapping m[] = { { listener, 3 } };
    ni_process process;
    if (CHECK_OK(ni_spawn(argv[0], argv, envp, NULL, m, 1, 0, &process)))
    {
        int client = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        char reply[16] = { 0 };
        if (CHECK(connect(client, (struct sockaddr*)&address, sizeof address) == 0))
        {
            int timed_out;
            char* text = read_all(client, 20000, &timed_out);
            CHECK(strcmp(text, "accepted") == 0);
            free(text);
        }
        (void)reply;
        close(client);
        int32_t exited, code;
        CHECK_OK(ni_wait(&process, -1, &exited, &code));
        CHECK_INT(code, 0);
        ni_process_close(&process);
    }
    ni_close(listener);
}

static void stdout_eof_while_a_sibling_runs(void)
{
    /* The classic hang: a long-lived sibling started meanwhile must not hold the first child's pipe. */
    ni_handle r, w;
    if (!CHECK_OK(ni_pipe(&r, &w)))
        return;
    const char* echo[] = { "/bin/sh", "-c", "echo done", NULL };
    const char* sleeper[] = { "/bin/sleep", "30", NULL };
    ni_fd_mapping m[] = { { w, 1 } };
    ni_process child, sibling;
    if (!CHECK_OK(ni_spawn(echo[0], echo, NULL, NULL, m, 1, 0, &child)))
        return;
    /* The sibling keeps stdout/stderr of this process, as a Process.Start child would. */
    ni_fd_mapping stdio[] = { { 1, 1 }, { 2, 2 } };
    if (!CHECK_OK(ni_spawn(sleeper[0], sleeper, NULL, NULL, stdio, 2, 0, &sibling)))
        return;
    ni_close(w);
    int timed_out;
    char* text = read_all((int)r, 10000, &timed_out);
    CHECK(!timed_out);
    CHECK(strcmp(text, "done\n") == 0);
    free(text);
    int32_t exited, code;
    CHECK_OK(ni_wait(&child, -1, &exited, &code));
    CHECK_OK(ni_wait(&sibling, 0, &exited, &code));
    CHECK_INT(exited, 0); /* the sibling really was still running */
    CHECK_OK(ni_kill(&sibling, SIGKILL));
    CHECK_OK(ni_wait(&sibling, -1, &exited, &code));
    ni_process_close(&child);
    ni_process_close(&sibling);
    ni_close(r);
}

/* Other threads create inheritable descriptors and fork+exec plain children while we spawn. */
static volatile int g_stop;

static void* leaky_thread(void* arg)
{
    (void)arg;
    while (!g_stop)
    {
        int fds[2];
        if (pipe(fds) == 0) /* inheritable */
        {
            pid_t pid = fork();
            if (pid == 0)
            {
                execl("/bin/true", "true", (char*)NULL);
                _exit(127);
            }
            if (pid > 0)
                waitpid(pid, NULL, 0);
            close(fds[0]);
            close(fds[1]);
        }
    }
    return NULL;
}

static void exact_while_other_threads_fork(void)
{
    pthread_t threads[2];
    g_stop = 0;
    for (int i = 0; i < 2; i++)
        pthread_create(&threads[i], NULL, leaky_thread, NULL);
    const char* argv[MAX_ARGS];
    command_line(NULL, NULL, argv);
    int bad = 0;
    for (int round = 0; round < 20 && !bad; round++)
    {
        int32_t code = -1;
        char* list = run(argv, NULL, 0, &code);
        if (list == NULL || line_count(list) != 1 || !ni_test_fds_have(list, 1, NULL))
        {
            bad = 1;
            fprintf(stderr, "round %d, the child held:\n%s", round, list != NULL ? list : "(nothing)\n");
        }
        free(list);
    }
    g_stop = 1;
    for (int i = 0; i < 2; i++)
        pthread_join(threads[i], NULL);
    CHECK(!bad);
}

static long ms_since(const struct timespec* t0)
{
    struct timespec t1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    return (t1.tv_sec - t0->tv_sec) * 1000 + (t1.tv_nsec - t0->tv_nsec) / 1000000;
}

/* ni_wait_for_exit waits for the exit and leaves the child to ni_wait: through the pidfd, and (the same
   child seen without its pidfd) through waitid(WNOWAIT), the path of kernels before 5.3. */
static void wait_for_exit_leaves_the_code_to_ni_wait(void)
{
    for (int with_pidfd = 1; with_pidfd >= 0; with_pidfd--)
    {
        const char* argv[] = { "/bin/sh", "-c", "sleep 0.3; exit 9", NULL };
        ni_process process;
        if (!CHECK_OK(ni_spawn(argv[0], argv, NULL, NULL, NULL, 0, 0, &process)))
            return;
        ni_process seen = process;
        if (!with_pidfd)
            seen.handle = NI_INVALID_HANDLE;
        int32_t exited = -1, code = -1;
        struct timespec t0;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        CHECK_OK(ni_wait_for_exit(&seen, 0, &exited));
        CHECK_INT(exited, 0);
        CHECK_OK(ni_wait_for_exit(&seen, 50, &exited));
        CHECK_INT(exited, 0);
        CHECK(ms_since(&t0) >= 45);
        CHECK_OK(ni_wait_for_exit(&seen, -1, &exited));
        CHECK_INT(exited, 1);
        CHECK(ms_since(&t0) >= 250); /* it did wait for the child's 0.3 s */
        CHECK_OK(ni_wait_for_exit(&seen, 0, &exited)); /* exited, not collected: asking again says so */
        CHECK_INT(exited, 1);
        /* Not collected: ni_wait still has the exit code, at once. */
        CHECK_OK(ni_wait(&process, 0, &exited, &code));
        CHECK_INT(exited, 1);
        CHECK_INT(code, 9);
        if (with_pidfd && process.handle != NI_INVALID_HANDLE)
        {
            CHECK_OK(ni_wait_for_exit(&seen, -1, &exited)); /* a pidfd stays readable once collected */
            CHECK_INT(exited, 1);
        }
        else if (!with_pidfd)
            CHECK_RC(ni_wait_for_exit(&seen, -1, &exited), ECHILD);
        CHECK_OK(ni_process_close(&process));
    }
    const char* argv[] = { "/bin/sleep", "30", NULL };
    ni_process process;
    if (CHECK_OK(ni_spawn(argv[0], argv, NULL, NULL, NULL, 0, 0, &process)))
    {
        int32_t exited = -1, code = -1;
        CHECK_OK(ni_kill(&process, SIGKILL)); /* a death by signal ends the wait as well */
        CHECK_OK(ni_wait_for_exit(&process, 10000, &exited));
        CHECK_INT(exited, 1);
        CHECK_OK(ni_wait(&process, 0, &exited, &code));
        CHECK_INT(code, 128 + SIGKILL);
        CHECK_OK(ni_process_close(&process));
    }
    int32_t exited;
    ni_process none = { 0, NI_INVALID_HANDLE, NI_INVALID_HANDLE, NI_INVALID_HANDLE };
    CHECK_RC(ni_wait_for_exit(NULL, 0, &exited), EINVAL);
    CHECK_RC(ni_wait_for_exit(&none, 0, &exited), EINVAL);
    none.pid = 1;
    CHECK_RC(ni_wait_for_exit(&none, 0, NULL), EINVAL);
    CHECK_RC(ni_wait_for_exit(&none, -2, &exited), EINVAL);
    CHECK_RC(ni_wait_for_exit(&none, 0, &exited), ECHILD); /* not our child */
    CHECK(no_children_left());
}

static void* collect_pid(void* pid)
{
    int status;
    waitpid((pid_t)*(const int64_t*)pid, &status, 0);
    return NULL;
}

/* Other code collects our child first, as a .NET runtime that is pid 1 does with every child: ni_wait still
   gives the exit code where the kernel keeps it in the pidfd, by either of its paths; elsewhere ECHILD, never
   a wrong code. */
static void exit_code_after_other_code_collected_the_child(void)
{
    const char* exits[] = { "/bin/sh", "-c", "exit 42", NULL };
    const char* sleeps[] = { "/bin/sleep", "30", NULL };
    int kept = kernel_keeps_exit_status_in_pidfd();
    for (int round = 0; round < 3; round++)
    {
        const char* const* argv = round == 2 ? sleeps : exits;
        ni_process process;
        if (!CHECK_OK(ni_spawn(argv[0], argv, NULL, NULL, NULL, 0, 0, &process)))
            return;
        if (round == 2)
            CHECK_OK(ni_kill(&process, SIGKILL));
        int status;
        CHECK_INT(waitpid((pid_t)process.pid, &status, 0), (int)process.pid); /* the other code */
        int32_t exited = -1, code = -1;
        int32_t rc = ni_wait(&process, round == 1 ? -1 : 0, &exited, &code);
        if (kept && process.handle != NI_INVALID_HANDLE)
        {
            CHECK_OK(rc);
            CHECK_INT(exited, 1);
            CHECK_INT(code, round == 2 ? 128 + SIGKILL : 42);
        }
        else
            CHECK_RC(rc, ECHILD);
        CHECK_OK(ni_process_close(&process));
    }
    CHECK(no_children_left());
    if (!kept)
    {
        ni_test_skip("this kernel keeps no exit status in a pidfd (before Linux 6.15, or an emulator): ECHILD checked instead");
        return;
    }
    /* ni_wait polling while the other code collects: waitpid says ECHILD as soon as the other side marks the child
       dead, a moment before the release records the status in the pidfd. Every round must still give 3. */
    int wrong = 0;
    for (int round = 0; round < 1000 && !wrong; round++)
    {
        const char* argv[] = { "/bin/sh", "-c", "exit 3", NULL };
        ni_process process;
        if (!CHECK_OK(ni_spawn(argv[0], argv, NULL, NULL, NULL, 0, 0, &process)))
            return;
        pthread_t thief;
        if (!CHECK(pthread_create(&thief, NULL, collect_pid, &process.pid) == 0))
            return;
        int32_t exited = 0, code = -1, rc;
        while ((rc = ni_wait(&process, 0, &exited, &code)) == 0 && !exited) { }
        pthread_join(thief, NULL);
        if (rc != 0 || code != 3)
        {
            wrong = 1;
            fprintf(stderr, "round %d: ni_wait gave %d (%s), code %d\n", round, rc, strerror(rc), code);
        }
        CHECK_OK(ni_process_close(&process));
    }
    CHECK(!wrong);
}

/* ni_wait with a zero timeout only looks, even for a child that other code collected whose status the kernel
   has not recorded in the pidfd yet: it says "not exited" and a later call finds the status. It once waited
   up to 250 ms for the record, and ChildProcess calls it under its lock for every live child on each SIGCHLD.
   Proved without timing: in a forked child (for which the spawned process is not a child: waitpid says
   ECHILD, as when other code collected it) the pidfd's record is made absent (PIDFD_GET_INFO, the only
   _IOR/_IOWR ioctl here, fails with ESRCH, as in the moment before the kernel records it) and every call
   that can sleep kills the process. */
static int wait_zero_round(void* arg)
{
    ni_process* process = arg;
    int32_t exited = -1, code = -1;
    int ok = CHECK_OK(ni_wait(process, 0, &exited, &code));
    return ok & CHECK_INT(exited, 0);
}

static void wait_with_zero_timeout_never_sleeps(void)
{
    const char* argv[] = { "/bin/sh", "-c", "exit 42", NULL };
    ni_process process;
    if (!CHECK_OK(ni_spawn(argv[0], argv, NULL, NULL, NULL, 0, 0, &process)))
        return;
    int status;
    CHECK_INT(waitpid((pid_t)process.pid, &status, 0), (int)process.pid); /* the other code */
    if (process.handle == NI_INVALID_HANDLE)
    {
        ni_test_skip("no pidfd here: ni_wait has no record to wait for");
        ni_process_close(&process);
        return;
    }
    const struct ni_test_fault faults[] = {
        { SYS_ioctl, 1, 0x80000000u, ESRCH },
#ifdef SYS_poll
        { SYS_poll, -1, 0, NI_TEST_FAULT_KILL },
#endif
#ifdef SYS_nanosleep
        { SYS_nanosleep, -1, 0, NI_TEST_FAULT_KILL },
#endif
#ifdef SYS_select
        { SYS_select, -1, 0, NI_TEST_FAULT_KILL },
#endif
        { SYS_ppoll, -1, 0, NI_TEST_FAULT_KILL },
        { SYS_clock_nanosleep, -1, 0, NI_TEST_FAULT_KILL },
        { SYS_pselect6, -1, 0, NI_TEST_FAULT_KILL },
        { SYS_epoll_pwait, -1, 0, NI_TEST_FAULT_KILL },
    };
    int rc = ni_test_run_injected(faults, sizeof faults / sizeof faults[0], wait_zero_round, &process);
    if (rc < 0)
        ni_test_skip(NI_TEST_SKIP_NO_SECCOMP);
    /* Here, with the record there, a later zero-timeout call finds the status. */
    int32_t exited = -1, code = -1;
    if (kernel_keeps_exit_status_in_pidfd())
    {
        CHECK_OK(ni_wait(&process, 0, &exited, &code));
        CHECK_INT(exited, 1);
        CHECK_INT(code, 42);
    }
    else
        CHECK_RC(ni_wait(&process, -1, &exited, &code), ECHILD);
    CHECK_OK(ni_process_close(&process));
}

/* ---- NI_SPAWN_SUSPENDED and ni_process_resume ---- */

/* The descriptors process `pid` holds, counted in /proc/<pid>/fd, below our descriptor limit: under valgrind a
   child that has not called execve yet still holds valgrind's own, which sit above the limit it shows us. */
static int fd_count_of(int pid)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/fd", pid);
    struct rlimit limit;
    DIR* dir = opendir(path);
    if (dir == NULL || getrlimit(RLIMIT_NOFILE, &limit) != 0)
    {
        if (dir != NULL)
            closedir(dir);
        return -1;
    }
    int count = 0;
    for (struct dirent* entry; (entry = readdir(dir)) != NULL;)
        count += entry->d_name[0] != '.' && (rlim_t)atol(entry->d_name) < limit.rlim_cur;
    closedir(dir);
    return count;
}

/* Whether process `pid` still has our name (/proc/<pid>/comm; execve gives it the program's): a suspended child
   has not called execve. Not /proc/<pid>/exe: under qemu-user that is the emulator's for both. */
static int has_our_name(int pid)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/comm", pid);
    char* theirs = ni_test_read_file(path, NULL);
    snprintf(path, sizeof path, "/proc/%d/comm", (int)getpid());
    char* ours = ni_test_read_file(path, NULL);
    int same = theirs != NULL && ours != NULL && strcmp(theirs, ours) == 0;
    free(theirs);
    free(ours);
    return same;
}

static void suspended_child_waits_until_resumed(void)
{
    ni_handle r, w;
    if (!CHECK_OK(ni_pipe(&r, &w)))
        return;
    const char* argv[] = { "/bin/sh", "-c", "echo ran", NULL };
    ni_fd_mapping m[] = { { w, 1 } };
    ni_process process;
    if (!CHECK_OK(ni_spawn(argv[0], argv, NULL, NULL, m, 1, NI_SPAWN_SUSPENDED, &process)))
    {
        ni_close(r), ni_close(w);
        return;
    }
    ni_close(w);
    /* ni_spawn returned while the child waits: it is ready (its descriptors in place, the rest closed, not just
       marked) and has not run the program. */
    CHECK(process.resume != NI_INVALID_HANDLE && (fcntl((int)process.resume, F_GETFD) & FD_CLOEXEC));
    CHECK(process.job == NI_INVALID_HANDLE);
    CHECK(has_our_name((int)process.pid));
    CHECK_INT(fd_count_of((int)process.pid), 2); /* its stdout and the resume socket */
    struct pollfd p = { (int)r, POLLIN, 0 };
    CHECK_INT(poll(&p, 1, 0), 0); /* nothing written, no end of file: the child still holds the pipe */
    int32_t exited = -1, code = -1;
    CHECK_OK(ni_wait(&process, 0, &exited, &code));
    CHECK_INT(exited, 0);

    CHECK_OK(ni_process_resume(&process));
    CHECK_INT(process.resume, NI_INVALID_HANDLE);
    CHECK_RC(ni_process_resume(&process), EINVAL); /* once only */
    int timed_out;
    char* text = read_all((int)r, 20000, &timed_out);
    CHECK(strcmp(text, "ran\n") == 0);
    free(text);
    CHECK_OK(ni_wait(&process, -1, &exited, &code));
    CHECK_INT(code, 0);
    CHECK_OK(ni_process_close(&process));
    ni_close(r);
    /* Not suspended: there is nothing to resume. */
    const char* t[] = { "/bin/true", NULL };
    if (CHECK_OK(ni_spawn(t[0], t, NULL, NULL, NULL, 0, 0, &process)))
    {
        CHECK_INT(process.resume, NI_INVALID_HANDLE);
        CHECK_RC(ni_process_resume(&process), EINVAL);
        CHECK_OK(ni_wait(&process, -1, &exited, &code));
        CHECK_OK(ni_process_close(&process));
    }
    CHECK_RC(ni_process_resume(NULL), EINVAL);
}

/* Failures up to the wait are ni_spawn's; execve's are ni_process_resume's, and leave no process. */
static void suspended_failures_are_errors(void)
{
    char missing[PATH_MAX];
    ni_test_path(missing, "no-such-program");
    const char* argv[] = { "x", NULL };
    ni_process process = { 12345, 678, 679, 680 };
    CHECK_RC(ni_spawn("/bin/sh", argv, NULL, missing, NULL, 0, NI_SPAWN_SUSPENDED, &process), ENOENT); /* chdir */
    CHECK_INT(process.pid, 12345);
    CHECK(no_children_left());
    if (!CHECK_OK(ni_spawn(missing, argv, NULL, NULL, NULL, 0, NI_SPAWN_SUSPENDED, &process)))
        return;
    CHECK(ni_test_alive((int)process.pid)); /* waiting: the program is only looked for at execve */
    CHECK_RC(ni_process_resume(&process), ENOENT);
    CHECK_INT(process.resume, NI_INVALID_HANDLE);
    CHECK(no_children_left()); /* collected: no zombie, no child that "exited 127" */
    CHECK_OK(ni_process_close(&process));
}

/* A suspended child that is never resumed: released, it exits 127 without running the program; killed, it dies
   of the signal (its handlers are the defaults already), and a later resume says ESRCH. */
static void suspended_child_never_resumed(void)
{
    ni_handle r, w;
    if (!CHECK_OK(ni_pipe(&r, &w)))
        return;
    const char* argv[] = { "/bin/sh", "-c", "echo ran", NULL };
    ni_fd_mapping m[] = { { w, 1 } };
    ni_process process;
    int32_t exited = -1, code = -1;
    if (CHECK_OK(ni_spawn(argv[0], argv, NULL, NULL, m, 1, NI_SPAWN_SUSPENDED, &process)))
    {
        ni_close(w);
        w = NI_INVALID_HANDLE;
        CHECK_OK(ni_process_close(&process));
        CHECK_INT(process.resume, NI_INVALID_HANDLE);
        CHECK_OK(ni_wait(&process, 20000, &exited, &code));
        CHECK_INT(exited, 1);
        CHECK_INT(code, 127);
        int timed_out;
        char* text = read_all((int)r, 20000, &timed_out);
        CHECK(!timed_out && text[0] == '\0'); /* the program never ran */
        free(text);
    }
    if (w != NI_INVALID_HANDLE)
        ni_close(w);
    ni_close(r);
    if (CHECK_OK(ni_spawn(argv[0], argv, NULL, NULL, NULL, 0, NI_SPAWN_SUSPENDED, &process)))
    {
        CHECK_OK(ni_kill(&process, SIGTERM));
        CHECK_OK(ni_wait(&process, 20000, &exited, &code));
        CHECK_INT(code, 128 + SIGTERM);
        CHECK_RC(ni_process_resume(&process), ESRCH);
        CHECK_INT(process.resume, NI_INVALID_HANDLE);
        CHECK_OK(ni_process_close(&process));
    }
    CHECK(no_children_left());
}

/* ---- Process groups and sessions ---- */

/* Starts `sleep 30` with `flags` and reads its /proc entry once it runs the program. */
static int start_sleeper(int32_t flags, ni_process* process, struct ni_test_proc* proc)
{
    const char* argv[] = { "/bin/sleep", "30", NULL };
    if (!CHECK_OK(ni_spawn(argv[0], argv, NULL, NULL, NULL, 0, flags, process)))
        return 0;
    return CHECK(ni_test_proc_stat((int)process->pid, proc));
}

static void stop_sleeper(ni_process* process)
{
    int32_t exited, code;
    CHECK_OK(ni_kill(process, SIGKILL));
    CHECK_OK(ni_wait(process, -1, &exited, &code));
    CHECK_OK(ni_process_close(process));
}

static void process_group_and_session(void)
{
    struct ni_test_proc proc;
    int group = (int)getpgrp(), session = (int)getsid(0); /* not /proc/self: qemu-user makes that one up */
    const struct { int32_t flags; int own_group, own_session; } cases[] = {
        { 0, 0, 0 }, { NI_SPAWN_NEW_PROCESS_GROUP, 1, 0 }, { NI_SPAWN_PROCESS_TREE, 1, 0 },
        { NI_SPAWN_DETACHED, 1, 1 }, { NI_SPAWN_DETACHED | NI_SPAWN_NEW_PROCESS_GROUP, 1, 1 },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
    {
        ni_process process;
        if (!start_sleeper(cases[i].flags, &process, &proc))
            continue;
        int pid = (int)process.pid;
        if (!CHECK_INT(proc.group, cases[i].own_group ? pid : group) ||
            !CHECK_INT(proc.session, cases[i].own_session ? pid : session))
            fprintf(stderr, "case %zu (flags 0x%x)\n", i, (unsigned)cases[i].flags);
        if (cases[i].own_session)
            CHECK_INT(proc.tty, 0); /* no controlling terminal */
        stop_sleeper(&process);
    }
    const char* argv[] = { "/bin/true", NULL };
    ni_process process;
    CHECK_RC(ni_spawn(argv[0], argv, NULL, NULL, NULL, 0, NI_SPAWN_DETACHED | NI_SPAWN_KILL_ON_PARENT_EXIT, &process),
             EINVAL);
}

/* A session leader with a terminal (the controlling process) exits: the kernel hangs the terminal's foreground
   group up (SIGHUP). A child started plainly is in that group and dies with it; a detached one, in a session of
   its own, lives on, and so does one in a new process group. In a forked child that takes a pseudo-terminal as
   its controlling terminal; the pids come back through a pipe. */
struct session_pids { int plain, group, detached; };

static int session_leader_round(void* arg)
{
    int* out = arg;
    ni_pty pty;
    struct session_pids pids = { 0, 0, 0 };
    if (!CHECK(setsid() > 0) || !CHECK_OK(ni_pty_open(80, 24, &pty)) ||
        !CHECK(ioctl((int)pty.console, TIOCSCTTY, 0) == 0))
        return 0;
    ni_process plain, group, detached;
    struct ni_test_proc proc;
    int ok = start_sleeper(0, &plain, &proc) && CHECK(proc.tty != 0) && start_sleeper(NI_SPAWN_NEW_PROCESS_GROUP, &group, &proc) &&
             CHECK(proc.tty != 0) && start_sleeper(NI_SPAWN_DETACHED, &detached, &proc) && CHECK_INT(proc.tty, 0);
    if (ok)
    {
        pids.plain = (int)plain.pid, pids.group = (int)group.pid, pids.detached = (int)detached.pid;
        ok = CHECK(write(out[1], &pids, sizeof pids) == (ssize_t)sizeof pids);
    }
    /* Exits holding the terminal (the master too: closing it would hang the terminal up on its own). */
    return ok;
}

static void detached_child_outlives_the_session(void)
{
    int out[2];
    if (!CHECK(pipe2(out, O_CLOEXEC) == 0))
        return;
    int passed = ni_test_run_injected(NULL, 0, session_leader_round, out);
    close(out[1]);
    struct session_pids pids = { 0, 0, 0 };
    int got = read(out[0], &pids, sizeof pids) == (ssize_t)sizeof pids;
    close(out[0]);
    if (!CHECK_INT(passed, 1) || !CHECK(got))
        return;
    CHECK(ni_test_wait_gone(pids.plain, 5000)); /* hung up with the session */
    CHECK(ni_test_alive(pids.detached));
    CHECK(ni_test_alive(pids.group));
    kill(pids.detached, SIGKILL);
    kill(pids.group, SIGKILL);
    kill(pids.plain, SIGKILL);
    CHECK(ni_test_wait_gone(pids.detached, 5000) && ni_test_wait_gone(pids.group, 5000));
}

/* ---- NI_SPAWN_KILL_ON_PARENT_EXIT ---- */

/* A child started on a thread that then exits, and how it was started. */
struct thread_child
{
    int with_library; /* ni_spawn with NI_SPAWN_KILL_ON_PARENT_EXIT; else the control: fork + PR_SET_PDEATHSIG */
    pid_t tid;
    pid_t pid;
};

static void* start_on_short_lived_thread(void* arg)
{
    struct thread_child* c = arg;
    c->tid = (pid_t)syscall(SYS_gettid);
    const char* argv[] = { "/bin/sleep", "100", NULL };
    if (c->with_library)
    {
        ni_process process;
        if (ni_spawn(argv[0], argv, NULL, NULL, NULL, 0, NI_SPAWN_KILL_ON_PARENT_EXIT, &process) == 0)
            c->pid = (pid_t)process.pid;
        return NULL;
    }
    /* The control arms the signal itself, from this thread, and the thread waits until it is armed (the
       child has reached execve: the pipe is close-on-exec). */
    int ready[2];
    if (pipe2(ready, O_CLOEXEC) != 0)
        return NULL;
    pid_t pid = fork();
    if (pid == 0)
    {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        execv(argv[0], (char* const*)argv);
        _exit(127);
    }
    close(ready[1]);
    char byte;
    while (read(ready[0], &byte, 1) < 0 && errno == EINTR) { }
    close(ready[0]);
    c->pid = pid;
    return NULL;
}

/* Whether the thread `tid` of this process is gone, waiting up to 5 s: only then has the kernel done what a
   thread's exit does to the children it created (pthread_join returns a moment before). */
static int thread_gone(pid_t tid)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/self/task/%d", (int)tid);
    for (int i = 0; i < 5000 && access(path, F_OK) == 0; i++)
        usleep(1000);
    return access(path, F_OK) != 0;
}

/* NI_SPAWN_TEST_ROLE=parent: starts one child with the flag and one control child (each on a thread that
   exits), waits until both threads are gone, starts a third child plainly, prints the three pids and waits to
   be killed (60 s at most, so that a test that died leaves nothing behind for long). */
static void parent_death_role(void)
{
    struct thread_child children[2] = { { 1, 0, 0 }, { 0, 0, 0 } };
    for (int i = 0; i < 2; i++)
    {
        pthread_t thread;
        if (pthread_create(&thread, NULL, start_on_short_lived_thread, &children[i]) != 0 ||
            pthread_join(thread, NULL) != 0 || children[i].pid <= 0 || !thread_gone(children[i].tid))
            _exit(3);
    }
    const char* argv[] = { "/bin/sleep", "100", NULL };
    ni_process plain;
    if (ni_spawn(argv[0], argv, NULL, NULL, NULL, 0, 0, &plain) != 0)
        _exit(4);
    printf("%d %d %d\n", (int)children[0].pid, (int)children[1].pid, (int)plain.pid);
    fflush(stdout);
    sleep(60);
    _exit(5);
}

/* The child of a flagged spawn dies with its parent process, not with the thread that started it. The parent is
   a real process (this program in its "parent" role), killed with SIGKILL; a plain child of it lives on. */
static void kill_on_parent_exit_holds(void)
{
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    ni_handle r, w;
    if (!CHECK(n > 0) || !CHECK_OK(ni_pipe(&r, &w)))
        return;
    self[n] = '\0';
    const char* argv[MAX_ARGS];
    command_line(self, NULL, argv);
    const char* envp[] = { "NI_SPAWN_TEST_ROLE=parent", NULL };
    ni_fd_mapping m[] = { { w, 1 }, { 2, 2 } };
    ni_process parent;
    int rc = ni_spawn(argv[0], argv, envp, NULL, m, 2, 0, &parent);
    ni_close(w);
    if (!CHECK_OK(rc))
    {
        ni_close(r);
        return;
    }
    char line[128] = { 0 };
    size_t have = 0;
    struct pollfd p = { (int)r, POLLIN, 0 };
    while (have < sizeof line - 1 && strchr(line, '\n') == NULL && poll(&p, 1, 20000) > 0)
    {
        ssize_t got = read((int)r, line + have, sizeof line - 1 - have);
        if (got <= 0)
            break;
        have += (size_t)got;
    }
    ni_close(r);
    int flagged = 0, control = 0, plain = 0;
    if (CHECK_INT(sscanf(line, "%d %d %d", &flagged, &control, &plain), 3))
    {
        /* The threads that started them are gone: the control died with its thread, ours did not. */
        CHECK(ni_test_wait_gone(control, 5000));
        CHECK(ni_test_alive(flagged));
        CHECK(ni_test_alive(plain));
    }
    int32_t exited, code;
    CHECK_OK(ni_kill(&parent, SIGKILL));
    CHECK_OK(ni_wait(&parent, -1, &exited, &code));
    CHECK_INT(code, 128 + SIGKILL);
    CHECK_OK(ni_process_close(&parent));
    if (flagged > 0)
    {
        CHECK(ni_test_wait_gone(flagged, 1000)); /* within a second of its parent */
        CHECK(ni_test_alive(plain));             /* the plain child outlives its parent */
    }
    int leftovers[] = { flagged, control, plain };
    for (size_t i = 0; i < 3; i++)
        if (leftovers[i] > 0)
        {
            kill(leftovers[i], SIGKILL);
            CHECK(ni_test_wait_gone(leftovers[i], 5000));
        }
}

/* The parent died before the child armed the signal: the child sees another parent (getppid, made to answer
   otherwise by a seccomp filter in a forked child) and must not run the program. */
static int orphan_round(void* arg)
{
    (void)arg;
    const char* argv[] = { "/bin/true", NULL };
    ni_process process;
    int ok = CHECK_RC(ni_spawn(argv[0], argv, NULL, NULL, NULL, 0, NI_SPAWN_KILL_ON_PARENT_EXIT, &process), ESRCH);
    return ok & CHECK(no_children_left());
}

static void kill_on_parent_exit_refuses_an_orphan(void)
{
    /* First a flagged spawn here, so that the library's thread exists when the round forks: the forked
       process must start a thread of its own. */
    const char* argv[] = { "/bin/true", NULL };
    ni_process process;
    int32_t exited, code;
    if (CHECK_OK(ni_spawn(argv[0], argv, NULL, NULL, NULL, 0, NI_SPAWN_KILL_ON_PARENT_EXIT, &process)))
    {
        CHECK_OK(ni_wait(&process, -1, &exited, &code));
        CHECK_INT(code, 0);
        CHECK_OK(ni_process_close(&process));
    }
    const struct ni_test_fault faults[] = { { SYS_getppid, -1, 0, ESRCH } };
    if (ni_test_run_injected(faults, 1, orphan_round, NULL) < 0)
        ni_test_skip(NI_TEST_SKIP_NO_SECCOMP);
}

/* ---- ni_kill_tree and ni_signal_group ---- */

/* Each tree test marks its processes with an environment entry that every descendant inherits, so that the
   test can find all of them in /proc/<pid>/environ, wherever they went: none may be left. */
static void tree_mark(char* mark, size_t size, const char* name)
{
    snprintf(mark, size, "NI_TREE_MARK=%d-%s", (int)getpid(), name);
}

/* The live processes carrying `mark` (at most `capacity` into `pids`); how many there are. */
static int marked(const char* mark, int* pids, int capacity)
{
    DIR* proc = opendir("/proc");
    int count = 0;
    size_t length = strlen(mark) + 1; /* with its NUL: the whole entry */
    for (struct dirent* entry; proc != NULL && (entry = readdir(proc)) != NULL;)
    {
        int pid = atoi(entry->d_name);
        char path[64];
        snprintf(path, sizeof path, "/proc/%d/environ", pid);
        size_t size = 0;
        char* env = pid > 0 ? ni_test_read_file(path, &size) : NULL;
        for (size_t at = 0; env != NULL && at < size; at += strlen(env + at) + 1)
        {
            if (at + length <= size + 1 && memcmp(env + at, mark, length - 1) == 0 && env[at + length - 1] == '\0' &&
                ni_test_alive(pid))
            {
                if (count < capacity)
                    pids[count] = pid;
                count++;
                break;
            }
        }
        free(env);
    }
    if (proc != NULL)
        closedir(proc);
    return count;
}

/* Waits up to 10 s until at least `count` marked processes run. */
static int wait_marked(const char* mark, int count)
{
    int pids[64];
    for (int i = 0; i < 10000; i += 5)
    {
        if (marked(mark, pids, 64) >= count)
            return 1;
        usleep(5000);
    }
    return 0;
}

/* Kills every marked process, and waits until each is gone. */
static void kill_marked(const char* mark)
{
    int pids[256];
    int n = marked(mark, pids, 256);
    for (int i = 0; i < n && i < 256; i++)
        kill(pids[i], SIGKILL);
    for (int i = 0; i < n && i < 256; i++)
        ni_test_wait_gone(pids[i], 5000);
}

/* Waits up to 5 s until no marked process is left; any that is is named and killed, so that a failed test
   leaves nothing behind either. */
static int none_left(const char* mark)
{
    int pids[256], n = 0;
    for (int i = 0; i < 5000 && (n = marked(mark, pids, 256)) > 0; i += 5)
        usleep(5000);
    for (int i = 0; i < n && i < 256; i++)
        fprintf(stderr, "  left behind: %d\n", pids[i]);
    kill_marked(mark);
    return n == 0;
}

/* Whether the group `group` is gone, waiting up to 5 s: its killed members stay as zombies until their new parent
   (init) collects them, and a group of zombies still takes signals. */
static int group_gone(int group)
{
    for (int i = 0; i < 5000 && (kill(-group, 0) == 0 || errno != ESRCH); i++)
        usleep(1000);
    if (kill(-group, 0) == 0 || errno != ESRCH)
    {
        ni_test_skip("the killed processes are never collected here (no init that reaps): ESRCH not checked");
        return 0;
    }
    return 1;
}

/* Starts `script` under sh with `flags`, marked with `mark`, and waits until `count` marked processes run. */
static int start_tree(const char* script, int32_t flags, const char* mark, int count, ni_process* process)
{
    const char* argv[] = { "/bin/sh", "-c", script, NULL };
    const char* envp[] = { "PATH=/usr/bin:/bin", mark, NULL };
    if (!CHECK_OK(ni_spawn(argv[0], argv, envp, NULL, NULL, 0, flags, process)))
        return 0;
    return CHECK(wait_marked(mark, count));
}

static void finish_tree(ni_process* process, int32_t expected_code)
{
    int32_t exited = 0, code = -1;
    if (ni_wait(process, 20000, &exited, &code) == 0 && exited)
        CHECK_INT(code, expected_code);
    else
        CHECK(exited);
    CHECK_OK(ni_process_close(process));
}

/* Three levels: sh, two sleeps. A kill of the child alone leaves the sleeps (the control); the tree kill
   reaches them, through the group the child led, even once the child is collected. Then the same tree killed
   whole while the child runs. */
static void kill_tree_reaches_every_descendant(void)
{
    char mark[64];
    tree_mark(mark, sizeof mark, "sleeps");
    const char* script = "sleep 100 & sleep 100 & wait";
    ni_process process;
    if (start_tree(script, NI_SPAWN_PROCESS_TREE, mark, 3, &process))
    {
        CHECK_OK(ni_kill(&process, SIGKILL));
        finish_tree(&process, 128 + SIGKILL);
        int pids[4];
        CHECK(wait_marked(mark, 2) && marked(mark, pids, 4) == 2); /* the control: the sleeps live on */
        CHECK_OK(ni_kill_tree(&process, SIGKILL)); /* collected: its group is still reached */
    }
    CHECK(none_left(mark));
    if (group_gone((int)process.pid))
        CHECK_RC(ni_kill_tree(&process, SIGKILL), ESRCH); /* nothing left to reach */
    if (start_tree(script, NI_SPAWN_PROCESS_TREE, mark, 3, &process))
    {
        CHECK_OK(ni_kill_tree(&process, SIGKILL));
        CHECK(none_left(mark));
        finish_tree(&process, 128 + SIGKILL);
    }
    CHECK(none_left(mark));
}

/* A grandchild that forks all the time (sleeps that pile up, and short-lived children), in a child that leads no
   group: the tree is found by parentage while it grows, and nothing escapes. A signal other than SIGKILL reaches
   them too, after the stop, once continued. */
static void kill_tree_while_a_grandchild_forks(void)
{
    char mark[64];
    tree_mark(mark, sizeof mark, "forker");
    const char* script = "sh -c 'while :; do sleep 100 & sleep 0.01; done' & "
                         "sh -c 'while :; do /bin/true; done' & wait";
    for (int round = 0; round < 2; round++)
    {
        ni_process process;
        int32_t signal = round == 0 ? SIGKILL : SIGTERM;
        if (start_tree(script, 0, mark, 10, &process))
        {
            CHECK_OK(ni_kill_tree(&process, signal));
            CHECK(none_left(mark));
            finish_tree(&process, 128 + signal);
        }
        CHECK(none_left(mark));
    }
}

/* A grandchild that called setsid (a session and group of its own) with a child of its own. While its parent
   lives it is a descendant and is reached, its group with it. Once its parent died before the kill, nothing ties
   it to the child any more (it was handed to init): out of reach, as the header says; the test kills it. */
static void kill_tree_and_a_grandchild_that_called_setsid(void)
{
    char mark[64];
    tree_mark(mark, sizeof mark, "setsid");
    ni_process process;
    if (start_tree("setsid sh -c 'sleep 100 & wait' & wait", NI_SPAWN_PROCESS_TREE, mark, 3, &process))
    {
        CHECK_OK(ni_kill_tree(&process, SIGKILL));
        CHECK(none_left(mark));
        finish_tree(&process, 128 + SIGKILL);
    }
    CHECK(none_left(mark));
    /* The parent shell exits at once, leaving the setsid'd grandchild (and its sleep) to init. */
    if (start_tree("setsid sh -c 'sleep 100 & wait' & exit 0", NI_SPAWN_PROCESS_TREE, mark, 1, &process))
    {
        finish_tree(&process, 0);
        int pids[8];
        struct ni_test_proc proc;
        /* Both there (the sleep runs, so its parent has left the group already), neither in the child's group. */
        if (CHECK(wait_marked(mark, 2)) && CHECK_INT(marked(mark, pids, 8), 2))
            for (int i = 0; i < 2; i++)
                CHECK(ni_test_proc_stat(pids[i], &proc) && proc.group != (int)process.pid);
        CHECK_RC(ni_kill_tree(&process, SIGKILL), ESRCH); /* collected, its group empty: nothing reached */
        CHECK_INT(marked(mark, pids, 8), 2);               /* the grandchild and its sleep live on */
    }
    kill_marked(mark); /* the test's own cleanup: they were expected to be there */
}

/* ni_signal_group: a child leading its group takes what it started with it; the control (ni_kill) does not. A
   child that leads no group gets it alone. */
static void signal_group_reaches_the_group(void)
{
    char mark[64];
    tree_mark(mark, sizeof mark, "group");
    const char* script = "sleep 100 & sleep 100 & wait";
    ni_process process;
    int pids[4];
    if (start_tree(script, NI_SPAWN_NEW_PROCESS_GROUP, mark, 3, &process))
    {
        CHECK_OK(ni_kill(&process, SIGTERM)); /* the control: the shell only */
        finish_tree(&process, 128 + SIGTERM);
        CHECK(marked(mark, pids, 4) == 2);
        CHECK_OK(ni_signal_group(&process, SIGTERM)); /* collected: the group is still reached */
        CHECK(none_left(mark));
        if (group_gone((int)process.pid))
            CHECK_RC(ni_signal_group(&process, 0), ESRCH);
    }
    if (start_tree(script, NI_SPAWN_NEW_PROCESS_GROUP, mark, 3, &process))
    {
        CHECK_OK(ni_signal_group(&process, 0)); /* only checks */
        CHECK_INT(marked(mark, pids, 4), 3);
        CHECK_OK(ni_signal_group(&process, SIGTERM));
        CHECK(none_left(mark));
        finish_tree(&process, 128 + SIGTERM);
    }
    if (start_tree(script, 0, mark, 3, &process))
    {
        CHECK_OK(ni_signal_group(&process, SIGTERM)); /* no group of its own: the child alone, never ours */
        finish_tree(&process, 128 + SIGTERM);
        CHECK_INT(marked(mark, pids, 4), 2);
        CHECK_RC(ni_signal_group(&process, SIGTERM), ESRCH);
    }
    kill_marked(mark); /* the sleeps of the last case, expected to be there */
    CHECK(none_left(mark));
}

static void tree_bad_arguments(void)
{
    ni_process none = { 0, NI_INVALID_HANDLE, NI_INVALID_HANDLE, NI_INVALID_HANDLE };
    CHECK_RC(ni_kill_tree(NULL, SIGKILL), EINVAL);
    CHECK_RC(ni_kill_tree(&none, SIGKILL), EINVAL);
    CHECK_RC(ni_signal_group(NULL, SIGTERM), EINVAL);
    CHECK_RC(ni_signal_group(&none, SIGTERM), EINVAL);
    none.pid = -1;
    CHECK_RC(ni_kill_tree(&none, SIGKILL), EINVAL);
    none.pid = 1;
    CHECK_RC(ni_kill_tree(&none, 0), EINVAL);
    CHECK_RC(ni_kill_tree(&none, -9), EINVAL);
    CHECK_RC(ni_signal_group(&none, -1), EINVAL);
}

/* ---- NI_SPAWN_LISTEN_PID ---- */

/* LISTEN_PID is the child's own pid, replacing the caller's; the caller's strings are not changed. On each path
   a child can take: shared memory, a copy (suspended), the lasting thread. */
static void listen_pid_is_the_childs_own(void)
{
    char old_entry[] = "LISTEN_PID=999999";
    const char* envp[] = { "A=1", old_entry, "LISTEN_FDS=1", NULL };
    const char* argv[] = { "/bin/sh", "-c", "echo $$ $LISTEN_PID $LISTEN_FDS $A", NULL };
    const int32_t paths[] = { 0, NI_SPAWN_SUSPENDED, NI_SPAWN_KILL_ON_PARENT_EXIT };
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++)
    {
        ni_handle r, w;
        if (!CHECK_OK(ni_pipe(&r, &w)))
            return;
        ni_fd_mapping m[] = { { w, 1 } };
        ni_process process;
        int rc = ni_spawn(argv[0], argv, envp, NULL, m, 1, NI_SPAWN_LISTEN_PID | paths[i], &process);
        ni_close(w);
        if (CHECK_OK(rc))
        {
            if (paths[i] == NI_SPAWN_SUSPENDED)
                CHECK_OK(ni_process_resume(&process));
            int timed_out;
            char* text = read_all((int)r, 20000, &timed_out);
            char expected[64];
            snprintf(expected, sizeof expected, "%d %d 1 1\n", (int)process.pid, (int)process.pid);
            if (!CHECK(strcmp(text, expected) == 0))
                fprintf(stderr, "got \"%s\", expected \"%s\"\n", text, expected);
            free(text);
            int32_t exited, code;
            CHECK_OK(ni_wait(&process, -1, &exited, &code));
            CHECK_OK(ni_process_close(&process));
        }
        ni_close(r);
    }
    CHECK(strcmp(old_entry, "LISTEN_PID=999999") == 0 && strcmp(envp[0], "A=1") == 0);
    /* Without envp: this process's environment, with the entry added. */
    ni_handle r, w;
    const char* show[] = { "/bin/sh", "-c", "echo $$ $LISTEN_PID", NULL };
    if (!CHECK_OK(ni_pipe(&r, &w)))
        return;
    ni_fd_mapping m[] = { { w, 1 } };
    ni_process process;
    int rc = ni_spawn(show[0], show, NULL, NULL, m, 1, NI_SPAWN_LISTEN_PID, &process);
    ni_close(w);
    if (CHECK_OK(rc))
    {
        int timed_out;
        char* text = read_all((int)r, 20000, &timed_out);
        char expected[64];
        snprintf(expected, sizeof expected, "%d %d\n", (int)process.pid, (int)process.pid);
        CHECK(strcmp(text, expected) == 0);
        free(text);
        int32_t exited, code;
        CHECK_OK(ni_wait(&process, -1, &exited, &code));
        CHECK_OK(ni_process_close(&process));
    }
    ni_close(r);
}


NI_TEST_MAIN(NI_TEST(child_gets_exactly_the_mapped), NI_TEST(mappings_do_not_clobber_each_other),
             NI_TEST(exec_failures_are_errors), NI_TEST(bad_arguments), NI_TEST(argv_round_trips),
             NI_TEST(environment_and_directory), NI_TEST(exit_codes), NI_TEST(wait_timeout_and_kill),
             NI_TEST(pidfd_when_the_kernel_has_one), NI_TEST(listening_socket_as_fd_3),
             NI_TEST(stdout_eof_while_a_sibling_runs), NI_TEST(exact_while_other_threads_fork),
             NI_TEST(inherit_stdio_adds_the_open_standard_streams),
             NI_TEST(wait_for_exit_leaves_the_code_to_ni_wait),
             NI_TEST(exit_code_after_other_code_collected_the_child), NI_TEST(targets_at_the_top_of_the_range),
             NI_TEST(wait_with_zero_timeout_never_sleeps), NI_TEST(suspended_child_waits_until_resumed),
             NI_TEST(suspended_failures_are_errors), NI_TEST(suspended_child_never_resumed),
             NI_TEST(process_group_and_session), NI_TEST(detached_child_outlives_the_session),
             NI_TEST(kill_on_parent_exit_holds), NI_TEST(kill_on_parent_exit_refuses_an_orphan),
             NI_TEST(kill_tree_reaches_every_descendant), NI_TEST(kill_tree_while_a_grandchild_forks),
             NI_TEST(kill_tree_and_a_grandchild_that_called_setsid), NI_TEST(signal_group_reaches_the_group),
             NI_TEST(tree_bad_arguments), NI_TEST(listen_pid_is_the_childs_own))
