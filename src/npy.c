/* NumPy .npy reading and writing for float32 C-order arrays; everything read is validated.
 *
 * The header is the Python dict literal that numpy.lib.format writes, parsed as one (a key is
 * a key only where the grammar puts one, never text found inside a string):
 *   header := '{' ws [pair (ws ',' ws pair)* [ws ','] ws] '}' ' '* '\n'     (then the end)
 *   pair   := string ws ':' ws value
 *   string := '...' or "..." (no backslash, no control character)
 *   'descr': string   'fortran_order': True | False   'shape': () | (n,) | (n, n, ...[,])
 * with ws = spaces and tabs and n a decimal integer >= 0 without a sign or a leading zero.
 * The three keys must each be there exactly once; any other key is an error, as in numpy. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "internal.h"

#define NPY_MAX_HEADER 65536
#define NPY_QUOTE_MAX 40 /* longest piece of header text quoted back in a message */

enum { NPY_DESCR, NPY_FORTRAN, NPY_SHAPE, NPY_NKEYS };
static const char *const npy_keys[NPY_NKEYS] = {"descr", "fortran_order", "shape"};

typedef struct npy_parser {
    const char *p;     /* the next character; the header is NUL-terminated */
    const char *start; /* the header, for offsets in messages */
    const char *path;
} npy_parser;

static swin_status syntax_error(const npy_parser *ps, const char *at, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/* SWIN_ERR_FORMAT naming the file and the header byte where the problem is. */
static swin_status syntax_error(const npy_parser *ps, const char *at, const char *fmt, ...) {
    char what[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    return swin__error(SWIN_ERR_FORMAT, "%s: .npy header, byte %zu: %s", ps->path,
                       (size_t)(at - ps->start), what);
}

/* Precision and suffix that quote at most NPY_QUOTE_MAX bytes of s: "%.*s%s". */
#define QUOTE(s, len)                                                                              \
    (int)((len) < NPY_QUOTE_MAX ? (len) : NPY_QUOTE_MAX), (s), ((len) > NPY_QUOTE_MAX ? "..." : "")

static void skip_ws(npy_parser *ps) {
    while (*ps->p == ' ' || *ps->p == '\t')
        ps->p++;
}

static bool is_word_char(char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

/* A quoted string; *s points into the header, *len bytes long. */
static swin_status parse_string(npy_parser *ps, const char *what, const char **s, size_t *len) {
    const char *at = ps->p, q = *ps->p;
    if (q != '\'' && q != '"') return syntax_error(ps, at, "expected %s", what);
    for (ps->p++; *ps->p != q; ps->p++) {
        const unsigned char c = (unsigned char)*ps->p;
        if (c == '\0' || c == '\n') return syntax_error(ps, at, "unterminated string");
        if (c == '\\') return syntax_error(ps, ps->p, "backslash escapes are not supported");
        if (c < 0x20 || c == 0x7F)
            return syntax_error(ps, ps->p, "control character 0x%02X in a string", c);
    }
    *s = at + 1;
    *len = (size_t)(ps->p - *s);
    ps->p++;
    return SWIN_OK;
}

static swin_status parse_bool(npy_parser *ps, bool *out) {
    const char *at = ps->p;
    while (is_word_char(*ps->p))
        ps->p++;
    const size_t len = (size_t)(ps->p - at);
    if (len == 4 && memcmp(at, "True", 4) == 0) {
        *out = true;
        return SWIN_OK;
    }
    if (len == 5 && memcmp(at, "False", 5) == 0) {
        *out = false;
        return SWIN_OK;
    }
    if (len == 0) return syntax_error(ps, at, "'fortran_order' is not True or False");
    return syntax_error(ps, at, "'fortran_order' is '%.*s%s', not True or False", QUOTE(at, len));
}

/* One size of the shape: a decimal integer >= 0, as Python writes it. */
static swin_status parse_dim(npy_parser *ps, int64_t *out) {
    const char *at = ps->p;
    if (*at == '-') return syntax_error(ps, at, "shape holds a negative size");
    if (*at < '0' || *at > '9')
        return syntax_error(ps, at, "shape holds a value that is not a non-negative integer");
    int64_t v = 0;
    for (; *ps->p >= '0' && *ps->p <= '9'; ps->p++) {
        if (v > (INT64_MAX - 9) / 10) return syntax_error(ps, at, "shape value overflows");
        v = v * 10 + (*ps->p - '0');
    }
    if (is_word_char(*ps->p) || *ps->p == '.')
        return syntax_error(ps, at, "shape holds a value that is not a non-negative integer");
    if (*at == '0' && ps->p - at > 1)
        return syntax_error(ps, at, "shape holds an integer with a leading zero");
    *out = v;
    return SWIN_OK;
}

/* A tuple of sizes: (), (n,), (n, m), (n, m,); (n) is a number, not a tuple. */
static swin_status parse_shape(npy_parser *ps, int *ndim, int64_t *shape) {
    if (*ps->p != '(') return syntax_error(ps, ps->p, "'shape' is not a tuple");
    ps->p++;
    skip_ws(ps);
    int n = 0;
    while (*ps->p != ')') {
        if (n == SWIN_MAX_DIMS)
            return syntax_error(ps, ps->p, "shape has more than %d dimensions", SWIN_MAX_DIMS);
        SWIN_TRY(parse_dim(ps, &shape[n++]));
        skip_ws(ps);
        if (*ps->p == ')') {
            if (n == 1)
                return syntax_error(ps, ps->p,
                                    "shape (%lld) is a number, not a tuple: numpy writes (%lld,)",
                                    (long long)shape[0], (long long)shape[0]);
            break;
        }
        if (*ps->p != ',') return syntax_error(ps, ps->p, "expected ',' or ')' in the shape");
        ps->p++;
        skip_ws(ps);
    }
    ps->p++;
    *ndim = n;
    return SWIN_OK;
}

/* Parses the header (NUL-terminated, no NUL inside) and checks that it is float32 ('<f4', or
 * '>f4': *big_endian), C order, 1..SWIN_MAX_DIMS dimensions. */
static swin_status parse_header(const char *hdr, bool *big_endian, int *ndim, int64_t *shape,
                                const char *path) {
    npy_parser ps = {hdr, hdr, path};
    const char *descr = NULL;
    size_t descr_len = 0;
    bool fortran = false;
    unsigned seen = 0;
    if (*ps.p != '{') return syntax_error(&ps, ps.p, "the dict does not start with '{'");
    ps.p++;
    skip_ws(&ps);
    while (*ps.p != '}') {
        const char *at = ps.p, *key;
        size_t klen;
        SWIN_TRY(parse_string(&ps, "a quoted key or '}'", &key, &klen));
        int k = 0;
        while (k < NPY_NKEYS &&
               !(strlen(npy_keys[k]) == klen && memcmp(key, npy_keys[k], klen) == 0))
            k++;
        if (k == NPY_NKEYS)
            return syntax_error(&ps, at,
                                "unknown key '%.*s%s' (numpy writes only 'descr', "
                                "'fortran_order' and 'shape')",
                                QUOTE(key, klen));
        if (seen & 1u << k) return syntax_error(&ps, at, "key '%s' appears twice", npy_keys[k]);
        seen |= 1u << k;
        skip_ws(&ps);
        if (*ps.p != ':')
            return syntax_error(&ps, ps.p, "expected ':' after the key '%s'", npy_keys[k]);
        ps.p++;
        skip_ws(&ps);
        if (k == NPY_DESCR) {
            if (*ps.p != '\'' && *ps.p != '"')
                return syntax_error(&ps, ps.p,
                                    "'descr' is not a dtype string (structured dtypes are not "
                                    "supported; libswin reads float32, '<f4' or '>f4')");
            SWIN_TRY(parse_string(&ps, "a quoted dtype", &descr, &descr_len));
        } else if (k == NPY_FORTRAN) {
            SWIN_TRY(parse_bool(&ps, &fortran));
        } else {
            SWIN_TRY(parse_shape(&ps, ndim, shape));
        }
        skip_ws(&ps);
        if (*ps.p == ',') {
            ps.p++;
            skip_ws(&ps);
        } else if (*ps.p != '}') {
            return syntax_error(&ps, ps.p, "expected ',' or '}' after the value of '%s'",
                                npy_keys[k]);
        }
    }
    const char *end = ++ps.p;
    while (*ps.p == ' ')
        ps.p++;
    if (*ps.p != '\n' || ps.p[1] != '\0')
        return syntax_error(&ps, end, "only spaces and a final newline may follow the dict");
    if (!(seen & 1u << NPY_DESCR))
        return swin__error(SWIN_ERR_FORMAT,
                           "%s: .npy header has no 'descr' (the dtype; libswin reads float32, "
                           "'<f4' or '>f4')",
                           path);
    for (int k = NPY_FORTRAN; k < NPY_NKEYS; k++)
        if (!(seen & 1u << k))
            return swin__error(SWIN_ERR_FORMAT, "%s: .npy header has no '%s'", path, npy_keys[k]);
    if (descr_len == 3 && (memcmp(descr, "<f4", 3) == 0 || memcmp(descr, ">f4", 3) == 0))
        *big_endian = descr[0] == '>';
    else
        return swin__error(SWIN_ERR_FORMAT,
                           "%s: dtype '%.*s%s' is not float32: libswin reads '<f4' (and "
                           "big-endian '>f4')",
                           path, QUOTE(descr, descr_len));
    if (fortran)
        return swin__error(SWIN_ERR_FORMAT, "%s: Fortran-order arrays are not supported", path);
    if (*ndim == 0)
        return swin__error(SWIN_ERR_FORMAT, "%s: 0-dimensional arrays are not supported", path);
    return SWIN_OK;
}

/* Whether this machine stores a float's most significant byte first ('>f4' is then native). */
static bool host_big_endian(void) {
    const uint32_t one = 1;
    unsigned char first;
    memcpy(&first, &one, 1);
    return first == 0;
}

static void swap_bytes(float *x, size_t n) {
    for (size_t i = 0; i < n; i++) {
        uint32_t u;
        memcpy(&u, &x[i], sizeof u);
        u = __builtin_bswap32(u);
        memcpy(&x[i], &u, sizeof u);
    }
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
    bool big_endian = false;
    SWIN_TRY_GOTO(s, parse_header(hdr, &big_endian, &ndim, shape, path), done);
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
    if (big_endian != host_big_endian()) swap_bytes(t->data, n);
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

/* n floats, little-endian whatever the host's order. */
static bool write_floats_le(FILE *fp, const float *x, size_t n) {
    if (!host_big_endian()) return fwrite(x, sizeof(float), n, fp) == n;
    float buf[1024];
    for (size_t i = 0; i < n; i += 1024) {
        const size_t m = n - i < 1024 ? n - i : 1024;
        memcpy(buf, x + i, m * sizeof(float));
        swap_bytes(buf, m);
        if (fwrite(buf, sizeof(float), m, fp) != m) return false;
    }
    return true;
}

static bool write_npy(FILE *fp, const void *arg) {
    const npy_out *o = arg;
    const size_t n = (size_t)swin_tensor_numel(o->t);
    return fwrite(o->pre, 1, 10, fp) == 10 && fwrite(o->header, 1, o->hlen, fp) == o->hlen &&
           write_floats_le(fp, o->t->data, n);
}

swin_status swin_tensor_save_npy(const swin_tensor *t, const char *path) {
    if (!t || !path)
        return swin__error(SWIN_ERR_INVALID_ARGUMENT, "swin_tensor_save_npy: NULL argument");
    char dict[256];
    /* always little-endian '<f4', as numpy writes on most hosts: the same file from every
     * host (a big-endian one swaps while writing; docs/weights.md, "Byte order") */
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
