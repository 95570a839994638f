/* NumPy .npy reading and writing for float32 C-order arrays; everything read is validated. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "internal.h"

#define NPY_MAX_HEADER 65536

/* Finds 'key': in the header dict and returns the text after the colon. */
static const char *dict_value(const char *hdr, const char *key) {
    const char *p = strstr(hdr, key);
    if (!p) return NULL;
    p += strlen(key);
    while (*p == ' ')
        p++;
    if (*p != ':') return NULL;
    p++;
    while (*p == ' ')
        p++;
    return p;
}

static swin_status parse_header(const char *hdr, int *ndim, int64_t *shape, const char *path) {
    const char *d = dict_value(hdr, "'descr'");
    if (!d || strncmp(d, "'<f4'", 5) != 0)
        return swin__error(SWIN_ERR_FORMAT, "%s: dtype is not little-endian float32 ('<f4')", path);
    const char *f = dict_value(hdr, "'fortran_order'");
    if (!f || strncmp(f, "False", 5) != 0)
        return swin__error(SWIN_ERR_FORMAT, "%s: Fortran-order arrays are not supported", path);
    const char *s = dict_value(hdr, "'shape'");
    if (!s || *s != '(') return swin__error(SWIN_ERR_FORMAT, "%s: no shape in header", path);
    s++;
    int n = 0;
    while (true) {
        while (*s == ' ')
            s++;
        if (*s == ')') break;
        if (*s < '0' || *s > '9' || n == SWIN_MAX_DIMS)
            return swin__error(SWIN_ERR_FORMAT, "%s: malformed shape (1..%d dimensions)", path,
                               SWIN_MAX_DIMS);
        int64_t v = 0;
        while (*s >= '0' && *s <= '9') {
            if (v > (INT64_MAX - 9) / 10)
                return swin__error(SWIN_ERR_FORMAT, "%s: shape value overflows", path);
            v = v * 10 + (*s++ - '0');
        }
        shape[n++] = v;
        while (*s == ' ')
            s++;
        if (*s == ',')
            s++;
        else if (*s != ')')
            return swin__error(SWIN_ERR_FORMAT, "%s: malformed shape", path);
    }
    if (n == 0)
        return swin__error(SWIN_ERR_FORMAT, "%s: 0-dimensional arrays are not supported", path);
    *ndim = n;
    return SWIN_OK;
}

swin_status swin__npy_read(swin_tensor **out, FILE *fp, const char *path) {
    swin_status s = SWIN_OK;
    char *hdr = NULL;
    swin_tensor *t = NULL;
    unsigned char pre[12];
    if (fread(pre, 1, 10, fp) != 10) {
        s = ferror(fp) ? swin__error(SWIN_ERR_IO, "cannot read \"%s\": %s", path, strerror(errno))
                       : swin__error(SWIN_ERR_TRUNCATED, "%s: shorter than an .npy preamble", path);
        goto done;
    }
    if (memcmp(pre, "\x93NUMPY", 6) != 0) {
        s = swin__error(SWIN_ERR_FORMAT, "%s: not an .npy file (bad magic)", path);
        goto done;
    }
    size_t hlen;
    if (pre[6] == 1) {
        hlen = (size_t)pre[8] | ((size_t)pre[9] << 8);
    } else if (pre[6] == 2 || pre[6] == 3) {
        if (fread(pre + 10, 1, 2, fp) != 2) {
            s = swin__error(SWIN_ERR_TRUNCATED, "%s: truncated preamble", path);
            goto done;
        }
        hlen = (size_t)pre[8] | ((size_t)pre[9] << 8) | ((size_t)pre[10] << 16) |
               ((size_t)pre[11] << 24);
    } else {
        s = swin__error(SWIN_ERR_FORMAT, "%s: unsupported .npy version %d", path, pre[6]);
        goto done;
    }
    if (hlen > NPY_MAX_HEADER) {
        s = swin__error(SWIN_ERR_FORMAT, "%s: header of %zu bytes is too long", path, hlen);
        goto done;
    }
    hdr = swin__malloc(hlen + 1);
    if (!hdr) {
        s = swin__oom();
        goto done;
    }
    if (fread(hdr, 1, hlen, fp) != hlen) {
        s = swin__error(SWIN_ERR_TRUNCATED, "%s: truncated header", path);
        goto done;
    }
    hdr[hlen] = '\0';
    if (strlen(hdr) != hlen) {
        s = swin__error(SWIN_ERR_FORMAT, "%s: NUL byte in header", path);
        goto done;
    }
    int ndim = 0;
    int64_t shape[SWIN_MAX_DIMS];
    SWIN_TRY_GOTO(s, parse_header(hdr, &ndim, shape, path), done);
    size_t numel = 1, nbytes = 0;
    for (int i = 0; i < ndim; i++) {
        if (shape[i] == 0) {
            s = swin__error(SWIN_ERR_FORMAT, "%s: empty arrays are not supported", path);
            goto done;
        }
        if (!swin__mul_size(numel, (size_t)shape[i], &numel) ||
            !swin__mul_size(numel, sizeof(float), &nbytes)) {
            s = swin__error(SWIN_ERR_FORMAT, "%s: shape is too large", path);
            goto done;
        }
    }
    /* the declared size must be in the file before anything is allocated for it */
    const long here = ftell(fp);
    if (here < 0 || fseek(fp, 0, SEEK_END) != 0) {
        s = swin__error(SWIN_ERR_IO, "%s: cannot seek", path);
        goto done;
    }
    const long end = ftell(fp);
    if (end < here || fseek(fp, here, SEEK_SET) != 0) {
        s = swin__error(SWIN_ERR_IO, "%s: cannot seek", path);
        goto done;
    }
    if (nbytes > (size_t)(end - here)) {
        s = swin__error(SWIN_ERR_TRUNCATED,
                        "%s: the file holds %ld data bytes, fewer than the %zu floats of its shape",
                        path, end - here, numel);
        goto done;
    }
    s = swin_tensor_create(&t, ndim, shape);
    if (s != SWIN_OK) {
        if (s != SWIN_ERR_OUT_OF_MEMORY)
            s = swin__error(SWIN_ERR_FORMAT, "%s: shape is too large", path);
        goto done;
    }
    const size_t n = (size_t)swin_tensor_numel(t);
    if (fread(t->data, sizeof(float), n, fp) != n) {
        s = swin__error(SWIN_ERR_TRUNCATED, "%s: data holds fewer than the %zu floats of its shape",
                        path, n);
        goto done;
    }
    if (fgetc(fp) != EOF) {
        s = swin__error(SWIN_ERR_FORMAT, "%s: trailing bytes after the data", path);
        goto done;
    }
done:
    swin__free(hdr);
    if (s != SWIN_OK) {
        swin_tensor_free(t);
        return s;
    }
    *out = t;
    return SWIN_OK;
}

swin_status swin_tensor_load_npy(swin_tensor **out, const char *path) {
    if (out) *out = NULL;
    if (!out || !path)
        return swin__error(SWIN_ERR_INVALID_ARGUMENT, "swin_tensor_load_npy: NULL argument");
    FILE *fp;
    SWIN_TRY(swin__fopen_regular(path, &fp));
    const swin_status s = swin__npy_read(out, fp, path);
    fclose(fp);
    return s;
}

typedef struct npy_out {
    const unsigned char *pre, *header;
    size_t hlen;
    const swin_tensor *t;
} npy_out;

static bool write_npy(FILE *fp, const void *arg) {
    const npy_out *o = arg;
    const size_t n = (size_t)swin_tensor_numel(o->t);
    return fwrite(o->pre, 1, 10, fp) == 10 && fwrite(o->header, 1, o->hlen, fp) == o->hlen &&
           fwrite(o->t->data, sizeof(float), n, fp) == n;
}

swin_status swin_tensor_save_npy(const swin_tensor *t, const char *path) {
    if (!t || !path)
        return swin__error(SWIN_ERR_INVALID_ARGUMENT, "swin_tensor_save_npy: NULL argument");
    char dict[256];
    int k = snprintf(dict, sizeof dict, "{'descr': '<f4', 'fortran_order': False, 'shape': (");
    for (int i = 0; i < t->ndim; i++)
        k += snprintf(dict + k, sizeof dict - (size_t)k, "%lld,%s", (long long)t->shape[i],
                      i + 1 < t->ndim ? " " : "");
    k += snprintf(dict + k, sizeof dict - (size_t)k, "), }");
    /* pad so that preamble + header is a multiple of 64, ending in '\n' */
    const int total = (10 + k + 1 + 63) / 64 * 64;
    const int hlen = total - 10;
    char header[320];
    memset(header, ' ', sizeof header);
    memcpy(header, dict, (size_t)k);
    header[hlen - 1] = '\n';
    const unsigned char pre[10] = {0x93,
                                   'N',
                                   'U',
                                   'M',
                                   'P',
                                   'Y',
                                   1,
                                   0,
                                   (unsigned char)(hlen & 0xFF),
                                   (unsigned char)(hlen >> 8)};
    const npy_out o = {pre, (const unsigned char *)header, (size_t)hlen, t};
    return swin__write_atomic(path, write_npy, &o);
}
