/* The POSIX part of the test framework: the checker child (ni_fdlist), /proc/self/fd, and faults
   injected with a seccomp filter. */
#include "ni_test.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* [emulator, emulator args...,] checker, NULL: built before any fork, execv'd as it is. */
static char** g_child_argv;

int ni_test_platform_start(const char* child, char** emulator, char dir[NI_TEST_PATH_MAX])
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

/* Calls fn for each descriptor of this process but the listing's own; stops at a nonzero result. */
static int each_fd(int (*fn)(int fd, const char* target, void* arg), void* arg)
{
    DIR* dir = opendir("/proc/self/fd");
    if (dir == NULL)
        return -1;
    int result = 0;
    struct dirent* entry;
    while (result == 0 && (entry = readdir(dir)) != NULL)
    {
        int fd = atoi(entry->d_name);
        if (entry->d_name[0] == '.' || fd == dirfd(dir))
            continue;
        char target[PATH_MAX];
        ssize_t n = readlinkat(dirfd(dir), entry->d_name, target, sizeof target - 1);
        target[n < 0 ? 0 : n] = '\0';
        result = fn(fd, target, arg);
    }
    closedir(dir);
    return result;
}

static int count_one(int fd, const char* target, void* arg)
{
    (void)fd; (void)target;
    ++*(int*)arg;
    return 0;
}

int ni_test_count_handles(void)
{
    int count = 0;
    return each_fd(count_one, &count) < 0 ? -1 : count;
}

static int match_target(int fd, const char* target, void* arg)
{
    return strcmp(target, (const char*)arg) == 0 ? fd + 1 : 0;
}

int ni_test_find_fd(const char* target)
{
    int found = each_fd(match_target, (void*)target);
    return found > 0 ? found - 1 : -1;
}

void ni_test_inode_target(int fd, char* out, size_t size)
{
    struct stat st;
    out[0] = '\0';
    if (!CHECK(fstat(fd, &st) == 0))
        return;
    if (S_ISSOCK(st.st_mode))
        snprintf(out, size, "socket:[%llu]", (unsigned long long)st.st_ino);
    else if (CHECK(S_ISFIFO(st.st_mode)))
        snprintf(out, size, "pipe:[%llu]", (unsigned long long)st.st_ino);
}

char* ni_test_child_fds(void)
{
    int out[2];
    if (!CHECK(pipe2(out, O_CLOEXEC) == 0))
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

int ni_test_fds_have(const char* list, int fd, const char* target)
{
    for (const char* line = list; line != NULL && *line != '\0';)
    {
        char* rest;
        long number = strtol(line, &rest, 10);
        const char* end = strchr(rest, '\n');
        size_t length = end != NULL ? (size_t)(end - rest) : strlen(rest);
        if (*rest == ' ' && (fd < 0 || number == fd) &&
            (target == NULL || (length - 1 == strlen(target) && memcmp(rest + 1, target, length - 1) == 0)))
            return 1;
        line = end != NULL ? end + 1 : NULL;
    }
    return 0;
}

int ni_test_child_sees(int fd, const char* target)
{
    char* list = ni_test_child_fds();
    int seen = ni_test_fds_have(list, fd, target);
    free(list);
    return seen;
}

static int own_target_is(const char* file, int line, int fd, const char* target)
{
    char path[64], actual[PATH_MAX];
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    ssize_t n = readlink(path, actual, sizeof actual - 1);
    actual[n < 0 ? 0 : n] = '\0';
    if (strcmp(actual, target) != 0)
        ni_test_fail(file, line, "fd %d is \"%s\" here, not \"%s\": the child's list cannot prove anything",
                     fd, actual, target);
    return strcmp(actual, target) == 0;
}

int ni_test_check_inheritance(const char* file, int line, int ours, const char* ours_target,
                              int control, const char* control_target)
{
    if (!own_target_is(file, line, ours, ours_target) || !own_target_is(file, line, control, control_target))
        return 0;
    char* list = ni_test_child_fds();
    if (list == NULL)
        return 0;
    int ok = 1;
    if (ni_test_fds_have(list, ours, ours_target))
    {
        ni_test_fail(file, line, "the child inherited fd %d (%s)", ours, ours_target);
        ok = 0;
    }
    if (!ni_test_fds_have(list, control, control_target))
    {
        ni_test_fail(file, line, "the child lacks the inheritable control fd %d (%s): the check is blind",
                     control, control_target);
        ok = 0;
    }
    free(list);
    return ok;
}

char* const* ni_test_child_argv(void)
{
    return g_child_argv;
}

/* ---- Processes ---- */

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
    struct timespec start, now, pause = { 0, 1000000 };
    clock_gettime(CLOCK_MONOTONIC, &start);
    for (;;)
    {
        if (!ni_test_alive(pid))
            return 1;
        clock_gettime(CLOCK_MONOTONIC, &now);
        if ((now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000 > timeout_ms)
            return 0;
        nanosleep(&pause, NULL);
    }
}

/* ---- Fault injection: a classic BPF seccomp filter, written out by hand (no libseccomp here) ---- */

#define RET_ALLOW 0x7fff0000u
#define RET_ERRNO 0x00050000u
#define RET_KILL_PROCESS 0x80000000u
struct bpf_insn { uint16_t code; uint8_t jt, jf; uint32_t k; };
struct bpf_prog { unsigned short len; struct bpf_insn* filter; };
#define BPF_LD_ABS 0x20   /* BPF_LD | BPF_W | BPF_ABS */
#define BPF_JEQ_K 0x15    /* BPF_JMP | BPF_JEQ | BPF_K */
#define BPF_JSET_K 0x45   /* BPF_JMP | BPF_JSET | BPF_K */
#define BPF_RET_K 0x06    /* BPF_RET | BPF_K */
#if defined(__x86_64__)
#  define AUDIT_ARCH_HERE 0xc000003eu
#elif defined(__aarch64__)
#  define AUDIT_ARCH_HERE 0xc00000b7u
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
