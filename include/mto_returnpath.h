/*
 * Validation of the same-host return path kept across a login.
 */
#ifndef MTO_RETURNPATH_H
#define MTO_RETURNPATH_H

/* Maximum length of a return path, in bytes. */
#define MTO_RETURN_PATH_MAX 2048

/*
 * Returns 1 when path is a same-host relative path safe to redirect to:
 * it starts with one "/" not followed by "/" or "\", contains no
 * backslash and no control character, and is at most MTO_RETURN_PATH_MAX
 * bytes long. Returns 0 otherwise.
 */
int mto_return_path_valid(const char *path);

#endif
