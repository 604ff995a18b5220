/* ni_wait_readable: not on Windows, where an anonymous pipe cannot be waited on (overlapped reads do that). */
#include "win.h"

int32_t ni_wait_readable(ni_handle first, ni_handle second, int32_t timeout_ms, int32_t* ready)
{
    if (ready == NULL || timeout_ms < -1 || (first == NI_INVALID_HANDLE && second == NI_INVALID_HANDLE))
        return ERROR_INVALID_PARAMETER;
    return ERROR_NOT_SUPPORTED;
}
