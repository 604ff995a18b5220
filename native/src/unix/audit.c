/* ni_list_handles, ni_describe, ni_seal: what a child started now would inherit, and stopping it. */
#define _GNU_SOURCE
#include "unix.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static int32_t kind_of(mode_t mode)
{
    if (S_ISREG(mode)) return NI_KIND_FILE;
    if (S_ISDIR(mode)) return NI_KIND_DIRECTORY;
    if (S_ISSOCK(mode)) return NI_KIND_SOCKET;
    if (S_ISFIFO(mode)) return NI_KIND_PIPE;
    if (S_ISCHR(mode)) return NI_KIND_CHARACTER_DEVICE;
    return NI_KIND_OTHER;
}

struct list_state
{
    ni_handle_info* buffer;
    int32_t capacity;
    int32_t count;
};

static int32_t list_one(int fd, void* arg)
{
    struct list_state* state = arg;
    int flags = fcntl(fd, F_GETFD);
    if (flags < 0)
        return 0; /* closed meanwhile by another thread */
    if (state->count < state->capacity)
    {
        struct stat st;
        ni_handle_info* info = &state->buffer[state->count];
        info->handle = (ni_handle)fd;
        info->inheritable = (flags & FD_CLOEXEC) ? 0 : 1;
        info->kind = ni_sys_fstat(fd, &st) == 0 ? kind_of(st.st_mode) : NI_KIND_OTHER;
    }
    state->count++;
    return 0;
}

int32_t ni_list_handles(ni_handle_info* buffer, int32_t capacity, int32_t* count)
{
    if (count == NULL || capacity < 0 || (buffer == NULL && capacity > 0))
        return EINVAL;
    struct list_state state = { buffer, capacity, 0 };
    int32_t error = ni_unix_for_each_fd(list_one, &state);
    if (error != 0)
        return error;
    *count = state.count;
    return 0;
}

static void format_address(const struct sockaddr_storage* address, socklen_t length, char* out, size_t size)
{
    char host[INET6_ADDRSTRLEN];
    if (address->ss_family == AF_INET)
    {
        const struct sockaddr_in* in = (const struct sockaddr_in*)address;
        inet_ntop(AF_INET, &in->sin_addr, host, sizeof host);
        snprintf(out, size, "%s:%u", host, (unsigned)ntohs(in->sin_port));
    }
    else if (address->ss_family == AF_INET6)
    {
        const struct sockaddr_in6* in6 = (const struct sockaddr_in6*)address;
        inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof host);
        snprintf(out, size, "[%s]:%u", host, (unsigned)ntohs(in6->sin6_port));
    }
    else if (address->ss_family == AF_UNIX)
    {
        const struct sockaddr_un* un = (const struct sockaddr_un*)address;
        size_t offset = offsetof(struct sockaddr_un, sun_path);
        if (length > offset && un->sun_path[0] != '\0')
            snprintf(out, size, "%.*s", (int)(length - offset), un->sun_path);
        else if (length > offset + 1)
            snprintf(out, size, "@%.*s", (int)(length - offset - 1), un->sun_path + 1); /* abstract */
        else
            snprintf(out, size, "(unnamed)");
    }
    else
    {
        snprintf(out, size, "(family %d)", (int)address->ss_family);
    }
}

static void describe_socket(int fd, char* buffer, size_t size)
{
    int type = 0;
    socklen_t type_length = sizeof type;
    getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &type_length);
    struct sockaddr_storage local, peer;
    socklen_t local_length = sizeof local, peer_length = sizeof peer;
    memset(&local, 0, sizeof local);
    char local_text[160] = "?", peer_text[160] = "";
    if (getsockname(fd, (struct sockaddr*)&local, &local_length) == 0)
        format_address(&local, local_length, local_text, sizeof local_text);
    if (getpeername(fd, (struct sockaddr*)&peer, &peer_length) == 0)
        format_address(&peer, peer_length, peer_text, sizeof peer_text);
    const char* family = local.ss_family == AF_INET ? "inet" : local.ss_family == AF_INET6 ? "inet6"
                       : local.ss_family == AF_UNIX ? "unix" : "socket";
    const char* kind = type == SOCK_STREAM ? "stream" : type == SOCK_DGRAM ? "dgram"
                     : type == SOCK_SEQPACKET ? "seqpacket" : type == SOCK_RAW ? "raw" : "other";
    if (peer_text[0] != '\0')
        snprintf(buffer, size, "%s %s %s -> %s", family, kind, local_text, peer_text);
    else
        snprintf(buffer, size, "%s %s %s", family, kind, local_text);
}

int32_t ni_describe(ni_handle handle, char* buffer, int32_t size, int32_t* kind)
{
    if (buffer == NULL || size < 1 || kind == NULL)
        return EINVAL;
    int fd = ni_unix_fd(handle);
    struct stat st;
    int32_t error = ni_sys_fstat(fd, &st);
    if (error != 0)
        return error;
    *kind = kind_of(st.st_mode);
    buffer[0] = '\0';
    if (S_ISSOCK(st.st_mode))
    {
        describe_socket(fd, buffer, (size_t)size);
        return 0;
    }
    ni_sys_fd_path(fd, buffer, (size_t)size);
    if (buffer[0] == '\0' && S_ISFIFO(st.st_mode))
        snprintf(buffer, (size_t)size, "pipe:[%llu]", (unsigned long long)st.st_ino);
    return 0;
}

static int compare_fds(const void* a, const void* b)
{
    int x = *(const int*)a, y = *(const int*)b;
    return (x > y) - (x < y);
}

struct seal_state
{
    const int* keep; /* ascending */
    int32_t keep_count;
    int32_t changed;
    int apply; /* 1: set FD_CLOEXEC here; 0: only count (close_range does the work) */
};

static int32_t seal_one(int fd, void* arg)
{
    struct seal_state* state = arg;
    if (ni_unix_is_kept(state->keep, state->keep_count, fd))
        return 0;
    int flags = fcntl(fd, F_GETFD);
    if (flags < 0 || (flags & FD_CLOEXEC))
        return 0;
    if (state->apply && fcntl(fd, F_SETFD, flags | FD_CLOEXEC) < 0)
        return errno;
    state->changed++;
    return 0;
}

/* The standard streams and `keep`, ascending, in a malloc'd array. */
static int32_t sorted_keep_list(const ni_handle* keep, int32_t keep_count, int** sorted)
{
    int* list = malloc(sizeof(int) * ((size_t)keep_count + 3));
    if (list == NULL)
        return ENOMEM;
    list[0] = 0, list[1] = 1, list[2] = 2;
    for (int32_t i = 0; i < keep_count; i++)
    {
        if (keep[i] < 0 || keep[i] > NI_UNIX_FD_MAX)
        {
            free(list);
            return EINVAL;
        }
        list[i + 3] = (int)keep[i];
    }
    qsort(list, (size_t)keep_count + 3, sizeof(int), compare_fds);
    *sorted = list;
    return 0;
}

int32_t ni_seal(const ni_handle* keep, int32_t keep_count, int32_t* changed)
{
    if (changed == NULL || keep_count < 0 || (keep == NULL && keep_count > 0))
        return EINVAL;
    /* The standard streams are always kept: a child started without redirection needs them. */
    int* sorted;
    int32_t error = sorted_keep_list(keep, keep_count, &sorted);
    if (error != 0)
        return error;
    struct seal_state state = { sorted, keep_count + 3, 0, 0 };
    /* Count first (what changes), then let the kernel flip the whole range at once (close_range with
       CLOEXEC); where it cannot, set the flag one descriptor at a time. */
    error = ni_unix_for_each_fd(seal_one, &state);
    if (error == 0 && (error = ni_unix_close_except(sorted, state.keep_count, NI_CLOSE_RANGE_CLOEXEC)) == ENOSYS)
    {
        state.apply = 1;
        state.changed = 0;
        error = ni_unix_for_each_fd(seal_one, &state);
    }
    free(sorted);
    if (error != 0)
        return error;
    *changed = state.changed;
    return 0;
}
