/* ni_socket, ni_accept: sockets created close-on-exec (SOCK_CLOEXEC, accept4). */
#define _GNU_SOURCE
#include "unix.h"

#include <errno.h>
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
    int fd;
    int32_t error = ni_unix_socket(os_family, os_type, protocol, &fd);
    if (error != 0)
        return error;
    *result = (ni_handle)fd;
    return 0;
}

int32_t ni_accept(ni_handle listener, void* address, int32_t* address_length, ni_handle* result)
{
    if (result == NULL || (address != NULL && (address_length == NULL || *address_length < 0)))
        return EINVAL;
    socklen_t length = address != NULL ? (socklen_t)*address_length : 0;
    int fd;
    int32_t error = ni_unix_accept(ni_unix_fd(listener), (struct sockaddr*)address, address != NULL ? &length : NULL,
                                   &fd);
    if (error != 0)
        return error;
    if (address != NULL)
        *address_length = (int32_t)length;
    *result = (ni_handle)fd;
    return 0;
}

/* Windows' WSADuplicateSocketW: a descriptor is passed to a child as it is (ni_spawn's mappings). */
int32_t ni_socket_share(ni_handle socket, int64_t process_id, void* info, int32_t* length)
{
    (void)socket;
    (void)process_id;
    (void)info;
    (void)length;
    return ENOTSUP;
}
