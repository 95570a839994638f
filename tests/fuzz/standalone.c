/* Replays inputs through a fuzz target without libFuzzer: each argument is a file or a
 * directory of files. ctest runs every target this way on its seed corpus and on the crash
 * reproducers of tests/fuzz/regressions, so that a fixed finding stays fixed in any build. */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int run_file(const char *path) {
    FILE *fp = fopen(path, "rb");
    if (!fp) {
        fprintf(stderr, "cannot open %s\n", path);
        return 1;
    }
    fseek(fp, 0, SEEK_END);
    const long n = ftell(fp);
    fseek(fp, 0, SEEK_SET);
    /* an exact-size copy, so that an over-read shows under ASan or valgrind */
    uint8_t *buf = malloc(n > 0 ? (size_t)n : 1);
    if (!buf || n < 0 || fread(buf, 1, (size_t)n, fp) != (size_t)n) {
        fprintf(stderr, "cannot read %s\n", path);
        fclose(fp);
        free(buf);
        return 1;
    }
    fclose(fp);
    LLVMFuzzerTestOneInput(buf, (size_t)n);
    free(buf);
    return 0;
}

static int cmp(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int main(int argc, char **argv) {
    int inputs = 0, errors = 0;
    for (int i = 1; i < argc; i++) {
        struct stat sb;
        if (stat(argv[i], &sb) != 0) continue; /* an absent regressions/ dir is fine */
        if (!S_ISDIR(sb.st_mode)) {
            errors += run_file(argv[i]);
            inputs++;
            continue;
        }
        DIR *dir = opendir(argv[i]);
        if (!dir) return 1;
        char **names = NULL;
        size_t count = 0;
        const struct dirent *e;
        while ((e = readdir(dir)))
            if (e->d_name[0] != '.') {
                names = realloc(names, (count + 1) * sizeof *names);
                const size_t len = strlen(argv[i]) + strlen(e->d_name) + 2;
                names[count] = malloc(len);
                snprintf(names[count++], len, "%s/%s", argv[i], e->d_name);
            }
        closedir(dir);
        if (count) qsort(names, count, sizeof *names, cmp);
        for (size_t k = 0; k < count; k++) {
            errors += run_file(names[k]);
            inputs++;
            free(names[k]);
        }
        free(names);
    }
    printf("%d inputs replayed, %d unreadable\n", inputs, errors);
    return errors != 0;
}
