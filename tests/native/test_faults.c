/*
 * Injected faults on Linux: signal storms (EINTR), a descriptor limit reached in the middle of a call
 * (EMFILE), a file-size limit or a full file system in the middle of a copy (EFBIG, ENOSPC), and a peer
 * that resets its connection before it is accepted. Each fault has a control that shows it really
 * happens here (a plain system call that sees EINTR, a call that succeeds with one more descriptor), so
 * that a test cannot pass by not injecting anything.
 */
#include "ni_test.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* ---- The signal storm: SIGUSR1 at a high rate at one thread, its handler installed without SA_RESTART ---- */

static atomic_long g_caught;

static void count_signal(int sig)
{
    (void)sig;
    atomic_fetch_add(&g_caught, 1);
}

struct storm
{
    pthread_t target, thread;
    atomic_int stop;
    struct sigaction saved;
    int running;
};

static void* storm_main(void* arg)
{
    struct storm* s = arg;
    struct timespec pause = { 0, 50 * 1000 }; /* ~10-20 thousand signals a second */
    while (!atomic_load(&s->stop))
    {
        pthread_kill(s->target, SIGUSR1);
        nanosleep(&pause, NULL);
    }
    return NULL;
}

/* Starts signalling the calling thread. 1 if it runs. */
static int storm_start(struct storm* s)
{
    memset(s, 0, sizeof *s);
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_handler = count_signal;
    sigemptyset(&action.sa_mask);
    action.sa_flags = 0; /* no SA_RESTART: an interrupted system call returns EINTR */
    if (!CHECK_INT(sigaction(SIGUSR1, &action, &s->saved), 0))
        return 0;
    s->target = pthread_self();
    if (!CHECK_INT(pthread_create(&s->thread, NULL, storm_main, s), 0))
    {
        sigaction(SIGUSR1, &s->saved, NULL);
        return 0;
    }
    s->running = 1;
    return 1;
}

static void storm_stop(struct storm* s)
{
    if (!s->running)
        return;
    atomic_store(&s->stop, 1);
    pthread_join(s->thread, NULL);
    /* A signal still pending reaches the handler before the old disposition comes back. */
    struct timespec settle = { 0, 2 * 1000 * 1000 };
    nanosleep(&settle, NULL);
    sigaction(SIGUSR1, &s->saved, NULL);
    s->running = 0;
}

/* Control: a plain blocking read of an empty pipe is interrupted by the storm (EINTR), else the
   storm proves nothing here. */
static void check_storm_interrupts(void)
{
    int fds[2];
    if (!CHECK_INT(pipe2(fds, O_CLOEXEC), 0))
        return;
    char c;
    errno = 0;
    ssize_t n = read(fds[0], &c, 1);
    int error = errno;
    if (!CHECK(n < 0 && error == EINTR))
        printf("  control: read of an empty pipe returned %zd (%s), not EINTR\n", n, strerror(error));
    close(fds[0]);
    close(fds[1]);
}

static void sleep_ms(int ms)
{
    struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR) { }
}

/* A helper thread that opens a FIFO for writing after a delay, writes `size` bytes of a pattern in
   small pieces with pauses (each read on the other end blocks, and is interrupted), then closes. */
struct fifo_writer
{
    const char* path;
    int delay_ms;
    size_t size;
    int error;
    atomic_int done;
};

static unsigned char pattern(size_t i)
{
    return (unsigned char)((i * 2654435761u) >> 13);
}

static void* fifo_writer_main(void* arg)
{
    struct fifo_writer* w = arg;
    sleep_ms(w->delay_ms);
    int fd;
    while ((fd = open(w->path, O_WRONLY | O_CLOEXEC)) < 0 && errno == EINTR) { }
    if (fd < 0)
    {
        w->error = errno;
        atomic_store(&w->done, 1);
        return NULL;
    }
    unsigned char chunk[4096];
    for (size_t done = 0; done < w->size;)
    {
        size_t n = w->size - done < sizeof chunk ? w->size - done : sizeof chunk;
        for (size_t i = 0; i < n; i++)
            chunk[i] = pattern(done + i);
        ssize_t written = write(fd, chunk, n);
        if (written < 0 && errno == EINTR)
            continue;
        if (written <= 0)
        {
            w->error = errno;
            break;
        }
        done += (size_t)written;
        if ((done / sizeof chunk) % 64 == 0)
            sleep_ms(1); /* let the reader drain the pipe and block again */
    }
    close(fd);
    atomic_store(&w->done, 1);
    return NULL;
}

/* Joins the writer. If the reading side failed, the writer may still wait in open() for a reader: a
   reader that comes and goes releases it (its writes then fail with EPIPE), so a failure never hangs. */
static void join_writer(pthread_t thread, struct fifo_writer* w)
{
    while (!atomic_load(&w->done))
    {
        int reader = open(w->path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
        if (reader >= 0)
            close(reader);
        sleep_ms(10);
    }
    pthread_join(thread, NULL);
}

static int has_pattern(const char* path, size_t size)
{
    size_t actual;
    unsigned char* data = (unsigned char*)ni_test_read_file(path, &actual);
    int ok = data != NULL && actual == size;
    for (size_t i = 0; ok && i < size; i++)
        ok = data[i] == pattern(i);
    free(data);
    return ok;
}

/* ni_open of a FIFO blocks until a writer comes; the storm interrupts it again and again. The library
   promises that EINTR never reaches the caller: the open must simply succeed once the writer is there. */
static void eintr_storm_open_fifo(void)
{
    char fifo[NI_TEST_PATH_MAX];
    ni_test_path(fifo, "fifo");
    if (!CHECK_INT(mkfifo(fifo, 0600), 0))
        return;
    struct storm s;
    if (!storm_start(&s))
        return;
    check_storm_interrupts();
    /* The control on the very call: a plain open of the FIFO, no writer yet, is interrupted. */
    errno = 0;
    int plain = open(fifo, O_RDONLY | O_CLOEXEC);
    CHECK(plain < 0 && errno == EINTR);
    if (plain >= 0)
        close(plain);

    struct fifo_writer w = { fifo, 300, 1000, 0, 0 };
    pthread_t writer;
    if (!CHECK_INT(pthread_create(&writer, NULL, fifo_writer_main, &w), 0))
    {
        storm_stop(&s);
        return;
    }
    long before = atomic_load(&g_caught);
    ni_handle h = NI_INVALID_HANDLE;
    int rc = ni_open(fifo, NI_O_RDONLY, 0, &h);
    long during = atomic_load(&g_caught) - before;
    storm_stop(&s);
    CHECK_OK(rc);
    CHECK(during > 10); /* the open was signalled many times while it waited */
    printf("  %ld signals during ni_open\n", during);
    if (rc == 0)
    {
        unsigned char buffer[1000];
        size_t got = 0;
        while (got < sizeof buffer)
        {
            ssize_t n = read((int)h, buffer + got, sizeof buffer - got);
            if (n < 0 && errno == EINTR)
                continue;
            if (n <= 0)
                break;
            got += (size_t)n;
        }
        CHECK_INT(got, sizeof buffer);
        CHECK(got == sizeof buffer && buffer[0] == pattern(0) && buffer[999] == pattern(999));
        CHECK_OK(ni_close(h));
    }
    join_writer(writer, &w);
    CHECK_INT(w.error, 0);
}

struct late_connector
{
    int port, delay_ms, fd, error;
};

static void* late_connector_main(void* arg)
{
    struct late_connector* c = arg;
    sleep_ms(c->delay_ms);
    c->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in address = ni_test_loopback(c->port);
    if (c->fd < 0 || connect(c->fd, (struct sockaddr*)&address, sizeof address) < 0)
        c->error = errno;
    else if (send(c->fd, "x", 1, MSG_NOSIGNAL) != 1)
        c->error = errno;
    return NULL;
}

/* A blocking ni_accept with the connector arriving 300 ms late, under the storm. */
static void eintr_storm_accept(void)
{
    ni_handle listen_handle;
    int port;
    if (!CHECK_OK(ni_test_listen_loopback(&listen_handle, &port)))
        return;
    int listener = (int)listen_handle;
    struct storm s;
    if (storm_start(&s))
    {
        /* Control: the plain call is interrupted. */
        errno = 0;
        int plain = accept4(listener, NULL, NULL, SOCK_CLOEXEC);
        CHECK(plain < 0 && errno == EINTR);
        if (plain >= 0)
            close(plain);

        struct late_connector c = { port, 300, -1, 0 };
        pthread_t thread;
        if (CHECK_INT(pthread_create(&thread, NULL, late_connector_main, &c), 0))
        {
            long before = atomic_load(&g_caught);
            struct sockaddr_in peer;
            int32_t peer_length = (int32_t)sizeof peer;
            ni_handle accepted = NI_INVALID_HANDLE;
            int rc = ni_accept((ni_handle)listener, &peer, &peer_length, &accepted);
            long during = atomic_load(&g_caught) - before;
            storm_stop(&s);
            pthread_join(thread, NULL);
            CHECK_OK(rc);
            CHECK(during > 10);
            printf("  %ld signals during ni_accept\n", during);
            CHECK_INT(c.error, 0);
            if (rc == 0)
            {
                CHECK_INT(peer_length, sizeof peer);
                CHECK_INT(peer.sin_addr.s_addr, htonl(INADDR_LOOPBACK));
                char byte = 0;
                ssize_t n;
                while ((n = recv((int)accepted, &byte, 1, 0)) < 0 && errno == EINTR) { }
                CHECK(n == 1 && byte == 'x');
                int32_t inheritable = -1;
                CHECK_OK(ni_get_inheritable(accepted, &inheritable));
                CHECK_INT(inheritable, 0);
                CHECK_OK(ni_close(accepted));
            }
            if (c.fd >= 0)
                close(c.fd);
        }
        storm_stop(&s);
    }
    ni_close((ni_handle)listener);
}

/* Random-looking content that a copy must reproduce exactly. */
static int write_pattern_file(const char* path, size_t size)
{
    unsigned char* data = malloc(size);
    if (data == NULL)
        return ENOMEM;
    for (size_t i = 0; i < size; i++)
        data[i] = pattern(i);
    int rc = ni_test_write_file(path, data, size, 0644);
    free(data);
    return rc;
}

/* ni_copyfile under the storm: a large regular file (the kernel's copy paths) and a FIFO whose writer
   dribbles the data (every read blocks and is interrupted; the read/write loop). Both must come out exact. */
static void eintr_storm_copyfile(void)
{
    char src[NI_TEST_PATH_MAX], dst[NI_TEST_PATH_MAX], fifo[NI_TEST_PATH_MAX], fifo_dst[NI_TEST_PATH_MAX];
    ni_test_path(src, "large");
    ni_test_path(dst, "large-copy");
    ni_test_path(fifo, "fifo");
    ni_test_path(fifo_dst, "fifo-copy");
    const size_t large = 48u << 20, dribbled = 4u << 20;
    if (!CHECK_OK(write_pattern_file(src, large)) || !CHECK_INT(mkfifo(fifo, 0600), 0))
        return;
    struct storm s;
    if (!storm_start(&s))
        return;
    check_storm_interrupts();
    /* On a loaded machine the storm thread may get no CPU during the whole copy (tens of ms): the copy is made
       again, replacing the last, until signals have landed during one, at most ten times. Each must succeed. */
    long during_large = 0, before;
    int rc = 0, copies = 0;
    while (rc == 0 && during_large == 0 && copies < 10)
    {
        before = atomic_load(&g_caught);
        rc = ni_copyfile(src, dst, copies++ == 0 ? 0 : NI_COPY_OVERWRITE);
        during_large = atomic_load(&g_caught) - before;
    }

    struct fifo_writer w = { fifo, 100, dribbled, 0, 0 };
    pthread_t writer;
    int rc_fifo = -1;
    long during_fifo = 0;
    if (CHECK_INT(pthread_create(&writer, NULL, fifo_writer_main, &w), 0))
    {
        before = atomic_load(&g_caught);
        rc_fifo = ni_copyfile(fifo, fifo_dst, 0);
        during_fifo = atomic_load(&g_caught) - before;
        join_writer(writer, &w);
        CHECK_INT(w.error, 0);
    }
    storm_stop(&s);
    printf("  %ld signals during the 48 MiB copy (copy %d), %ld during the FIFO copy\n", during_large, copies, during_fifo);
    CHECK_OK(rc);
    CHECK(during_large > 0);
    CHECK(has_pattern(dst, large));
    CHECK_OK(rc_fifo);
    CHECK(during_fifo > 10);
    CHECK(has_pattern(fifo_dst, dribbled));
}

/* ni_spawn, ni_wait_for_exit and ni_wait under the storm: the child starts exactly once (it appends a line
   to a file) and its exit code comes back. */
static void eintr_storm_spawn(void)
{
    char marker[NI_TEST_PATH_MAX], script[NI_TEST_PATH_MAX + 64];
    ni_test_path(marker, "started");
    snprintf(script, sizeof script, "echo x >> '%s'; sleep 0.2; exit 7", marker);
    const char* argv[] = { "/bin/sh", "-c", script, NULL };
    struct storm s;
    if (!storm_start(&s))
        return;
    check_storm_interrupts();
    const int rounds = 20;
    int started = 0, right_code = 0;
    long before = atomic_load(&g_caught);
    for (int i = 0; i < rounds; i++)
    {
        ni_process p;
        int rc = ni_spawn("/bin/sh", argv, NULL, NULL, NULL, 0, 0, &p);
        if (!CHECK_OK(rc))
            continue;
        started++;
        int32_t exited = 0, code = -1;
        /* Every fourth round first waits without collecting (poll on the pidfd, or waitid WNOWAIT): interrupted
           too, it must still end at the exit and leave the code to ni_wait. */
        if (i % 4 >= 2)
        {
            ni_process seen = p;
            if (i % 4 == 3)
                seen.handle = NI_INVALID_HANDLE; /* the no-pidfd path */
            CHECK_OK(ni_wait_for_exit(&seen, i % 2 == 0 ? -1 : 10000, &exited));
            CHECK_INT(exited, 1);
        }
        /* The blocking wait (waitpid) is interrupted over and over: it must still report the exit. */
        if (CHECK_OK(ni_wait(&p, i % 2 == 0 ? -1 : 10000, &exited, &code)) && exited == 1 && code == 7)
            right_code++;
        CHECK_OK(ni_process_close(&p));
    }
    long during = atomic_load(&g_caught) - before;
    storm_stop(&s);
    printf("  %ld signals during %d spawns and waits\n", during, rounds);
    CHECK(during > 100);
    CHECK_INT(started, rounds);
    CHECK_INT(right_code, rounds);
    size_t size = 0;
    char* lines = ni_test_read_file(marker, &size);
    CHECK_INT(size, (size_t)rounds * 2); /* "x\n" once per child: none started twice, none lost */
    free(lines);
}

/* ---- EMFILE: a low RLIMIT_NOFILE, so that exactly `free_count` descriptor numbers are free ---- */

/* Lowers the soft limit so that exactly `free_count` numbers below it are free; the old limit in `saved`. */
static int leave_free(int free_count, struct rlimit* saved)
{
    if (!CHECK_INT(getrlimit(RLIMIT_NOFILE, saved), 0))
        return 0;
    int limit = 0, free_below = 0;
    while (free_below < free_count || fcntl(limit, F_GETFD) >= 0)
    {
        if (fcntl(limit, F_GETFD) < 0)
            free_below++;
        limit++;
    }
    /* Now [0, limit) holds exactly free_count free numbers and `limit` itself is free. */
    struct rlimit low = *saved;
    low.rlim_cur = (rlim_t)limit;
    return CHECK_INT(setrlimit(RLIMIT_NOFILE, &low), 0);
}

static void restore_limit(const struct rlimit* saved)
{
    CHECK_INT(setrlimit(RLIMIT_NOFILE, saved), 0);
}

/* ni_pipe needs two descriptors: with one free it fails with EMFILE and the first end does not stay open. */
static void emfile_pipe(void)
{
    int before = ni_test_count_handles();
    struct rlimit saved;
    for (int free_count = 0; free_count <= 2; free_count++)
    {
        if (!leave_free(free_count, &saved))
            return;
        ni_handle r = NI_INVALID_HANDLE, w = NI_INVALID_HANDLE;
        int rc = ni_pipe(&r, &w);
        restore_limit(&saved);
        if (free_count < 2)
        {
            CHECK_RC(rc, EMFILE);
            CHECK_INT(r, NI_INVALID_HANDLE); /* out-parameters are written only on success */
            CHECK_INT(ni_test_count_handles(), before);
        }
        else if (CHECK_OK(rc)) /* control: two free numbers are enough */
        {
            CHECK_OK(ni_close(r));
            CHECK_OK(ni_close(w));
        }
    }
}

/* ni_copyfile needs the source, the temp and (overwriting) the existing destination: each limit that
   cuts it short gives EMFILE, no descriptor leaked, no destination (or the old one), no temp left. */
static void emfile_copyfile(void)
{
    char dir[NI_TEST_PATH_MAX], src[NI_TEST_PATH_MAX], dst[NI_TEST_PATH_MAX];
    ni_test_path(dir, "d");
    if (!CHECK_INT(mkdir(dir, 0755), 0))
        return;
    ni_test_path_in(src, dir, "src");
    ni_test_path_in(dst, dir, "dst");
    if (!CHECK_OK(write_pattern_file(src, 1u << 20)))
        return;
    int before = ni_test_count_handles();
    struct rlimit saved;
    /* A new destination: source + temp. */
    for (int free_count = 0; free_count <= 2; free_count++)
    {
        if (!leave_free(free_count, &saved))
            return;
        int rc = ni_copyfile(src, dst, 0);
        restore_limit(&saved);
        if (free_count < 2)
        {
            CHECK_RC(rc, EMFILE);
            CHECK_INT(ni_test_count_entries(dir, ""), 1); /* no destination, no temp */
        }
        else
        {
            CHECK_OK(rc);
            CHECK(has_pattern(dst, 1u << 20));
        }
        CHECK_INT(ni_test_count_handles(), before);
    }
    /* Overwriting: source + existing destination + temp. */
    for (int free_count = 0; free_count <= 3; free_count++)
    {
        if (!CHECK_OK(ni_test_write_file(dst, "old", 3, 0644)) || !leave_free(free_count, &saved))
            return;
        int rc = ni_copyfile(src, dst, NI_COPY_OVERWRITE);
        restore_limit(&saved);
        if (free_count < 3)
        {
            CHECK_RC(rc, EMFILE);
            CHECK(ni_test_file_equals(dst, "old", 3));
            CHECK_INT(ni_test_count_entries(dir, ""), 2);
        }
        else
        {
            CHECK_OK(rc);
            CHECK(has_pattern(dst, 1u << 20));
        }
        CHECK_INT(ni_test_count_handles(), before);
    }
}

/* The highest descriptor number open here below the limit (-1 for none): valgrind keeps its own above it. */
static int highest_open(void)
{
    ni_handle list[4096];
    struct rlimit limit;
    int n = ni_test_list_handles(list, 4096), highest = -1;
    if (!CHECK_INT(getrlimit(RLIMIT_NOFILE, &limit), 0))
        return -1;
    for (int i = 0; i < n; i++)
        if ((int)list[i] > highest && (rlim_t)list[i] < limit.rlim_cur)
            highest = (int)list[i];
    return highest;
}

/* With a report pipe (where a child cannot start on our memory and descriptor table: qemu-user, valgrind),
   ni_spawn needs two descriptors here and, in the child, a number for the temporary copy of each mapped
   descriptor in its copy of our table. One free: the pipe fails. Two: the pipe works and the child's copy fails,
   which must come back as this call's error, with the child reaped and nothing started. Without the pipe,
   the child copies our table only up to its highest source, and its temporary copy needs a free number below
   the limit there: the source is put above every other descriptor, so that with none free below the limit
   the copy fails the same way, and with one or two the child runs. */
static void emfile_spawn(void)
{
    char marker[NI_TEST_PATH_MAX], script[NI_TEST_PATH_MAX + 64];
    ni_test_path(marker, "started");
    snprintf(script, sizeof script, "echo x >> '%s'", marker);
    const char* argv[] = { "/bin/sh", "-c", script, NULL };
    ni_handle r, w;
    if (!CHECK_OK(ni_pipe(&r, &w)))
        return;
    int top = fcntl((int)w, F_DUPFD_CLOEXEC, highest_open() + 1);
    if (!CHECK(top > (int)w))
    {
        ni_close(r);
        ni_close(w);
        return;
    }
    ni_fd_mapping mapping = { (ni_handle)top, 3 };
    int no_pipe = ni_test_child_shares_descriptors();
    int before = ni_test_count_handles(), ran = 0;
    struct rlimit saved;
    for (int free_count = 0; free_count <= 2; free_count++)
    {
        if (!leave_free(free_count, &saved))
            break;
        ni_process p;
        int rc = ni_spawn("/bin/sh", argv, NULL, NULL, &mapping, 1, 0, &p);
        restore_limit(&saved);
        CHECK_RC(rc, free_count > 0 && no_pipe ? 0 : EMFILE);
        if (rc == 0)
        {
            int32_t exited = 0, code = -1;
            CHECK_OK(ni_wait(&p, -1, &exited, &code));
            CHECK_INT(code, 0);
            ni_process_close(&p);
            ran++;
        }
        CHECK_INT(ni_test_count_handles(), before);
        /* No child is left behind to reap: every one this call started is gone already. */
        CHECK_INT(waitpid(-1, NULL, WNOHANG), -1);
    }
    CHECK_INT(ran, no_pipe ? 2 : 0);
    if (ran > 0)
    {
        CHECK(ni_test_file_equals(marker, "x\nx\n", 4));
        CHECK_OK(ni_test_remove(marker));
    }
    struct stat st;
    CHECK(stat(marker, &st) != 0); /* no other child ran the program */
    /* Control: with the limit back, the same call starts the child, once. */
    ni_process p;
    if (CHECK_OK(ni_spawn("/bin/sh", argv, NULL, NULL, &mapping, 1, 0, &p)))
    {
        int32_t exited = 0, code = -1;
        CHECK_OK(ni_wait(&p, -1, &exited, &code));
        CHECK_INT(code, 0);
        CHECK_OK(ni_process_close(&p));
        CHECK(ni_test_file_equals(marker, "x\n", 2));
    }
    close(top);
    ni_close(r);
    ni_close(w);
}

/* ---- EFBIG / ENOSPC through ni_copyfile_ex: the progress callback sees the copy stop part-way, the
   error is the file system's (not a cancellation), and nothing partial is left ---- */

struct progress_log
{
    int calls;
    int64_t last;
};

static int32_t log_progress(int64_t copied, void* state)
{
    struct progress_log* log = state;
    log->calls++;
    log->last = copied;
    return 0;
}

static void copyfile_ex_efbig(void)
{
    char dir[NI_TEST_PATH_MAX], src[NI_TEST_PATH_MAX], dst[NI_TEST_PATH_MAX], fifo[NI_TEST_PATH_MAX];
    ni_test_path(dir, "d");
    if (!CHECK_INT(mkdir(dir, 0755), 0))
        return;
    ni_test_path_in(src, dir, "src");
    ni_test_path_in(dst, dir, "dst");
    ni_test_path(fifo, "fifo");
    const size_t size = 40u << 20; /* more than one 16 MiB chunk: progress moves before the limit hits */
    if (!CHECK_OK(write_pattern_file(src, size)) || !CHECK_INT(mkfifo(fifo, 0600), 0))
        return;
    struct rlimit saved, limited;
    CHECK_INT(getrlimit(RLIMIT_FSIZE, &saved), 0);
    limited = saved;
    limited.rlim_cur = 20u << 20;
    void (*old_handler)(int) = signal(SIGXFSZ, SIG_IGN);
    if (CHECK_INT(setrlimit(RLIMIT_FSIZE, &limited), 0))
    {
        struct progress_log log = { 0, -1 };
        CHECK_RC(ni_copyfile_ex(src, dst, 0, log_progress, &log), EFBIG);
        CHECK(log.calls >= 2 && log.last > 0 && log.last < (int64_t)size);
        CHECK_INT(ni_test_count_entries(dir, ""), 1);

        CHECK_OK(ni_test_write_file(dst, "old", 3, 0644));
        log.calls = 0;
        CHECK_RC(ni_copyfile_ex(src, dst, NI_COPY_OVERWRITE, log_progress, &log), EFBIG);
        CHECK(log.calls >= 2 && log.last < (int64_t)size);
        CHECK(ni_test_file_equals(dst, "old", 3));
        CHECK_INT(ni_test_count_entries(dir, ""), 2);

        /* The read/write loop: a FIFO source, whose writer gets EPIPE when the copy gives up. */
        signal(SIGPIPE, SIG_IGN);
        struct fifo_writer w = { fifo, 50, size, 0, 0 };
        pthread_t writer;
        if (CHECK_INT(pthread_create(&writer, NULL, fifo_writer_main, &w), 0))
        {
            log.calls = 0;
            CHECK_RC(ni_copyfile_ex(fifo, dst, NI_COPY_OVERWRITE, log_progress, &log), EFBIG);
            join_writer(writer, &w);
            CHECK(log.calls >= 2);
            CHECK(ni_test_file_equals(dst, "old", 3));
            CHECK_INT(ni_test_count_entries(dir, ""), 2);
        }
        CHECK_INT(setrlimit(RLIMIT_FSIZE, &saved), 0);
    }
    signal(SIGXFSZ, old_handler);
}

static void copyfile_ex_enospc(void)
{
    char mnt[NI_TEST_PATH_MAX], src[NI_TEST_PATH_MAX], dst[NI_TEST_PATH_MAX];
    ni_test_path(mnt, "small");
    ni_test_path(src, "src");
    if (!CHECK_INT(mkdir(mnt, 0755), 0))
        return;
    ni_test_path_in(dst, mnt, "dst");
    if (mount("ni-test", mnt, "tmpfs", 0, "size=2m") != 0)
    {
        ni_test_skip("mounting a small tmpfs is not allowed here (needs CAP_SYS_ADMIN)");
        return;
    }
    const size_t size = 6u << 20;
    if (CHECK_OK(write_pattern_file(src, size)))
    {
        struct progress_log log = { 0, -1 };
        CHECK_RC(ni_copyfile_ex(src, dst, 0, log_progress, &log), ENOSPC);
        CHECK(log.calls >= 1 && log.last < (int64_t)size);
        CHECK_INT(ni_test_count_entries(mnt, ""), 0);
        CHECK_OK(ni_test_write_file(dst, "old", 3, 0644));
        CHECK_RC(ni_copyfile_ex(src, dst, NI_COPY_OVERWRITE, log_progress, &log), ENOSPC);
        CHECK(ni_test_file_equals(dst, "old", 3));
        CHECK_INT(ni_test_count_entries(mnt, ""), 1);
        /* The space the failed temps took is back: a copy that fits still fits. */
        CHECK_OK(write_pattern_file(src, 1u << 20));
        CHECK_OK(ni_copyfile_ex(src, dst, NI_COPY_OVERWRITE, log_progress, &log));
        CHECK(has_pattern(dst, 1u << 20));
    }
    CHECK_INT(umount2(mnt, MNT_DETACH), 0);
}

/* ---- A peer that resets its connection before the accept ---- */

/* Linux keeps a connection reset while it waits in the backlog: accept returns it (as Socket.Accept
   does) and the reset shows on the first receive. ni_accept must do the same, leaking nothing. */
static void accept_after_peer_reset(void)
{
    ni_handle listen_handle;
    int port;
    if (!CHECK_OK(ni_test_listen_loopback(&listen_handle, &port)))
        return;
    int listener = (int)listen_handle;
    int before = ni_test_count_handles();
    for (int round = 0; round < 20; round++)
    {
        int client = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        struct sockaddr_in address = ni_test_loopback(port);
        struct linger abortive = { 1, 0 };
        if (!CHECK(client >= 0) || !CHECK_INT(connect(client, (struct sockaddr*)&address, sizeof address), 0) ||
            !CHECK_INT(setsockopt(client, SOL_SOCKET, SO_LINGER, &abortive, sizeof abortive), 0))
        {
            if (client >= 0)
                close(client);
            break;
        }
        close(client); /* RST, since the linger time is 0 */
        sleep_ms(5);
        ni_handle accepted = NI_INVALID_HANDLE;
        int rc = ni_accept((ni_handle)listener, NULL, NULL, &accepted);
        /* Linux returns the reset connection; ECONNABORTED is the other answer POSIX allows. */
        if (rc == ECONNABORTED)
            continue;
        if (!CHECK_OK(rc))
            break;
        char byte;
        errno = 0;
        ssize_t n = recv((int)accepted, &byte, 1, 0);
        if (!CHECK(n < 0 && errno == ECONNRESET))
            printf("  recv on the reset connection: %zd (%s)\n", n, strerror(errno));
        CHECK_OK(ni_close(accepted));
    }
    CHECK_INT(ni_test_count_handles(), before);
    /* The listener still works. */
    struct late_connector c = { port, 0, -1, 0 };
    late_connector_main(&c);
    CHECK_INT(c.error, 0);
    ni_handle accepted;
    if (CHECK_OK(ni_accept((ni_handle)listener, NULL, NULL, &accepted)))
        ni_close(accepted);
    if (c.fd >= 0)
        close(c.fd);
    ni_close((ni_handle)listener);
}

/* ni_wait_readable under the storm: every interruption is retried with the time left, so the wait neither ends
   early (EINTR, or 0 before the time) nor starts over (it would never end at this rate). */
static void eintr_storm_wait_readable(void)
{
    ni_handle r, w;
    if (!CHECK_OK(ni_pipe(&r, &w)))
        return;
    struct storm s;
    if (storm_start(&s))
    {
        check_storm_interrupts();
        long before = atomic_load(&g_caught);
        long long started = ni_test_now_ms();
        int32_t ready = -1;
        int rc = ni_wait_readable(r, NI_INVALID_HANDLE, 300, &ready);
        long long waited = ni_test_now_ms() - started;
        long during = atomic_load(&g_caught) - before;
        storm_stop(&s);
        CHECK_OK(rc);
        CHECK_INT(ready, 0);
        CHECK(during > 10);
        CHECK(waited >= 290 && waited < 10000);
        printf("  %ld signals during a %lld ms ni_wait_readable\n", during, waited);
    }
    CHECK_OK(ni_close(r));
    CHECK_OK(ni_close(w));
}

NI_TEST_MAIN(
    NI_TEST_LINUX(eintr_storm_open_fifo),
    NI_TEST_LINUX(eintr_storm_accept),
    NI_TEST_LINUX(eintr_storm_copyfile),
    NI_TEST_LINUX(eintr_storm_spawn),
    NI_TEST_LINUX(eintr_storm_wait_readable),
    NI_TEST_LINUX(emfile_pipe),
    NI_TEST_LINUX(emfile_copyfile),
    NI_TEST_LINUX(emfile_spawn),
    NI_TEST_LINUX(copyfile_ex_efbig),
    NI_TEST_LINUX(copyfile_ex_enospc),
    NI_TEST_LINUX(accept_after_peer_reset))
