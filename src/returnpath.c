/*
 * Return targets after login. Only a path on the request's own host may
 * be redirected to, so an attacker cannot turn the login into an open
 * redirect.
 */
#include <string.h>

#include "mto_returnpath.h"

int mto_return_path_valid(const char *path)
{
    const unsigned char *c;

    if (path == NULL || path[0] != '/') {
        return 0;
    }
    if (strlen(path) > MTO_RETURN_PATH_MAX) {
        return 0;
    }

    /* "//host" and "/\host" are read by browsers as another host. */
    if (path[1] == '/' || path[1] == '\\') {
        return 0;
    }
    for (c = (const unsigned char *)path; *c; c++) {
        if (*c < 0x20 || *c == 0x7f || *c == '\\') {
            return 0;
        }
    }
    return 1;
}
