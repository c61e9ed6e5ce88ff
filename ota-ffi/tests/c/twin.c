/* Twins: desired/reported delta, JSON Patch (atomic) and Merge Patch, diff, each through the
 * size-needed buffer protocol; malformed and failing inputs; NULL handling. */
#include "common.h"

typedef ota_status (*twin_fn)(const char *, const char *, char *, size_t, size_t *);

/* Calls `f` twice the way a C caller does: ask the size, allocate, fill. Returns malloc'd text
 * or NULL (with the status in *st). */
static char *call(twin_fn f, const char *a, const char *b, ota_status *st) {
    size_t need = 0;
    *st = f(a, b, NULL, 0, &need);
    if (*st != OTA_STATUS_BUFFER_TOO_SMALL) {
        return NULL;
    }
    char *out = malloc(need);
    size_t len = 0;
    *st = f(a, b, out, need, &len);
    if (*st != OTA_STATUS_OK) {
        free(out);
        return NULL;
    }
    CHECK(len == need && strlen(out) + 1 == len);
    return out;
}

static void show(const char *label, twin_fn f, const char *a, const char *b) {
    ota_status st;
    char *out = call(f, a, b, &st);
    if (out) {
        printf("%s: %s\n", label, out);
        free(out);
    } else {
        printf("%s: status %u\n", label, (unsigned)st);
    }
}

int main(void) {
    const char *desired = "{\"fan\":{\"speed\":3,\"mode\":\"auto\"},\"led\":true,\"fw\":\"2.0.0\"}";
    const char *reported = "{\"fan\":{\"speed\":2,\"mode\":\"auto\"},\"led\":true,\"uptime\":5}";
    show("delta", ota_twin_delta, desired, reported);
    show("delta (nothing reported)", ota_twin_delta, "{\"a\":1}", NULL);
    show("delta (in sync)", ota_twin_delta, "{\"a\":1.0}", "{\"a\":1}");
    show("patch", ota_twin_apply_patch, "{\"a\":1,\"b\":[1,2]}",
         "[{\"op\":\"replace\",\"path\":\"/a\",\"value\":5},{\"op\":\"add\",\"path\":\"/b/-\",\"value\":3}]");
    show("merge", ota_twin_apply_merge_patch, "{\"a\":1,\"b\":{\"c\":2,\"d\":3}}", "{\"b\":{\"c\":null},\"e\":4}");

    /* diff then apply gives the target back. */
    const char *from = "{\"x\":[1,2,3],\"y\":{\"z\":\"old\"}}";
    const char *to = "{\"x\":[1,3],\"y\":{\"z\":\"new\",\"w\":0}}";
    ota_status st;
    char *patch = call(ota_twin_diff, from, to, &st);
    EXPECT(st, OTA_STATUS_OK);
    char *back = patch ? call(ota_twin_apply_patch, from, patch, &st) : NULL;
    CHECK(back != NULL);
    char *check = back ? call(ota_twin_delta, to, back, &st) : NULL;
    CHECK(check != NULL && strcmp(check, "{}") == 0);
    char *check2 = back ? call(ota_twin_delta, back, to, &st) : NULL;
    CHECK(check2 != NULL && strcmp(check2, "{}") == 0);
    printf("diff round trip: %s\n", back ? back : "(failed)");
    free(patch);
    free(back);
    free(check);
    free(check2);

    /* Failures: nothing is written, the status says why. */
    char buf[256];
    memset(buf, 'Z', sizeof buf);
    size_t len = 12345;
    EXPECT(ota_twin_apply_patch("{\"a\":1}", "[{\"op\":\"test\",\"path\":\"/a\",\"value\":2}]", buf, sizeof buf, &len),
           OTA_STATUS_TWIN_PATCH_FAILED);
    EXPECT(ota_twin_apply_patch("{\"a\":1}", "[{\"op\":\"remove\",\"path\":\"/nope\"}]", buf, sizeof buf, &len),
           OTA_STATUS_TWIN_PATCH_FAILED);
    EXPECT(ota_twin_apply_patch("{\"a\":1}", "[{\"op\":\"jump\",\"path\":\"/a\"}]", buf, sizeof buf, &len),
           OTA_STATUS_TWIN_PATCH_MALFORMED);
    EXPECT(ota_twin_apply_patch("{\"a\":1}", "{\"op\":\"add\"}", buf, sizeof buf, &len), OTA_STATUS_TWIN_PATCH_MALFORMED);
    EXPECT(ota_twin_delta("{\"a\":", "{}", buf, sizeof buf, &len), OTA_STATUS_TWIN_JSON);
    EXPECT(ota_twin_delta("[1,2]", "{}", buf, sizeof buf, &len), OTA_STATUS_TWIN_NOT_OBJECT);
    EXPECT(ota_twin_delta("{}", "7", buf, sizeof buf, &len), OTA_STATUS_TWIN_NOT_OBJECT);
    EXPECT(ota_twin_delta("{\"a\":\"\xff\"}", "{}", buf, sizeof buf, &len), OTA_STATUS_INVALID_UTF8);
    CHECK(buf[0] == 'Z' && len == 12345);
    /* A copy bomb (40 copies of the root into itself, 1.4 KB asking for 2^40 values) is refused
     * before it allocates, with the limit status; nothing written. */
    const char *copy_root = "{\"op\":\"copy\",\"from\":\"\",\"path\":\"/-\"}";
    size_t one = strlen(copy_root);
    char *bomb = malloc(40 * (one + 1) + 2);
    char *w = bomb;
    *w++ = '[';
    for (int i = 0; i < 40; i++) {
        if (i > 0) {
            *w++ = ',';
        }
        memcpy(w, copy_root, one);
        w += one;
    }
    *w++ = ']';
    *w = 0;
    size_t need = 0;
    EXPECT(ota_twin_apply_patch("[0]", bomb, NULL, 0, &need), OTA_STATUS_TWIN_LIMIT_EXCEEDED);
    EXPECT(ota_twin_apply_patch("[0]", bomb, buf, sizeof buf, &len), OTA_STATUS_TWIN_LIMIT_EXCEEDED);
    CHECK(need == 0 && buf[0] == 'Z' && len == 12345);
    /* Three copies of the root are well within the limit. */
    bomb[1 + 3 * (one + 1) - 1] = ']';
    bomb[1 + 3 * (one + 1)] = 0;
    show("three copies", ota_twin_apply_patch, "[0]", bomb);
    free(bomb);
    /* Deep nesting is refused, not a stack overflow. */
    size_t depth = 100000;
    char *deep = malloc(2 * depth + 1);
    memset(deep, '[', depth);
    memset(deep + depth, ']', depth);
    deep[2 * depth] = 0;
    EXPECT(ota_twin_apply_merge_patch("{}", deep, buf, sizeof buf, &len), OTA_STATUS_TWIN_JSON);
    free(deep);
    /* Too small by one: nothing written, the exact size reported. */
    EXPECT(ota_twin_delta("{\"a\":1}", NULL, buf, 7, &len), OTA_STATUS_BUFFER_TOO_SMALL);
    CHECK(len == 8 && buf[0] == 'Z');
    EXPECT(ota_twin_delta("{\"a\":1}", NULL, buf, 8, &len), OTA_STATUS_OK);
    CHECK(len == 8 && strcmp(buf, "{\"a\":1}") == 0);

    EXPECT(ota_twin_delta(NULL, "{}", buf, sizeof buf, &len), OTA_STATUS_NULL_ARGUMENT);
    EXPECT(ota_twin_delta("{}", "{}", buf, sizeof buf, NULL), OTA_STATUS_NULL_ARGUMENT);
    EXPECT(ota_twin_apply_patch("{}", NULL, buf, sizeof buf, &len), OTA_STATUS_NULL_ARGUMENT);
    EXPECT(ota_twin_apply_merge_patch(NULL, "{}", buf, sizeof buf, &len), OTA_STATUS_NULL_ARGUMENT);
    EXPECT(ota_twin_diff("{}", NULL, buf, sizeof buf, &len), OTA_STATUS_NULL_ARGUMENT);
    return finish();
}
