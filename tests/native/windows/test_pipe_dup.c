/* ni_pipe, ni_dup, ni_close on Windows. */
#include "ni_test.h"

#include <winsock2.h>
#include <windows.h>
#include <stdlib.h>
#include <string.h>

static int write_text(HANDLE h, const char* text)
{
    DWORD n = 0;
    return WriteFile(h, text, (DWORD)strlen(text), &n, NULL) && n == strlen(text);
}

static void pipe_works(void)
{
    ni_handle r = 12345, w = 12345;
    CHECK_RC(ni_pipe(NULL, &w), ERROR_INVALID_PARAMETER);
    CHECK_RC(ni_pipe(&r, NULL), ERROR_INVALID_PARAMETER);
    CHECK(r == 12345 && w == 12345);
    if (!CHECK_OK(ni_pipe(&r, &w)))
        return;
    CHECK_INT(ni_test_inherit_flag(r), 0);
    CHECK_INT(ni_test_inherit_flag(w), 0);
    CHECK_INT(GetFileType((HANDLE)r), FILE_TYPE_PIPE);
    char buffer[4] = { 0 };
    DWORD n = 0;
    CHECK(write_text((HANDLE)w, "abc"));
    CHECK(ReadFile((HANDLE)r, buffer, sizeof buffer, &n, NULL) && n == 3 && memcmp(buffer, "abc", 3) == 0);
    CHECK(!WriteFile((HANDLE)r, "x", 1, &n, NULL)); /* the read end is only that */
    CHECK_OK(ni_close(w));
    /* The write end really was closed: the reader sees the end of the pipe. */
    CHECK(!ReadFile((HANDLE)r, buffer, sizeof buffer, &n, NULL) && GetLastError() == ERROR_BROKEN_PIPE);
    CHECK_OK(ni_close(r));
}

static void pipe_is_not_inherited(void)
{
    /* Different amounts waiting in each pipe: the probe's "pipe <bytes>" tells them apart. */
    ni_handle r, w;
    HANDLE control_r, control_w;
    SECURITY_ATTRIBUTES inheritable = { sizeof inheritable, NULL, TRUE };
    if (!CHECK_OK(ni_pipe(&r, &w)))
        return;
    if (CHECK(CreatePipe(&control_r, &control_w, &inheritable, 0)))
    {
        CHECK(write_text((HANDLE)w, "ours") && write_text(control_w, "control"));
        CHECK_NOT_INHERITED(r, (ni_handle)control_r);
        CHECK_NOT_INHERITED(w, (ni_handle)control_w);
        CloseHandle(control_r);
        CloseHandle(control_w);
    }
    CHECK_OK(ni_close(r));
    CHECK_OK(ni_close(w));
}

static void dup_works(void)
{
    char path[NI_TEST_PATH_MAX];
    ni_test_path(path, "file");
    SECURITY_ATTRIBUTES inheritable = { sizeof inheritable, NULL, TRUE };
    wchar_t* wide = ni_test_wide_path(path);
    /* inheritable: the copy still must not be */
    HANDLE original = CreateFileW(wide, GENERIC_READ | GENERIC_WRITE, 0, &inheritable, CREATE_NEW, 0, NULL);
    free(wide);
    if (!CHECK(original != INVALID_HANDLE_VALUE))
        return;
    ni_handle copy = 12345;
    CHECK_RC(ni_dup(NI_TEST_BAD_HANDLE, &copy), ERROR_INVALID_HANDLE);
    CHECK_RC(ni_dup((ni_handle)original, NULL), ERROR_INVALID_PARAMETER);
    CHECK_INT(copy, 12345);
    if (CHECK_OK(ni_dup((ni_handle)original, &copy)))
    {
        CHECK(copy != (ni_handle)original);
        CHECK_INT(ni_test_inherit_flag(copy), 0);
        CHECK_INT(ni_test_inherit_flag((ni_handle)original), 1); /* the original is left alone */
        /* One file object: the position is shared. */
        CHECK(write_text((HANDLE)copy, "xyz"));
        LARGE_INTEGER zero = { 0 }, position;
        CHECK(SetFilePointerEx(original, zero, &position, FILE_CURRENT) && position.QuadPart == 3);
        CHECK_OK(ni_close(copy));
    }
    CloseHandle(original);
}

static void dup_is_not_inherited(void)
{
    char path[NI_TEST_PATH_MAX];
    ni_test_path(path, "file");
    ni_handle original, ours;
    if (!CHECK_OK(ni_open(path, NI_O_RDWR | NI_O_CREAT, 0644, &original)))
        return;
    if (CHECK_OK(ni_dup(original, &ours)))
    {
        HANDLE process = GetCurrentProcess(), control;
        if (CHECK(DuplicateHandle(process, (HANDLE)original, process, &control, 0, TRUE, DUPLICATE_SAME_ACCESS)))
        {
            CHECK_NOT_INHERITED(ours, (ni_handle)control);
            CloseHandle(control);
        }
        CHECK_OK(ni_close(ours));
    }
    CHECK_OK(ni_close(original));
}

static void close_works(void)
{
    char path[NI_TEST_PATH_MAX];
    ni_test_path(path, "file");
    ni_handle file, socket, r, w;
    if (CHECK_OK(ni_open(path, NI_O_RDWR | NI_O_CREAT, 0644, &file)))
    {
        CHECK_OK(ni_close(file));
        CHECK_INT(ni_test_inherit_flag(file), -1);
        CHECK_RC(ni_close(file), ERROR_INVALID_HANDLE); /* already closed */
    }
    if (CHECK_OK(ni_socket(NI_AF_INET, NI_SOCK_STREAM, 0, &socket)))
    {
        CHECK_OK(ni_close(socket));
        int type, length = (int)sizeof type;
        CHECK(getsockopt((SOCKET)socket, SOL_SOCKET, SO_TYPE, (char*)&type, &length) != 0);
        CHECK_INT(ni_test_inherit_flag(socket), -1);
    }
    if (CHECK_OK(ni_pipe(&r, &w)))
    {
        CHECK_OK(ni_close(r));
        CHECK_INT(ni_test_inherit_flag(r), -1);
        CHECK_OK(ni_close(w));
    }
    CHECK_RC(ni_close(NI_TEST_BAD_HANDLE), ERROR_INVALID_HANDLE);
    CHECK_INT(ni_error_kind(ni_close(NI_TEST_BAD_HANDLE)), NI_ERR_BADF);
}

NI_TEST_MAIN(
    NI_TEST(pipe_works),
    NI_TEST(pipe_is_not_inherited),
    NI_TEST(dup_works),
    NI_TEST(dup_is_not_inherited),
    NI_TEST(close_works))
