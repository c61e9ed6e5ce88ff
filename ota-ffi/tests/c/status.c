/* Status codes and version: the smallest C program over libota. */
#include "common.h"

int main(void) {
    const char *version = ota_version();
    CHECK(version != NULL);
    printf("version %s\n", version);

    const ota_status known[] = {
        OTA_STATUS_OK,          OTA_STATUS_NULL_ARGUMENT,    OTA_STATUS_PANIC,
        OTA_STATUS_BUFFER_TOO_SMALL, OTA_STATUS_INVALID_UTF8, OTA_STATUS_INVALID_ARGUMENT,
        OTA_STATUS_CALLBACK_FAILED, OTA_STATUS_IO, OTA_STATUS_INDEX_OUT_OF_RANGE,
        OTA_STATUS_INVALID_STATE, OTA_STATUS_NOT_REFUSED,
    };
    const size_t n = sizeof known / sizeof known[0];
    for (size_t i = 0; i < n; i++) {
        const char *m = ota_status_message(known[i]);
        CHECK(m != NULL && strlen(m) > 0);
        CHECK(strcmp(m, "unknown status") != 0);
        for (size_t j = 0; j < i; j++) {
            CHECK(strcmp(m, ota_status_message(known[j])) != 0);
        }
    }
    CHECK(strcmp(ota_status_message(4000000000u), "unknown status") == 0);

    /* Each area's names carry its prefix and keep their numbers. */
    CHECK(OTA_STATUS_MANIFEST_MALFORMED == 100);
    CHECK(OTA_STATUS_VERIFY_BAD_SIGNATURE == 200);
    CHECK(OTA_STATUS_VERIFY_EXPIRED == 203);
    CHECK(OTA_STATUS_VERIFY_MALFORMED == 207);
    CHECK(OTA_STATUS_VERIFY_INVALID_KEY == 216);
    CHECK(OTA_STATUS_DELTA_BAD_MAGIC == 300);
    CHECK(OTA_STATUS_ROLLOUT_PLAN_INVALID == 400);
    CHECK(OTA_STATUS_TWIN_JSON == 500);
    CHECK(OTA_STATUS_SUIT_MALFORMED == 700);
    CHECK(OTA_STATUS_SUIT_OTHER == 799);
    CHECK(strcmp(ota_status_message(OTA_STATUS_VERIFY_MALFORMED),
                 "malformed envelope or trust root") == 0);
    printf("status messages %zu distinct\n", n);
    printf("%s\n", failures == 0 ? "PASS" : "FAIL");
    return failures == 0 ? 0 : 1;
}
