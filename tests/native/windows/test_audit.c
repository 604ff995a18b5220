/* ni_list_handles, ni_describe, ni_seal on Windows: against this process's handles and, for seal,
   against what a real child (the probe) inherits. */
#include "ni_test.h"

#include <winsock2.h>
#include <ws2tcpip.h>
#include <windows.h>
#include <stdlib.h>
#include <string.h>

static const ni_handle_info* find(const ni_handle_info* infos, int32_t count, ni_handle handle)
{
    for (int32_t i = 0; i < count; i++)
        if (infos[i].handle == handle)
            return &infos[i];
    return NULL;
}

static void list_and_describe(void)
{
    char path[NI_TEST_PATH_MAX];
    ni_test_path(path, "listed");
    ni_handle file, r, w, sock;
    CHECK_OK(ni_open(path, NI_O_RDWR | NI_O_CREAT, 0644, &file));
    CHECK_OK(ni_pipe(&r, &w));
    CHECK_OK(ni_socket(NI_AF_INET, NI_SOCK_STREAM, 0, &sock));
    CHECK_OK(ni_set_inheritable(w, 1));

    static ni_handle_info infos[16384];
    int32_t count = -1;
    CHECK_OK(ni_list_handles(infos, 16384, &count));
    CHECK(count >= 4);
    const ni_handle_info* info;
    CHECK((info = find(infos, count, file)) != NULL && info->kind == NI_KIND_FILE && info->inheritable == 0);
    CHECK((info = find(infos, count, r)) != NULL && info->kind == NI_KIND_PIPE && info->inheritable == 0);
    CHECK((info = find(infos, count, w)) != NULL && info->inheritable == 1);
    CHECK((info = find(infos, count, sock)) != NULL && info->kind == NI_KIND_SOCKET);
    CHECK_RC(ni_list_handles(NULL, 4, &count), ERROR_INVALID_PARAMETER);

    char text[1024];
    int32_t kind = -1;
    CHECK_OK(ni_describe(file, text, sizeof text, &kind));
    CHECK_INT(kind, NI_KIND_FILE);
    /* The final path names the file; compare its last component. */
    CHECK(strstr(text, "listed") != NULL);
    CHECK_OK(ni_describe(sock, text, sizeof text, &kind));
    CHECK_INT(kind, NI_KIND_SOCKET);
    CHECK(strncmp(text, "inet stream", 11) == 0);
    CHECK_RC(ni_describe(NI_INVALID_HANDLE, text, sizeof text, &kind), ERROR_INVALID_HANDLE);
    CHECK_RC(ni_describe(file, NULL, 4, &kind), ERROR_INVALID_PARAMETER);

    CHECK_OK(ni_close(file)), CHECK_OK(ni_close(r)), CHECK_OK(ni_close(w)), CHECK_OK(ni_close(sock));
}

static void seal_leaves_only_what_is_kept(void)
{
    ni_handle a_r, a_w, b_r, b_w;
    CHECK_OK(ni_pipe(&a_r, &a_w));
    CHECK_OK(ni_pipe(&b_r, &b_w));
    CHECK_OK(ni_set_inheritable(a_r, 1));
    CHECK_OK(ni_set_inheritable(b_r, 1));
    CHECK(ni_test_child_sees(a_r) && ni_test_child_sees(b_r));

    int32_t changed = -1;
    ni_handle keep[] = { b_r };
    CHECK_OK(ni_seal(keep, 1, &changed));
    CHECK(changed >= 1);
    CHECK(!ni_test_child_sees(a_r));
    CHECK(ni_test_child_sees(b_r));
    CHECK_OK(ni_seal(keep, 1, &changed));
    CHECK_INT(changed, 0);
    CHECK_OK(ni_seal(NULL, 0, &changed));
    CHECK_INT(changed, 1);
    CHECK(!ni_test_child_sees(b_r));
    CHECK_RC(ni_seal(NULL, 1, &changed), ERROR_INVALID_PARAMETER);

    CHECK_OK(ni_close(a_r)), CHECK_OK(ni_close(a_w)), CHECK_OK(ni_close(b_r)), CHECK_OK(ni_close(b_w));
}

NI_TEST_MAIN(NI_TEST(list_and_describe), NI_TEST(seal_leaves_only_what_is_kept))
