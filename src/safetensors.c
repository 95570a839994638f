/* safetensors reader: memory-mapped, every size and offset validated before use.
 *
 * Layout: u64 little-endian header length N, N bytes of JSON
 *   {"name": {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]}, ...,
 *    "__metadata__": {"key": "value"}}
 * then the data section; offsets are relative to its start. */
#define _GNU_SOURCE /* MAP_ANONYMOUS, MAP_NORESERVE, SEEK_HOLE, SEEK_DATA */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"

/* The file's numbers are little-endian; on a big-endian host F32 tensors are converted too
 * (docs/weights.md, "Byte order"). */
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
#define SWIN_BIG_ENDIAN 1
#else
#define SWIN_BIG_ENDIAN 0
#endif

static const struct {
    const char *name;
    swin_dtype dtype;
    size_t size;
} dtypes[] = {
    {"F64", SWIN_DT_F64, 8},   {"F32", SWIN_DT_F32, 4},         {"F16", SWIN_DT_F16, 2},
    {"BF16", SWIN_DT_BF16, 2}, {"I64", SWIN_DT_I64, 8},         {"I32", SWIN_DT_I32, 4},
    {"I16", SWIN_DT_I16, 2},   {"I8", SWIN_DT_I8, 1},           {"U64", SWIN_DT_U64, 8},
    {"U32", SWIN_DT_U32, 4},   {"U16", SWIN_DT_U16, 2},         {"U8", SWIN_DT_U8, 1},
    {"BOOL", SWIN_DT_BOOL, 1}, {"F8_E4M3", SWIN_DT_F8_E4M3, 1}, {"F8_E5M2", SWIN_DT_F8_E5M2, 1},
};

const char *swin__dtype_name(swin_dtype dt) {
    for (size_t i = 0; i < sizeof dtypes / sizeof dtypes[0]; i++)
        if (dtypes[i].dtype == dt) return dtypes[i].name;
    return "?";
}

static bool lookup_dtype(const char *name, swin_dtype *dt, size_t *size) {
    for (size_t i = 0; i < sizeof dtypes / sizeof dtypes[0]; i++)
        if (strcmp(dtypes[i].name, name) == 0) {
            *dt = dtypes[i].dtype;
            *size = dtypes[i].size;
            return true;
        }
    return false;
}

static float f16_to_f32(uint16_t h) {
    const uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
    uint32_t exp = (h >> 10) & 0x1Fu, mant = h & 0x3FFu, bits;
    if (exp == 0x1F) {
        bits = sign | 0x7F800000u | (mant << 13); /* inf / nan */
    } else if (exp != 0) {
        bits = sign | ((exp + 112u) << 23) | (mant << 13);
    } else if (mant == 0) {
        bits = sign;
    } else { /* subnormal: normalise */
        exp = 113;
        while (!(mant & 0x400u)) {
            mant <<= 1;
            exp--;
        }
        bits = sign | (exp << 23) | ((mant & 0x3FFu) << 13);
    }
    float f;
    memcpy(&f, &bits, sizeof f);
    return f;
}

static float bf16_to_f32(uint16_t h) {
    const uint32_t bits = (uint32_t)h << 16;
    float f;
    memcpy(&f, &bits, sizeof f);
    return f;
}

static int cmp_begin(const void *a, const void *b) {
    const swin_st_tensor *x = a, *y = b;
    if (x->begin != y->begin) return x->begin < y->begin ? -1 : 1;
    return x->nbytes < y->nbytes ? -1 : x->nbytes > y->nbytes;
}

static int cmp_name(const void *a, const void *b) {
    return strcmp((*(const swin_st_tensor *const *)a)->name,
                  (*(const swin_st_tensor *const *)b)->name);
}

/* Reads a non-negative JSON integer. */
static bool json_size(const json_t *v, size_t *out) {
    if (!json_is_integer(v)) return false;
    json_int_t i = json_integer_value(v);
    if (i < 0 || (unsigned long long)i > SIZE_MAX) return false;
    *out = (size_t)i;
    return true;
}

static swin_status parse_metadata(swin_safetensors *st, json_t *obj) {
    if (!json_is_object(obj))
        return swin__error(SWIN_ERR_HEADER, "safetensors: __metadata__ is not a JSON object");
    st->meta = swin__calloc(json_object_size(obj), sizeof *st->meta);
    if (!st->meta) return swin__oom();
    const char *key;
    json_t *val;
    json_object_foreach(obj, key, val) {
        if (!json_is_string(val))
            return swin__error(SWIN_ERR_HEADER,
                               "safetensors: __metadata__ value of \"%s\" is not a string", key);
        swin_st_meta *m = &st->meta[st->num_meta];
        m->key = swin__strdup(key);
        m->value = swin__strdup(json_string_value(val));
        if (!m->key || !m->value) {
            swin__free(m->key);
            swin__free(m->value);
            return swin__oom();
        }
        st->num_meta++;
    }
    return SWIN_OK;
}

static swin_status parse_entry(swin_st_tensor *t, const char *name, json_t *entry,
                               size_t data_size) {
    if (!json_is_object(entry))
        return swin__error(SWIN_ERR_HEADER, "safetensors: entry \"%s\" is not a JSON object", name);
    json_t *jdt = json_object_get(entry, "dtype");
    json_t *jshape = json_object_get(entry, "shape");
    json_t *joff = json_object_get(entry, "data_offsets");
    if (!json_is_string(jdt) || !json_is_array(jshape) || !json_is_array(joff))
        return swin__error(SWIN_ERR_HEADER,
                           "safetensors: entry \"%s\" needs string \"dtype\", array \"shape\" and "
                           "array \"data_offsets\"",
                           name);
    size_t esize;
    if (!lookup_dtype(json_string_value(jdt), &t->dtype, &esize))
        return swin__error(SWIN_ERR_DTYPE, "safetensors: tensor \"%s\" has unknown dtype \"%.32s\"",
                           name, json_string_value(jdt));
    size_t nd = json_array_size(jshape);
    if (nd > SWIN_MAX_DIMS)
        return swin__error(SWIN_ERR_HEADER,
                           "safetensors: tensor \"%s\" has %zu dimensions (max %d)", name, nd,
                           SWIN_MAX_DIMS);
    t->ndim = (int)nd;
    size_t numel = 1;
    for (size_t i = 0; i < nd; i++) {
        size_t d;
        if (!json_size(json_array_get(jshape, i), &d) || d > (size_t)INT64_MAX)
            return swin__error(
                SWIN_ERR_HEADER,
                "safetensors: tensor \"%s\" shape[%zu] is not a non-negative integer", name, i);
        t->shape[i] = (int64_t)d;
        if (!swin__mul_size(numel, d, &numel))
            return swin__error(SWIN_ERR_HEADER,
                               "safetensors: tensor \"%s\" element count overflows", name);
    }
    t->numel = numel;
    size_t begin, end, nbytes;
    if (json_array_size(joff) != 2 || !json_size(json_array_get(joff, 0), &begin) ||
        !json_size(json_array_get(joff, 1), &end))
        return swin__error(
            SWIN_ERR_HEADER,
            "safetensors: tensor \"%s\" data_offsets is not two non-negative integers", name);
    if (begin > end)
        return swin__error(SWIN_ERR_OFFSETS,
                           "safetensors: tensor \"%s\" data_offsets [%zu, %zu) run backwards", name,
                           begin, end);
    if (!swin__mul_size(numel, esize, &nbytes) || nbytes != end - begin)
        return swin__error(SWIN_ERR_OFFSETS,
                           "safetensors: tensor \"%s\" occupies %zu bytes [%zu, %zu) but %s x %zu "
                           "elements need %zu",
                           name, end - begin, begin, end, json_string_value(jdt), numel, nbytes);
    if (end > data_size)
        return swin__error(SWIN_ERR_TRUNCATED,
                           "safetensors: tensor \"%s\" needs data bytes [%zu, %zu) but the data "
                           "section has only %zu bytes (file truncated?)",
                           name, begin, end, data_size);
    t->begin = begin;
    t->nbytes = nbytes;
    return SWIN_OK;
}

/* Elements [k0, k1) of t into dst (float32, host order). */
static void convert_range(const swin_st_tensor *t, float *dst, size_t k0, size_t k1) {
    if (t->dtype == SWIN_DT_F32 && !SWIN_BIG_ENDIAN) {
        memcpy(dst + k0, t->raw + 4 * k0, (k1 - k0) * sizeof(float));
    } else if (t->dtype == SWIN_DT_F32) {
        for (size_t k = k0; k < k1; k++) {
            const uint8_t *b = t->raw + 4 * k;
            const uint32_t bits =
                (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
            memcpy(&dst[k], &bits, sizeof bits);
        }
    } else {
        for (size_t k = k0; k < k1; k++) {
            const uint16_t h = (uint16_t)(t->raw[2 * k] | (t->raw[2 * k + 1] << 8));
            dst[k] = t->dtype == SWIN_DT_F16 ? f16_to_f32(h) : bf16_to_f32(h);
        }
    }
}

/* Converts t, whose bytes start at offset off of the file, into dst, which reads as zeros:
 * elements lying wholly inside one of the file's holes are left as they are. */
static void convert_tensor(const swin_safetensors *st, const swin_st_tensor *t, size_t off,
                           float *dst) {
    const size_t esz = t->dtype == SWIN_DT_F32 ? 4 : 2, end = off + t->nbytes;
    size_t k = 0; /* elements before k are done */
    for (size_t h = 0; h < st->num_holes && k < t->numel; h++) {
        const size_t lo = st->holes[h][0], hi = st->holes[h][1];
        if (hi <= off + k * esz || lo >= end) continue;
        /* the elements wholly inside [lo, hi): from ceil((lo - off) / esz) to floor(...) */
        const size_t first = lo <= off ? 0 : (lo - off + esz - 1) / esz;
        const size_t last = hi >= end ? t->numel : (hi - off) / esz;
        if (first >= last) continue;
        if (first > k) convert_range(t, dst, k, first);
        k = last > k ? last : k;
    }
    if (k < t->numel) convert_range(t, dst, k, t->numel);
}

swin_status swin__st_parse(swin_safetensors *st, const uint8_t *data, size_t size) {
    if (size < 8)
        return swin__error(SWIN_ERR_TRUNCATED,
                           "safetensors: file has %zu bytes, fewer than the 8-byte header length",
                           size);
    uint64_t hlen = 0;
    for (int i = 7; i >= 0; i--)
        hlen = (hlen << 8) | data[i];
    if (hlen > SWIN_ST_MAX_HEADER)
        return swin__error(SWIN_ERR_HEADER,
                           "safetensors: header length %llu exceeds the %zu-byte bound",
                           (unsigned long long)hlen, SWIN_ST_MAX_HEADER);
    if (hlen > size - 8)
        return swin__error(SWIN_ERR_TRUNCATED,
                           "safetensors: header length %llu runs past the end of the %zu-byte file",
                           (unsigned long long)hlen, size);
    /* JSON whitespace may come before the '{' (and after the '}'), as the reference reader
     * (serde_json) accepts */
    size_t first = 8;
    while (first < 8 + hlen && (data[first] == ' ' || data[first] == '\t' || data[first] == '\n' ||
                                data[first] == '\r'))
        first++;
    if (hlen < 2 || first == 8 + hlen || data[first] != '{')
        return swin__error(SWIN_ERR_HEADER,
                           "safetensors: header at byte %zu does not start with '{'", first);
    const uint8_t *section = data + 8 + hlen;
    const size_t data_size = size - 8 - (size_t)hlen;

    json_error_t jerr = {0}; /* json_error_code reads a byte jansson may leave unset */
    json_t *root = json_loadb((const char *)data + 8, (size_t)hlen, JSON_REJECT_DUPLICATES, &jerr);
    /* jansson's failed allocations: json_error_out_of_memory or no text (hub.c) */
    if (!root && (json_error_code(&jerr) == json_error_out_of_memory || !jerr.text[0]))
        return swin__oom();
    if (!root)
        return swin__error(SWIN_ERR_HEADER, "safetensors: header is not valid JSON at byte %d: %s",
                           8 + jerr.position, jerr.text);
    swin_status s = SWIN_OK;
    if (!json_is_object(root)) {
        s = swin__error(SWIN_ERR_HEADER, "safetensors: header is not a JSON object");
        goto done;
    }
    st->tensors = swin__calloc(json_object_size(root), sizeof *st->tensors);
    if (!st->tensors) {
        s = swin__oom();
        goto done;
    }
    const char *key;
    json_t *val;
    json_object_foreach(root, key, val) {
        if (strcmp(key, "__metadata__") == 0) {
            SWIN_TRY_GOTO(s, parse_metadata(st, val), done);
            continue;
        }
        swin_st_tensor *t = &st->tensors[st->num_tensors];
        SWIN_TRY_GOTO(s, parse_entry(t, key, val, data_size), done);
        t->name = swin__strdup(key);
        if (!t->name) {
            s = swin__oom();
            goto done;
        }
        t->raw = section + t->begin;
        st->num_tensors++;
    }

    /* Sorted by offset: file order, and overlaps show up between neighbours. */
    qsort(st->tensors, st->num_tensors, sizeof *st->tensors, cmp_begin);
    const swin_st_tensor *reach = NULL; /* the tensor ending furthest so far */
    for (size_t i = 0; i < st->num_tensors; i++) {
        const swin_st_tensor *a = reach, *b = &st->tensors[i];
        if (b->nbytes && a && a->begin + a->nbytes > b->begin) {
            s = swin__error(SWIN_ERR_OFFSETS,
                            "safetensors: tensors \"%s\" [%zu, %zu) and \"%s\" [%zu, %zu) overlap",
                            a->name, a->begin, a->begin + a->nbytes, b->name, b->begin,
                            b->begin + b->nbytes);
            goto done;
        }
        if (b->nbytes && (!reach || b->begin + b->nbytes > reach->begin + reach->nbytes)) reach = b;
    }

    /* Names sorted for lookup: binding looks up every tensor by name, and a linear search
     * would make a header with a million entries cost minutes (names are unique: duplicate
     * keys are rejected). */
    st->by_name = swin__calloc(st->num_tensors, sizeof *st->by_name);
    if (!st->by_name) {
        s = swin__oom();
        goto done;
    }
    for (size_t i = 0; i < st->num_tensors; i++)
        st->by_name[i] = &st->tensors[i];
    qsort(st->by_name, st->num_tensors, sizeof *st->by_name, cmp_name);

    /* float32 views: in place when aligned (and the host is little-endian, as the file is),
     * else converted into one arena. */
    size_t convert = 0;
    for (size_t i = 0; i < st->num_tensors; i++) {
        swin_st_tensor *t = &st->tensors[i];
        const bool aligned = ((uintptr_t)t->raw % sizeof(float)) == 0;
        if (t->dtype == SWIN_DT_F32 && aligned && !SWIN_BIG_ENDIAN)
            t->f32 = (const float *)(const void *)t->raw;
        else if (t->dtype == SWIN_DT_F32 || t->dtype == SWIN_DT_F16 || t->dtype == SWIN_DT_BF16)
            convert += t->numel; /* bounded by the file size: no overflow */
    }
    if (convert) {
        /* fresh anonymous memory reads as zeros, so ranges of the file that are holes (zeros
         * too) need no conversion, and their pages are never touched; MAP_NORESERVE: they
         * are not committed either */
        const size_t bytes = convert * sizeof(float);
        void *mem = mmap(NULL, bytes, PROT_READ | PROT_WRITE,
                         MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        if (mem == MAP_FAILED) {
            s = swin__error(SWIN_ERR_OUT_OF_MEMORY,
                            "out of memory: the tensors converted to float32 need %zu bytes "
                            "(%.1f MiB)",
                            bytes, (double)bytes / 1048576.0);
            goto done;
        }
        st->converted = mem;
        st->converted_bytes = bytes;
        float *dst = st->converted;
        for (size_t i = 0; i < st->num_tensors; i++) {
            swin_st_tensor *t = &st->tensors[i];
            if (t->f32 ||
                (t->dtype != SWIN_DT_F32 && t->dtype != SWIN_DT_F16 && t->dtype != SWIN_DT_BF16))
                continue;
            convert_tensor(st, t, (size_t)(t->raw - data), dst);
            t->f32 = dst;
            dst += t->numel;
        }
    }
done:
    json_decref(root);
    return s;
}

/* The file's bytes in memory of our own (load=copy): an anonymous mapping filled by read(),
 * then made read-only. */
static swin_status read_copy(int fd, size_t size, const char *path, void **out) {
    void *mem = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (mem == MAP_FAILED)
        return swin__error(SWIN_ERR_OUT_OF_MEMORY,
                           "out of memory: a copy of \"%s\" needs %zu bytes (%.1f MiB)", path, size,
                           (double)size / 1048576.0);
    size_t got = 0;
    while (got < size) {
        const ssize_t n = read(fd, (uint8_t *)mem + got, size - got);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            const swin_status s =
                n < 0 ? swin__error(SWIN_ERR_IO, "cannot read \"%s\": %s", path, strerror(errno))
                      : swin__error(SWIN_ERR_IO, "\"%s\" shrank to %zu bytes while being read",
                                    path, got);
            munmap(mem, size);
            return s;
        }
        got += (size_t)n;
    }
    (void)mprotect(mem, size, PROT_READ);
    *out = mem;
    return SWIN_OK;
}

swin_status swin__st_copy(swin_safetensors *st, const uint8_t *data, size_t size) {
    void *mem =
        mmap(NULL, size ? size : 1, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (mem == MAP_FAILED)
        return swin__error(SWIN_ERR_OUT_OF_MEMORY,
                           "out of memory: a copy of the model's %zu bytes (%.1f MiB)", size,
                           (double)size / 1048576.0);
    memcpy(mem, data, size);
    (void)mprotect(mem, size ? size : 1, PROT_READ);
    st->map = mem;
    st->map_size = size ? size : 1;
    return swin__st_parse(st, mem, size);
}

/* The holes of a sparse file (SEEK_HOLE/SEEK_DATA), so that converting its tensors can skip
 * them: a file of zeros made by truncation costs neither time nor memory to convert. Where the
 * file system cannot tell, or past a bound on their count, the rest counts as data. */
static void find_holes(swin_safetensors *st, int fd, size_t size) {
    enum { MAX_HOLES = 4096 };
    size_t cap = 0;
    off_t pos = 0;
    while ((size_t)pos < size && st->num_holes < MAX_HOLES) {
        const off_t hole = lseek(fd, pos, SEEK_HOLE);
        if (hole < 0 || (size_t)hole >= size) break;
        off_t data = lseek(fd, hole, SEEK_DATA);
        if (data < 0) data = (off_t)size; /* ENXIO: a hole to the end */
        if (st->num_holes == cap) {
            cap = cap ? 2 * cap : 16;
            size_t(*grown)[2] = swin__realloc(st->holes, cap * sizeof *grown);
            if (!grown) break; /* no list: everything is converted, as without holes */
            st->holes = grown;
        }
        st->holes[st->num_holes][0] = (size_t)hole;
        st->holes[st->num_holes][1] = (size_t)data;
        st->num_holes++;
        pos = data;
    }
}

swin_status swin__st_open(swin_safetensors *st, const char *path, bool copy) {
    int fd;
    SWIN_TRY(swin__open_regular(path, &fd));
    struct stat sb;
    if (fstat(fd, &sb) != 0) {
        swin_status s = swin__error(SWIN_ERR_IO, "cannot stat \"%s\": %s", path, strerror(errno));
        close(fd);
        return s;
    }
    const size_t size = (size_t)sb.st_size;
    if (size < 8) {
        close(fd);
        return swin__error(SWIN_ERR_TRUNCATED,
                           "\"%s\": %zu bytes, fewer than the 8-byte safetensors header length",
                           path, size);
    }
    void *map = NULL;
    if (copy) {
        const swin_status s = read_copy(fd, size, path, &map);
        close(fd);
        SWIN_TRY(s);
    } else {
        map = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
        const int map_errno = errno;
        if (map != MAP_FAILED) find_holes(st, fd, size);
        close(fd);
        if (map == MAP_FAILED) {
            swin__free(st->holes);
            st->holes = NULL;
            st->num_holes = 0;
            return swin__error(SWIN_ERR_IO, "cannot map \"%s\": %s", path, strerror(map_errno));
        }
    }
    st->map = map;
    st->map_size = size;
    return swin__st_parse(st, map, size);
}

void swin__st_close(swin_safetensors *st) {
    if (!st) return;
    for (size_t i = 0; i < st->num_tensors; i++)
        swin__free(st->tensors[i].name);
    swin__free(st->tensors);
    swin__free(st->by_name);
    for (size_t i = 0; i < st->num_meta; i++) {
        swin__free(st->meta[i].key);
        swin__free(st->meta[i].value);
    }
    swin__free(st->meta);
    if (st->converted) munmap(st->converted, st->converted_bytes);
    swin__free(st->holes);
    if (st->map) munmap(st->map, st->map_size);
    memset(st, 0, sizeof *st);
}

const swin_st_tensor *swin__st_find(const swin_safetensors *st, const char *name) {
    size_t lo = 0, hi = st->by_name ? st->num_tensors : 0;
    while (lo < hi) {
        const size_t mid = lo + (hi - lo) / 2;
        const int c = strcmp(st->by_name[mid]->name, name);
        if (c == 0) return st->by_name[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

const char *swin__st_meta(const swin_safetensors *st, const char *key) {
    for (size_t i = 0; i < st->num_meta; i++)
        if (strcmp(st->meta[i].key, key) == 0) return st->meta[i].value;
    return NULL;
}
