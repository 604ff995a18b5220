/* ni_accept on Windows. */
#include "ni_test.h"

#include <winsock2.h>
#include <ws2tcpip.h>
#include <windows.h>
#include <string.h>

static struct sockaddr_in loopback(int port)
{
    struct sockaddr_in address;
    memset(&address, 0, sizeof address);
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    address.sin_port = htons((u_short)port);
    return address;
}

static int local_port(SOCKET s)
{
    struct sockaddr_in address;
    int length = (int)sizeof address;
    return getsockname(s, (struct sockaddr*)&address, &length) == 0 ? ntohs(address.sin_port) : -1;
}

/* A listener on 127.0.0.1 and an ephemeral port; 0 or a WSA error. */
static int listen_loopback(ni_handle* listener, int* port)
{
    int rc = ni_socket(NI_AF_INET, NI_SOCK_STREAM, 0, listener);
    if (rc != 0)
        return rc;
    struct sockaddr_in address = loopback(0);
    if (bind((SOCKET)*listener, (struct sockaddr*)&address, sizeof address) != 0 ||
        listen((SOCKET)*listener, 8) != 0)
    {
        rc = WSAGetLastError();
        ni_close(*listener);
        return rc;
    }
    *port = local_port((SOCKET)*listener);
    return 0;
}

/* A connected client socket (not inheritable, so it never shows up in the probe) or INVALID_SOCKET. */
static SOCKET connect_loopback(int port)
{
    ni_handle client;
    if (ni_socket(NI_AF_INET, NI_SOCK_STREAM, 0, &client) != 0)
        return INVALID_SOCKET;
    struct sockaddr_in address = loopback(port);
    if (connect((SOCKET)client, (struct sockaddr*)&address, sizeof address) != 0)
    {
        ni_close(client);
        return INVALID_SOCKET;
    }
    return (SOCKET)client;
}

static void accept_without_address(void)
{
    ni_handle listener, h;
    int port;
    if (!CHECK_OK(listen_loopback(&listener, &port)))
        return;
    SOCKET client = connect_loopback(port);
    CHECK(client != INVALID_SOCKET);
    if (CHECK_OK(ni_accept(listener, NULL, NULL, &h)))
    {
        CHECK_INT(ni_test_inherit_flag(h), 0);
        char byte = 0;
        CHECK_INT(send(client, "x", 1, 0), 1);
        CHECK(recv((SOCKET)h, &byte, 1, 0) == 1 && byte == 'x');
        CHECK_OK(ni_close(h));
    }
    /* Without an address the length is ignored, whatever it holds. */
    SOCKET client2 = connect_loopback(port);
    int32_t garbage = -5;
    if (CHECK(client2 != INVALID_SOCKET) && CHECK_OK(ni_accept(listener, NULL, &garbage, &h)))
        CHECK_OK(ni_close(h));
    CHECK_INT(garbage, -5);
    closesocket(client2);
    closesocket(client);
    CHECK_OK(ni_close(listener));
}

static void accept_with_address(void)
{
    ni_handle listener, h;
    int port;
    if (!CHECK_OK(listen_loopback(&listener, &port)))
        return;
    SOCKET client = connect_loopback(port);
    struct sockaddr_storage peer;
    memset(&peer, 0, sizeof peer);
    int32_t length = (int32_t)sizeof peer;
    if (CHECK(client != INVALID_SOCKET) && CHECK_OK(ni_accept(listener, &peer, &length, &h)))
    {
        const struct sockaddr_in* in = (const struct sockaddr_in*)&peer;
        CHECK_INT(length, sizeof(struct sockaddr_in));
        CHECK_INT(in->sin_family, AF_INET);
        CHECK_INT(ntohl(in->sin_addr.s_addr), INADDR_LOOPBACK);
        CHECK_INT(ntohs(in->sin_port), local_port(client));
        CHECK_INT(ni_test_inherit_flag(h), 0);
        CHECK_OK(ni_close(h));
    }
    closesocket(client);
    CHECK_OK(ni_close(listener));
}

static void accept_address_too_small(void)
{
    /* Winsock refuses a buffer smaller than the address (POSIX would truncate): WSAEFAULT, and the
       out-parameters stay as they were. */
    ni_handle listener, h = 12345;
    int port;
    if (!CHECK_OK(listen_loopback(&listener, &port)))
        return;
    SOCKET client = connect_loopback(port);
    unsigned char small[4];
    int32_t length = (int32_t)sizeof small;
    int handles = ni_test_count_handles();
    if (CHECK(client != INVALID_SOCKET))
        CHECK_RC(ni_accept(listener, small, &length, &h), WSAEFAULT);
    CHECK_INT(length, sizeof small);
    CHECK_INT(h, 12345);
    CHECK_INT(ni_test_count_handles(), handles);
    closesocket(client);
    CHECK_OK(ni_close(listener));
}

static void accept_nonblocking(void)
{
    ni_handle listener, h = 12345;
    int port;
    if (!CHECK_OK(listen_loopback(&listener, &port)))
        return;
    u_long on = 1;
    CHECK_INT(ioctlsocket((SOCKET)listener, FIONBIO, &on), 0);
    int rc = ni_accept(listener, NULL, NULL, &h);
    CHECK_RC(rc, WSAEWOULDBLOCK);
    CHECK_INT(ni_error_kind(rc), NI_ERR_WOULDBLOCK);
    CHECK_INT(h, 12345);

    /* The accepted socket has the listener's properties (Winsock's accept), its non-blocking mode
       included: a recv with nothing to read fails at once with WSAEWOULDBLOCK, where a blocking
       socket would wait out SO_RCVTIMEO (WSAETIMEDOUT). Linux's accept gives a blocking one. */
    SOCKET client = connect_loopback(port);
    CHECK(client != INVALID_SOCKET);
    for (int i = 0; i < 500 && (rc = ni_accept(listener, NULL, NULL, &h)) == WSAEWOULDBLOCK; i++)
        Sleep(10);
    if (CHECK_OK(rc))
    {
        DWORD timeout = 2000;
        char byte;
        CHECK_INT(setsockopt((SOCKET)h, SOL_SOCKET, SO_RCVTIMEO, (const char*)&timeout, sizeof timeout), 0);
        ULONGLONG start = GetTickCount64();
        CHECK_INT(recv((SOCKET)h, &byte, 1, 0), SOCKET_ERROR);
        CHECK_RC(WSAGetLastError(), WSAEWOULDBLOCK);
        CHECK(GetTickCount64() - start < 1000);
        CHECK_OK(ni_close(h));
    }
    closesocket(client);
    CHECK_OK(ni_close(listener));
}

static void accept_errors(void)
{
    ni_handle listener, h = 12345;
    int port;
    if (!CHECK_OK(listen_loopback(&listener, &port)))
        return;
    int handles = ni_test_count_handles();
    CHECK_RC(ni_accept(NI_TEST_BAD_HANDLE, NULL, NULL, &h), WSAENOTSOCK);

    struct sockaddr_in address;
    int32_t length = -1;
    CHECK_RC(ni_accept(listener, &address, NULL, &h), WSAEINVAL);
    CHECK_RC(ni_accept(listener, &address, &length, &h), WSAEINVAL);
    CHECK_RC(ni_accept(listener, NULL, NULL, NULL), WSAEINVAL);

    ni_handle unbound;
    if (CHECK_OK(ni_socket(NI_AF_INET, NI_SOCK_STREAM, 0, &unbound)))
    {
        CHECK_RC(ni_accept(unbound, NULL, NULL, &h), WSAEINVAL); /* accept() on a non-listening socket */
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
    if (rc == WSAEOPNOTSUPP)
        ni_test_skip("accept() on a file handle says WSAEOPNOTSUPP here (wine), Windows says WSAENOTSOCK");
    else
        CHECK_RC(rc, WSAENOTSOCK);
    CHECK_INT(h, 12345);
    CHECK_OK(ni_close(file));
}

static void accept_is_not_inherited(void)
{
    /* The control comes from a listener of its own: the probe tells sockets apart by local address. */
    ni_handle listener, control_listener, ours;
    int port, control_port;
    if (!CHECK_OK(listen_loopback(&listener, &port)))
        return;
    if (CHECK_OK(listen_loopback(&control_listener, &control_port)))
    {
        SOCKET client1 = connect_loopback(port), client2 = connect_loopback(control_port);
        if (CHECK(client1 != INVALID_SOCKET && client2 != INVALID_SOCKET) &&
            CHECK_OK(ni_accept(listener, NULL, NULL, &ours)))
        {
            SOCKET control = accept((SOCKET)control_listener, NULL, NULL);
            if (CHECK(control != INVALID_SOCKET))
            {
                if (CHECK(SetHandleInformation((HANDLE)control, HANDLE_FLAG_INHERIT, HANDLE_FLAG_INHERIT)))
                    CHECK_NOT_INHERITED(ours, (ni_handle)control);
                closesocket(control);
            }
            CHECK_OK(ni_close(ours));
        }
        closesocket(client1);
        closesocket(client2);
        CHECK_OK(ni_close(control_listener));
    }
    CHECK_OK(ni_close(listener));
}

static void accept_repairs_inheritable(void)
{
    /* Where Winsock's accept() hands out an inheritable socket from a non-inheritable listener (wine
       does), ni_accept must clear the flag and stop claiming that accept is atomic. */
    ni_handle listener, h;
    int port;
    if (!CHECK_OK(listen_loopback(&listener, &port)))
        return;
    SOCKET client1 = connect_loopback(port), client2 = connect_loopback(port);
    SOCKET plain = accept((SOCKET)listener, NULL, NULL);
    if (CHECK(client1 != INVALID_SOCKET && client2 != INVALID_SOCKET && plain != INVALID_SOCKET))
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
    closesocket(client1);
    closesocket(client2);
    CHECK_OK(ni_close(listener));
}

NI_TEST_MAIN(
    NI_TEST(accept_without_address),
    NI_TEST(accept_with_address),
    NI_TEST(accept_address_too_small),
    NI_TEST(accept_nonblocking),
    NI_TEST(accept_errors),
    NI_TEST(accept_on_a_file),
    NI_TEST(accept_is_not_inherited),
    NI_TEST(accept_repairs_inheritable))
