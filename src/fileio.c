/* Every file libswin opens, through one place: reading only regular files, opened without
 * blocking (a FIFO or a device named as a model, a config, an image or an .npy is refused at
 * once instead of waiting for a writer forever), and writing atomically (a temporary file in
 * the destination's folder, flushed to disk, then renamed over the destination: a failure
 * leaves the destination as it was). */
#define _GNU_SOURCE /* O_CLOEXEC */
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"

bool swin__path_present(const char *path) {
    struct stat sb;
    return lstat(path, &sb) == 0 || errno != ENOENT;
}

swin_status swin__open_regular(const char *path, int *fd_out) {
    *fd_out = -1;
    const int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
    if (fd < 0) return swin__error(SWIN_ERR_IO, "cannot open \"%s\": %s", path, strerror(errno));
    struct stat sb;
    if (fstat(fd, &sb) != 0) {
        const swin_status s =
            swin__error(SWIN_ERR_IO, "cannot stat \"%s\": %s", path, strerror(errno));
        close(fd);
        return s;
    }
    if (!S_ISREG(sb.st_mode)) {
        close(fd);
        return swin__error(SWIN_ERR_IO, "\"%s\" is not a regular file (%s)", path,
                           S_ISDIR(sb.st_mode)    ? "a directory"
                           : S_ISFIFO(sb.st_mode) ? "a FIFO"
                           : S_ISSOCK(sb.st_mode) ? "a socket"
                                                  : "a device");
    }
    const int flags = fcntl(fd, F_GETFL);
    if (flags < 0 || fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) < 0) {
        const swin_status s = swin__error(SWIN_ERR_IO, "\"%s\": %s", path, strerror(errno));
        close(fd);
        return s;
    }
    *fd_out = fd;
    return SWIN_OK;
}

swin_status swin__fopen_regular(const char *path, FILE **fp) {
    int fd;
    *fp = NULL;
    SWIN_TRY(swin__open_regular(path, &fd));
    *fp = fdopen(fd, "rb");
    if (!*fp) {
        const swin_status s = swin__error(SWIN_ERR_IO, "\"%s\": %s", path, strerror(errno));
        close(fd);
        return s;
    }
    return SWIN_OK;
}

swin_status swin__write_atomic(const char *path, swin_write_fn write, const void *arg) {
    /* the temporary beside the destination, so that rename() replaces it in one step; created
     * with mode 0666 so that the process's umask applies, as for fopen(path, "w") */
    static atomic_uint counter;
    const size_t n = strlen(path) + 48;
    char *tmp = swin__malloc(n);
    if (!tmp) return swin__oom();
    int fd = -1;
    for (int attempt = 0; attempt < 100 && fd < 0; attempt++) {
        snprintf(tmp, n, "%s.tmp%ld.%u", path, (long)getpid(), atomic_fetch_add(&counter, 1u));
        fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOCTTY, 0666);
        if (fd < 0 && errno != EEXIST) break;
    }
    if (fd < 0) {
        const swin_status s = swin__error(
            SWIN_ERR_IO, "cannot create a temporary file beside \"%s\": %s", path, strerror(errno));
        swin__free(tmp);
        return s;
    }
    FILE *fp = fdopen(fd, "wb");
    int err = fp ? 0 : errno;
    errno = 0;
    if (fp && !write(fp, arg)) err = errno ? errno : EIO;
    if (fp && fflush(fp) != 0 && !err) err = errno;
    if (!err && fsync(fd) != 0) err = errno;
    if (fp ? fclose(fp) != 0 && !err : close(fd) != 0 && !err) err = errno;
    if (!err && rename(tmp, path) != 0) err = errno;
    if (err) {
        unlink(tmp);
        swin__free(tmp);
        return swin__error(SWIN_ERR_IO, "cannot write \"%s\": %s (the file is unchanged)", path,
                           strerror(err));
    }
    swin__free(tmp);
    return SWIN_OK;
}
