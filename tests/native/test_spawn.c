/* ni_spawn, ni_wait, ni_kill, ni_process_close: a child with exactly the descriptors listed. */
#include "ni_test.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* The test binary doubles as a child: with NI_SPAWN_TEST_ROLE=accept it accepts one connection on
   fd 3, sends "accepted" and exits, before the test runner starts. */
__attribute__((constructor)) static void child_role(void)
{
    const char* role = getenv("NI_SPAWN_TEST_ROLE");
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
    ni_process process = { 12345, 678 };
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
    ni_fd_mapping negative[] = { { 1, -2 } };
    CHECK_RC(ni_spawn("/bin/sh", argv, NULL, NULL, twice, 2, 0, &process), EINVAL);
    CHECK_RC(ni_spawn("/bin/sh", argv, NULL, NULL, negative, 1, 0, &process), EINVAL);
    CHECK_RC(ni_spawn("/bin/sh", argv, NULL, NULL, NULL, 0, 0x100, &process), EINVAL);
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
    ni_process none = { 0, NI_INVALID_HANDLE };
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

NI_TEST_MAIN(NI_TEST(child_gets_exactly_the_mapped), NI_TEST(mappings_do_not_clobber_each_other),
             NI_TEST(exec_failures_are_errors), NI_TEST(bad_arguments), NI_TEST(argv_round_trips),
             NI_TEST(environment_and_directory), NI_TEST(exit_codes), NI_TEST(wait_timeout_and_kill),
             NI_TEST(pidfd_when_the_kernel_has_one), NI_TEST(listening_socket_as_fd_3),
             NI_TEST(stdout_eof_while_a_sibling_runs), NI_TEST(exact_while_other_threads_fork),
             NI_TEST(inherit_stdio_adds_the_open_standard_streams),
             NI_TEST(wait_for_exit_leaves_the_code_to_ni_wait),
             NI_TEST(exit_code_after_other_code_collected_the_child), NI_TEST(targets_at_the_top_of_the_range),
             NI_TEST(wait_with_zero_timeout_never_sleeps))
