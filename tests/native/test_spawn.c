/* ni_spawn: a child with exactly the handles listed, its arguments, environment and directory, and what a failed
   start leaves (nothing). The children are this test program in a role (ni_test_role), the checker / probe, and
   on POSIX /bin/sh. Waiting and killing: test_process.c; the tree: test_process_tree.c; the process flags:
   test_process_flags.c and test_parent_exit.c. */
#include "ni_test.h"

#include <stdlib.h>
#include <string.h>
#ifndef _WIN32
#  include <dirent.h>
#  include <fcntl.h>
#  include <pthread.h>
#  include <signal.h>
#  include <sys/resource.h>
#  include <sys/stat.h>
#  include <sys/wait.h>
#endif
#ifdef __linux__
#  include <sys/syscall.h>
#endif

static void argv_round_trips(void)
{
    const char* args[] = { "a b", "", "q\"uote", "back\\slash\\", "\\\"", "trail\\\\", "  ", "tab\there", "x\\\\\"y",
                           "'single'", "*", "\xc3\xbcn\xc3\xaf", NULL };
    const char* argv[NI_TEST_MAX_ARGS];
    ni_test_command_line(ni_test_self(), args, argv);
    int32_t code = -1;
    char* output = ni_test_run(argv, ni_test_role_env("argv"), NULL, NULL, 0, 0, &code);
    if (CHECK(output != NULL))
    {
        CHECK_INT(code, 0);
        char expected[1024] = "";
        for (size_t i = 0; args[i] != NULL; i++)
            snprintf(expected + strlen(expected), sizeof expected - strlen(expected), "[%s]", args[i]);
        if (!CHECK(strcmp(output, expected) == 0))
            fprintf(stderr, "got      %s\nexpected %s\n", output, expected);
        free(output);
    }
#ifdef _WIN32
    /* Raw arguments go through verbatim. */
    const char* raw[] = { ni_test_self(), "one \"two three\" four\\", NULL };
    output = ni_test_run(raw, ni_test_role_env("argv"), NULL, NULL, 0, NI_SPAWN_RAW_ARGUMENTS, &code);
    if (CHECK(output != NULL))
    {
        if (!CHECK(strcmp(output, "[one][two three][four\\]") == 0))
            fprintf(stderr, "got %s\n", output);
        free(output);
    }
#endif
}

static void exec_failures_are_errors(void)
{
    const char* argv[] = { "missing", NULL };
    ni_process process = { 12345, 678, 679, 680 };
    char missing[NI_TEST_PATH_MAX];
    ni_test_path(missing, "no-such-program");
    CHECK_RC(ni_spawn(missing, argv, NULL, NULL, NULL, 0, 0, &process), NI_TEST_ENOENT);
    CHECK_INT(process.pid, 12345); /* untouched on failure */
#ifndef _WIN32
    CHECK(ni_test_no_children_left()); /* reaped: no zombie, no child that "exited 127" */
    char plain[NI_TEST_PATH_MAX];
    ni_test_path(plain, "not-executable");
    CHECK_OK(ni_test_write_file(plain, "#!/bin/sh\n", 10, 0644));
    CHECK_RC(ni_spawn(plain, argv, NULL, NULL, NULL, 0, 0, &process), EACCES);
    CHECK(ni_test_no_children_left());
    CHECK_RC(ni_spawn("/bin/sh", argv, NULL, missing, NULL, 0, 0, &process), ENOENT); /* cwd */
    ni_fd_mapping bad[] = { { NI_TEST_BAD_HANDLE, 3 } };
    CHECK_RC(ni_spawn("/bin/sh", argv, NULL, NULL, bad, 1, 0, &process), EBADF);
    CHECK(ni_test_no_children_left());
    CHECK_INT(process.pid, 12345);
#endif
}

static void bad_arguments(void)
{
    /* A program that exists, so that only the argument can be what is refused. */
    const char* program = NI_TEST_CODE("/bin/sh", ni_test_self());
    const char* argv[] = { "sh", NULL };
    ni_process process = { 12345, 678, 679, 680 };
    CHECK_RC(ni_spawn(program, argv, NULL, NULL, NULL, 0, 0x40000000, &process), NI_TEST_EINVAL);
    CHECK_RC(ni_spawn(program, NULL, NULL, NULL, NULL, 0, 0, &process), NI_TEST_EINVAL);
    CHECK_RC(ni_spawn(program, argv, NULL, NULL, NULL, 1, 0, &process), NI_TEST_EINVAL);
    CHECK_RC(ni_spawn(program, argv, NULL, NULL, NULL, 0, 0, NULL), NI_TEST_EINVAL);
    /* Flags that exclude each other: outliving us and dying with us. */
    CHECK_RC(ni_spawn(program, argv, NULL, NULL, NULL, 0, NI_SPAWN_DETACHED | NI_SPAWN_KILL_ON_PARENT_EXIT, &process),
             NI_TEST_EINVAL);
    int32_t exited, code;
    CHECK_RC(ni_wait(NULL, 0, &exited, &code), NI_TEST_EINVAL);
    CHECK_RC(ni_kill(NULL, SIGKILL), NI_TEST_EINVAL);
    CHECK_RC(ni_process_close(NULL), NI_TEST_EINVAL);
#ifdef _WIN32
    /* Windows passes a handle under its own value (NI_SPAWN_SAME_NUMBER) or as a standard stream. */
    ni_fd_mapping elsewhere[] = { { (ni_handle)GetStdHandle(STD_OUTPUT_HANDLE), 7 } };
    CHECK_RC(ni_spawn(program, argv, NULL, NULL, elsewhere, 1, 0, &process), ERROR_NOT_SUPPORTED);
#else
    CHECK_RC(ni_spawn(NULL, argv, NULL, NULL, NULL, 0, 0, &process), EINVAL); /* Windows: a search for argv[0] */
    ni_fd_mapping twice[] = { { 1, 3 }, { 2, 3 } };
    ni_fd_mapping negative[] = { { 1, -3 } }; /* -1 and -2 are NI_SPAWN_SAME_NUMBER and NI_SPAWN_TERMINAL */
    CHECK_RC(ni_spawn(program, argv, NULL, NULL, twice, 2, 0, &process), EINVAL);
    CHECK_RC(ni_spawn(program, argv, NULL, NULL, negative, 1, 0, &process), EINVAL);
    CHECK(ni_test_no_children_left());
#endif
    CHECK_INT(process.pid, 12345);
}

static void stdout_eof_while_a_sibling_runs(void)
{
    /* The classic hang: a long-lived sibling started meanwhile must not hold the first child's pipe. */
    ni_handle r, w, in_r, in_w;
    if (!CHECK_OK(ni_pipe(&r, &w)))
        return;
    if (CHECK_OK(ni_pipe(&in_r, &in_w)))
    {
        const char* args[] = { "done", NULL };
        const char* argv[NI_TEST_MAX_ARGS];
        ni_test_command_line(ni_test_self(), args, argv);
        ni_fd_mapping m[] = { { w, 1 } };
        /* The sibling waits for its stdin's end; on POSIX it keeps this process's stdout and stderr too, as
           a Process.Start child would. */
        ni_fd_mapping stdio[] = { { in_r, 0 }, { 1, 1 }, { 2, 2 } };
        const int32_t stdio_count = NI_TEST_CODE(3, 1);
        ni_process child, sibling;
        if (CHECK_OK(ni_spawn(argv[0], argv, ni_test_role_env("argv"), NULL, m, 1, 0, &child)))
        {
            if (CHECK_OK(ni_spawn(argv[0], argv, ni_test_role_env("wait"), NULL, stdio, stdio_count, 0, &sibling)))
            {
                ni_close(w);
                w = NI_INVALID_HANDLE;
                int timed_out;
                char* text = ni_test_read_all(r, 10000, &timed_out);
                CHECK(!timed_out);
                CHECK(strcmp(text, "[done]") == 0);
                free(text);
                int32_t exited, code;
                CHECK_OK(ni_wait(&child, NI_TEST_WAIT_MS, &exited, &code));
                CHECK_OK(ni_wait(&sibling, 0, &exited, &code));
                CHECK_INT(exited, 0); /* the sibling really was still running */
                CHECK_OK(ni_kill(&sibling, SIGKILL));
                CHECK_OK(ni_wait(&sibling, NI_TEST_WAIT_MS, &exited, &code));
                ni_process_close(&sibling);
            }
            ni_process_close(&child);
        }
        ni_close(in_r), ni_close(in_w);
    }
    if (w != NI_INVALID_HANDLE)
        ni_close(w);
    ni_close(r);
}

/* ---- POSIX: descriptors mapped to numbers, the exact set a child gets ---- */

#ifndef _WIN32
static void child_gets_exactly_the_mapped(void)
{
    /* Inheritable on purpose and not listed: a file (as FileShare.Inheritable makes), a socket, a pipe. */
    char path[NI_TEST_PATH_MAX], file_target[NI_TEST_DESCRIPTION_MAX], socket_target[64], pipe_target[64];
    ni_test_path(path, "inheritable");
    ni_handle file = ni_test_plain_file(path), leaky_r, leaky_w;
    int sock = socket(AF_INET, SOCK_STREAM, 0);
    if (!CHECK(file >= 0) || !CHECK(sock >= 0) || !CHECK(ni_test_plain_pipe(&leaky_r, &leaky_w)))
        return;
    ni_test_describe_handle(file, file_target, sizeof file_target);
    ni_test_describe_handle(sock, socket_target, sizeof socket_target);
    ni_test_describe_handle(leaky_r, pipe_target, sizeof pipe_target);

    /* Listed, and non-inheritable here: a pipe end mapped to 3, a socket to 9. */
    ni_handle lr, lw, listed_socket;
    if (!CHECK_OK(ni_pipe(&lr, &lw)) || !CHECK_OK(ni_socket(NI_AF_INET, NI_SOCK_STREAM, 0, &listed_socket)))
        return;
    char listed_target[64], listed_socket_target[64];
    ni_test_describe_handle(lr, listed_target, sizeof listed_target);
    ni_test_describe_handle(listed_socket, listed_socket_target, sizeof listed_socket_target);

    /* Control: a plain fork+exec child does see the inheritable three. */
    CHECK(ni_test_child_sees(file));
    CHECK(ni_test_child_sees(sock));
    CHECK(ni_test_child_sees(leaky_r));

    const char* argv[NI_TEST_MAX_ARGS];
    ni_test_command_line(NULL, NULL, argv);
    ni_fd_mapping extra[] = { { lr, 3 }, { listed_socket, 9 } };
    int32_t code = -1;
    char* list = ni_test_run(argv, NULL, NULL, extra, 2, 0, &code);
    if (CHECK(list != NULL))
    {
        CHECK_INT(code, 0);
        CHECK(ni_test_probe_has(list, 1, NULL));
        CHECK(ni_test_probe_has(list, 3, listed_target));
        CHECK(ni_test_probe_has(list, 9, listed_socket_target));
        CHECK(!ni_test_probe_has(list, NI_INVALID_HANDLE, file_target));
        CHECK(!ni_test_probe_has(list, NI_INVALID_HANDLE, socket_target));
        CHECK(!ni_test_probe_has(list, NI_INVALID_HANDLE, pipe_target));
        CHECK(!ni_test_probe_has(list, 0, NULL)); /* stdin and stderr were not mapped: absent */
        CHECK(!ni_test_probe_has(list, 2, NULL));
        if (!CHECK_INT(ni_test_probe_lines(list), 3))
            fprintf(stderr, "child's descriptors:\n%s", list);
        free(list);
    }
    /* Still non-inheritable here: listing a handle does not change it in this process. */
    int32_t inheritable = -1;
    CHECK_OK(ni_get_inheritable(lr, &inheritable));
    CHECK_INT(inheritable, 0);
    ni_close(file), ni_close(sock), ni_close(leaky_r), ni_close(leaky_w);
    ni_close(lr), ni_close(lw), ni_close(listed_socket);
}

static void mappings_do_not_clobber_each_other(void)
{
    /* Two pipes whose read ends swap numbers in the child, and a third mapped onto its own number:
       every target is another mapping's source. */
    ni_handle a, aw, b, bw, c, cw;
    if (!CHECK_OK(ni_pipe(&a, &aw)) || !CHECK_OK(ni_pipe(&b, &bw)) || !CHECK_OK(ni_pipe(&c, &cw)))
        return;
    char ta[64], tb[64], tc[64];
    ni_test_describe_handle(a, ta, sizeof ta);
    ni_test_describe_handle(b, tb, sizeof tb);
    ni_test_describe_handle(c, tc, sizeof tc);
    const char* argv[NI_TEST_MAX_ARGS];
    ni_test_command_line(NULL, NULL, argv);
    ni_fd_mapping extra[] = { { a, (int32_t)b }, { b, (int32_t)a }, { c, NI_SPAWN_SAME_NUMBER } };
    int32_t code = -1;
    char* list = ni_test_run(argv, NULL, NULL, extra, 3, 0, &code);
    if (CHECK(list != NULL))
    {
        CHECK(ni_test_probe_has(list, b, ta));
        CHECK(ni_test_probe_has(list, a, tb));
        CHECK(ni_test_probe_has(list, c, tc));
        if (!CHECK_INT(ni_test_probe_lines(list), 4))
            fprintf(stderr, "child's descriptors:\n%s", list);
        free(list);
    }
    /* The child's stdout (target 1, the pipe run reads) is not special: c goes onto a's number, which is
       mapped from nothing else. */
    ni_fd_mapping onto[] = { { c, (int32_t)a } };
    list = ni_test_run(argv, NULL, NULL, onto, 1, 0, &code);
    if (CHECK(list != NULL))
    {
        CHECK_INT(code, 0);
        CHECK(ni_test_probe_has(list, a, tc));
        CHECK(ni_test_probe_has(list, 1, NULL));
        CHECK_INT(ni_test_probe_lines(list), 2);
        free(list);
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
    ni_test_describe_handle(a, ta, sizeof ta);
    ni_test_describe_handle(b, tb, sizeof tb);
    /* A descriptor of our own at 1023, non-inheritable (this child has one thread: no race to fear). */
    int top = dup2((int)a, 1023);
    if (top == 1023)
        fcntl(top, F_SETFD, FD_CLOEXEC);
    const char* argv[NI_TEST_MAX_ARGS];
    ni_test_command_line(NULL, NULL, argv);
    const ni_fd_mapping same_number[] = { { top, NI_SPAWN_SAME_NUMBER } };
    const ni_fd_mapping as_1023[] = { { b, 1023 } };
    const ni_fd_mapping both[] = { { a, 1022 }, { b, 1023 } };
    const struct { const ni_fd_mapping* mappings; int32_t count; int fd1022; const char* at1022; const char* at1023; }
        cases[] = { { same_number, 1, 0, NULL, ta }, { as_1023, 1, 0, NULL, tb }, { both, 2, 1, ta, tb } };
    int ok = CHECK_INT(top, 1023);
    for (size_t i = 0; top == 1023 && i < sizeof cases / sizeof cases[0]; i++)
    {
        int32_t code = -1;
        char* list = ni_test_run(argv, NULL, NULL, cases[i].mappings, cases[i].count, 0, &code);
        int good = CHECK(list != NULL) && CHECK_INT(code, 0) && CHECK(ni_test_probe_has(list, 1023, cases[i].at1023)) &&
                   CHECK_INT(ni_test_probe_has(list, 1022, cases[i].at1022), cases[i].fd1022) &&
                   CHECK_INT(ni_test_probe_lines(list), 2 + cases[i].fd1022); /* and its stdout */
        ok &= good;
        if (!good && list != NULL)
            fprintf(stderr, "case %zu, the child's descriptors:\n%s", i, list);
        free(list);
    }
    /* Control: a target at the limit itself is no descriptor number here. */
    const ni_fd_mapping above[] = { { b, 1024 } };
    ni_process process;
    ok &= CHECK_RC(ni_spawn(argv[0], argv, NULL, NULL, above, 1, 0, &process), EBADF);
    if (top >= 0)
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
    const char* argv[NI_TEST_MAX_ARGS];
    ni_test_command_line(NULL, NULL, argv);
    int32_t code = -1;
    char* list = ni_test_run(argv, NULL, NULL, NULL, 0, NI_SPAWN_INHERIT_STDIO | NI_SPAWN_DEFAULT_SIGPIPE, &code);
    if (!CHECK(list != NULL))
        return;
    CHECK_INT(code, 0);
    int expected = 1;
    for (int std = 0; std <= 2; std += 2)
    {
        int open_here = fcntl(std, F_GETFD) >= 0;
        expected += open_here;
        CHECK_INT(ni_test_probe_has(list, std, NULL), open_here);
    }
    CHECK(ni_test_probe_has(list, 1, NULL));
    CHECK_INT(ni_test_probe_lines(list), expected);
    free(list);
}

static void environment_and_directory(void)
{
    char dir[NI_TEST_PATH_MAX];
    ni_test_path(dir, "");
    const char* argv[] = { "/bin/sh", "-c", "printf '%s|%s|%s' \"$ONE\" \"$TWO\" \"$(pwd -P)\"", NULL };
    const char* envp[] = { "ONE=1", "TWO=two words", NULL };
    int32_t code = -1;
    char* output = ni_test_run(argv, envp, dir, NULL, 0, 0, &code);
    if (!CHECK(output != NULL))
        return;
    CHECK_INT(code, 0);
    char expected[NI_TEST_PATH_MAX + 64];
    size_t dir_length = strlen(dir);
    if (dir_length > 1 && dir[dir_length - 1] == '/')
        dir[dir_length - 1] = '\0';
    snprintf(expected, sizeof expected, "1|two words|%s", dir);
    if (!CHECK(strcmp(output, expected) == 0))
        fprintf(stderr, "got %s, expected %s\n", output, expected);
    free(output);
}

static void listening_socket_as_fd_3(void)
{
    ni_handle listener;
    int port;
    if (!CHECK_OK(ni_test_listen_loopback(&listener, &port)))
        return;
    const char* argv[NI_TEST_MAX_ARGS];
    ni_test_command_line(ni_test_self(), NULL, argv);
    ni_fd_mapping m[] = { { listener, 3 } };
    ni_process process;
    if (CHECK_OK(ni_spawn(argv[0], argv, ni_test_role_env("accept"), NULL, m, 1, 0, &process)))
    {
        ni_handle client = ni_test_connect_loopback(port);
        if (CHECK(client != NI_INVALID_HANDLE))
        {
            int timed_out;
            char* text = ni_test_read_all(client, 20000, &timed_out);
            CHECK(strcmp(text, "accepted") == 0);
            free(text);
            ni_close(client);
        }
        int32_t exited, code;
        CHECK_OK(ni_wait(&process, -1, &exited, &code));
        CHECK_INT(code, 0);
        ni_process_close(&process);
    }
    ni_close(listener);
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
    const char* argv[NI_TEST_MAX_ARGS];
    ni_test_command_line(NULL, NULL, argv);
    int bad = 0;
    for (int round = 0; round < 20 && !bad; round++)
    {
        int32_t code = -1;
        char* list = ni_test_run(argv, NULL, NULL, NULL, 0, 0, &code);
        if (list == NULL || ni_test_probe_lines(list) != 1 || !ni_test_probe_has(list, 1, NULL))
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

/* The children that this process has, killed (the watchdog below). */
static void kill_our_children(void)
{
    DIR* proc = opendir("/proc");
    if (proc == NULL)
        return;
    struct dirent* entry;
    while ((entry = readdir(proc)) != NULL)
    {
        struct ni_test_proc stat;
        int pid = atoi(entry->d_name);
        if (pid > 0 && ni_test_proc_stat(pid, &stat) && stat.parent == (int)getpid())
            kill(pid, SIGKILL);
    }
    closedir(proc);
}

static volatile int g_spawns_done, g_spawn_round, g_children_stuck;

/* Ends the children when a round has taken a minute, so that the case fails with a message and leaves nothing
   behind (a round takes milliseconds natively, well under a second under valgrind or qemu-user). */
static void* watchdog_thread(void* arg)
{
    (void)arg;
    int round = -1;
    for (long long end = 0; !g_spawns_done; usleep(10000))
        if (g_spawn_round != round)
        {
            round = g_spawn_round;
            end = ni_test_now_ms() + 60000;
        }
        else if (ni_test_now_ms() > end)
        {
            g_children_stuck = 1;
            kill_our_children();
            end = ni_test_now_ms() + 1000;
        }
    return NULL;
}

/* A suspended child starts on a copy of our memory (fork, not vfork), as every child does under qemu-user. A lock
   of the C library that another thread holds at that instant stays held in the copy for ever: musl's sigaction
   takes, for SIGABRT, a lock that its fork holds during the system call, so a child that reset its signals through
   libc waited for ever. The child resets them with system calls of its own (ni_sys_default_signal). */
static void suspended_while_other_threads_fork(void)
{
    pthread_t threads[2], watchdog;
    g_stop = 0;
    g_spawns_done = 0;
    g_spawn_round = 0;
    g_children_stuck = 0;
    for (int i = 0; i < 2; i++)
        pthread_create(&threads[i], NULL, leaky_thread, NULL);
    pthread_create(&watchdog, NULL, watchdog_thread, NULL);
    const char* argv[] = { "/bin/true", NULL };
    int null = open("/dev/null", O_RDWR | O_CLOEXEC);
    ni_fd_mapping m[] = { { null, 0 }, { null, 1 }, { null, 2 } };
    for (; g_spawn_round < 100 && !g_children_stuck; g_spawn_round++)
    {
        ni_process process;
        if (!CHECK_OK(ni_spawn(argv[0], argv, NULL, NULL, m, 3, NI_SPAWN_SUSPENDED, &process)))
            break;
        int32_t exited, code = -1;
        CHECK_OK(ni_process_resume(&process));
        CHECK_OK(ni_wait(&process, -1, &exited, &code));
        CHECK_INT(code, 0);
        CHECK_OK(ni_process_close(&process));
    }
    g_spawns_done = 1;
    g_stop = 1;
    pthread_join(watchdog, NULL);
    for (int i = 0; i < 2; i++)
        pthread_join(threads[i], NULL);
    close(null);
    if (!CHECK(!g_children_stuck))
        fprintf(stderr, "a suspended child never reported that it was ready\n");
}
#endif

#ifdef __linux__
/* What our descriptor table holds: for each number below `limit`, the open file's device and inode and whether it
   is close-on-exec (st_dev 0 and st_ino 0 for a free number). */
struct table_entry
{
    dev_t dev;
    ino_t ino;
    int flags;
};

static void read_table(struct table_entry* table, int limit)
{
    for (int fd = 0; fd < limit; fd++)
    {
        struct stat st;
        int flags = fcntl(fd, F_GETFD), known = flags >= 0 && fstat(fd, &st) == 0;
        table[fd].dev = known ? st.st_dev : 0;
        table[fd].ino = known ? st.st_ino : 0;
        table[fd].flags = flags;
    }
}

/* Whether two readings of the table are the same, number by number; each number that changed is named. */
static int same_table(const struct table_entry* before, const struct table_entry* after, int limit, const char* when)
{
    int same = 1;
    for (int fd = 0; fd < limit; fd++)
    {
        if (!CHECK(before[fd].dev == after[fd].dev && before[fd].ino == after[fd].ino && before[fd].flags == after[fd].flags))
        {
            fprintf(stderr, "%s: descriptor %d changed (flags %d -> %d)\n", when, fd, before[fd].flags, after[fd].flags);
            same = 0;
        }
    }
    return same;
}

/* The child starts on our descriptor table where the system allows (clone with CLONE_FILES) and takes its own
   before it changes anything: its dup2 onto targets that are numbers of ours, its temporary copies and its
   closing must leave our table as it was, number by number. Targets that are free here and ones that hold
   other files here, swapped sources, from this thread and from the lasting spawn thread; with the same check
   after a failed start (a directory that does not exist, after the mappings are applied). */
static void our_table_is_untouched(void)
{
    enum { LIMIT = 64 };
    ni_handle a, aw, b, bw;
    if (!CHECK_OK(ni_pipe(&a, &aw)) || !CHECK_OK(ni_pipe(&b, &bw)))
        return;
    int free_here = fcntl((int)a, F_DUPFD_CLOEXEC, 40); /* a target is its number + 1, free here */
    const char* argv[] = { "/bin/true", NULL };
    ni_fd_mapping m[] = { { a, (int32_t)b }, { b, (int32_t)a }, { aw, 0 }, { bw, 2 }, { (ni_handle)free_here, free_here + 1 } };
    static struct table_entry before[LIMIT], after[LIMIT];
    const int32_t flag_sets[] = { 0, NI_SPAWN_KILL_ON_PARENT_EXIT };
    for (size_t f = 0; free_here > 0 && f < sizeof flag_sets / sizeof flag_sets[0]; f++)
    {
        for (int failing = 0; failing <= 1; failing++)
        {
            read_table(before, LIMIT);
            ni_process process;
            int32_t rc = ni_spawn(argv[0], argv, NULL, failing ? "/nonexistent-directory" : NULL, m, 5, flag_sets[f],
                                  &process);
            if (failing)
                CHECK_RC(rc, ENOENT);
            else if (CHECK_OK(rc))
            {
                int32_t exited = 0, code = -1;
                CHECK_OK(ni_wait(&process, -1, &exited, &code));
                CHECK_INT(code, 0);
                CHECK_OK(ni_process_close(&process)); /* its pidfd */
            }
            read_table(after, LIMIT);
            char when[64];
            snprintf(when, sizeof when, "flags %d, failing %d", (int)flag_sets[f], failing);
            same_table(before, after, LIMIT, when);
        }
    }
    CHECK(free_here > 0);
    if (free_here > 0)
        close(free_here);
    ni_close(a), ni_close(aw), ni_close(b), ni_close(bw);
}

#ifndef SYS_close_range
#  define SYS_close_range 436 /* the same on every architecture (not in every libc's headers) */
#endif

/* A kernel without close_range (before 5.9: ENOSYS) or a seccomp filter that refuses it (older container profiles:
   EPERM): the child that starts on our table takes a full copy instead (unshare), and closes what it does not keep by
   walking /proc/self/fd. It still holds exactly its mappings, and our table is as it was. In a forked child, under
   the filter. */
static int without_close_range_round(void* arg)
{
    (void)arg;
    enum { EXTRA = 50, LIMIT = 128 };
    int null = open("/dev/null", O_RDWR | O_CLOEXEC), extra[EXTRA], ok = 1;
    for (int i = 0; i < EXTRA; i++)
        extra[i] = fcntl(null, F_DUPFD_CLOEXEC, 10);
    static struct table_entry before[LIMIT], after[LIMIT];
    read_table(before, LIMIT);
    const char* argv[] = { "/bin/sleep", "30", NULL };
    ni_fd_mapping m[] = { { null, 0 }, { null, 1 }, { null, 2 }, { extra[EXTRA - 1], 3 } };
    ni_process process;
    if ((ok &= CHECK_OK(ni_spawn(argv[0], argv, NULL, NULL, m, 4, 0, &process))))
    {
        /* None of ours (10 and up; 0-3 are its mappings), above what the new program's loader opens at 4 meanwhile. */
        ok &= CHECK_INT(ni_test_descriptors_of((int)process.pid, 10), 0);
        int32_t exited, code;
        CHECK_OK(ni_kill(&process, SIGKILL));
        CHECK_OK(ni_wait(&process, -1, &exited, &code));
        CHECK_OK(ni_process_close(&process));
    }
    read_table(after, LIMIT);
    ok &= same_table(before, after, LIMIT, "without close_range");
    for (int i = 0; i < EXTRA; i++)
        close(extra[i]);
    close(null);
    return ok;
}

static void spawn_without_close_range(void)
{
    const int errors[] = { ENOSYS, EPERM };
    for (size_t i = 0; i < sizeof errors / sizeof errors[0]; i++)
    {
        const struct ni_test_fault faults[] = { { SYS_close_range, -1, 0, errors[i] } };
        int result = ni_test_run_injected(faults, 1, without_close_range_round, NULL);
        if (result < 0)
        {
            ni_test_skip(NI_TEST_SKIP_NO_SECCOMP);
            return;
        }
        if (!CHECK_INT(result, 1))
            fprintf(stderr, "close_range refused with %s\n", strerror(errors[i]));
    }
}

/* When ni_spawn returns, the child no longer holds what it was not given, as when Process.Start returns: execve has
   closed every close-on-exec descriptor by then (3,000 are open here, which takes it about a millisecond), so a port,
   a lock or a pipe end that the parent closes next is free at once. Counted from outside, in /proc/<pid>/fd, above
   the numbers that the new program's own start-up (its loader) opens. */
static void child_holds_nothing_else_when_spawn_returns(void)
{
    enum { EXTRA = 3000, ABOVE = 100 };
    struct rlimit limit, saved;
    CHECK_INT(getrlimit(RLIMIT_NOFILE, &saved), 0);
    limit = saved;
    if (limit.rlim_cur < EXTRA + 200 && limit.rlim_max >= EXTRA + 200)
    {
        limit.rlim_cur = EXTRA + 200;
        CHECK_INT(setrlimit(RLIMIT_NOFILE, &limit), 0);
    }
    int null = open("/dev/null", O_RDWR | O_CLOEXEC);
    static int extra[EXTRA];
    int opened = 0;
    while (opened < EXTRA && (extra[opened] = fcntl(null, F_DUPFD_CLOEXEC, ABOVE)) >= 0)
        opened++;
    CHECK_INT(opened, EXTRA);
    const char* argv[] = { "/bin/sleep", "30", NULL };
    ni_fd_mapping m[] = { { null, 0 }, { null, 1 }, { null, 2 } };
    for (int round = 0; round < 5; round++)
    {
        ni_process process;
        if (!CHECK_OK(ni_spawn(argv[0], argv, NULL, NULL, m, 3, 0, &process)))
            break;
        CHECK_INT(ni_test_descriptors_of((int)process.pid, ABOVE), 0);
        int32_t exited, code;
        CHECK_OK(ni_kill(&process, SIGKILL));
        CHECK_OK(ni_wait(&process, -1, &exited, &code));
        CHECK_OK(ni_process_close(&process));
    }
    while (opened > 0)
        close(extra[--opened]);
    close(null);
    CHECK_INT(setrlimit(RLIMIT_NOFILE, &saved), 0);
}
#endif

/* ---- Windows: the handle list, handle values on the command line, the environment block, the race ---- */

#ifdef _WIN32
/* The probe's line i (0-based) of `output`: its value as the child got it and the description. */
static int probe_line_at(const char* output, size_t i, unsigned long long* value, char* description, size_t size)
{
    const char* line = output;
    while (i-- > 0 && line != NULL)
        line = strchr(line, '\n') != NULL ? strchr(line, '\n') + 1 : NULL;
    if (line == NULL || *line == '\0')
        return 0;
    char* end;
    *value = strtoull(line, &end, 0);
    if (*end != ' ')
        return 0;
    const char* text = end + 1;
    size_t length = strcspn(text, "\n");
    snprintf(description, size, "%.*s", (int)length, text);
    return 1;
}

/* Whether the probe's line i describes `ours`: the child holds the very object under the value it was told. */
static int probe_line_is(const char* output, size_t i, ni_handle ours)
{
    static char mine[NI_TEST_DESCRIPTION_MAX], theirs[NI_TEST_DESCRIPTION_MAX];
    unsigned long long value;
    ni_test_describe_handle(ours, mine, sizeof mine);
    return strcmp(mine, "-") != 0 && probe_line_at(output, i, &value, theirs, sizeof theirs) && strcmp(mine, theirs) == 0;
}

/* Runs the probe with `args`, `passed` mapped under its own value; its output, the exit code checked. */
static char* run_probe(const char* const* args, ni_handle passed, int32_t flags)
{
    const char* argv[NI_TEST_MAX_ARGS];
    ni_test_command_line(NULL, args, argv);
    ni_fd_mapping m[] = { { passed, NI_SPAWN_SAME_NUMBER } };
    int32_t code = -1;
    char* output = ni_test_run(argv, NULL, NULL, m, 1, flags, &code);
    CHECK_INT(code, 0);
    return output;
}

static void child_gets_only_the_listed(void)
{
    /* Listed, non-inheritable here: a pipe end. Not listed, inheritable on purpose: another pipe end. */
    ni_handle ours_r, ours_w, control_r, control_w;
    if (!CHECK_OK(ni_pipe(&ours_r, &ours_w)) || !CHECK_OK(ni_pipe(&control_r, &control_w)))
        return;
    CHECK_INT(ni_test_write(ours_w, "marked", 6), 6); /* "pipe 6": this pipe, not any pipe */
    CHECK_OK(ni_set_inheritable(control_r, 1));
    CHECK(ni_test_child_sees(control_r)); /* the control is visible to an ordinary child */

    char ours_arg[32], control_arg[32];
    snprintf(ours_arg, sizeof ours_arg, "0x%llx", (unsigned long long)ours_r);
    snprintf(control_arg, sizeof control_arg, "0x%llx", (unsigned long long)control_r);
    const char* args[] = { ours_arg, control_arg, NULL };
    char* output = run_probe(args, ours_r, 0);
    if (CHECK(output != NULL))
    {
        /* Line 0: ours, under the value the child got (its argument rewritten); line 1: the control's
           value, which the child must not hold. */
        unsigned long long value = 0;
        char seen[64] = "";
        if (!CHECK(probe_line_is(output, 0, ours_r)) |
            !CHECK(probe_line_at(output, 1, &value, seen, sizeof seen) && value == (unsigned long long)control_r &&
                   !ni_test_probe_holds(output, control_r)))
            fprintf(stderr, "probe said:\n%s", output);
        free(output);
    }
    CHECK_INT(ni_test_inherit_flag(ours_r), 0); /* never made inheritable here */
    ni_close(ours_r), ni_close(ours_w), ni_close(control_r), ni_close(control_w);
}

/* A passed handle's value on the command line, as a whole argument, in decimal or 0x hex (also in raw
   Arguments text), becomes the child's value; other numbers stay as they are. */
static void handle_values_are_rewritten(void)
{
    ni_handle r, w;
    if (!CHECK_OK(ni_pipe(&r, &w)))
        return;
    CHECK_INT(ni_test_write(w, "rewritten", 9), 9);
    char decimal[32], hex[32], upper[32];
    snprintf(decimal, sizeof decimal, "%llu", (unsigned long long)r);
    snprintf(hex, sizeof hex, "0x%llx", (unsigned long long)r);
    snprintf(upper, sizeof upper, "0X%llX", (unsigned long long)r);
    const char* args[] = { decimal, hex, upper, "1000001", NULL };
    char* output = run_probe(args, r, 0);
    if (CHECK(output != NULL))
    {
        if (!CHECK(probe_line_is(output, 0, r)) | !CHECK(probe_line_is(output, 1, r)) |
            !CHECK(probe_line_is(output, 2, r)) | !CHECK(strstr(output, "\n1000001 -\n") != NULL) |
            !CHECK(strstr(output, "0X") != NULL && strstr(output, "\n0x") != NULL))
            fprintf(stderr, "probe said:\n%s", output);
        free(output);
    }
    char raw[96];
    snprintf(raw, sizeof raw, "%s \"%s\" 1000001", hex, decimal);
    const char* raw_args[] = { raw, NULL };
    output = run_probe(raw_args, r, NI_SPAWN_RAW_ARGUMENTS);
    if (CHECK(output != NULL))
    {
        if (!CHECK(probe_line_is(output, 0, r)) | !CHECK(probe_line_is(output, 1, r)) |
            !CHECK(strstr(output, "\n1000001 -\n") != NULL))
            fprintf(stderr, "probe said:\n%s", output);
        free(output);
    }
    ni_close(r), ni_close(w);
}

/* CreateProcessW wants the block sorted by name, case-insensitively; the caller's array stays as it was. */
static void environment_is_sorted(void)
{
    const char* envp[] = { "zeta=1", "NI_TEST_ROLE=env", "b=2", "SystemRoot=C:\\windows", "A=3", "_under=4", "Alpha=5", NULL };
    const char* before[8];
    memcpy(before, envp, sizeof envp);
    const char* argv[] = { ni_test_self(), NULL };
    int32_t code = -1;
    char* output = ni_test_run(argv, envp, NULL, NULL, 0, 0, &code);
    if (CHECK(output != NULL))
    {
        CHECK_INT(code, 0);
        /* wine adds its own variables to the block and moves SystemRoot to its end: only the order of
           the others is ours. By uppercase code units: '_' (0x5F) after the letters, "A" before "Alpha". */
        char ordered[256] = "";
        for (const char* p = strchr(output, '['); p != NULL; p = strchr(p + 1, '['))
        {
            size_t length = strcspn(p, "]") + 1;
            static const char* const ours[] = { "[A]", "[Alpha]", "[b]", "[NI_TEST_ROLE]", "[zeta]", "[_under]" };
            for (size_t i = 0; i < sizeof ours / sizeof ours[0]; i++)
                if (strlen(ours[i]) == length && memcmp(p, ours[i], length) == 0)
                    strncat(ordered, p, length);
        }
        const char* expected = "[A][Alpha][b][NI_TEST_ROLE][zeta][_under]";
        if (!CHECK(strcmp(ordered, expected) == 0))
            fprintf(stderr, "got      %s\nexpected %s\n(the whole block: %s)\n", ordered, expected, output);
        free(output);
    }
    CHECK(memcmp(before, envp, sizeof envp) == 0);
}

/* The helper process lives as long as this process, and so do its two handles here (the process and the job
   that ends it): started before the first case, they count as no case's leak. */
NI_TEST_WARM_UP(0)

/* ---- The reverse race: another thread's CreateProcess(bInheritHandles=TRUE) without a list. ---- */

struct racer
{
    const ni_handle* watched; /* our mapped handles, whose values the racer's children are asked about */
    size_t watched_count;
    volatile LONG stop;
    volatile LONG children, leaks;
};

/* As Process.Start: CreateProcessW with bInheritHandles=TRUE and no handle list, in a loop. Each child
   (the probe) says what it holds under our mapped handles' values. */
static DWORD WINAPI race(void* parameter)
{
    struct racer* racer = parameter;
    while (!racer->stop)
    {
        char* output = ni_test_probe(racer->watched, racer->watched_count);
        if (output == NULL)
            break;
        for (size_t i = 0; i < racer->watched_count; i++)
        {
            if (ni_test_probe_holds(output, racer->watched[i]))
                InterlockedIncrement(&racer->leaks);
        }
        InterlockedIncrement(&racer->children);
        free(output);
    }
    return 0;
}

/* What ni_spawn did before the helper: each listed handle inheritable for the CreateProcessW call only. */
static int32_t spawn_the_old_way(const char* self, ni_handle in, ni_handle extra, ni_process* result)
{
    wchar_t line[MAX_PATH + 8];
    swprintf(line, sizeof line / sizeof line[0], L"\"%hs\" 0", self);
    HANDLE list[2] = { (HANDLE)in, (HANDLE)extra };
    SIZE_T size = 0;
    InitializeProcThreadAttributeList(NULL, 1, 0, &size);
    LPPROC_THREAD_ATTRIBUTE_LIST attributes = malloc(size);
    if (attributes == NULL || !InitializeProcThreadAttributeList(attributes, 1, 0, &size) ||
        !UpdateProcThreadAttribute(attributes, 0, PROC_THREAD_ATTRIBUTE_HANDLE_LIST, list, sizeof list, NULL, NULL))
    {
        free(attributes);
        return (int32_t)GetLastError();
    }
    STARTUPINFOEXW si;
    memset(&si, 0, sizeof si);
    si.StartupInfo.cb = sizeof si;
    si.StartupInfo.dwFlags = STARTF_USESTDHANDLES;
    si.StartupInfo.hStdInput = (HANDLE)in;
    si.lpAttributeList = attributes;
    static wchar_t env[] = L"NI_TEST_ROLE=exit\0SystemRoot=C:\\windows\0";
    PROCESS_INFORMATION pi;
    SetHandleInformation((HANDLE)in, HANDLE_FLAG_INHERIT, HANDLE_FLAG_INHERIT);
    SetHandleInformation((HANDLE)extra, HANDLE_FLAG_INHERIT, HANDLE_FLAG_INHERIT);
    BOOL ok = CreateProcessW(NULL, line, NULL, NULL, TRUE, EXTENDED_STARTUPINFO_PRESENT | CREATE_UNICODE_ENVIRONMENT, env,
                             NULL, &si.StartupInfo, &pi);
    DWORD error = GetLastError();
    SetHandleInformation((HANDLE)in, HANDLE_FLAG_INHERIT, 0);
    SetHandleInformation((HANDLE)extra, HANDLE_FLAG_INHERIT, 0);
    DeleteProcThreadAttributeList(attributes);
    free(attributes);
    if (!ok)
        return (int32_t)error;
    CloseHandle(pi.hThread);
    result->pid = pi.dwProcessId;
    result->handle = (ni_handle)pi.hProcess;
    return 0;
}

/* Spawns the way `old_way` says until `deadline` (or, for the old way, the first leak) while the racer
   runs; the racer's leak count. */
static LONG race_phase(int old_way, ni_handle in, ni_handle extra, DWORD milliseconds, LONG* children, int* spawns)
{
    const char* self = ni_test_self();
    ni_handle watched[2] = { in, extra };
    struct racer racer = { watched, 2, 0, 0, 0 };
    HANDLE thread = CreateThread(NULL, 0, race, &racer, 0, NULL);
    if (!CHECK(thread != NULL))
        return 0;
    const char* argv[] = { self, "0", NULL };
    const char* const* envp = ni_test_role_env("exit");
    ni_fd_mapping m[] = { { in, 0 }, { extra, NI_SPAWN_SAME_NUMBER } };
    ULONGLONG end = GetTickCount64() + milliseconds;
    *spawns = 0;
    while (GetTickCount64() < end && !(old_way && racer.leaks > 0))
    {
        ni_process process;
        int32_t rc = old_way ? spawn_the_old_way(self, in, extra, &process) : ni_spawn(self, argv, envp, NULL, m, 2, 0, &process);
        if (!CHECK_OK(rc))
            break;
        int32_t exited = 0, code = -1;
        CHECK_OK(ni_wait(&process, 30000, &exited, &code));
        CHECK_INT(code, 0);
        ni_process_close(&process);
        ++*spawns;
    }
    racer.stop = 1;
    WaitForSingleObject(thread, INFINITE);
    CloseHandle(thread);
    *children = racer.children;
    return racer.leaks;
}

static void process_start_never_gets_mapped_handles(void)
{
    /* Two pipes with distinct contents, so that "pipe 5" / "pipe 9" in a child can only be these. */
    ni_handle in_r, in_w, extra_r, extra_w;
    if (!CHECK_OK(ni_pipe(&in_r, &in_w)) || !CHECK_OK(ni_pipe(&extra_r, &extra_w)))
        return;
    CHECK_INT(ni_test_write(in_w, "stdin", 5), 5);
    CHECK_INT(ni_test_write(extra_w, "extra one", 9), 9);

    LONG children = 0;
    int spawns = 0;
    LONG leaks = race_phase(0, in_r, extra_r, 6000, &children, &spawns);
    printf("ni_spawn: %d spawns, %ld racing children, %ld leaks\n", spawns, (long)children, (long)leaks);
    CHECK(spawns > 5 && children > 5); /* the race ran */
    CHECK_INT(leaks, 0);

    /* The negative control: the same race against the old way must leak, or this test proves nothing. */
    leaks = race_phase(1, in_r, extra_r, 30000, &children, &spawns);
    printf("old way: %d spawns, %ld racing children, %ld leaks\n", spawns, (long)children, (long)leaks);
    if (!CHECK(leaks > 0))
        fprintf(stderr, "the old way never leaked into %ld racing children: the race was not exercised\n", (long)children);
    CHECK_INT(ni_test_inherit_flag(in_r), 0);
    CHECK_INT(ni_test_inherit_flag(extra_r), 0);
    ni_close(in_r), ni_close(in_w), ni_close(extra_r), ni_close(extra_w);
}
#endif

NI_TEST_MAIN(
    NI_TEST(argv_round_trips),
    NI_TEST(exec_failures_are_errors),
    NI_TEST(bad_arguments),
    NI_TEST(stdout_eof_while_a_sibling_runs),
    NI_TEST_POSIX(child_gets_exactly_the_mapped),
    NI_TEST_POSIX(mappings_do_not_clobber_each_other),
    NI_TEST_POSIX(targets_at_the_top_of_the_range),
    NI_TEST_POSIX(inherit_stdio_adds_the_open_standard_streams),
    NI_TEST_LINUX(child_holds_nothing_else_when_spawn_returns),
    NI_TEST_LINUX(our_table_is_untouched),
    NI_TEST_LINUX(spawn_without_close_range),
    NI_TEST_POSIX(environment_and_directory),
    NI_TEST_POSIX(listening_socket_as_fd_3),
    NI_TEST_POSIX(exact_while_other_threads_fork),
    NI_TEST_POSIX(suspended_while_other_threads_fork),
    NI_TEST_WINDOWS(child_gets_only_the_listed),
    NI_TEST_WINDOWS(handle_values_are_rewritten),
    NI_TEST_WINDOWS(environment_is_sorted),
    NI_TEST_WINDOWS(process_start_never_gets_mapped_handles))
