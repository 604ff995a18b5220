/* ni_list_handles, ni_describe, ni_seal: checked against what the process holds and, for seal,
   against what a real child inherits. */
#include "ni_test.h"

#include <stdlib.h>
#include <string.h>
#ifndef _WIN32
#  include <sys/un.h>
#endif

static const ni_handle_info* find(const ni_handle_info* infos, int32_t count, ni_handle handle)
{
    for (int32_t i = 0; i < count; i++)
        if (infos[i].handle == handle)
            return &infos[i];
    return NULL;
}

static void list_handles_reports_each_descriptor(void)
{
    char path[NI_TEST_PATH_MAX], dir_path[NI_TEST_PATH_MAX];
    ni_test_path(path, "listed");
    ni_test_path(dir_path, "");
    CHECK_OK(ni_test_write_file(path, "x", 1, 0644));
    ni_handle ours, plain, dir = NI_INVALID_HANDLE, sock, r, w;
    CHECK_OK(ni_open(path, NI_O_RDONLY, 0, &ours));
    CHECK((plain = ni_test_plain_file(path)) != NI_INVALID_HANDLE); /* inheritable on purpose */
    CHECK_OK(ni_socket(NI_AF_INET, NI_SOCK_STREAM, 0, &sock));
    CHECK_OK(ni_pipe(&r, &w));
    CHECK_OK(ni_set_inheritable(w, 1));
#ifndef _WIN32
    CHECK_OK(ni_open(dir_path, NI_O_RDONLY, 0, &dir)); /* ni_open opens no directory on Windows */
#endif

    static ni_handle_info infos[16384];
    int32_t count = -1;
    CHECK_OK(ni_list_handles(infos, 16384, &count));
    CHECK(count >= NI_TEST_CODE(7, 5) && count <= 16384); /* those above, and (POSIX) a standard stream */
    const ni_handle_info* info;
    CHECK((info = find(infos, count, ours)) != NULL && info->kind == NI_KIND_FILE && info->inheritable == 0);
    CHECK((info = find(infos, count, plain)) != NULL && info->kind == NI_KIND_FILE && info->inheritable == 1);
    CHECK((info = find(infos, count, sock)) != NULL && info->kind == NI_KIND_SOCKET);
    CHECK((info = find(infos, count, r)) != NULL && info->kind == NI_KIND_PIPE && info->inheritable == 0);
    CHECK((info = find(infos, count, w)) != NULL && info->inheritable == 1);
#ifndef _WIN32
    CHECK((info = find(infos, count, dir)) != NULL && info->kind == NI_KIND_DIRECTORY);
#endif

    /* Too small a buffer: as many as fit, and the count of all. */
    int32_t all = count;
    CHECK_OK(ni_list_handles(infos, 2, &count));
    CHECK(count >= all - 1 && count <= all + 1);
    CHECK_OK(ni_list_handles(NULL, 0, &count));
    CHECK(count >= all - 1);
    CHECK_RC(ni_list_handles(NULL, 4, &count), NI_TEST_EINVAL);
    CHECK_RC(ni_list_handles(infos, -1, &count), NI_TEST_EINVAL);
    CHECK_RC(ni_list_handles(infos, 4, NULL), NI_TEST_EINVAL);

    const ni_handle all_handles[] = { ours, plain, dir, sock, r, w };
    for (size_t i = 0; i < sizeof all_handles / sizeof all_handles[0]; i++)
        if (all_handles[i] != NI_INVALID_HANDLE)
            CHECK_OK(ni_close(all_handles[i]));
}

/* The text ni_describe gives a listening socket and one accepted from it: "inet stream <address>" and
   "inet stream <local> -> <peer>". */
static void describe_sockets(void)
{
    char text[256], expected[256];
    int32_t kind = -1;
    ni_handle listener, client, server;
    int port;
    if (!CHECK_OK(ni_test_listen_loopback(&listener, &port)))
        return;
    CHECK_OK(ni_describe(listener, text, sizeof text, &kind));
    snprintf(expected, sizeof expected, "inet stream 127.0.0.1:%d", port);
    CHECK_INT(kind, NI_KIND_SOCKET);
    if (!CHECK(strcmp(text, expected) == 0))
        printf("  the listener: \"%s\"\n", text);
    if ((client = ni_test_connect_loopback(port)) != NI_INVALID_HANDLE && CHECK_OK(ni_accept(listener, NULL, NULL, &server)))
    {
        CHECK_OK(ni_describe(server, text, sizeof text, &kind));
        snprintf(expected, sizeof expected, "inet stream 127.0.0.1:%d -> 127.0.0.1:", port);
        if (!CHECK(strncmp(text, expected, strlen(expected)) == 0))
            printf("  the accepted socket: \"%s\"\n", text);
        ni_close(server);
    }
    CHECK(client != NI_INVALID_HANDLE);
    ni_close(client);
    ni_close(listener);
}

static void describe_files_pipes_and_sockets(void)
{
    char path[NI_TEST_PATH_MAX], text[NI_TEST_PATH_MAX + 64];
#ifndef _WIN32
    char expected[NI_TEST_DESCRIPTION_MAX];
#endif
    int32_t kind = -1;
    ni_test_path(path, "described");
    CHECK_OK(ni_test_write_file(path, "x", 1, 0644));
    ni_handle file, r, w;
    CHECK_OK(ni_open(path, NI_O_RDONLY, 0, &file));
    CHECK_OK(ni_describe(file, text, sizeof text, &kind));
    CHECK_INT(kind, NI_KIND_FILE);
    /* The path that names the file: POSIX's is the one it was opened by; Windows' final path is the same
       file in another spelling (\\?\, long names), so its last component is compared. */
    if (!CHECK(NI_TEST_CODE(strcmp(text, path) == 0, strstr(text, "\\described") != NULL)))
        printf("  the file: \"%s\"\n", text);

    CHECK_OK(ni_pipe(&r, &w));
    CHECK_OK(ni_describe(r, text, sizeof text, &kind));
    CHECK_INT(kind, NI_KIND_PIPE);
#ifndef _WIN32
    ni_test_describe_handle(r, expected, sizeof expected); /* "pipe:[<inode>]", as /proc says */
    CHECK(strcmp(text, expected) == 0);
#endif

    describe_sockets();
#ifndef _WIN32
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
    ni_close(unix_socket);
#endif

    /* Truncated, NUL-terminated; bad arguments. */
    CHECK_OK(ni_describe(file, text, 4, &kind));
    CHECK_INT(strlen(text), 3);
    CHECK_RC(ni_describe(NI_TEST_BAD_HANDLE, text, sizeof text, &kind), NI_TEST_EBADF);
    CHECK_RC(ni_describe(NI_INVALID_HANDLE, text, sizeof text, &kind), NI_TEST_EBADF);
    CHECK_RC(ni_describe(file, NULL, 10, &kind), NI_TEST_EINVAL);
    CHECK_RC(ni_describe(file, text, 0, &kind), NI_TEST_EINVAL);
    CHECK_RC(ni_describe(file, text, sizeof text, NULL), NI_TEST_EINVAL);
    ni_close(file), ni_close(r), ni_close(w);
}

static void seal_leaves_only_what_is_kept(void)
{
    char a[NI_TEST_PATH_MAX], b[NI_TEST_PATH_MAX];
    ni_test_path(a, "sealed");
    ni_test_path(b, "kept");
    CHECK_OK(ni_test_write_file(a, "a", 1, 0644));
    CHECK_OK(ni_test_write_file(b, "b", 1, 0644));
    /* Inheritable, as other code leaves them. */
    ni_handle fa = ni_test_plain_file(a), fb = ni_test_plain_file(b), pipe_r, pipe_w;
    CHECK(fa != NI_INVALID_HANDLE && fb != NI_INVALID_HANDLE);
    CHECK(ni_test_plain_pipe(&pipe_r, &pipe_w));
    CHECK(ni_test_child_sees(fa) && ni_test_child_sees(fb) && ni_test_child_sees(pipe_r));

    int32_t changed = -1;
    ni_handle keep[] = { fb };
    CHECK_OK(ni_seal(keep, 1, &changed));
    CHECK(changed >= 3); /* fa and both pipe ends, plus whatever the test runner inherited */
    CHECK(!ni_test_child_sees(fa));
    CHECK(!ni_test_child_sees(pipe_r));
    CHECK(ni_test_child_sees(fb));
    /* Nothing was closed, only made non-inheritable. */
    int32_t inheritable = 1;
    CHECK_OK(ni_get_inheritable(fa, &inheritable));
    CHECK_INT(inheritable, 0);
    char byte;
    CHECK_INT(ni_test_read(fa, &byte, 1), 1);
#ifndef _WIN32
    /* The standard streams are always kept. */
    CHECK_OK(ni_get_inheritable(1, &inheritable));
    CHECK_INT(inheritable, 1);
#endif

    /* Nothing left to change, and keep counts as kept, not as changed. */
    CHECK_OK(ni_seal(keep, 1, &changed));
    CHECK_INT(changed, 0);
    CHECK_OK(ni_seal(NULL, 0, &changed));
    CHECK_INT(changed, 1);
    CHECK(!ni_test_child_sees(fb));

#ifndef _WIN32
    ni_handle bad[] = { -5 };
    CHECK_RC(ni_seal(bad, 1, &changed), EINVAL);
#endif
    CHECK_RC(ni_seal(NULL, 1, &changed), NI_TEST_EINVAL);
    CHECK_RC(ni_seal(keep, 1, NULL), NI_TEST_EINVAL);
    ni_close(fa), ni_close(fb), ni_close(pipe_r), ni_close(pipe_w);
}

NI_TEST_MAIN(
    NI_TEST(list_handles_reports_each_descriptor),
    NI_TEST(describe_files_pipes_and_sockets),
    NI_TEST(seal_leaves_only_what_is_kept))
