/* ni_socket. */
#include "ni_test.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/socket.h>
#include <unistd.h>

static int sockopt(ni_handle h, int option)
{
    int value = -1;
    socklen_t length = sizeof value;
    return getsockopt((int)h, SOL_SOCKET, option, &value, &length) == 0 ? value : -1;
}

static void socket_families_and_types(void)
{
    static const struct
    {
        int32_t family, type, protocol;
        int os_family, os_type, os_protocol;
    } cases[] = {
        { NI_AF_UNIX, NI_SOCK_STREAM, 0, AF_UNIX, SOCK_STREAM, 0 },
        { NI_AF_UNIX, NI_SOCK_DGRAM, 0, AF_UNIX, SOCK_DGRAM, 0 },
        { NI_AF_UNIX, NI_SOCK_SEQPACKET, 0, AF_UNIX, SOCK_SEQPACKET, 0 },
        { NI_AF_INET, NI_SOCK_STREAM, 0, AF_INET, SOCK_STREAM, 6 },
        { NI_AF_INET, NI_SOCK_STREAM, 6, AF_INET, SOCK_STREAM, 6 },
        { NI_AF_INET, NI_SOCK_DGRAM, 0, AF_INET, SOCK_DGRAM, 17 },
        { NI_AF_INET, NI_SOCK_DGRAM, 17, AF_INET, SOCK_DGRAM, 17 },
        { NI_AF_INET6, NI_SOCK_STREAM, 0, AF_INET6, SOCK_STREAM, 6 },
        { NI_AF_INET6, NI_SOCK_DGRAM, 0, AF_INET6, SOCK_DGRAM, 17 },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
    {
        ni_handle h = NI_INVALID_HANDLE;
        int rc = ni_socket(cases[i].family, cases[i].type, cases[i].protocol, &h);
        if (rc == EAFNOSUPPORT && cases[i].family == NI_AF_INET6)
        {
            ni_test_skip("IPv6 is disabled on this system");
            continue;
        }
        int ok = CHECK_OK(rc);
        if (ok)
        {
            ok &= CHECK_INT(sockopt(h, SO_DOMAIN), cases[i].os_family);
            ok &= CHECK_INT(sockopt(h, SO_TYPE), cases[i].os_type);
            ok &= CHECK_INT(sockopt(h, SO_PROTOCOL), cases[i].os_protocol);
            ok &= CHECK(fcntl((int)h, F_GETFD) & FD_CLOEXEC);
            ok &= CHECK_OK(ni_close(h));
        }
        if (!ok)
            printf("  in the case family %d, type %d, protocol %d\n", cases[i].family, cases[i].type,
                   cases[i].protocol);
    }

    /* Raw sockets need CAP_NET_RAW; without it socket() says EPERM, which is passed through. */
    ni_handle raw;
    int rc = ni_socket(NI_AF_INET, NI_SOCK_RAW, 1 /* ICMP */, &raw);
    if (rc == EPERM)
        ni_test_skip("no CAP_NET_RAW for a raw socket");
    else if (CHECK_OK(rc))
    {
        CHECK_INT(sockopt(raw, SO_TYPE), SOCK_RAW);
        CHECK_OK(ni_close(raw));
    }
}

static void socket_errors(void)
{
    int fds = ni_test_count_handles();
    ni_handle h = 12345;
    CHECK_RC(ni_socket(NI_AF_UNSPEC, NI_SOCK_STREAM, 0, &h), EAFNOSUPPORT);
    CHECK_RC(ni_socket(4, NI_SOCK_STREAM, 0, &h), EAFNOSUPPORT);
    CHECK_RC(ni_socket(AF_NETLINK, NI_SOCK_DGRAM, 0, &h), EAFNOSUPPORT); /* OS numbers are not NI_AF_* */
    CHECK_RC(ni_socket(-1, NI_SOCK_STREAM, 0, &h), EAFNOSUPPORT);
    CHECK_RC(ni_socket(NI_AF_INET, 0, 0, &h), EPROTOTYPE);
    CHECK_RC(ni_socket(NI_AF_INET, 4, 0, &h), EPROTOTYPE);
    CHECK_RC(ni_socket(NI_AF_INET, 99, 0, &h), EPROTOTYPE);
    CHECK_RC(ni_socket(NI_AF_INET, NI_SOCK_STREAM, 17 /* UDP */, &h), EPROTONOSUPPORT);
    CHECK_RC(ni_socket(NI_AF_INET, NI_SOCK_STREAM, -1, &h), EPROTONOSUPPORT);
    CHECK_RC(ni_socket(NI_AF_INET, NI_SOCK_STREAM, 0, NULL), EINVAL);
    CHECK_INT(h, 12345);
    CHECK_INT(ni_test_count_handles(), fds);
}

static void socket_is_not_inherited(void)
{
    ni_handle ours;
    if (!CHECK_OK(ni_socket(NI_AF_INET, NI_SOCK_STREAM, 0, &ours)))
        return;
    int control = socket(AF_INET, SOCK_STREAM, 0);
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

NI_TEST_MAIN(
    NI_TEST(socket_families_and_types),
    NI_TEST(socket_errors),
    NI_TEST(socket_is_not_inherited))
