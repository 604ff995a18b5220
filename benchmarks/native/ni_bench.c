/* Times each ni_ call against the raw system calls it wraps, in the same process, interleaved, and
   prints the median ns per operation of several rounds and the ratio; then ni_spawn against glibc's
   posix_spawn with 10 and 10,000 descriptors open, start + wait and the starting call alone. Usage: ni_bench
   [iterations [spawn-iterations]] */
#include "noinherit.h"

#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define ROUNDS 7

static const char* g_path = "/dev/null";
static int g_fd;

static void raw_open(void) { close(open(g_path, O_RDONLY | O_CLOEXEC)); }
static void ni_open_close(void) { ni_handle h; ni_open(g_path, NI_O_RDONLY, 0, &h); ni_close(h); }
static void raw_socket(void) { close(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)); }
static void ni_socket_close(void) { ni_handle h; ni_socket(NI_AF_INET, NI_SOCK_STREAM, 0, &h); ni_close(h); }
static void raw_pipe(void) { int p[2]; pipe2(p, O_CLOEXEC); close(p[0]); close(p[1]); }
static void ni_pipe_close(void) { ni_handle r, w; ni_pipe(&r, &w); ni_close(r); ni_close(w); }
static void raw_dup(void) { close(fcntl(g_fd, F_DUPFD_CLOEXEC, 0)); }
static void ni_dup_close(void) { ni_handle h; ni_dup(g_fd, &h); ni_close(h); }
static void raw_flag(void) { fcntl(g_fd, F_SETFD, 0); fcntl(g_fd, F_SETFD, FD_CLOEXEC); }
static void ni_flag(void) { ni_set_inheritable(g_fd, 1); ni_set_inheritable(g_fd, 0); }

/* A child that does nothing, started and waited for; the child inherits stdio only. */
static char* const g_true_argv[] = { "/bin/true", NULL };
extern char** environ;

static double now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e9 + (double)t.tv_nsec;
}

/* The time spent in the starting call alone, summed: it returns once the child has called execve, or only
   once execve has closed the close-on-exec descriptors too if it waits for a close-on-exec channel. */
static double g_start_ns;

static void raw_spawn(void)
{
    pid_t pid;
    int status;
    double started = now_ns();
    int rc = posix_spawn(&pid, g_true_argv[0], NULL, NULL, g_true_argv, environ);
    g_start_ns += now_ns() - started;
    if (rc == 0)
        waitpid(pid, &status, 0);
}

static void ni_spawn_wait(void)
{
    ni_process p;
    int32_t exited, code;
    double started = now_ns();
    int32_t rc = ni_spawn(g_true_argv[0], (const char* const*)g_true_argv, (const char* const*)environ, NULL, NULL, 0,
                          NI_SPAWN_INHERIT_STDIO, &p);
    g_start_ns += now_ns() - started;
    if (rc == 0)
    {
        ni_wait(&p, -1, &exited, &code);
        ni_process_close(&p);
    }
}

static double ns_per_op(void (*op)(void), long iterations)
{
    double started = now_ns();
    for (long i = 0; i < iterations; i++)
        op();
    return (now_ns() - started) / (double)iterations;
}

static int compare(const void* x, const void* y)
{
    double a = *(const double*)x, b = *(const double*)y;
    return (a > b) - (a < b);
}

/* One line: the median of each side's rounds and their ratio. */
static void print_medians(const char* name, double raw[ROUNDS], double ours[ROUNDS])
{
    qsort(raw, ROUNDS, sizeof raw[0], compare);
    qsort(ours, ROUNDS, sizeof ours[0], compare);
    double m_raw = raw[ROUNDS / 2], m_ours = ours[ROUNDS / 2];
    printf("%-28s %12.1f %12.1f %7.3fx\n", name, m_raw, m_ours, m_ours / m_raw);
}

int main(int argc, char** argv)
{
    long iterations = argc > 1 ? atol(argv[1]) : 1000000;
    long spawn_iterations = argc > 2 ? atol(argv[2]) : 1000;
    g_fd = open(g_path, O_RDONLY | O_CLOEXEC);
    static const struct { const char* name; void (*raw)(void); void (*ours)(void); } cases[] = {
        { "open + close", raw_open, ni_open_close },
        { "socket + close", raw_socket, ni_socket_close },
        { "pipe + 2 close", raw_pipe, ni_pipe_close },
        { "dup + close", raw_dup, ni_dup_close },
        { "set inheritable round trip", raw_flag, ni_flag },
    };
    printf("%-28s %12s %12s %8s   (median of %d rounds of %ld)\n", "operation", "raw ns/op", "ni_ ns/op", "ratio",
           ROUNDS, iterations);
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++)
    {
        double raw[ROUNDS], ours[ROUNDS];
        for (int r = 0; r < ROUNDS; r++)
        {
            raw[r] = ns_per_op(cases[c].raw, iterations);
            ours[r] = ns_per_op(cases[c].ours, iterations);
        }
        print_medians(cases[c].name, raw, ours);
    }

    /* Spawning with many descriptors open: the kernel copies the descriptor table into the child and
       closes the close-on-exec ones at exec whoever spawns, so that is the floor both share. */
    struct rlimit limit;
    if (getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max)
    {
        limit.rlim_cur = limit.rlim_max;
        setrlimit(RLIMIT_NOFILE, &limit);
    }
    printf("\n%-28s %12s %12s %8s   (median of %d rounds of %ld)\n", "spawn /bin/true + wait", "posix_spawn",
           "ni_spawn", "ratio", ROUNDS, spawn_iterations);
    static const int open_counts[] = { 10, 10000 };
    int opened = 0, extra[10000];
    for (size_t k = 0; k < sizeof open_counts / sizeof open_counts[0]; k++)
    {
        for (; opened < open_counts[k]; opened++)
        {
            if ((extra[opened] = fcntl(g_fd, F_DUPFD_CLOEXEC, 0)) < 0)
            {
                perror("F_DUPFD_CLOEXEC (raise RLIMIT_NOFILE)");
                return 1;
            }
        }
        double raw[ROUNDS], ours[ROUNDS], raw_start[ROUNDS], ours_start[ROUNDS];
        for (int r = 0; r < ROUNDS; r++)
        {
            g_start_ns = 0;
            raw[r] = ns_per_op(raw_spawn, spawn_iterations);
            raw_start[r] = g_start_ns / (double)spawn_iterations;
            g_start_ns = 0;
            ours[r] = ns_per_op(ni_spawn_wait, spawn_iterations);
            ours_start[r] = g_start_ns / (double)spawn_iterations;
        }
        char name[64];
        snprintf(name, sizeof name, "%d descriptors open", open_counts[k]);
        print_medians(name, raw, ours);
        print_medians("  of which the call alone", raw_start, ours_start);
    }
    while (opened > 0)
        close(extra[--opened]);
    close(g_fd);
    return 0;
}
