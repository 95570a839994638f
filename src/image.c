/* Image decoding through libjpeg-turbo and libpng, to 8-bit interleaved RGB as PIL's
 * Image.open(...).convert("RGB") gives it (alpha dropped, grayscale and palette expanded).
 * Decoder errors never print or end the process: both libraries report through longjmp handlers
 * here. */
#include <errno.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>

#include <jerror.h>
#include <jpeglib.h>
#include <png.h>

#include "internal.h"

/* Pillow's decompression-bomb error threshold (2 * MAX_IMAGE_PIXELS). Fuzzing builds use 4 Mpx
 * so that a tiny input cannot make every run decode half a gigabyte (the bound itself is
 * tested by test_images). */
#ifdef FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION
#define SWIN_MAX_PIXELS ((uint64_t)1 << 22)
#else
#define SWIN_MAX_PIXELS ((uint64_t)178956970)
#endif

struct swin_image {
    uint8_t *pixels; /* [height, stride] rows of width * 3 bytes */
    int64_t width, height, stride;
    bool owned;
};

/* The size bound, checked as soon as a header is read: the decoders allocate for the whole
 * image (libjpeg's coefficient arrays for a progressive file) before the first row. */
static swin_status check_size(int64_t w, int64_t h, const char *what) {
    if (w < 1 || h < 1 || (uint64_t)w * (uint64_t)h > SWIN_MAX_PIXELS)
        return swin__error(SWIN_ERR_FORMAT,
                           "%s: image size %lldx%lld is empty or larger than %llu pixels", what,
                           (long long)w, (long long)h, (unsigned long long)SWIN_MAX_PIXELS);
    return SWIN_OK;
}

static swin_status new_image(swin_image **out, int64_t w, int64_t h, const char *what) {
    SWIN_TRY(check_size(w, h, what));
    swin_image *img = swin__calloc(1, sizeof *img);
    if (!img) return swin__oom();
    img->pixels = swin__malloc((size_t)(w * h * 3));
    if (!img->pixels) {
        swin__free(img);
        return swin__oom();
    }
    img->width = w;
    img->height = h;
    img->stride = w * 3;
    img->owned = true;
    *out = img;
    return SWIN_OK;
}

void swin_image_free(swin_image *img) {
    if (!img) return;
    if (img->owned) swin__free(img->pixels);
    swin__free(img);
}

/* ---- JPEG ---- */

typedef struct jpeg_err {
    struct jpeg_error_mgr mgr;
    jmp_buf jump;
    bool oom; /* libjpeg's own allocator failed (its memory manager is not ours) */
    bool eof; /* "premature end of JPEG file": PIL refuses such files as truncated */
    char message[JMSG_LENGTH_MAX];
} jpeg_err;

static void jpeg_error_exit(j_common_ptr cinfo) {
    jpeg_err *e = (jpeg_err *)(void *)cinfo->err;
    e->mgr.format_message(cinfo, e->message);
    e->oom = e->mgr.msg_code == JERR_OUT_OF_MEMORY;
    longjmp(e->jump, 1);
}

static void jpeg_silent(j_common_ptr cinfo) {
    (void)cinfo; /* libjpeg would print to stderr */
}

static void jpeg_warning(j_common_ptr cinfo, int level) {
    jpeg_err *e = (jpeg_err *)(void *)cinfo->err;
    if (level < 0) {
        e->mgr.num_warnings++;
        if (e->mgr.msg_code == JWRN_JPEG_EOF) e->eof = true;
    }
}

/* PIL's CMYK -> RGB: with an Adobe marker the stored values are inverted ("CMYK;I"); then
 * each channel is (255 - k) - c * (255 - k) / 255 in Pillow's rounding. */
static void cmyk_to_rgb(uint8_t *rgb, const uint8_t *cmyk, int64_t width, bool inverted) {
    for (int64_t x = 0; x < width; x++) {
        uint8_t v[4];
        for (int i = 0; i < 4; i++)
            v[i] = inverted ? (uint8_t)(255 - cmyk[4 * x + i]) : cmyk[4 * x + i];
        const int nk = 255 - v[3];
        for (int i = 0; i < 3; i++) {
            const int tmp = v[i] * nk + 128;
            const int r = nk - (((tmp >> 8) + tmp) >> 8);
            rgb[3 * x + i] = (uint8_t)(r < 0 ? 0 : r > 255 ? 255 : r);
        }
    }
}

static swin_status decode_jpeg(swin_image **out, const uint8_t *data, size_t size,
                               const char *what) {
    struct jpeg_decompress_struct cinfo;
    jpeg_err err;
    swin_image *volatile img = NULL;
    uint8_t *volatile row4 = NULL;
    volatile swin_status status = SWIN_OK;
    cinfo.err = jpeg_std_error(&err.mgr);
    err.mgr.error_exit = jpeg_error_exit;
    err.mgr.output_message = jpeg_silent;
    err.mgr.emit_message = jpeg_warning;
    err.eof = false;
    err.oom = false;
    if (setjmp(err.jump)) {
        status = err.oom ? swin__oom()
                         : swin__error(SWIN_ERR_FORMAT, "%s: corrupt JPEG: %s", what, err.message);
        goto done;
    }
    jpeg_create_decompress(&cinfo);
    jpeg_mem_src(&cinfo, data, (unsigned long)size);
    jpeg_read_header(&cinfo, TRUE);
    status = check_size(cinfo.image_width, cinfo.image_height, what);
    if (status != SWIN_OK) goto done;
    const bool cmyk = cinfo.jpeg_color_space == JCS_CMYK || cinfo.jpeg_color_space == JCS_YCCK;
    /* grayscale and YCbCr come out as RGB; CMYK as CMYK, converted below as PIL does */
    cinfo.out_color_space = cmyk ? JCS_CMYK : JCS_RGB;
    jpeg_start_decompress(&cinfo);
    swin_image *im = NULL;
    status = new_image(&im, cinfo.output_width, cinfo.output_height, what);
    if (status != SWIN_OK) goto done;
    img = im;
    if (cmyk && !(row4 = swin__malloc((size_t)cinfo.output_width * 4))) {
        status = swin__oom();
        goto done;
    }
    while (cinfo.output_scanline < cinfo.output_height) {
        uint8_t *dst = img->pixels + (size_t)cinfo.output_scanline * (size_t)img->stride;
        JSAMPROW row = cmyk ? row4 : dst;
        jpeg_read_scanlines(&cinfo, &row, 1);
        if (cmyk) cmyk_to_rgb(dst, row4, img->width, cinfo.saw_Adobe_marker);
    }
    if (err.eof) {
        status = swin__error(SWIN_ERR_TRUNCATED, "%s: JPEG data ends early (truncated file)", what);
        goto done;
    }
    jpeg_finish_decompress(&cinfo);
done:
    jpeg_destroy_decompress(&cinfo);
    swin__free(row4);
    if (status != SWIN_OK) {
        swin_image_free(img);
        return status;
    }
    *out = img;
    return SWIN_OK;
}

/* ---- PNG ---- */

typedef struct png_src {
    const uint8_t *data;
    size_t size, pos;
    bool oom; /* an allocation of libpng's (routed through swin__malloc) failed */
    char message[256];
} png_src;

/* libpng allocates through these (png_create_read_struct_2: per decoder, not process-wide). */
static png_voidp png_alloc(png_structp png, png_alloc_size_t size) {
    void *p = swin__malloc(size);
    if (!p) ((png_src *)png_get_mem_ptr(png))->oom = true;
    return p;
}

static void png_dealloc(png_structp png, png_voidp p) {
    (void)png;
    swin__free(p);
}

static void png_read_mem(png_structp png, png_bytep dst, size_t n) {
    png_src *src = png_get_io_ptr(png);
    if (n > src->size - src->pos) png_error(png, "unexpected end of data (truncated file)");
    memcpy(dst, src->data + src->pos, n);
    src->pos += n;
}

static void png_on_error(png_structp png, png_const_charp msg) {
    png_src *src = png_get_error_ptr(png);
    snprintf(src->message, sizeof src->message, "%s", msg);
    png_longjmp(png, 1);
}

static void png_on_warning(png_structp png, png_const_charp msg) {
    (void)png;
    (void)msg;
}

static swin_status decode_png(swin_image **out, const uint8_t *data, size_t size,
                              const char *what) {
    png_src src = {.data = data, .size = size};
    png_structp png = png_create_read_struct_2(PNG_LIBPNG_VER_STRING, &src, png_on_error,
                                               png_on_warning, &src, png_alloc, png_dealloc);
    if (!png) return swin__oom();
    png_infop info = png_create_info_struct(png);
    swin_image *volatile img = NULL;
    png_bytep *volatile rows = NULL;
    volatile swin_status status = SWIN_OK;
    if (!info) {
        status = swin__oom();
        goto done;
    }
    if (setjmp(png_jmpbuf(png))) {
        status = src.oom ? swin__oom()
                         : swin__error(strstr(src.message, "truncated") ? SWIN_ERR_TRUNCATED
                                                                        : SWIN_ERR_FORMAT,
                                       "%s: corrupt PNG: %s", what, src.message);
        goto done;
    }
    png_set_read_fn(png, &src, png_read_mem);
    png_set_user_limits(png, 1u << 24, 1u << 24);
    /* libpng reads the ancillary chunks it knows at their declared length before checking
     * their data, and its length limit is only a warning: a 129-byte file declaring a 400 MB
     * zTXt chunk made it ask for 400 MB (found by fuzz_image). The pixels need none of these
     * chunks (PIL does not apply an ICC profile either when it converts to RGB), so they are
     * skipped unread, as unknown chunks are. */
    static const png_byte skipped[] = "tEXt\0zTXt\0iTXt\0iCCP\0sPLT\0eXIf\0pCAL\0sCAL\0hIST";
    png_set_keep_unknown_chunks(png, PNG_HANDLE_CHUNK_NEVER, skipped, 9);
    png_read_info(png, info);
    const png_uint_32 w = png_get_image_width(png, info), h = png_get_image_height(png, info);
    status = check_size(w, h, what);
    if (status != SWIN_OK) goto done;
    const int color = png_get_color_type(png, info);
    png_set_expand(png);   /* palette -> RGB, low-bit gray -> 8 bits, tRNS -> alpha */
    png_set_strip_16(png); /* 16-bit -> the high byte, as PIL's RGB;16B unpacker */
    png_set_strip_alpha(png);
    if (color == PNG_COLOR_TYPE_GRAY || color == PNG_COLOR_TYPE_GRAY_ALPHA)
        png_set_gray_to_rgb(png);
    png_set_interlace_handling(png);
    png_read_update_info(png, info);
    if (png_get_rowbytes(png, info) != (size_t)w * 3) {
        status = swin__error(SWIN_ERR_FORMAT, "%s: PNG did not convert to 8-bit RGB", what);
        goto done;
    }
    swin_image *im = NULL;
    status = new_image(&im, w, h, what);
    if (status != SWIN_OK) goto done;
    img = im;
    rows = swin__malloc((size_t)h * sizeof *rows);
    if (!rows) {
        status = swin__oom();
        goto done;
    }
    for (png_uint_32 y = 0; y < h; y++)
        rows[y] = img->pixels + (size_t)y * (size_t)img->stride;
    png_read_image(png, rows);
done:
    png_destroy_read_struct(&png, info ? &info : NULL, NULL);
    swin__free(rows);
    if (status != SWIN_OK) {
        swin_image_free(img);
        return status;
    }
    *out = img;
    return SWIN_OK;
}

/* ---- public ---- */

static swin_status decode(swin_image **out, const uint8_t *data, size_t size, const char *what) {
    if (size >= 3 && data[0] == 0xFF && data[1] == 0xD8 && data[2] == 0xFF)
        return decode_jpeg(out, data, size, what);
    if (size >= 8 && memcmp(data, "\x89PNG\r\n\x1a\n", 8) == 0)
        return decode_png(out, data, size, what);
    return swin__error(SWIN_ERR_FORMAT, "%s: not a JPEG or PNG image", what);
}

swin_status swin_image_load_memory(swin_image **out, const void *data, size_t size) {
    if (!out) return swin__error(SWIN_ERR_INVALID_ARGUMENT, "swin_image_load_memory: out is NULL");
    *out = NULL;
    if (!data)
        return swin__error(SWIN_ERR_INVALID_ARGUMENT, "swin_image_load_memory: data is NULL");
    return decode(out, data, size, "image");
}

swin_status swin_image_load_file(swin_image **out, const char *path) {
    if (!out) return swin__error(SWIN_ERR_INVALID_ARGUMENT, "swin_image_load_file: out is NULL");
    *out = NULL;
    if (!path) return swin__error(SWIN_ERR_INVALID_ARGUMENT, "swin_image_load_file: path is NULL");
    FILE *fp;
    SWIN_TRY(swin__fopen_regular(path, &fp));
    uint8_t *buf = NULL;
    size_t size = 0, cap = 0;
    swin_status s = SWIN_OK;
    while (true) {
        if (size == cap) {
            if (cap > ((size_t)1 << 31)) {
                s = swin__error(SWIN_ERR_FORMAT, "\"%s\": file larger than 2 GiB", path);
                break;
            }
            cap = cap ? cap * 2 : 1 << 16;
            uint8_t *nb = swin__realloc(buf, cap);
            if (!nb) {
                s = swin__oom();
                break;
            }
            buf = nb;
        }
        const size_t n = fread(buf + size, 1, cap - size, fp);
        size += n;
        if (n == 0) {
            if (ferror(fp)) s = swin__error(SWIN_ERR_IO, "cannot read \"%s\"", path);
            break;
        }
    }
    fclose(fp);
    if (s == SWIN_OK) s = decode(out, buf, size, path);
    swin__free(buf);
    return s;
}

swin_status swin_image_wrap_rgb8(swin_image **out, const uint8_t *pixels, int64_t width,
                                 int64_t height, int64_t stride) {
    if (!out) return swin__error(SWIN_ERR_INVALID_ARGUMENT, "swin_image_wrap_rgb8: out is NULL");
    *out = NULL;
    if (!pixels || width < 1 || height < 1 || width > (int64_t)SWIN_MAX_PIXELS ||
        height > (int64_t)SWIN_MAX_PIXELS || (uint64_t)width * (uint64_t)height > SWIN_MAX_PIXELS ||
        stride < width * 3)
        return swin__error(SWIN_ERR_INVALID_ARGUMENT,
                           "swin_image_wrap_rgb8: need pixels, width and height >= 1 and stride >= "
                           "3 * width (got %lldx%lld, stride %lld)",
                           (long long)width, (long long)height, (long long)stride);
    swin_image *img = swin__calloc(1, sizeof *img);
    if (!img) return swin__oom();
    img->pixels = (uint8_t *)(uintptr_t)pixels; /* borrowed, never written */
    img->width = width;
    img->height = height;
    img->stride = stride;
    *out = img;
    return SWIN_OK;
}

swin_status swin_image_wrap(swin_image **out, const uint8_t *pixels, int64_t width, int64_t height,
                            int64_t stride_bytes, swin_pixel_format format) {
    if (!out) return swin__error(SWIN_ERR_INVALID_ARGUMENT, "swin_image_wrap: out is NULL");
    *out = NULL;
    static const int channels[] = {3, 3, 4, 4, 1};
    if ((int)format < 0 || (int)format > (int)SWIN_PIXEL_GRAY8)
        return swin__error(SWIN_ERR_INVALID_ARGUMENT, "swin_image_wrap: unknown pixel format %d",
                           (int)format);
    const int ch = channels[format];
    if (!pixels || width < 1 || height < 1 || width > (int64_t)SWIN_MAX_PIXELS ||
        height > (int64_t)SWIN_MAX_PIXELS || (uint64_t)width * (uint64_t)height > SWIN_MAX_PIXELS ||
        stride_bytes < width * ch)
        return swin__error(SWIN_ERR_INVALID_ARGUMENT,
                           "swin_image_wrap: need pixels, width and height >= 1 (at most %llu "
                           "pixels) and stride >= %d * width (got %lldx%lld, stride %lld)",
                           (unsigned long long)SWIN_MAX_PIXELS, ch, (long long)width,
                           (long long)height, (long long)stride_bytes);
    swin_image *img = swin__calloc(1, sizeof *img);
    uint8_t *rgb = swin__malloc((size_t)(width * height * 3));
    if (!img || !rgb) {
        swin__free(img);
        swin__free(rgb);
        return swin__oom();
    }
    /* byte offsets of R, G, B in a pixel of the format */
    static const int order[][3] = {{0, 1, 2}, {2, 1, 0}, {0, 1, 2}, {2, 1, 0}, {0, 0, 0}};
    for (int64_t y = 0; y < height; y++) {
        const uint8_t *src = pixels + y * stride_bytes;
        uint8_t *dst = rgb + y * width * 3;
        for (int64_t x = 0; x < width; x++)
            for (int c = 0; c < 3; c++)
                dst[x * 3 + c] = src[x * ch + order[format][c]];
    }
    img->pixels = rgb;
    img->width = width;
    img->height = height;
    img->stride = width * 3;
    img->owned = true;
    *out = img;
    return SWIN_OK;
}

int64_t swin_image_width(const swin_image *img) {
    return img ? img->width : 0;
}

int64_t swin_image_height(const swin_image *img) {
    return img ? img->height : 0;
}

const uint8_t *swin_image_pixels(const swin_image *img, int64_t *stride) {
    if (stride) *stride = img ? img->stride : 0;
    return img ? img->pixels : NULL;
}
