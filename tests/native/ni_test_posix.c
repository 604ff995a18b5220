/* The POSIX part of the test framework: the checker child (ni_fdlist), this process's descriptors, the
   file and descriptor primitives, and faults injected with a seccomp filter (Linux). Linux lists
   descriptors in /proc/self/fd; elsewhere /dev/fd. */
#include "ni_test.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

#ifdef __linux__
#  include <sched.h>
#  include <sys/prctl.h>
#  include <sys/syscall.h>
#  define FD_DIR "/proc/self/fd"
#else
#  define FD_DIR "/dev/fd"
#endif

/* [emulator, emulator args...,] checker, NULL: built before any fork, execv'd as it is. */
static char** g_child_argv;
static char g_self[PATH_MAX];

/* This program's path, for the tests that start it as a child (ni_test_role). */
static int find_self(const char* argv0)
{
#ifdef __linux__
    ssize_t n = readlink("/proc/self/exe", g_self, sizeof g_self - 1);
    if (n > 0)
    {
        g_self[n] = '\0';
        return 0;
    }
#endif
    (void)argv0;
    return realpath(argv0, g_self) != NULL ? 0 : -1;
}

int ni_test_platform_start(const char* self, const char* child, char** emulator, char dir[NI_TEST_PATH_MAX])
{
    size_t n = 0;
    while (emulator != NULL && emulator[n] != NULL)
        n++;
    g_child_argv = calloc(n + 2, sizeof *g_child_argv);
    if (g_child_argv == NULL)
        return -1;
    for (size_t i = 0; i < n; i++)
        g_child_argv[i] = emulator[i];
    g_child_argv[n] = (char*)child;
    if (find_self(self) != 0)
        return -1;

    const char* tmp = getenv("TMPDIR");
    char template[PATH_MAX];
    snprintf(template, sizeof template, "%s/ni-test-XXXXXX", tmp != NULL && *tmp != '\0' ? tmp : "/tmp");
    if (mkdtemp(template) == NULL || realpath(template, dir) == NULL)
    {
        fprintf(stderr, "cannot create a temp dir from %s: %s\n", template, strerror(errno));
        return -1;
    }
    umask(022); /* the tests that depend on it set their own */
    signal(SIGPIPE, SIG_IGN); /* a write to a closed pipe or socket fails a check, not the run */
    return 0;
}

int ni_test_platform_role(const char* role, int argc, char** argv)
{
    (void)argc; (void)argv;
    if (strcmp(role, "accept") != 0)
        return -1;
    int connection = accept(3, NULL, NULL);
    if (connection < 0)
        return 3;
    ssize_t n = write(connection, "accepted", 8);
    close(connection);
    return n == 8 ? 0 : 4;
}

char* const* ni_test_child_argv(void)
{
    return g_child_argv;
}

const char* ni_test_self(void)
{
    return g_self;
}

long long ni_test_now_ms(void)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (long long)now.tv_sec * 1000 + now.tv_nsec / 1000000;
}

/* ---- Files ---- */

static int remove_entry(const char* path, const struct stat* st, int type, struct FTW* ftw)
{
    (void)st; (void)type; (void)ftw;
    if (remove(path) != 0)
        fprintf(stderr, "cannot remove %s: %s\n", path, strerror(errno));
    return 0;
}

static int remove_entry_below(const char* path, const struct stat* st, int type, struct FTW* ftw)
{
    return ftw->level > 0 ? remove_entry(path, st, type, ftw) : 0;
}

void ni_test_clean_dir(const char* dir, int remove_dir)
{
    nftw(dir, remove_dir ? remove_entry : remove_entry_below, 16, FTW_DEPTH | FTW_PHYS);
}

FILE* ni_test_fopen(const char* path, const char* how, int mode)
{
    int writing = how[0] == 'w';
    int fd = open(path, writing ? O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC : O_RDONLY | O_CLOEXEC, 0600);
    if (fd < 0)
        return NULL;
    FILE* f = NULL;
    if (!writing || fchmod(fd, (mode_t)mode) == 0)
        f = fdopen(fd, how);
    if (f == NULL)
    {
        int error = errno;
        close(fd);
        errno = error;
    }
    return f;
}

int ni_test_mkdir(const char* path)
{
    return mkdir(path, 0755) == 0 ? 0 : errno;
}

int ni_test_remove(const char* path)
{
    return unlink(path) == 0 ? 0 : errno;
}

int ni_test_exists(const char* path)
{
    struct stat st;
    return lstat(path, &st) == 0;
}

long long ni_test_file_size(const char* path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (long long)st.st_size : -1;
}

int ni_test_file_mode(const char* path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (int)(st.st_mode & 07777) : -1;
}

int ni_test_count_entries(const char* dir, const char* prefix)
{
    DIR* d = opendir(dir);
    if (d == NULL)
        return -1;
    int count = 0;
    struct dirent* entry;
    while ((entry = readdir(d)) != NULL)
        count += strcmp(entry->d_name, ".") != 0 && strcmp(entry->d_name, "..") != 0 &&
                 strncmp(entry->d_name, prefix, strlen(prefix)) == 0;
    closedir(d);
    return count;
}

int ni_test_file_is_open(const char* path)
{
    static ni_handle fds[4096];
    int count = ni_test_list_handles(fds, 4096);
    for (int i = 0; i < count && i < 4096; i++)
    {
        static char description[NI_TEST_DESCRIPTION_MAX];
        ni_test_describe_handle(fds[i], description, sizeof description);
        if (strcmp(description, path) == 0)
            return 1;
    }
    return 0;
}

/* ---- Descriptors ---- */

int ni_test_list_handles(ni_handle* out, int capacity)
{
    DIR* dir = opendir(FD_DIR);
    if (dir == NULL)
        return -1;
    int count = 0;
    struct dirent* entry;
    while ((entry = readdir(dir)) != NULL)
    {
        int fd = atoi(entry->d_name);
        if (entry->d_name[0] == '.' || fd == dirfd(dir))
            continue; /* the listing's own */
        if (count < capacity)
            out[count] = fd;
        count++;
    }
    closedir(dir);
    return count;
}

int ni_test_socket_error(void)
{
    return errno;
}

long long ni_test_write(ni_handle h, const void* data, size_t size)
{
    ssize_t n = write((int)h, data, size);
    return n >= 0 ? (long long)n : -(long long)errno;
}

long long ni_test_read(ni_handle h, void* data, size_t size)
{
    ssize_t n = read((int)h, data, size);
    return n >= 0 ? (long long)n : -(long long)errno;
}

long long ni_test_seek(ni_handle h, long long offset, int whence)
{
    off_t position = lseek((int)h, (off_t)offset, whence);
    return position >= 0 ? (long long)position : -(long long)errno;
}

/* Reads `h` until `want` is in the text (NULL: until the end), or timeout_ms pass with nothing to read. */
static char* read_pipe(ni_handle h, const char* want, int timeout_ms, int* timed_out)
{
    size_t size = 0, capacity = 4096;
    char* text = malloc(capacity);
    text[0] = '\0';
    *timed_out = 0;
    while (want == NULL || strstr(text, want) == NULL)
    {
        struct pollfd p = { (int)h, POLLIN, 0 };
        int ready = poll(&p, 1, timeout_ms);
        if (ready < 0 && errno == EINTR)
            continue;
        if (ready <= 0)
        {
            *timed_out = 1;
            break;
        }
        if (size + 1024 > capacity)
            text = realloc(text, capacity *= 2);
        ssize_t n = read((int)h, text + size, capacity - size - 1);
        if (n <= 0)
            break;
        size += (size_t)n;
        text[size] = '\0';
    }
    return text;
}

char* ni_test_read_all(ni_handle h, int timeout_ms, int* timed_out)
{
    return read_pipe(h, NULL, timeout_ms, timed_out);
}

char* ni_test_read_until(ni_handle h, const char* want, int timeout_ms, int* timed_out)
{
    return read_pipe(h, want, timeout_ms, timed_out);
}

int ni_test_set_nonblocking(ni_handle h, int on)
{
    int flags = fcntl((int)h, F_GETFL);
    return flags >= 0 && fcntl((int)h, F_SETFL, on ? flags | O_NONBLOCK : flags & ~O_NONBLOCK) == 0;
}

int ni_test_inherit_flag(ni_handle h)
{
    int flags = h >= 0 && h <= INT_MAX ? fcntl((int)h, F_GETFD) : -1;
    return flags < 0 ? -1 : (flags & FD_CLOEXEC) == 0;
}

int ni_test_make_inheritable(ni_handle h)
{
    return fcntl((int)h, F_SETFD, 0) == 0;
}

ni_handle ni_test_plain_file(const char* path)
{
    return open(path, O_RDWR | O_CREAT, 0600);
}

int ni_test_plain_pipe(ni_handle* read_end, ni_handle* write_end)
{
    int fds[2];
    if (pipe(fds) != 0)
        return 0;
    *read_end = fds[0];
    *write_end = fds[1];
    return 1;
}

ni_handle ni_test_plain_dup(ni_handle h)
{
    return dup((int)h);
}

/* ---- The checker child ---- */

/* A pipe whose ends this process's other children never inherit. */
static int private_pipe(int fds[2])
{
#ifdef __linux__
    return pipe2(fds, O_CLOEXEC);
#else
    /* No pipe2: a child started between the two calls could inherit it, which only the concurrent tests
       (the race) would notice. */
    if (pipe(fds) != 0)
        return -1;
    fcntl(fds[0], F_SETFD, FD_CLOEXEC);
    fcntl(fds[1], F_SETFD, FD_CLOEXEC);
    return 0;
#endif
}

char* ni_test_probe(const ni_handle* handles, size_t count)
{
    (void)handles; (void)count; /* the checker lists every descriptor it has */
    int out[2];
    if (!CHECK(private_pipe(out) == 0))
        return NULL;
    pid_t pid = fork();
    if (pid == 0)
    {
        /* Only async-signal-safe calls here: the parent may have other threads. dup2 leaves the
           new fd 1 inheritable while both pipe ends stay close-on-exec. */
        if (out[1] == STDOUT_FILENO ? fcntl(out[1], F_SETFD, 0) < 0 : dup2(out[1], STDOUT_FILENO) < 0)
            _exit(126);
        execv(g_child_argv[0], g_child_argv);
        _exit(127);
    }
    close(out[1]);
    FILE* f = pid > 0 ? fdopen(out[0], "r") : NULL;
    char* list = f != NULL ? ni_test_read_stream(f, NULL) : NULL;
    if (f != NULL)
        fclose(f);
    else
        close(out[0]);
    int status = 0;
    if (!CHECK(pid > 0) || !CHECK(waitpid(pid, &status, 0) == pid) ||
        !CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0) || !CHECK(list != NULL))
    {
        free(list);
        return NULL;
    }
    return list;
}

/* ---- Processes, through /proc/<pid>/stat (Linux) ---- */

#ifdef __linux__
/* Runs on the clone's own stack, which AddressSanitizer does not know (as the library's child code). */
__attribute__((no_sanitize_address)) static int set_mark(void* mark)
{
    *(volatile int*)mark = 1;
    _exit(0);
}
#endif

int ni_test_child_shares_descriptors(void)
{
#ifdef __linux__
    /* In a forked child: valgrind ends the process that makes such a clone. */
    pid_t tester = fork();
    if (tester == 0)
    {
        static char stack[16384] __attribute__((aligned(16)));
        volatile int mark = 0;
        int pid = clone(set_mark, stack + sizeof stack, CLONE_VM | CLONE_VFORK | CLONE_FILES | SIGCHLD, (void*)&mark);
        if (pid > 0)
            waitpid(pid, NULL, 0);
        _exit(pid > 0 && mark == 1 ? 0 : 1);
    }
    int status;
    if (tester < 0 || waitpid(tester, &status, 0) != tester)
        return 0;
    return WIFEXITED(status) && WEXITSTATUS(status) == 0;
#else
    return 0;
#endif
}

int ni_test_descriptors_of(int pid, int lowest)
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
    {
        long fd = atol(entry->d_name);
        count += entry->d_name[0] != '.' && fd >= lowest && (rlim_t)fd < limit.rlim_cur;
    }
    closedir(dir);
    return count;
}

int ni_test_proc_stat(int pid, struct ni_test_proc* proc)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/stat", pid);
    char* text = ni_test_read_file(path, NULL);
    /* "pid (comm) state ppid pgrp session tty_nr tpgid ...": comm may hold anything, so count from its last ')'. */
    const char* end = text != NULL ? strrchr(text, ')') : NULL;
    int found = end != NULL && sscanf(end + 1, " %c %d %d %d %d %d", &proc->state, &proc->parent, &proc->group,
                                      &proc->session, &proc->tty, &proc->foreground) == 6;
    free(text);
    return found;
}

int ni_test_alive(int pid)
{
    struct ni_test_proc proc;
    return ni_test_proc_stat(pid, &proc) && proc.state != 'Z' && proc.state != 'X';
}

int ni_test_wait_gone(int pid, int timeout_ms)
{
    struct timespec pause = { 0, 1000000 };
    long long deadline = ni_test_now_ms() + timeout_ms;
    while (ni_test_alive(pid))
    {
        if (ni_test_now_ms() > deadline)
            return 0;
        nanosleep(&pause, NULL);
    }
    return 1;
}

/* ---- Fault injection: a classic BPF seccomp filter, written out by hand (no libseccomp here) ---- */

#ifdef __linux__
#  define RET_ALLOW 0x7fff0000u
#  define RET_ERRNO 0x00050000u
#  define RET_KILL_PROCESS 0x80000000u
struct bpf_insn { uint16_t code; uint8_t jt, jf; uint32_t k; };
struct bpf_prog { unsigned short len; struct bpf_insn* filter; };
#  define BPF_LD_ABS 0x20   /* BPF_LD | BPF_W | BPF_ABS */
#  define BPF_JEQ_K 0x15    /* BPF_JMP | BPF_JEQ | BPF_K */
#  define BPF_JSET_K 0x45   /* BPF_JMP | BPF_JSET | BPF_K */
#  define BPF_RET_K 0x06    /* BPF_RET | BPF_K */
#  if defined(__x86_64__)
#    define AUDIT_ARCH_HERE 0xc000003eu
#  elif defined(__aarch64__)
#    define AUDIT_ARCH_HERE 0xc00000b7u
#  endif
#endif

int ni_test_inject(const struct ni_test_fault* faults, size_t count)
{
#if defined(AUDIT_ARCH_HERE) && defined(SYS_getpgid)
    struct bpf_insn f[128];
    size_t k = 0;
    f[k++] = (struct bpf_insn){ BPF_LD_ABS, 0, 0, 4 }; /* arch */
    size_t arch_check = k;
    f[k++] = (struct bpf_insn){ BPF_JEQ_K, 0, 0, AUDIT_ARCH_HERE };
    struct ni_test_fault all[24];
    if (count + 1 > sizeof all / sizeof all[0])
        return 0;
    memcpy(all, faults, count * sizeof *faults);
    all[count] = (struct ni_test_fault){ SYS_getpgid, -1, 0, ENOTRECOVERABLE }; /* the canary */
    for (size_t i = 0; i <= count; i++)
    {
        f[k++] = (struct bpf_insn){ BPF_LD_ABS, 0, 0, 0 }; /* nr */
        if (all[i].arg < 0)
        {
            f[k++] = (struct bpf_insn){ BPF_JEQ_K, 0, 1, (uint32_t)all[i].nr };
        }
        else
        {
            f[k++] = (struct bpf_insn){ BPF_JEQ_K, 0, 3, (uint32_t)all[i].nr };
            f[k++] = (struct bpf_insn){ BPF_LD_ABS, 0, 0, 16 + 8 * (uint32_t)all[i].arg }; /* low half */
            f[k++] = (struct bpf_insn){ BPF_JSET_K, 0, 1, all[i].mask };
        }
        uint32_t action = all[i].error == NI_TEST_FAULT_KILL ? RET_KILL_PROCESS : RET_ERRNO | (uint32_t)all[i].error;
        f[k++] = (struct bpf_insn){ BPF_RET_K, 0, 0, action };
    }
    f[k++] = (struct bpf_insn){ BPF_RET_K, 0, 0, RET_ALLOW };
    f[arch_check].jf = (uint8_t)(k - 1 - arch_check - 1);
    struct bpf_prog prog = { (unsigned short)k, f };
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 || prctl(PR_SET_SECCOMP, 2 /* FILTER */, &prog) != 0)
        return 0;
    return syscall(SYS_getpgid, 0) == -1 && errno == ENOTRECOVERABLE;
#else
    (void)faults; (void)count;
    return 0;
#endif
}

int ni_test_run_injected(const struct ni_test_fault* faults, size_t count, int (*body)(void*), void* arg)
{
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid == 0)
    {
        if (count > 0 && !ni_test_inject(faults, count))
            _exit(NI_TEST_SKIPPED);
        _exit(body(arg) ? 0 : 1);
    }
    int status = 0;
    if (!CHECK(pid > 0) || !CHECK(waitpid(pid, &status, 0) == pid))
        return 0;
    if (WIFEXITED(status) && WEXITSTATUS(status) == NI_TEST_SKIPPED)
        return -1;
    if (WIFSIGNALED(status))
        printf("  the injected child was killed by signal %d%s\n", WTERMSIG(status),
               WTERMSIG(status) == SIGSYS ? " (SIGSYS: it made a call that the filter forbids)" : "");
    return CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}
