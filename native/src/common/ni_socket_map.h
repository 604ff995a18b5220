/* The portable NI_AF_* / NI_SOCK_* values as the OS's. Included by each platform's socket.c after
   its own socket header (sys/socket.h, winsock2.h), which gives AF_* and SOCK_* their values. */
#ifndef NI_SOCKET_MAP_H
#define NI_SOCKET_MAP_H

#include "noinherit.h"

/* -1 for an unknown (or unspecified) family. */
static inline int ni_os_family(int32_t family)
{
    switch (family)
    {
        case NI_AF_UNIX: return AF_UNIX;
        case NI_AF_INET: return AF_INET;
        case NI_AF_INET6: return AF_INET6;
        default: return -1;
    }
}

/* -1 for an unknown type. */
static inline int ni_os_socket_type(int32_t type)
{
    switch (type)
    {
        case NI_SOCK_STREAM: return SOCK_STREAM;
        case NI_SOCK_DGRAM: return SOCK_DGRAM;
        case NI_SOCK_RAW: return SOCK_RAW;
        case NI_SOCK_SEQPACKET: return SOCK_SEQPACKET;
        default: return -1;
    }
}

#endif
