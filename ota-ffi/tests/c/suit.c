/* SUIT import through the C API: example 1 of draft-ietf-suit-manifest (libcsuit) verifies
 * against its ES256 trust anchor and maps to an ota manifest; a tampered copy, a wrong anchor
 * and bad arguments are refused with their statuses. Argument: the fixture directory. */
#include "common.h"

/* bytes.data with a NUL appended (the anchor is passed as a C string). */
static char *as_string(bytes b) {
    char *s = malloc(b.len + 1);
    if (!s) {
        exit(2);
    }
    memcpy(s, b.data, b.len);
    s[b.len] = '\0';
    return s;
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: suit FIXTURE_DIR\n");
        return 2;
    }
    bytes env = read_fixture(argv[1], "suit_manifest_exp1.suit");
    bytes pem = read_fixture(argv[1], "trust_anchor_secp256r1_pub.pem");
    char *anchor = as_string(pem);

    uint64_t sequence = 0;
    EXPECT(ota_suit_verify(env.data, env.len, anchor, &sequence), OTA_STATUS_OK);
    printf("suit verified sequence %llu\n", (unsigned long long)sequence);

    ota_manifest *m = NULL;
    EXPECT(ota_suit_import(env.data, env.len, anchor, NULL, &m), OTA_STATUS_OK);
    if (m) {
        ota_manifest_info info;
        EXPECT(ota_manifest_get_info(m, &info), OTA_STATUS_OK);
        char id[64];
        size_t id_len = 0;
        EXPECT(ota_manifest_component_id(m, 0, id, sizeof id, &id_len), OTA_STATUS_OK);
        ota_component_info c;
        EXPECT(ota_manifest_component_info(m, 0, &c), OTA_STATUS_OK);
        printf("suit manifest sequence %llu components %zu first %s size %llu\n",
               (unsigned long long)info.sequence, (size_t)info.component_count, id,
               (unsigned long long)c.size);
        ota_manifest_free(m);
    }

    /* Every single-byte change is refused by verify and import, and nothing is written. */
    size_t refused = 0;
    uint8_t *t = malloc(env.len);
    if (!t) {
        return 2;
    }
    for (size_t i = 0; i < env.len; i++) {
        memcpy(t, env.data, env.len);
        t[i] ^= 0x01;
        uint64_t seq = 12345;
        ota_manifest *tm = NULL;
        ota_status a = ota_suit_verify(t, env.len, anchor, &seq);
        ota_status b = ota_suit_import(t, env.len, anchor, NULL, &tm);
        if (a != OTA_STATUS_OK && b != OTA_STATUS_OK && seq == 12345 && tm == NULL) {
            refused++;
        }
        ota_manifest_free(tm);
    }
    CHECK(refused == env.len);
    printf("suit tampered %zu of %zu refused\n", refused, env.len);

    /* The last byte (inside the manifest) flipped: its status and message. */
    memcpy(t, env.data, env.len);
    t[env.len - 1] ^= 0x01;
    ota_status last = ota_suit_verify(t, env.len, anchor, &sequence);
    char why[256];
    size_t why_len = 0;
    EXPECT(ota_suit_error_message(t, env.len, anchor, NULL, why, sizeof why, &why_len),
           OTA_STATUS_OK);
    printf("suit tampered last byte: %u %s\n", (unsigned)last, why);
    /* Size query, then no error to describe for the good envelope. */
    EXPECT(ota_suit_error_message(t, env.len, anchor, NULL, NULL, 0, &why_len),
           OTA_STATUS_BUFFER_TOO_SMALL);
    CHECK(why_len == strlen(why) + 1);
    EXPECT(ota_suit_error_message(env.data, env.len, anchor, NULL, why, sizeof why, &why_len),
           OTA_STATUS_INVALID_STATE);
    free(t);

    /* A wrong anchor (not a key), NULL arguments. */
    EXPECT(ota_suit_verify(env.data, env.len, "not a pem", &sequence),
           OTA_STATUS_SUIT_INVALID_ANCHOR);
    EXPECT(ota_suit_verify(env.data, env.len, NULL, &sequence), OTA_STATUS_NULL_ARGUMENT);
    EXPECT(ota_suit_verify(env.data, env.len, anchor, NULL), OTA_STATUS_NULL_ARGUMENT);
    EXPECT(ota_suit_import(env.data, env.len, anchor, NULL, NULL), OTA_STATUS_NULL_ARGUMENT);
    EXPECT(ota_suit_verify(NULL, 0, anchor, &sequence), OTA_STATUS_SUIT_MALFORMED);

    free(anchor);
    free(pem.data);
    free(env.data);
    printf("%s\n", failures == 0 ? "PASS" : "FAIL");
    return failures == 0 ? 0 : 1;
}
