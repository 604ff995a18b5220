/* ni_list_handles, ni_describe, ni_seal: checked against what the process holds and, for seal,
   against what a real child inherits. */
#include "ni_test.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static const ni_handle_info* find(const ni_handle_info* infos, int32_t count, int fd)
{
    for (int32_t i = 0; i < count; i++)
        if (infos[i].handle == fd)
            return &infos[i];
    return NULL;
}

static void list_handles_reports_each_descriptor(void)
{
    char path[NI_TEST_PATH_MAX];
    ni_test_path(path, "listed");
    CHECK_OK(ni_test_write_file(path, "x", 1, 0644));
    ni_handle ours, dir, sock, r, w;
    CHECK_OK(ni_open(path, NI_O_RDONLY, 0, &ours));
    int plain = open(path, O_RDONLY); /* inheritable on purpose */
    CHECK_OK(ni_open("/tmp", NI_O_RDONLY, 0, &dir));
    CHECK_OK(ni_socket(NI_AF_INET, NI_SOCK_STREAM, 0, &sock));
    CHECK_OK(ni_pipe(&r, &w));

    ni_handle_info infos[512];
    int32_t count = -1;
    CHECK_OK(ni_list_handles(infos, 512, &count));
    CHECK(count >= 7 && count <= 512);
    const ni_handle_info* info;
    CHECK((info = find(infos, count, (int)ours)) != NULL && info->kind == NI_KIND_FILE && info->inheritable == 0);
    CHECK((info = find(infos, count, plain)) != NULL && info->kind == NI_KIND_FILE && info->inheritable == 1);
    CHECK((info = find(infos, count, (int)dir)) != NULL && info->kind == NI_KIND_DIRECTORY);
    CHECK((info = find(infos, count, (int)sock)) != NULL && info->kind == NI_KIND_SOCKET);
    CHECK((info = find(infos, count, (int)r)) != NULL && info->kind == NI_KIND_PIPE);

    /* Too small a buffer: as many as fit, and the count of all. */
    int32_t all = count;
    CHECK_OK(ni_list_handles(infos, 2, &count));
    CHECK(count >= all - 1 && count <= all + 1);
    CHECK_OK(ni_list_handles(NULL, 0, &count));
    CHECK(count >= all - 1);
    CHECK_RC(ni_list_handles(NULL, 4, &count), EINVAL);
    CHECK_RC(ni_list_handles(infos, -1, &count), EINVAL);
    CHECK_RC(ni_list_handles(infos, 4, NULL), EINVAL);

    close(plain);
    ni_close(ours), ni_close(dir), ni_close(sock), ni_close(r), ni_close(w);
}

static void describe_files_pipes_and_sockets(void)
{
    char path[NI_TEST_PATH_MAX], text[NI_TEST_PATH_MAX + 64], expected[NI_TEST_PATH_MAX + 64];
    int32_t kind = -1;
    ni_test_path(path, "described");
    CHECK_OK(ni_test_write_file(path, "x", 1, 0644));
    ni_handle file;
    CHECK_OK(ni_open(path, NI_O_RDONLY, 0, &file));
    CHECK_OK(ni_describe(file, text, sizeof text, &kind));
    CHECK_INT(kind, NI_KIND_FILE);
    CHECK(strcmp(text, path) == 0);

    ni_handle r, w;
    CHECK_OK(ni_pipe(&r, &w));
    CHECK_OK(ni_describe(r, text, sizeof text, &kind));
    ni_test_inode_target((int)r, expected, sizeof expected);
    CHECK_INT(kind, NI_KIND_PIPE);
    CHECK(strcmp(text, expected) == 0);

    /* A listener and a connected pair: family, type, addresses. */
    ni_handle listener, client, server;
    CHECK_OK(ni_socket(NI_AF_INET, NI_SOCK_STREAM, 0, &listener));
    struct sockaddr_in address;
    memset(&address, 0, sizeof address);
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof address;
    CHECK_INT(bind((int)listener, (struct sockaddr*)&address, sizeof address), 0);
    CHECK_INT(listen((int)listener, 1), 0);
    CHECK_INT(getsockname((int)listener, (struct sockaddr*)&address, &length), 0);
    unsigned port = ntohs(address.sin_port);
    CHECK_OK(ni_describe(listener, text, sizeof text, &kind));
    snprintf(expected, sizeof expected, "inet stream 127.0.0.1:%u", port);
    CHECK_INT(kind, NI_KIND_SOCKET);
    CHECK(strcmp(text, expected) == 0);
    CHECK_OK(ni_socket(NI_AF_INET, NI_SOCK_STREAM, 0, &client));
    CHECK_INT(connect((int)client, (struct sockaddr*)&address, sizeof address), 0);
    CHECK_OK(ni_accept(listener, NULL, NULL, &server));
    CHECK_OK(ni_describe(server, text, sizeof text, &kind));
    snprintf(expected, sizeof expected, "inet stream 127.0.0.1:%u -> 127.0.0.1:", port);
    CHECK(strncmp(text, expected, strlen(expected)) == 0);

    /* A Unix socket bound to a path. */
    ni_handle unix_socket;
    CHECK_OK(ni_socket(NI_AF_UNIX, NI_SOCK_STREAM, 0, &unix_socket));
    struct sockaddr_un un;
    memset(&un, 0, sizeof un);
    un.sun_family = AF_UNIX;
    ni_test_path(path, "sock");
    CHECK(strlen(path) < sizeof un.sun_path);
    memcpy(un.sun_path, path, strlen(path) + 1);
    CHECK_INT(bind((int)unix_socket, (struct sockaddr*)&un, sizeof un), 0);
    CHECK_OK(ni_describe(unix_socket, text, sizeof text, &kind));
    snprintf(expected, sizeof expected, "unix stream %s", path);
    CHECK(strcmp(text, expected) == 0);

    /* Truncated, NUL-terminated; bad arguments. */
    CHECK_OK(ni_describe(file, text, 4, &kind));
    CHECK_INT(strlen(text), 3);
    CHECK_RC(ni_describe(NI_TEST_BAD_HANDLE, text, sizeof text, &kind), EBADF);
    CHECK_RC(ni_describe(file, NULL, 10, &kind), EINVAL);
    CHECK_RC(ni_describe(file, text, 0, &kind), EINVAL);
    CHECK_RC(ni_describe(file, text, sizeof text, NULL), EINVAL);

    ni_close(file), ni_close(r), ni_close(w), ni_close(listener), ni_close(client), ni_close(server);
    ni_close(unix_socket);
}

static void seal_leaves_only_what_is_kept(void)
{
    char a[NI_TEST_PATH_MAX], b[NI_TEST_PATH_MAX];
    ni_test_path(a, "sealed");
    ni_test_path(b, "kept");
    CHECK_OK(ni_test_write_file(a, "a", 1, 0644));
    CHECK_OK(ni_test_write_file(b, "b", 1, 0644));
    int fa = open(a, O_RDONLY), fb = open(b, O_RDONLY); /* inheritable, as other code leaves them */
    int pipe_fds[2];
    CHECK_INT(pipe(pipe_fds), 0);
    char pipe_target[64];
    ni_test_inode_target(pipe_fds[0], pipe_target, sizeof pipe_target);
    CHECK(ni_test_child_sees(fa, a) && ni_test_child_sees(fb, b) && ni_test_child_sees(pipe_fds[0], pipe_target));

    int32_t changed = -1;
    ni_handle keep[] = { fb };
    CHECK_OK(ni_seal(keep, 1, &changed));
    CHECK(changed >= 3); /* fa and both pipe ends, plus whatever the test runner inherited */
    CHECK(!ni_test_child_sees(fa, a));
    CHECK(!ni_test_child_sees(pipe_fds[0], pipe_target));
    CHECK(ni_test_child_sees(fb, b));
    /* The standard streams are always kept; nothing was closed. */
    int32_t inheritable = 0;
    CHECK_OK(ni_get_inheritable(1, &inheritable));
    CHECK_INT(inheritable, 1);
    CHECK_OK(ni_get_inheritable(fa, &inheritable));
    CHECK_INT(inheritable, 0);
    char byte;
    CHECK_INT(read(fa, &byte, 1), 1);

    /* Nothing left to change, and keep counts as kept, not as changed. */
    CHECK_OK(ni_seal(keep, 1, &changed));
    CHECK_INT(changed, 0);
    CHECK_OK(ni_seal(NULL, 0, &changed));
    CHECK_INT(changed, 1);
    CHECK(!ni_test_child_sees(fb, b));

    ni_handle bad[] = { -5 };
    CHECK_RC(ni_seal(bad, 1, &changed), EINVAL);
    CHECK_RC(ni_seal(NULL, 1, &changed), EINVAL);
    CHECK_RC(ni_seal(keep, 1, NULL), EINVAL);
    close(fa), close(fb), close(pipe_fds[0]), close(pipe_fds[1]);
}

NI_TEST_MAIN(NI_TEST(list_handles_reports_each_descriptor), NI_TEST(describe_files_pipes_and_sockets),
             NI_TEST(seal_leaves_only_what_is_kept))
