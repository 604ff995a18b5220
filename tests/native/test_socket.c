/* ni_socket. */
#include "ni_test.h"

/* What the system says the socket is: its family, type and protocol; 1 if it could tell. */
static int socket_kind(ni_handle h, int* family, int* type, int* protocol)
{
#ifdef _WIN32
    WSAPROTOCOL_INFOW info;
    int length = (int)sizeof info;
    if (getsockopt((SOCKET)h, SOL_SOCKET, SO_PROTOCOL_INFOW, (char*)&info, &length) != 0)
        return 0;
    *family = info.iAddressFamily, *type = info.iSocketType, *protocol = info.iProtocol;
    return 1;
#else
    socklen_t length = sizeof *type;
    if (getsockopt((int)h, SOL_SOCKET, SO_TYPE, type, &length) != 0)
        return 0;
#  if defined(SO_DOMAIN) && defined(SO_PROTOCOL)
    length = sizeof *family;
    return getsockopt((int)h, SOL_SOCKET, SO_DOMAIN, family, &length) == 0 &&
           getsockopt((int)h, SOL_SOCKET, SO_PROTOCOL, protocol, &(socklen_t){ sizeof *protocol }) == 0;
#  else
    /* No SO_DOMAIN / SO_PROTOCOL (macOS): the family from the local address, the protocol as asked. */
    struct sockaddr_storage address;
    length = sizeof address;
    if (getsockname((int)h, (struct sockaddr*)&address, &length) != 0)
        return 0;
    *family = address.ss_family;
    *protocol = *type == SOCK_STREAM && *family != AF_UNIX ? IPPROTO_TCP
              : *type == SOCK_DGRAM && *family != AF_UNIX  ? IPPROTO_UDP
                                                            : *protocol;
    return 1;
#  endif
#endif
}

/* Creates the socket and checks what the system says it is; 0 or the ni_socket error. */
static int check_socket(int32_t family, int32_t type, int32_t protocol, int os_family, int os_type, int os_protocol)
{
    ni_handle h = NI_INVALID_HANDLE;
    int rc = ni_socket(family, type, protocol, &h);
    if (rc != 0)
        return rc;
    int actual_family = -1, actual_type = -1, actual_protocol = os_protocol;
    int ok = CHECK(socket_kind(h, &actual_family, &actual_type, &actual_protocol));
    ok &= CHECK_INT(actual_family, os_family);
    ok &= CHECK_INT(actual_type, os_type);
    ok &= CHECK_INT(actual_protocol, os_protocol);
    ok &= CHECK_INT(ni_test_inherit_flag(h), 0);
    ok &= CHECK_OK(ni_close(h));
    if (!ok)
        printf("  in the case family %d, type %d, protocol %d\n", family, type, protocol);
    return 0;
}

static void socket_families_and_types(void)
{
    static const struct
    {
        int32_t family, type, protocol;
        int os_family, os_type, os_protocol;
    } cases[] = {
        { NI_AF_INET, NI_SOCK_STREAM, 0, AF_INET, SOCK_STREAM, IPPROTO_TCP },
        { NI_AF_INET, NI_SOCK_STREAM, 6, AF_INET, SOCK_STREAM, IPPROTO_TCP },
        { NI_AF_INET, NI_SOCK_DGRAM, 0, AF_INET, SOCK_DGRAM, IPPROTO_UDP },
        { NI_AF_INET, NI_SOCK_DGRAM, 17, AF_INET, SOCK_DGRAM, IPPROTO_UDP },
        { NI_AF_INET6, NI_SOCK_STREAM, 0, AF_INET6, SOCK_STREAM, IPPROTO_TCP },
        { NI_AF_INET6, NI_SOCK_DGRAM, 0, AF_INET6, SOCK_DGRAM, IPPROTO_UDP },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
    {
        int rc = check_socket(cases[i].family, cases[i].type, cases[i].protocol, cases[i].os_family, cases[i].os_type,
                              cases[i].os_protocol);
        if (rc == NI_TEST_WSA(EAFNOSUPPORT) && cases[i].family == NI_AF_INET6)
            ni_test_skip("IPv6 is disabled on this system");
        else
            CHECK_OK(rc);
    }
}

static void socket_raw(void)
{
    /* Raw sockets need CAP_NET_RAW / administrator rights; without them the refusal is passed through. */
    int rc = check_socket(NI_AF_INET, NI_SOCK_RAW, 1 /* ICMP */, AF_INET, SOCK_RAW, 1);
    if (rc == NI_TEST_CODE(EPERM, WSAEACCES))
        ni_test_skip("raw sockets need CAP_NET_RAW or administrator rights");
    else
        CHECK_OK(rc);
}

static void socket_unix(void)
{
    int rc = check_socket(NI_AF_UNIX, NI_SOCK_STREAM, 0, AF_UNIX, SOCK_STREAM, 0);
#ifdef _WIN32
    if (rc == WSAEAFNOSUPPORT)
    {
        ni_test_skip("this Winsock has no AF_UNIX (wine 8 has none; Windows has it since 10 1803)");
        return;
    }
#else
    CHECK_OK(check_socket(NI_AF_UNIX, NI_SOCK_DGRAM, 0, AF_UNIX, SOCK_DGRAM, 0));
    CHECK_OK(check_socket(NI_AF_UNIX, NI_SOCK_SEQPACKET, 0, AF_UNIX, SOCK_SEQPACKET, 0));
#endif
    CHECK_OK(rc);
}

static void socket_errors(void)
{
    int handles = ni_test_count_handles();
    ni_handle h = 12345;
    CHECK_RC(ni_socket(NI_AF_UNSPEC, NI_SOCK_STREAM, 0, &h), NI_TEST_WSA(EAFNOSUPPORT));
    CHECK_RC(ni_socket(4, NI_SOCK_STREAM, 0, &h), NI_TEST_WSA(EAFNOSUPPORT));
    CHECK_RC(ni_socket(AF_INET6, NI_SOCK_STREAM, 0, &h), NI_TEST_WSA(EAFNOSUPPORT)); /* OS numbers are not NI_AF_* */
    CHECK_RC(ni_socket(-1, NI_SOCK_STREAM, 0, &h), NI_TEST_WSA(EAFNOSUPPORT));
    CHECK_RC(ni_socket(NI_AF_INET, 0, 0, &h), NI_TEST_WSA(EPROTOTYPE));
    CHECK_RC(ni_socket(NI_AF_INET, 4, 0, &h), NI_TEST_WSA(EPROTOTYPE));
    CHECK_RC(ni_socket(NI_AF_INET, 99, 0, &h), NI_TEST_WSA(EPROTOTYPE));
    CHECK_RC(ni_socket(NI_AF_INET, NI_SOCK_STREAM, 17 /* UDP */, &h), NI_TEST_WSA(EPROTONOSUPPORT));
    CHECK_RC(ni_socket(NI_AF_INET, NI_SOCK_STREAM, -1, &h), NI_TEST_WSA(EPROTONOSUPPORT));
    CHECK_RC(ni_socket(NI_AF_INET, NI_SOCK_STREAM, 0, NULL), NI_TEST_WSA(EINVAL));
    CHECK_INT(ni_error_kind(ni_socket(NI_AF_UNSPEC, NI_SOCK_STREAM, 0, &h)), NI_ERR_AFNOSUPPORT);
    CHECK_INT(ni_error_kind(ni_socket(NI_AF_INET, 0, 0, &h)), NI_ERR_PROTOTYPE);
    CHECK_INT(ni_error_kind(ni_socket(NI_AF_INET, NI_SOCK_STREAM, 17, &h)), NI_ERR_PROTONOSUPPORT);
#ifdef _WIN32
    CHECK_RC(ni_socket(NI_AF_INET, NI_SOCK_SEQPACKET, 0, &h), WSAESOCKTNOSUPPORT);
    CHECK_INT(ni_error_kind(ni_socket(NI_AF_INET, NI_SOCK_SEQPACKET, 0, &h)), NI_ERR_SOCKTNOSUPPORT);
#endif
    CHECK_INT(h, 12345);
    CHECK_INT(ni_test_count_handles(), handles);
}

static void socket_is_not_inherited(void)
{
    /* Both bound, so that their local ports tell them apart where the child describes sockets by address. */
    ni_handle ours, control;
    if (!CHECK_OK(ni_socket(NI_AF_INET, NI_SOCK_STREAM, 0, &ours)))
        return;
    if (CHECK((control = (ni_handle)socket(AF_INET, SOCK_STREAM, 0)) != NI_INVALID_HANDLE))
    {
        if (CHECK(ni_test_bind_loopback(ours) > 0 && ni_test_bind_loopback(control) > 0) &&
            CHECK(ni_test_make_inheritable(control)))
            CHECK_NOT_INHERITED(ours, control);
        CHECK_OK(ni_close(control));
    }
    CHECK_OK(ni_close(ours));
}

/* ni_socket_share: Windows hands a listener to a process (here this one) as a WSAPROTOCOL_INFOW, from which WSASocketW
   opens a second socket on the same listener; the first stays open. POSIX: ENOTSUP. */
static void socket_share(void)
{
    ni_handle listener;
    if (!CHECK_OK(ni_socket(NI_AF_INET, NI_SOCK_STREAM, 0, &listener)))
        return;
    int port = ni_test_bind_loopback(listener);
    CHECK(port > 0);
#ifdef _WIN32
    CHECK(listen((SOCKET)listener, 1) == 0);
    WSAPROTOCOL_INFOW info;
    int32_t length = 10;
    CHECK_RC(ni_socket_share(listener, GetCurrentProcessId(), &info, &length), WSAEFAULT);
    CHECK_INT(length, (int32_t)sizeof info);
    CHECK_RC(ni_socket_share(listener, 0, &info, &length), WSAEINVAL);
    CHECK_RC(ni_socket_share(listener, GetCurrentProcessId(), &info, NULL), WSAEINVAL);
    if (CHECK_OK(ni_socket_share(listener, GetCurrentProcessId(), &info, &length)))
    {
        SOCKET copy = WSASocketW(FROM_PROTOCOL_INFO, FROM_PROTOCOL_INFO, FROM_PROTOCOL_INFO, &info, 0, WSA_FLAG_NO_HANDLE_INHERIT);
        if (CHECK(copy != INVALID_SOCKET))
        {
            struct sockaddr_in address;
            int size = (int)sizeof address;
            CHECK(getsockname(copy, (struct sockaddr*)&address, &size) == 0 && ntohs(address.sin_port) == port);
            CHECK(closesocket(copy) == 0);
        }
        /* Still open here after the copy is closed. */
        struct sockaddr_in address;
        int size = (int)sizeof address;
        CHECK(getsockname((SOCKET)listener, (struct sockaddr*)&address, &size) == 0 && ntohs(address.sin_port) == port);
    }
#else
    char info[1024];
    int32_t length = (int32_t)sizeof info;
    CHECK_RC(ni_socket_share(listener, 1, info, &length), ENOTSUP);
#endif
    CHECK_OK(ni_close(listener));
}

NI_TEST_MAIN(
    NI_TEST(socket_share),
    NI_TEST(socket_families_and_types),
    NI_TEST(socket_raw),
    NI_TEST(socket_unix),
    NI_TEST(socket_errors),
    NI_TEST(socket_is_not_inherited))
