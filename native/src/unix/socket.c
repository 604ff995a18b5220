/* ni_socket, ni_accept: sockets created close-on-exec (SOCK_CLOEXEC, accept4). */
#define _GNU_SOURCE
#include "unix.h"

#include <sys/socket.h>
#include <unistd.h>
#include "ni_socket_map.h"

int32_t ni_socket(int32_t family, int32_t type, int32_t protocol, ni_handle* result)
{
    if (result == NULL)
        return EINVAL;
    int os_family = ni_os_family(family);
    int os_type = ni_os_socket_type(type);
    if (os_family < 0)
        return EAFNOSUPPORT;
    if (os_type < 0)
        return EPROTOTYPE;
    if (protocol < 0)
        return EPROTONOSUPPORT;

#if HAVE_SOCK_CLOEXEC
    int fd = socket(os_family, os_type | SOCK_CLOEXEC, protocol);
    if (fd < 0)
        return errno;
#else
    int fd = socket(os_family, os_type, protocol);
    if (fd < 0)
        return errno;
    int error = ni_unix_cloexec_fallback(fd, NI_CAP_SOCKET_ATOMIC);
    if (error != 0)
        return error;
#endif
    *result = (ni_handle)fd;
    return 0;
}

int32_t ni_accept(ni_handle listener, void* address, int32_t* address_length, ni_handle* result)
{
    if (result == NULL || (address != NULL && (address_length == NULL || *address_length < 0)))
        return EINVAL;
    socklen_t length = address != NULL ? (socklen_t)*address_length : 0;
    socklen_t* length_arg = address != NULL ? &length : NULL;
    int fd;
#if HAVE_ACCEPT4 && HAVE_SOCK_CLOEXEC
    while ((fd = accept4(ni_unix_fd(listener), (struct sockaddr*)address, length_arg, SOCK_CLOEXEC)) < 0 && errno == EINTR) { }
    if (fd < 0)
        return errno;
#else
    while ((fd = accept(ni_unix_fd(listener), (struct sockaddr*)address, length_arg)) < 0 && errno == EINTR) { }
    if (fd < 0)
        return errno;
    int error = ni_unix_cloexec_fallback(fd, NI_CAP_ACCEPT_ATOMIC);
    if (error != 0)
        return error;
#endif
    if (address != NULL)
        *address_length = (int32_t)length;
    *result = (ni_handle)fd;
    return 0;
}
