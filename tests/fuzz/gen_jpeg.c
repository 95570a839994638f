/* Writes the tiny JPEG seeds of the image fuzz target into the directory argv[1]; run by
 * gen_seeds.py (cc gen_jpeg.c -ljpeg). Deterministic pixels; each file exercises one decoder
 * path: baseline 4:4:4, 4:2:0, progressive, grayscale, CMYK (Adobe), restart markers,
 * arithmetic coding. */
#include <stdio.h>
#include <stdlib.h>

#include <jpeglib.h>

typedef struct spec {
    const char *name;
    int width, height, components;
    J_COLOR_SPACE space;
    int progressive, subsample, restart, arith;
} spec;

static int write_one(const char *dir, const spec *s) {
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, s->name);
    FILE *fp = fopen(path, "wb");
    if (!fp) return 1;
    struct jpeg_compress_struct c;
    struct jpeg_error_mgr err;
    c.err = jpeg_std_error(&err);
    jpeg_create_compress(&c);
    jpeg_stdio_dest(&c, fp);
    c.image_width = (JDIMENSION)s->width;
    c.image_height = (JDIMENSION)s->height;
    c.input_components = s->components;
    c.in_color_space = s->space;
    jpeg_set_defaults(&c);
    jpeg_set_quality(&c, 50, TRUE);
    if (s->subsample) {
        c.comp_info[0].h_samp_factor = 2;
        c.comp_info[0].v_samp_factor = 2;
    } else if (s->components == 3) {
        c.comp_info[0].h_samp_factor = 1;
        c.comp_info[0].v_samp_factor = 1;
    }
    if (s->progressive) jpeg_simple_progression(&c);
    c.restart_interval = (unsigned)s->restart;
    c.arith_code = s->arith ? TRUE : FALSE;
    jpeg_start_compress(&c, TRUE);
    unsigned char row[64 * 4];
    while (c.next_scanline < c.image_height) {
        for (int x = 0; x < s->width * s->components; x++)
            row[x] = (unsigned char)((x * 37 + (int)c.next_scanline * 91) & 0xFF);
        JSAMPROW r = row;
        jpeg_write_scanlines(&c, &r, 1);
    }
    jpeg_finish_compress(&c);
    jpeg_destroy_compress(&c);
    return fclose(fp) != 0;
}

int main(int argc, char **argv) {
    if (argc != 2) return 2;
    static const spec specs[] = {
        {"baseline_8x8.jpg", 8, 8, 3, JCS_RGB, 0, 0, 0, 0},
        {"yuv420_16x16.jpg", 16, 16, 3, JCS_RGB, 0, 1, 0, 0},
        {"progressive_12x10.jpg", 12, 10, 3, JCS_RGB, 1, 1, 0, 0},
        {"gray_9x9.jpg", 9, 9, 1, JCS_GRAYSCALE, 0, 0, 0, 0},
        {"cmyk_8x8.jpg", 8, 8, 4, JCS_CMYK, 0, 0, 0, 0},
        {"restart_24x8.jpg", 24, 8, 3, JCS_RGB, 0, 0, 1, 0},
        {"arith_8x8.jpg", 8, 8, 3, JCS_RGB, 0, 0, 0, 1},
    };
    for (size_t i = 0; i < sizeof specs / sizeof specs[0]; i++)
        if (write_one(argv[1], &specs[i])) return 1;
    return 0;
}
