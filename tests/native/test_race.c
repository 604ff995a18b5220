/*
 * The race this library exists for. Threads create descriptors in a tight loop while another thread
 * starts children as fast as it can; every child lists what it inherited. Descriptors made by the
 * ni_ creators must never show up. In the same run a naive control makes the same descriptors and
 * then sets FD_CLOEXEC with fcntl, as code without atomic creation does: it must leak at least once
 * within its time bound, or the test has proved nothing and fails.
 *
 * NI_RACE_SECONDS (default 2) is how long the ni_ phase runs; the control runs until it has leaked
 * (at most 10 times that), or, with NI_RACE_SOAK=1, exactly as long as the ni_ phase, so that the
 * two leak counts compare. Each phase prints operations, children started and leaks, which
 * docs/atomicity.md records for a long soak run.
 */
#include "ni_test.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum creator { OPEN, SOCKET, ACCEPT, PIPE, DUP, COPYFILE, CREATOR_COUNT };
static const char* const creator_names[CREATOR_COUNT] = { "open", "socket", "accept", "pipe", "dup", "copyfile" };

struct worker
{
    enum creator kind;
    int naive;
    atomic_int* stop;
    long operations;
    int failures;
    char path[NI_TEST_PATH_MAX];  /* open: the file; copyfile: the source */
    char path2[NI_TEST_PATH_MAX]; /* copyfile: the destination */
    int listener;                 /* accept */
    struct sockaddr_in address;   /* accept */
    int original;                 /* dup */
};

static int set_cloexec(int fd)
{
    return fd < 0 ? -1 : fcntl(fd, F_SETFD, FD_CLOEXEC);
}

/* The naive copy: both files opened without O_CLOEXEC, the flag set afterwards. */
static int naive_copy(const char* source, const char* destination)
{
    int in = open(source, O_RDONLY);
    set_cloexec(in);
    int out = open(destination, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    set_cloexec(out);
    char buffer[512];
    ssize_t n;
    int rc = in >= 0 && out >= 0 ? 0 : -1;
    while (rc == 0 && (n = read(in, buffer, sizeof buffer)) > 0)
        rc = write(out, buffer, (size_t)n) == n ? 0 : -1;
    if (in >= 0) close(in);
    if (out >= 0) close(out);
    return rc;
}

/* One descriptor created, then closed; returns 0 or -1. */
static int create_once(struct worker* w)
{
    ni_handle a = NI_INVALID_HANDLE, b = NI_INVALID_HANDLE;
    int fds[2];
    switch (w->kind)
    {
        case OPEN:
            if (w->naive) { int fd = open(w->path, O_RDONLY); set_cloexec(fd); a = fd; }
            else if (ni_open(w->path, NI_O_RDONLY, 0, &a) != 0) return -1;
            break;
        case SOCKET:
            if (w->naive) { int fd = socket(AF_INET, SOCK_STREAM, 0); set_cloexec(fd); a = fd; }
            else if (ni_socket(NI_AF_INET, NI_SOCK_STREAM, 0, &a) != 0) return -1;
            break;
        case ACCEPT:
        {
            /* The client end is made atomically either way: only the accepted end is under test. */
            ni_handle client;
            if (ni_socket(NI_AF_INET, NI_SOCK_STREAM, 0, &client) != 0)
                return -1;
            if (connect((int)client, (struct sockaddr*)&w->address, sizeof w->address) != 0)
            {
                ni_close(client);
                return -1;
            }
            if (w->naive) { int fd = accept(w->listener, NULL, NULL); set_cloexec(fd); a = fd; }
            else if (ni_accept(w->listener, NULL, NULL, &a) != 0) a = NI_INVALID_HANDLE;
            ni_close(client);
            break;
        }
        case PIPE:
            if (w->naive) { if (pipe(fds) != 0) return -1; set_cloexec(fds[0]); set_cloexec(fds[1]); a = fds[0]; b = fds[1]; }
            else if (ni_pipe(&a, &b) != 0) return -1;
            break;
        case DUP:
            if (w->naive) { int fd = dup(w->original); set_cloexec(fd); a = fd; }
            else if (ni_dup(w->original, &a) != 0) return -1;
            break;
        case COPYFILE:
            return w->naive ? naive_copy(w->path, w->path2) : (ni_copyfile(w->path, w->path2, NI_COPY_OVERWRITE) == 0 ? 0 : -1);
        default:
            return -1;
    }
    if (a == NI_INVALID_HANDLE)
        return -1;
    close((int)a);
    if (b != NI_INVALID_HANDLE)
        close((int)b);
    return 0;
}

static void* run_worker(void* arg)
{
    struct worker* w = arg;
    while (!atomic_load(w->stop))
    {
        if (create_once(w) == 0)
            w->operations++;
        else
            w->failures++;
    }
    return NULL;
}

/* The descriptors a child inherits that the process had before the phase began: not leaks. */
static int is_baseline(const char* baseline, int fd, const char* target)
{
    return fd <= 2 || ni_test_probe_has(baseline, fd, target);
}

struct phase_result
{
    long operations, children, leaks, failures;
    char example[256];
};

static void run_phase(int naive, double seconds, int stop_at_first_leak, struct phase_result* result)
{
    memset(result, 0, sizeof *result);
    char* baseline = ni_test_probe(NULL, 0);
    if (baseline == NULL)
        return;

    static struct worker workers[CREATOR_COUNT];
    atomic_int stop = 0;
    pthread_t threads[CREATOR_COUNT];
    int listener = -1;
    struct sockaddr_in address;
    memset(&address, 0, sizeof address);
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof address;
    ni_handle listen_handle;
    CHECK_OK(ni_socket(NI_AF_INET, NI_SOCK_STREAM, 0, &listen_handle));
    listener = (int)listen_handle;
    CHECK_INT(bind(listener, (struct sockaddr*)&address, sizeof address), 0);
    CHECK_INT(listen(listener, 128), 0);
    CHECK_INT(getsockname(listener, (struct sockaddr*)&address, &length), 0);
    ni_handle original;
    CHECK_OK(ni_open("/dev/null", NI_O_RDONLY, 0, &original));

    for (int i = 0; i < CREATOR_COUNT; i++)
    {
        struct worker* w = &workers[i];
        memset(w, 0, sizeof *w);
        w->kind = (enum creator)i;
        w->naive = naive;
        w->stop = &stop;
        w->listener = listener;
        w->address = address;
        w->original = (int)original;
        char name[64];
        snprintf(name, sizeof name, "race-%s-%s", naive ? "naive" : "ours", creator_names[i]);
        ni_test_path(w->path, name);
        snprintf(name, sizeof name, "race-%s-%s-copy", naive ? "naive" : "ours", creator_names[i]);
        ni_test_path(w->path2, name);
        CHECK_OK(ni_test_write_file(w->path, "race", 4, 0644));
        pthread_create(&threads[i], NULL, run_worker, w);
    }

    struct timespec start, now;
    clock_gettime(CLOCK_MONOTONIC, &start);
    for (;;)
    {
        clock_gettime(CLOCK_MONOTONIC, &now);
        double elapsed = (double)(now.tv_sec - start.tv_sec) + (double)(now.tv_nsec - start.tv_nsec) / 1e9;
        if (elapsed >= seconds || (stop_at_first_leak && result->leaks > 0))
            break;
        char* list = ni_test_probe(NULL, 0);
        if (list == NULL)
            break;
        result->children++;
        /* Every line past the baseline is a descriptor that leaked into this child. */
        for (char* line = strtok(list, "\n"); line != NULL; line = strtok(NULL, "\n"))
        {
            int fd;
            char target[4096]; /* sscanf's %4095 below */
            if (sscanf(line, "%d %4095[^\n]", &fd, target) != 2 || is_baseline(baseline, fd, target))
                continue;
            if (result->leaks++ == 0)
                snprintf(result->example, sizeof result->example, "fd %d -> %.200s", fd, target);
        }
        free(list);
    }
    atomic_store(&stop, 1);
    for (int i = 0; i < CREATOR_COUNT; i++)
    {
        pthread_join(threads[i], NULL);
        result->operations += workers[i].operations;
        result->failures += workers[i].failures;
    }
    close((int)original);
    close(listener);
    free(baseline);
}

static double race_seconds(void)
{
    const char* text = getenv("NI_RACE_SECONDS");
    double seconds = text != NULL ? atof(text) : 2.0;
    return seconds > 0 ? seconds : 2.0;
}

static void race_ours_never_leak_naive_does(void)
{
    double seconds = race_seconds();
    struct phase_result ours, naive;

    /* Flushed at once: should a phase ever hang, the output a time-out leaves says which. */
    printf("ni_ creators: racing children for %.1f s\n", seconds);
    fflush(stdout);
    run_phase(0, seconds, 0, &ours);
    printf("ni_ creators: %ld operations, %ld children, %ld leaks, %ld failed operations\n",
           ours.operations, ours.children, ours.leaks, ours.failures);
    CHECK(ours.children > 0);
    CHECK(ours.operations > 0);
    if (!CHECK_INT(ours.leaks, 0))
        printf("first leak: %s\n", ours.example);

    int soak = getenv("NI_RACE_SOAK") != NULL;
    printf("naive control: racing children for up to %.1f s%s\n", soak ? seconds : seconds * 10,
           soak ? "" : ", until its first leak");
    fflush(stdout);
    run_phase(1, soak ? seconds : seconds * 10, !soak, &naive);
    printf("naive control: %ld operations, %ld children, %ld leaks%s%s\n", naive.operations, naive.children,
           naive.leaks, naive.leaks ? ", first: " : "", naive.example);
    /* No leak from the naive code means the children did not race the creators: the test is blind. */
    CHECK(naive.leaks > 0);
}

NI_TEST_MAIN(NI_TEST_POSIX(race_ours_never_leak_naive_does))
