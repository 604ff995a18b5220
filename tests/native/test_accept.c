/* ni_accept, including (POSIX) that EINTR is retried inside and (Windows) that an inheritable socket
   from the provider is repaired. */
#include "ni_test.h"

#include <string.h>
#ifndef _WIN32
#  include <fcntl.h>
#  include <pthread.h>
#  include <signal.h>
#  include <stdatomic.h>
#  include <sys/select.h>
#  include <time.h>
#endif

static void accept_without_address(void)
{
    ni_handle listener, h;
    int port;
    if (!CHECK_OK(ni_test_listen_loopback(&listener, &port)))
        return;
    ni_handle client = ni_test_connect_loopback(port);
    CHECK(client != NI_INVALID_HANDLE);
    if (CHECK_OK(ni_accept(listener, NULL, NULL, &h)))
    {
        CHECK_INT(ni_test_inherit_flag(h), 0);
        char byte = 0;
        CHECK_INT(send(NI_TEST_SOCKET(client), "x", 1, 0), 1);
        CHECK(recv(NI_TEST_SOCKET(h), &byte, 1, 0) == 1 && byte == 'x');
        CHECK_OK(ni_close(h));
    }
    /* Without an address the length is ignored, whatever it holds. */
    ni_handle client2 = ni_test_connect_loopback(port);
    int32_t garbage = -5;
    if (CHECK(client2 != NI_INVALID_HANDLE) && CHECK_OK(ni_accept(listener, NULL, &garbage, &h)))
        CHECK_OK(ni_close(h));
    CHECK_INT(garbage, -5);
    ni_close(client2);
    ni_close(client);
    CHECK_OK(ni_close(listener));
}

static void accept_with_address(void)
{
    ni_handle listener, h;
    int port;
    if (!CHECK_OK(ni_test_listen_loopback(&listener, &port)))
        return;
    ni_handle client = ni_test_connect_loopback(port);
    struct sockaddr_storage peer;
    memset(&peer, 0, sizeof peer);
    int32_t length = (int32_t)sizeof peer;
    if (CHECK(client != NI_INVALID_HANDLE) && CHECK_OK(ni_accept(listener, &peer, &length, &h)))
    {
        const struct sockaddr_in* in = (const struct sockaddr_in*)&peer;
        CHECK_INT(length, sizeof(struct sockaddr_in));
        CHECK_INT(in->sin_family, AF_INET);
        CHECK_INT(ntohl(in->sin_addr.s_addr), INADDR_LOOPBACK);
        CHECK_INT(ntohs(in->sin_port), ni_test_local_port(client));
        CHECK_INT(ni_test_inherit_flag(h), 0);
        CHECK_OK(ni_close(h));
    }
    ni_close(client);
    CHECK_OK(ni_close(listener));
}

static void accept_address_too_small(void)
{
    /* POSIX fills a buffer too small as far as it goes and says how big the address is; Winsock refuses
       it (WSAEFAULT), and the out-parameters stay as they were. */
    ni_handle listener, h = 12345;
    int port;
    if (!CHECK_OK(ni_test_listen_loopback(&listener, &port)))
        return;
    ni_handle client = ni_test_connect_loopback(port);
    unsigned char small[4];
    int32_t length = (int32_t)sizeof small;
    int handles = ni_test_count_handles();
    if (CHECK(client != NI_INVALID_HANDLE))
    {
#ifdef _WIN32
        CHECK_RC(ni_accept(listener, small, &length, &h), WSAEFAULT);
        CHECK_INT(length, sizeof small);
        CHECK_INT(h, 12345);
        CHECK_INT(ni_test_count_handles(), handles);
#else
        if (CHECK_OK(ni_accept(listener, small, &length, &h)))
        {
            CHECK_INT(length, sizeof(struct sockaddr_in));
            CHECK_INT(ni_test_count_handles(), handles + 1);
            CHECK_OK(ni_close(h));
        }
#endif
    }
    ni_close(client);
    CHECK_OK(ni_close(listener));
}

static void accept_nonblocking(void)
{
    ni_handle listener, h = 12345;
    int port;
    if (!CHECK_OK(ni_test_listen_loopback(&listener, &port)))
        return;
    int handles = ni_test_count_handles();
    CHECK(ni_test_set_nonblocking(listener, 1));
    int rc = ni_accept(listener, NULL, NULL, &h);
#if !defined(_WIN32) && EAGAIN != EWOULDBLOCK
    CHECK(rc == EAGAIN || rc == EWOULDBLOCK);
#else
    CHECK_RC(rc, NI_TEST_WSA(EWOULDBLOCK));
#endif
    CHECK_INT(ni_error_kind(rc), NI_ERR_WOULDBLOCK);
    CHECK_INT(h, 12345);
    CHECK_INT(ni_test_count_handles(), handles);
    CHECK_OK(ni_close(listener));
}

/* Waits until `listener` has a connection to accept (select works alike on POSIX and Winsock). */
static int has_pending(ni_handle listener, int timeout_ms)
{
    fd_set readable;
    FD_ZERO(&readable);
    FD_SET(NI_TEST_SOCKET(listener), &readable);
    struct timeval timeout = { timeout_ms / 1000, (timeout_ms % 1000) * 1000 };
    return select((int)NI_TEST_SOCKET(listener) + 1, &readable, NULL, NULL, &timeout) == 1;
}

/* 1 if the connected socket `s`, with nothing to read, is non-blocking, 0 if blocking, -1 if unclear.
   Windows cannot be asked: a recv fails at once with WSAEWOULDBLOCK where a blocking socket would wait
   out SO_RCVTIMEO (WSAETIMEDOUT). */
static int is_non_blocking(ni_handle s)
{
#ifdef _WIN32
    DWORD timeout = 2000;
    char byte;
    if (setsockopt((SOCKET)s, SOL_SOCKET, SO_RCVTIMEO, (const char*)&timeout, sizeof timeout) != 0)
        return -1;
    ULONGLONG start = GetTickCount64();
    int n = recv((SOCKET)s, &byte, 1, 0);
    int error = WSAGetLastError();
    if (n == SOCKET_ERROR && error == WSAEWOULDBLOCK && GetTickCount64() - start < 1000)
        return 1;
    return n == SOCKET_ERROR && error == WSAETIMEDOUT ? 0 : -1;
#else
    int flags = fcntl((int)s, F_GETFL);
    return flags < 0 ? -1 : (flags & O_NONBLOCK) != 0;
#endif
}

/* The mode of a socket that ni_accept takes from a non-blocking listener, as the header states it: on Linux
   blocking (accept4 is given SOCK_CLOEXEC only, so the socket does not take the listener's O_NONBLOCK); on
   Windows non-blocking (Winsock's accept gives it the listener's properties). BSD and macOS copy the flag. */
static void accept_from_non_blocking_listener(void)
{
    ni_handle listener, h;
    int port;
    if (!CHECK_OK(ni_test_listen_loopback(&listener, &port)))
        return;
    CHECK(ni_test_set_nonblocking(listener, 1));
    CHECK_RC(ni_accept(listener, NULL, NULL, &h), NI_TEST_WSA(EWOULDBLOCK)); /* nothing pending yet (EAGAIN) */
    ni_handle client = ni_test_connect_loopback(port);
    if (CHECK(client != NI_INVALID_HANDLE) && CHECK(has_pending(listener, 10000)) &&
        CHECK_OK(ni_accept(listener, NULL, NULL, &h)))
    {
        CHECK_INT(ni_test_inherit_flag(h), 0);
#if defined(__linux__) || defined(_WIN32)
        CHECK_INT(is_non_blocking(h), NI_TEST_CODE(0, 1));
#else
        CHECK(is_non_blocking(h) >= 0);
        ni_test_skip("the accepted socket's mode is the system's choice here (the header promises none)");
#endif
        CHECK_OK(ni_close(h));
    }
    if (client != NI_INVALID_HANDLE)
        ni_close(client);
    CHECK_OK(ni_close(listener));
}

static void accept_errors(void)
{
    ni_handle listener, h = 12345;
    int port;
    if (!CHECK_OK(ni_test_listen_loopback(&listener, &port)))
        return;
    int handles = ni_test_count_handles();
    CHECK_RC(ni_accept(NI_TEST_BAD_HANDLE, NULL, NULL, &h), NI_TEST_CODE(EBADF, WSAENOTSOCK));

    struct sockaddr_in address;
    int32_t length = -1;
    CHECK_RC(ni_accept(listener, &address, NULL, &h), NI_TEST_WSA(EINVAL));
    CHECK_RC(ni_accept(listener, &address, &length, &h), NI_TEST_WSA(EINVAL));
    CHECK_RC(ni_accept(listener, NULL, NULL, NULL), NI_TEST_WSA(EINVAL));

    ni_handle unbound;
    if (CHECK_OK(ni_socket(NI_AF_INET, NI_SOCK_STREAM, 0, &unbound)))
    {
        CHECK_RC(ni_accept(unbound, NULL, NULL, &h), NI_TEST_WSA(EINVAL)); /* accept() on a non-listening socket */
        CHECK_OK(ni_close(unbound));
    }
    CHECK_INT(h, 12345);
    CHECK_INT(length, -1);
    CHECK_INT(ni_test_count_handles(), handles);
    CHECK_OK(ni_close(listener));
}

static void accept_on_a_file(void)
{
    char path[NI_TEST_PATH_MAX];
    ni_test_path(path, "file");
    ni_handle file, h = 12345;
    if (!CHECK_OK(ni_open(path, NI_O_RDWR | NI_O_CREAT, 0644, &file)))
        return;
    int rc = ni_accept(file, NULL, NULL, &h);
#ifdef _WIN32
    if (rc == WSAEOPNOTSUPP)
        ni_test_skip("accept() on a file handle says WSAEOPNOTSUPP here (wine), Windows says WSAENOTSOCK");
    else
#endif
        CHECK_RC(rc, NI_TEST_WSA(ENOTSOCK));
    CHECK_INT(h, 12345);
    CHECK_OK(ni_close(file));
}

static void accept_is_not_inherited(void)
{
    /* The control comes from a listener of its own: where the child tells sockets apart by local address,
       two accepted from one listener would look alike. */
    ni_handle listener, control_listener, ours;
    int port, control_port;
    if (!CHECK_OK(ni_test_listen_loopback(&listener, &port)))
        return;
    if (CHECK_OK(ni_test_listen_loopback(&control_listener, &control_port)))
    {
        ni_handle client1 = ni_test_connect_loopback(port), client2 = ni_test_connect_loopback(control_port);
        if (CHECK(client1 != NI_INVALID_HANDLE && client2 != NI_INVALID_HANDLE) &&
            CHECK_OK(ni_accept(listener, NULL, NULL, &ours)))
        {
            ni_handle control = (ni_handle)accept(NI_TEST_SOCKET(control_listener), NULL, NULL);
            if (CHECK(control != NI_INVALID_HANDLE))
            {
                if (CHECK(ni_test_make_inheritable(control)))
                    CHECK_NOT_INHERITED(ours, control);
                CHECK_OK(ni_close(control));
            }
            CHECK_OK(ni_close(ours));
        }
        ni_close(client1);
        ni_close(client2);
        CHECK_OK(ni_close(control_listener));
    }
    CHECK_OK(ni_close(listener));
}

#ifdef _WIN32
static void accept_repairs_inheritable(void)
{
    /* Where Winsock's accept() hands out an inheritable socket from a non-inheritable listener (wine
       does), ni_accept must clear the flag and stop claiming that accept is atomic. */
    ni_handle listener, h;
    int port;
    if (!CHECK_OK(ni_test_listen_loopback(&listener, &port)))
        return;
    ni_handle client1 = ni_test_connect_loopback(port), client2 = ni_test_connect_loopback(port);
    SOCKET plain = accept((SOCKET)listener, NULL, NULL);
    if (CHECK(client1 != NI_INVALID_HANDLE && client2 != NI_INVALID_HANDLE && plain != INVALID_SOCKET))
    {
        int provider_inherits = ni_test_inherit_flag((ni_handle)plain);
        CHECK(provider_inherits == 0 || provider_inherits == 1);
        if (provider_inherits == 1)
            printf("  note: accept() gives inheritable sockets here; ni_accept repairs them\n");
        if (CHECK_OK(ni_accept(listener, NULL, NULL, &h)))
        {
            CHECK_INT(ni_test_inherit_flag(h), 0);
            CHECK_OK(ni_close(h));
        }
        CHECK_INT(ni_capabilities() & NI_CAP_ACCEPT_ATOMIC, provider_inherits == 1 ? 0 : NI_CAP_ACCEPT_ATOMIC);
    }
    closesocket(plain);
    ni_close(client1);
    ni_close(client2);
    CHECK_OK(ni_close(listener));
}
#else
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
    int port, max;
    ni_handle client;
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
    p->client = ni_test_connect_loopback(p->port);
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
    struct pester control = { .target = pthread_self(), .max = 500, .client = NI_INVALID_HANDLE };
    if (CHECK_OK(ni_test_listen_loopback(&listener, &control.port)) &&
        CHECK_INT(pthread_create(&thread, NULL, pester, &control), 0))
    {
        int fd = accept((int)listener, NULL, NULL);
        int error = errno;
        atomic_store(&control.stop, 1);
        pthread_join(thread, NULL);
        CHECK(fd < 0 && error == EINTR);
        if (fd >= 0) close(fd);
        if (control.client != NI_INVALID_HANDLE) ni_close(control.client);
        CHECK_OK(ni_close(listener));
    }

    g_signals = 0;
    struct pester p = { .target = pthread_self(), .max = 5, .client = NI_INVALID_HANDLE };
    if (CHECK_OK(ni_test_listen_loopback(&listener, &p.port)) &&
        CHECK_INT(pthread_create(&thread, NULL, pester, &p), 0))
    {
        int rc = ni_accept(listener, NULL, NULL, &h);
        pthread_join(thread, NULL);
        CHECK_INT(g_signals, 5);
        CHECK(p.client != NI_INVALID_HANDLE);
        if (CHECK_OK(rc))
        {
            struct sockaddr_in peer;
            socklen_t length = sizeof peer;
            CHECK(getpeername((int)h, (struct sockaddr*)&peer, &length) == 0 &&
                  ntohs(peer.sin_port) == ni_test_local_port(p.client)); /* the pester's connection */
            CHECK_OK(ni_close(h));
        }
        if (p.client != NI_INVALID_HANDLE) ni_close(p.client);
        CHECK_OK(ni_close(listener));
    }
    sigaction(SIGUSR1, &saved, NULL);
}
#endif

NI_TEST_MAIN(
    NI_TEST(accept_without_address),
    NI_TEST(accept_with_address),
    NI_TEST(accept_address_too_small),
    NI_TEST(accept_nonblocking),
    NI_TEST(accept_from_non_blocking_listener),
    NI_TEST(accept_errors),
    NI_TEST(accept_on_a_file),
    NI_TEST(accept_is_not_inherited),
    NI_TEST_POSIX(accept_retries_eintr),
    NI_TEST_WINDOWS(accept_repairs_inheritable))
