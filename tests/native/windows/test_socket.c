/* ni_socket on Windows. */
#include "ni_test.h"

#include <winsock2.h>
#include <ws2tcpip.h>
#include <windows.h>
#include <string.h>

static int protocol_info(ni_handle h, WSAPROTOCOL_INFOW* info)
{
    int length = (int)sizeof *info;
    return getsockopt((SOCKET)h, SOL_SOCKET, SO_PROTOCOL_INFOW, (char*)info, &length) == 0;
}

/* Creates the socket and checks what Winsock says it is; 0 or the ni_socket error. */
static int check_socket(int32_t family, int32_t type, int32_t protocol, int os_family, int os_type, int os_protocol)
{
    ni_handle h = NI_INVALID_HANDLE;
    int rc = ni_socket(family, type, protocol, &h);
    if (rc != 0)
        return rc;
    WSAPROTOCOL_INFOW info;
    int ok = CHECK(protocol_info(h, &info));
    ok &= CHECK_INT(info.iAddressFamily, os_family);
    ok &= CHECK_INT(info.iSocketType, os_type);
    ok &= CHECK_INT(info.iProtocol, os_protocol);
    ok &= CHECK_INT(ni_test_inherit_flag(h), 0);
    ok &= CHECK_OK(ni_close(h));
    if (!ok)
        printf("  in the case family %d, type %d, protocol %d\n", family, type, protocol);
    return 0;
}

static void socket_families_and_types(void)
{
    CHECK_OK(check_socket(NI_AF_INET, NI_SOCK_STREAM, 0, AF_INET, SOCK_STREAM, IPPROTO_TCP));
    CHECK_OK(check_socket(NI_AF_INET, NI_SOCK_STREAM, 6, AF_INET, SOCK_STREAM, IPPROTO_TCP));
    CHECK_OK(check_socket(NI_AF_INET, NI_SOCK_DGRAM, 0, AF_INET, SOCK_DGRAM, IPPROTO_UDP));
    CHECK_OK(check_socket(NI_AF_INET, NI_SOCK_DGRAM, 17, AF_INET, SOCK_DGRAM, IPPROTO_UDP));
    CHECK_OK(check_socket(NI_AF_INET6, NI_SOCK_STREAM, 0, AF_INET6, SOCK_STREAM, IPPROTO_TCP));
    CHECK_OK(check_socket(NI_AF_INET6, NI_SOCK_DGRAM, 0, AF_INET6, SOCK_DGRAM, IPPROTO_UDP));
}

static void socket_raw(void)
{
    int rc = check_socket(NI_AF_INET, NI_SOCK_RAW, 1 /* ICMP */, AF_INET, SOCK_RAW, 1);
    if (rc == WSAEACCES)
        ni_test_skip("raw sockets need administrator rights");
    else
        CHECK_OK(rc);
}

static void socket_unix(void)
{
    int rc = check_socket(NI_AF_UNIX, NI_SOCK_STREAM, 0, AF_UNIX, SOCK_STREAM, 0);
    if (rc == WSAEAFNOSUPPORT)
        ni_test_skip("this Winsock has no AF_UNIX (wine 8 has none; Windows has it since 10 1803)");
    else
        CHECK_OK(rc);
}

static void socket_errors(void)
{
    int handles = ni_test_count_handles();
    ni_handle h = 12345;
    CHECK_RC(ni_socket(NI_AF_UNSPEC, NI_SOCK_STREAM, 0, &h), WSAEAFNOSUPPORT);
    CHECK_RC(ni_socket(4, NI_SOCK_STREAM, 0, &h), WSAEAFNOSUPPORT);
    CHECK_RC(ni_socket(AF_INET6 /* 23: OS numbers are not NI_AF_* */, NI_SOCK_STREAM, 0, &h), WSAEAFNOSUPPORT);
    CHECK_RC(ni_socket(-1, NI_SOCK_STREAM, 0, &h), WSAEAFNOSUPPORT);
    CHECK_RC(ni_socket(NI_AF_INET, 0, 0, &h), WSAEPROTOTYPE);
    CHECK_RC(ni_socket(NI_AF_INET, 4, 0, &h), WSAEPROTOTYPE);
    CHECK_RC(ni_socket(NI_AF_INET, 99, 0, &h), WSAEPROTOTYPE);
    CHECK_RC(ni_socket(NI_AF_INET, NI_SOCK_STREAM, 17 /* UDP */, &h), WSAEPROTONOSUPPORT);
    CHECK_RC(ni_socket(NI_AF_INET, NI_SOCK_STREAM, -1, &h), WSAEPROTONOSUPPORT);
    CHECK_RC(ni_socket(NI_AF_INET, NI_SOCK_SEQPACKET, 0, &h), WSAESOCKTNOSUPPORT);
    CHECK_RC(ni_socket(NI_AF_INET, NI_SOCK_STREAM, 0, NULL), WSAEINVAL);
    CHECK_INT(ni_error_kind(ni_socket(NI_AF_UNSPEC, NI_SOCK_STREAM, 0, &h)), NI_ERR_AFNOSUPPORT);
    CHECK_INT(ni_error_kind(ni_socket(NI_AF_INET, 0, 0, &h)), NI_ERR_PROTOTYPE);
    CHECK_INT(ni_error_kind(ni_socket(NI_AF_INET, NI_SOCK_STREAM, 17, &h)), NI_ERR_PROTONOSUPPORT);
    CHECK_INT(ni_error_kind(ni_socket(NI_AF_INET, NI_SOCK_SEQPACKET, 0, &h)), NI_ERR_SOCKTNOSUPPORT);
    CHECK_INT(h, 12345);
    CHECK_INT(ni_test_count_handles(), handles);
}

static int bind_loopback(SOCKET s)
{
    struct sockaddr_in address;
    memset(&address, 0, sizeof address);
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return bind(s, (struct sockaddr*)&address, sizeof address) == 0;
}

static void socket_is_not_inherited(void)
{
    /* Both bound, so that their local ports tell them apart in the probe's description. */
    ni_handle ours;
    if (!CHECK_OK(ni_socket(NI_AF_INET, NI_SOCK_STREAM, 0, &ours)))
        return;
    SOCKET control = WSASocketW(AF_INET, SOCK_STREAM, 0, NULL, 0, WSA_FLAG_OVERLAPPED);
    if (CHECK(control != INVALID_SOCKET))
    {
        if (CHECK(bind_loopback((SOCKET)ours) && bind_loopback(control)) &&
            CHECK(SetHandleInformation((HANDLE)control, HANDLE_FLAG_INHERIT, HANDLE_FLAG_INHERIT)))
            CHECK_NOT_INHERITED(ours, (ni_handle)control);
        closesocket(control);
    }
    CHECK_OK(ni_close(ours));
}

NI_TEST_MAIN(
    NI_TEST(socket_families_and_types),
    NI_TEST(socket_raw),
    NI_TEST(socket_unix),
    NI_TEST(socket_errors),
    NI_TEST(socket_is_not_inherited))
