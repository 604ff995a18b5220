/* What holds on every platform: ni_version and the buffer contract of ni_error_message. */
#include "ni_test.h"

#include <ctype.h>
#include <string.h>

static void version(void)
{
    const char* v = ni_version();
    if (!CHECK(v != NULL))
        return;
    CHECK(strcmp(v, NI_TEST_EXPECTED_VERSION) == 0);
    /* MAJOR.MINOR.PATCH: three runs of digits, two dots, nothing else. */
    const char* p = v;
    for (int part = 0; part < 3; part++)
    {
        CHECK(isdigit((unsigned char)*p));
        while (isdigit((unsigned char)*p))
            p++;
        if (part < 2 && CHECK(*p == '.'))
            p++;
    }
    CHECK(*p == '\0');
    CHECK(ni_version() == v); /* a static string, valid for the process lifetime */
}

static void error_message_buffer(void)
{
    /* Codes as the library really returns them, whatever the platform calls them. */
    char missing[NI_TEST_PATH_MAX];
    ni_test_path(missing, "missing");
    ni_handle h;
    int32_t not_found = ni_open(missing, NI_O_RDONLY, 0, &h);
    int32_t invalid = ni_open(NULL, NI_O_RDONLY, 0, &h);
    CHECK_INT(ni_error_kind(not_found), NI_ERR_NOENT);
    CHECK_INT(ni_error_kind(invalid), NI_ERR_INVAL);

    char full[256];
    CHECK_OK(ni_error_message(not_found, full, (int32_t)sizeof full));
    CHECK(strlen(full) > 4);

    /* A small buffer gets the start of the same text, NUL-terminated, and nothing past its end. */
    char small[16];
    memset(small, 'Z', sizeof small);
    CHECK_OK(ni_error_message(not_found, small, 5));
    CHECK_INT(strlen(small), 4);
    CHECK(strncmp(small, full, 4) == 0);
    CHECK(small[5] == 'Z' && small[sizeof small - 1] == 'Z');
    memset(small, 'Z', sizeof small);
    CHECK_OK(ni_error_message(invalid, small, 1));
    CHECK(small[0] == '\0' && small[1] == 'Z');

    /* A code the platform has no text for still gets one. */
    CHECK_OK(ni_error_message(99999, full, (int32_t)sizeof full));
    CHECK(strlen(full) > 0 && strlen(full) < sizeof full);

    CHECK_RC(ni_error_message(not_found, NULL, 16), invalid);
    CHECK_RC(ni_error_message(not_found, small, 0), invalid);
    CHECK_RC(ni_error_message(not_found, small, -1), invalid);
}

NI_TEST_MAIN(
    NI_TEST(version),
    NI_TEST(error_message_buffer))
