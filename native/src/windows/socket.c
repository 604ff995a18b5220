/* ni_socket, ni_accept: WSASocketW with WSA_FLAG_NO_HANDLE_INHERIT. */
#include "win.h"
#include "ni_socket_map.h"

int32_t ni_socket(int32_t family, int32_t type, int32_t protocol, ni_handle* result)
{
    if (result == NULL)
        return WSAEINVAL;
    int os_family = ni_os_family(family);
    int os_type = ni_os_socket_type(type);
    if (os_family < 0)
        return WSAEAFNOSUPPORT;
    if (os_type < 0)
        return WSAEPROTOTYPE;
    if (protocol < 0)
        return WSAEPROTONOSUPPORT;
    int error = ni_win_sockets_ready();
    if (error != 0)
        return error;
    /* Overlapped, as the .NET runtime expects of the sockets it wraps. */
    SOCKET s = WSASocketW(os_family, os_type, protocol, NULL, 0, WSA_FLAG_OVERLAPPED | WSA_FLAG_NO_HANDLE_INHERIT);
    if (s == INVALID_SOCKET)
        return WSAGetLastError();
    *result = (ni_handle)s;
    return 0;
}

int32_t ni_accept(ni_handle listener, void* address, int32_t* address_length, ni_handle* result)
{
    if (result == NULL || (address != NULL && (address_length == NULL || *address_length < 0)))
        return WSAEINVAL;
    int error = ni_win_sockets_ready();
    if (error != 0)
        return error;
    int length = address != NULL ? *address_length : 0;
    SOCKET s = accept((SOCKET)listener, (struct sockaddr*)address, address != NULL ? &length : NULL);
    if (s == INVALID_SOCKET)
        return WSAGetLastError();
    /*
     * accept() gives the new socket the listener's attributes, and some providers (seen under wine)
     * hand back an inheritable one even from a non-inheritable listener: verify, and repair at once
     * when needed (then accept is not atomic here, and ni_capabilities says so).
     */
    DWORD info = 0;
    if (GetHandleInformation((HANDLE)s, &info) && (info & HANDLE_FLAG_INHERIT))
    {
        ni_win_degrade(NI_CAP_ACCEPT_ATOMIC);
        if (!SetHandleInformation((HANDLE)s, HANDLE_FLAG_INHERIT, 0))
        {
            DWORD set_error = GetLastError();
            closesocket(s);
            return (int32_t)set_error;
        }
    }
    if (address != NULL)
        *address_length = length;
    *result = (ni_handle)s;
    return 0;
}

int32_t ni_socket_share(ni_handle socket, int64_t process_id, void* info, int32_t* length)
{
    if (length == NULL || *length < 0 || (info == NULL && *length > 0) || process_id <= 0 || process_id > 0xFFFFFFFFLL)
        return WSAEINVAL;
    if (*length < (int32_t)sizeof(WSAPROTOCOL_INFOW))
    {
        *length = (int32_t)sizeof(WSAPROTOCOL_INFOW);
        return WSAEFAULT;
    }
    int error = ni_win_sockets_ready();
    if (error != 0)
        return error;
    if (WSADuplicateSocketW((SOCKET)socket, (DWORD)process_id, (WSAPROTOCOL_INFOW*)info) != 0)
        return WSAGetLastError();
    *length = (int32_t)sizeof(WSAPROTOCOL_INFOW);
    return 0;
}
