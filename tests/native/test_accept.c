/* ni_accept, including that EINTR is retried inside. */
#include "ni_test.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static struct sockaddr_in loopback(int port)
{
    struct sockaddr_in address;
    memset(&address, 0, sizeof address);
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    address.sin_port = htons((uint16_t)port);
    return address;
}

static int local_port(int fd)
{
    struct sockaddr_in address;
    socklen_t length = sizeof address;
    return getsockname(fd, (struct sockaddr*)&address, &length) == 0 ? ntohs(address.sin_port) : -1;
}

/* A listener on 127.0.0.1 and an ephemeral port; 0 or an errno. */
static int listen_loopback(ni_handle* listener, int* port)
{
    int rc = ni_socket(NI_AF_INET, NI_SOCK_STREAM, 0, listener);
    if (rc != 0)
        return rc;
    struct sockaddr_in address = loopback(0);
    if (bind((int)*listener, (struct sockaddr*)&address, sizeof address) < 0 || listen((int)*listener, 8) < 0)
    {
        rc = errno;
        ni_close(*listener);
        return rc;
    }
    *port = local_port((int)*listener);
    return 0;
}

/* A connected client socket (not inheritable, so it never shows up in the checker's list) or -1. */
static int connect_loopback(int port)
{
    ni_handle client;
    if (ni_socket(NI_AF_INET, NI_SOCK_STREAM, 0, &client) != 0)
        return -1;
    struct sockaddr_in address = loopback(port);
    if (connect((int)client, (struct sockaddr*)&address, sizeof address) < 0)
    {
        ni_close(client);
        return -1;
    }
    return (int)client;
}

static void accept_without_address(void)
{
    ni_handle listener, h;
    int port;
    if (!CHECK_OK(listen_loopback(&listener, &port)))
        return;
    int client = connect_loopback(port);
    CHECK(client >= 0);
    if (CHECK_OK(ni_accept(listener, NULL, NULL, &h)))
    {
        CHECK(fcntl((int)h, F_GETFD) & FD_CLOEXEC);
        char byte = 0;
        CHECK_INT(write(client, "x", 1), 1);
        CHECK(read((int)h, &byte, 1) == 1 && byte == 'x');
        CHECK_OK(ni_close(h));
    }
    /* Without an address the length is ignored, whatever it holds. */
    int client2 = connect_loopback(port);
    int32_t garbage = -5;
    if (CHECK_OK(ni_accept(listener, NULL, &garbage, &h)))
        CHECK_OK(ni_close(h));
    CHECK_INT(garbage, -5);
    close(client2);
    close(client);
    CHECK_OK(ni_close(listener));
}

static void accept_with_address(void)
{
    ni_handle listener, h;
    int port;
    if (!CHECK_OK(listen_loopback(&listener, &port)))
        return;
    int client = connect_loopback(port);
    struct sockaddr_storage peer;
    memset(&peer, 0, sizeof peer);
    int32_t length = (int32_t)sizeof peer;
    if (CHECK(client >= 0) && CHECK_OK(ni_accept(listener, &peer, &length, &h)))
    {
        const struct sockaddr_in* in = (const struct sockaddr_in*)&peer;
        CHECK_INT(length, sizeof(struct sockaddr_in));
        CHECK_INT(in->sin_family, AF_INET);
        CHECK_INT(ntohl(in->sin_addr.s_addr), INADDR_LOOPBACK);
        CHECK_INT(ntohs(in->sin_port), local_port(client));
        CHECK_OK(ni_close(h));
    }
    close(client);

    /* A buffer too small is filled as far as it goes; the length says how big the address is. */
    client = connect_loopback(port);
    unsigned char small[4];
    length = (int32_t)sizeof small;
    if (CHECK(client >= 0) && CHECK_OK(ni_accept(listener, small, &length, &h)))
    {
        CHECK_INT(length, sizeof(struct sockaddr_in));
        CHECK_OK(ni_close(h));
    }
    close(client);
    CHECK_OK(ni_close(listener));
}

static void accept_errors(void)
{
    ni_handle listener, h = 12345;
    int port;
    if (!CHECK_OK(listen_loopback(&listener, &port)))
        return;
    int fds = ni_test_count_handles();
    int flags = fcntl((int)listener, F_GETFL);
    CHECK_INT(fcntl((int)listener, F_SETFL, flags | O_NONBLOCK), 0);
    int rc = ni_accept(listener, NULL, NULL, &h);
    CHECK(rc == EAGAIN || rc == EWOULDBLOCK);
    CHECK_INT(fcntl((int)listener, F_SETFL, flags), 0);

    char path[PATH_MAX];
    ni_test_path(path, "file");
    ni_handle file;
    if (CHECK_OK(ni_open(path, NI_O_RDWR | NI_O_CREAT, 0644, &file)))
    {
        CHECK_RC(ni_accept(file, NULL, NULL, &h), ENOTSOCK);
        CHECK_OK(ni_close(file));
    }
    CHECK_RC(ni_accept(NI_TEST_BAD_HANDLE, NULL, NULL, &h), EBADF);

    struct sockaddr_in address;
    int32_t length = -1;
    CHECK_RC(ni_accept(listener, &address, NULL, &h), EINVAL);
    CHECK_RC(ni_accept(listener, &address, &length, &h), EINVAL);
    CHECK_RC(ni_accept(listener, NULL, NULL, NULL), EINVAL);

    ni_handle unbound;
    if (CHECK_OK(ni_socket(NI_AF_INET, NI_SOCK_STREAM, 0, &unbound)))
    {
        CHECK_RC(ni_accept(unbound, NULL, NULL, &h), EINVAL); /* accept() on a non-listening socket */
        CHECK_OK(ni_close(unbound));
    }
    CHECK_INT(h, 12345);
    CHECK_INT(length, -1);
    CHECK_INT(ni_test_count_handles(), fds);
    CHECK_OK(ni_close(listener));
}

static void accept_is_not_inherited(void)
{
    ni_handle listener, ours;
    int port;
    if (!CHECK_OK(listen_loopback(&listener, &port)))
        return;
    int client1 = connect_loopback(port), client2 = connect_loopback(port);
    if (CHECK(client1 >= 0 && client2 >= 0) && CHECK_OK(ni_accept(listener, NULL, NULL, &ours)))
    {
        int control = accept((int)listener, NULL, NULL);
        if (CHECK(control >= 0))
        {
            char ours_target[64], control_target[64];
            ni_test_inode_target((int)ours, ours_target, sizeof ours_target);
            ni_test_inode_target(control, control_target, sizeof control_target);
            CHECK_NOT_INHERITED(ours, ours_target, control, control_target);
            close(control);
        }
        CHECK_OK(ni_close(ours));
    }
    close(client1);
    close(client2);
    CHECK_OK(ni_close(listener));
}

static volatile sig_atomic_t g_signals;

static void count_signal(int signal)
{
    (void)signal;
    g_signals++;
}

/* Interrupts `target` with SIGUSR1 every 10 ms, up to `max` times or until `stop`, then connects. Each
   signal is sent once the previous one has been handled: two pending while the target waits for a CPU
   would be delivered as one. */
struct pester
{
    pthread_t target;
    int port, max, client;
    atomic_int stop;
};

static void* pester(void* arg)
{
    struct pester* p = arg;
    const struct timespec pause = { 0, 10 * 1000 * 1000 };
    const struct timespec tick = { 0, 1000 * 1000 };
    int base = g_signals;
    for (int i = 0; i < p->max && !atomic_load(&p->stop); i++)
    {
        nanosleep(&pause, NULL);
        pthread_kill(p->target, SIGUSR1);
        for (int waited = 0; g_signals < base + i + 1 && !atomic_load(&p->stop) && waited < 10000; waited++)
            nanosleep(&tick, NULL);
    }
    p->client = connect_loopback(p->port);
    return NULL;
}

static void accept_retries_eintr(void)
{
    struct sigaction action, saved;
    memset(&action, 0, sizeof action);
    action.sa_handler = count_signal;
    sigemptyset(&action.sa_mask);
    action.sa_flags = 0; /* no SA_RESTART: the kernel returns EINTR from accept */
    CHECK_INT(sigaction(SIGUSR1, &action, &saved), 0);

    /* Control: a plain accept() does see EINTR here, else this test could not fail. If the
       signals never interrupt it, the pester's connect ends the wait and the check fails. */
    ni_handle listener, h;
    pthread_t thread;
    struct pester control = { .target = pthread_self(), .max = 500, .client = -1 };
    if (CHECK_OK(listen_loopback(&listener, &control.port)) &&
        CHECK_INT(pthread_create(&thread, NULL, pester, &control), 0))
    {
        int fd = accept((int)listener, NULL, NULL);
        int error = errno;
        atomic_store(&control.stop, 1);
        pthread_join(thread, NULL);
        CHECK(fd < 0 && error == EINTR);
        if (fd >= 0) close(fd);
        if (control.client >= 0) close(control.client);
        CHECK_OK(ni_close(listener));
    }

    g_signals = 0;
    struct pester p = { .target = pthread_self(), .max = 5, .client = -1 };
    if (CHECK_OK(listen_loopback(&listener, &p.port)) &&
        CHECK_INT(pthread_create(&thread, NULL, pester, &p), 0))
    {
        int rc = ni_accept(listener, NULL, NULL, &h);
        pthread_join(thread, NULL);
        CHECK_INT(g_signals, 5);
        CHECK(p.client >= 0);
        if (CHECK_OK(rc))
        {
            struct sockaddr_in peer;
            socklen_t length = sizeof peer;
            CHECK(getpeername((int)h, (struct sockaddr*)&peer, &length) == 0 &&
                  ntohs(peer.sin_port) == local_port(p.client)); /* the pester's connection */
            CHECK_OK(ni_close(h));
        }
        if (p.client >= 0) close(p.client);
        CHECK_OK(ni_close(listener));
    }
    sigaction(SIGUSR1, &saved, NULL);
}

/* On Linux an accepted socket does not take the listener's O_NONBLOCK (accept4 is given SOCK_CLOEXEC
   only): a non-blocking listener gives a blocking socket, as the header says. (BSD and macOS copy the
   flag.) */
static void accept_from_non_blocking_listener_is_blocking(void)
{
    ni_handle listener;
    int port;
    if (!CHECK_OK(listen_loopback(&listener, &port)))
        return;
    CHECK_INT(fcntl((int)listener, F_SETFL, fcntl((int)listener, F_GETFL) | O_NONBLOCK), 0);
    ni_handle accepted;
    CHECK_RC(ni_accept(listener, NULL, NULL, &accepted), EAGAIN); /* the listener is non-blocking */
    int client = connect_loopback(port);
    if (CHECK(client >= 0))
    {
        struct pollfd p = { (int)listener, POLLIN, 0 };
        CHECK_INT(poll(&p, 1, 10000), 1);
        if (CHECK_OK(ni_accept(listener, NULL, NULL, &accepted)))
        {
            CHECK_INT(fcntl((int)accepted, F_GETFL) & O_NONBLOCK, 0);
            CHECK_OK(ni_close(accepted));
        }
        close(client);
    }
    ni_close(listener);
}

NI_TEST_MAIN(
    NI_TEST(accept_without_address),
    NI_TEST(accept_with_address),
    NI_TEST(accept_errors),
    NI_TEST(accept_is_not_inherited),
    NI_TEST(accept_retries_eintr),
    NI_TEST(accept_from_non_blocking_listener_is_blocking))
