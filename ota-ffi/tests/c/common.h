/* Shared helpers of the C test programs (not a program itself: no main). */
#ifndef OTA_TEST_COMMON_H
#define OTA_TEST_COMMON_H

#include "ota.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int failures = 0;

#define CHECK(cond)                                                                  \
    do {                                                                             \
        if (!(cond)) {                                                               \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
            failures++;                                                              \
        }                                                                            \
    } while (0)

/* Checks that `call` returns `want`, printing both names when it does not. */
#define EXPECT(call, want)                                                                 \
    do {                                                                                   \
        ota_status got_ = (call);                                                          \
        if (got_ != (want)) {                                                              \
            fprintf(stderr, "%s:%d: %s returned %u (%s), expected %u (%s)\n", __FILE__,    \
                    __LINE__, #call, (unsigned)got_, ota_status_message(got_),             \
                    (unsigned)(want), ota_status_message(want));                           \
            failures++;                                                                    \
        }                                                                                  \
    } while (0)

typedef struct {
    uint8_t *data;
    size_t len;
} bytes;

/* Reads dir/name whole; exits on failure (the fixtures must exist). */
static inline bytes read_fixture(const char *dir, const char *name) {
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "cannot open %s\n", path);
        exit(2);
    }
    bytes b = {NULL, 0};
    size_t cap = 0;
    for (;;) {
        if (b.len == cap) {
            cap = cap ? cap * 2 : 4096;
            uint8_t *grown = realloc(b.data, cap);
            if (!grown) {
                exit(2);
            }
            b.data = grown;
        }
        size_t n = fread(b.data + b.len, 1, cap - b.len, f);
        if (n == 0) {
            break;
        }
        b.len += n;
    }
    fclose(f);
    return b;
}

static inline int finish(void) {
    printf("%s\n", failures == 0 ? "PASS" : "FAIL");
    return failures == 0 ? 0 : 1;
}

#endif
