/* Verification: trust root load and rotation, envelopes (each failure its own status), the
 * streaming digest verifier and the chunked verifier, NULL handling.
 * Usage: verify FIXTURE_DIR */
#include "common.h"

#define NOW 1700000000u

static ota_status verify(const ota_trust_root *root, const bytes *env, uint64_t now, uint64_t last) {
    ota_verified v;
    memset(&v, 0xEE, sizeof v);
    ota_status st = ota_trust_root_verify(root, env->data, env->len, NULL, 0, now, last, &v);
    if (st != OTA_STATUS_OK) {
        /* Outputs are written only on success. */
        CHECK(v.sequence == 0xEEEEEEEEEEEEEEEEull);
    }
    return st;
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: verify FIXTURE_DIR\n");
        return 2;
    }
    const char *dir = argv[1];
    bytes root_v1 = read_fixture(dir, "root.cose");
    bytes root_v2 = read_fixture(dir, "root2.cose");
    bytes env = read_fixture(dir, "manifest.cose");
    bytes lone = read_fixture(dir, "manifest-1key.cose");
    bytes stranger = read_fixture(dir, "manifest-stranger.cose");
    bytes cbor = read_fixture(dir, "manifest.cbor");
    bytes image = read_fixture(dir, "new.bin");

    ota_trust_root *root = NULL;
    EXPECT(ota_trust_root_new(root_v1.data, root_v1.len, &root), OTA_STATUS_OK);
    uint64_t version = 0, expires = 0;
    EXPECT(ota_trust_root_version(root, &version, &expires), OTA_STATUS_OK);
    printf("root version %llu expires %llu\n", (unsigned long long)version, (unsigned long long)expires);

    /* The good envelope; its payload is the manifest's CBOR, inside the envelope buffer. */
    ota_verified v;
    EXPECT(ota_trust_root_verify(root, env.data, env.len, NULL, 0, NOW, 6, &v), OTA_STATUS_OK);
    CHECK(!v.payload_detached && v.payload_len == cbor.len);
    CHECK(v.payload_offset + v.payload_len <= env.len);
    CHECK(memcmp(env.data + v.payload_offset, cbor.data, cbor.len) == 0);
    printf("verified sequence %llu signers %u payload %zu bytes at %zu\n", (unsigned long long)v.sequence,
           (unsigned)v.signers, v.payload_len, v.payload_offset);

    /* Each failure has its own status. */
    EXPECT(verify(root, &lone, NOW, 6), OTA_STATUS_VERIFY_BELOW_THRESHOLD);
    EXPECT(verify(root, &stranger, NOW, 6), OTA_STATUS_VERIFY_UNKNOWN_KEY);
    EXPECT(verify(root, &env, NOW, 7), OTA_STATUS_VERIFY_ROLLBACK);
    EXPECT(verify(root, &env, 4000000000u, 6), OTA_STATUS_VERIFY_EXPIRED);
    EXPECT(verify(root, &root_v1, NOW, 6), OTA_STATUS_VERIFY_WRONG_CONTENT_TYPE);
    bytes cut = {env.data, env.len / 2};
    EXPECT(verify(root, &cut, NOW, 6), OTA_STATUS_VERIFY_MALFORMED);
    /* A flipped payload byte breaks both signatures. */
    bytes tampered = {malloc(env.len), env.len};
    memcpy(tampered.data, env.data, env.len);
    tampered.data[v.payload_offset + 10] ^= 1;
    ota_status st = verify(root, &tampered, NOW, 6);
    printf("tampered payload: %u %s\n", (unsigned)st, ota_status_message(st));
    CHECK(st == OTA_STATUS_VERIFY_BAD_SIGNATURE);
    free(tampered.data);
    /* Every truncation is refused without a crash. */
    unsigned refused = 0;
    for (size_t n = 0; n < env.len; n++) {
        bytes t = {env.data, n};
        refused += verify(root, &t, NOW, 6) != OTA_STATUS_OK;
    }
    printf("truncations refused %u of %zu\n", refused, env.len);

    /* Rotation: v2, then a replay of v2 is refused and leaves the root as it is. */
    EXPECT(ota_trust_root_update(root, root_v2.data, root_v2.len), OTA_STATUS_OK);
    EXPECT(ota_trust_root_update(root, root_v2.data, root_v2.len), OTA_STATUS_VERIFY_ROLLBACK);
    EXPECT(ota_trust_root_update(root, root_v2.data, 7), OTA_STATUS_VERIFY_MALFORMED);
    EXPECT(ota_trust_root_version(root, &version, &expires), OTA_STATUS_OK);
    printf("rotated to version %llu\n", (unsigned long long)version);
    EXPECT(verify(root, &env, NOW, 6), OTA_STATUS_OK);

    /* Streaming digest. */
    uint8_t digest[32];
    EXPECT(ota_sha256(image.data, image.len, digest), OTA_STATUS_OK);
    ota_digest_verifier *dv = NULL;
    EXPECT(ota_digest_verifier_new(image.len, digest, &dv), OTA_STATUS_OK);
    for (size_t off = 0; off < image.len; off += 1000) {
        size_t n = image.len - off < 1000 ? image.len - off : 1000;
        EXPECT(ota_digest_verifier_update(dv, image.data + off, n), OTA_STATUS_OK);
    }
    EXPECT(ota_digest_verifier_update(dv, image.data, 1), OTA_STATUS_VERIFY_SIZE_EXCEEDED);
    EXPECT(ota_digest_verifier_finish(dv), OTA_STATUS_OK);
    EXPECT(ota_digest_verifier_finish(dv), OTA_STATUS_INVALID_STATE);
    EXPECT(ota_digest_verifier_update(dv, image.data, 1), OTA_STATUS_INVALID_STATE);
    ota_digest_verifier_free(dv);
    EXPECT(ota_digest_verifier_new(image.len, digest, &dv), OTA_STATUS_OK);
    EXPECT(ota_digest_verifier_update(dv, image.data, image.len - 1), OTA_STATUS_OK);
    EXPECT(ota_digest_verifier_finish(dv), OTA_STATUS_VERIFY_SIZE_MISMATCH);
    ota_digest_verifier_free(dv);
    digest[0] ^= 1;
    EXPECT(ota_digest_verifier_new(image.len, digest, &dv), OTA_STATUS_OK);
    EXPECT(ota_digest_verifier_update(dv, image.data, image.len), OTA_STATUS_OK);
    EXPECT(ota_digest_verifier_finish(dv), OTA_STATUS_VERIFY_DIGEST_MISMATCH);
    ota_digest_verifier_free(dv);
    printf("digest verifier ok\n");

    /* Chunked: the firmware's chunk table from the manifest. */
    ota_manifest *m = NULL;
    EXPECT(ota_manifest_new_from_cbor(cbor.data, cbor.len, &m), OTA_STATUS_OK);
    ota_component_info ci;
    EXPECT(ota_manifest_component_info(m, 0, &ci), OTA_STATUS_OK);
    size_t table_len = 0;
    EXPECT(ota_manifest_component_chunk_table(m, 0, NULL, 0, &table_len), OTA_STATUS_BUFFER_TOO_SMALL);
    CHECK(table_len == ci.chunk_count * 32);
    uint8_t *table = malloc(table_len);
    EXPECT(ota_manifest_component_chunk_table(m, 0, table, table_len, &table_len), OTA_STATUS_OK);
    ota_chunk_verifier *cv = NULL;
    EXPECT(ota_chunk_verifier_new(ci.size, ci.chunk_size, table, table_len, &cv), OTA_STATUS_OK);
    EXPECT(ota_chunk_verifier_verify_chunk(cv, image.data, ci.chunk_size), OTA_STATUS_OK);
    image.data[ci.chunk_size + 5] ^= 0x80;
    EXPECT(ota_chunk_verifier_verify_chunk(cv, image.data + ci.chunk_size, ci.chunk_size),
           OTA_STATUS_VERIFY_DIGEST_MISMATCH);
    image.data[ci.chunk_size + 5] ^= 0x80;
    uint64_t next = 99;
    EXPECT(ota_chunk_verifier_next_chunk(cv, &next), OTA_STATUS_OK);
    CHECK(next == 1); /* a bad chunk does not advance */
    EXPECT(ota_chunk_verifier_verify_chunk(cv, image.data + ci.chunk_size, ci.chunk_size), OTA_STATUS_OK);
    ota_chunk_verifier_free(cv);
    cv = NULL;
    EXPECT(ota_chunk_verifier_resume(ci.size, ci.chunk_size, table, table_len, ci.chunk_count + 1, &cv),
           OTA_STATUS_VERIFY_CHUNK_INDEX);
    EXPECT(ota_chunk_verifier_new(ci.size, ci.chunk_size, table, table_len - 32, &cv), OTA_STATUS_VERIFY_MALFORMED);
    EXPECT(ota_chunk_verifier_new(ci.size, 0, table, table_len, &cv), OTA_STATUS_VERIFY_MALFORMED);
    CHECK(cv == NULL);
    EXPECT(ota_chunk_verifier_resume(ci.size, ci.chunk_size, table, table_len, ci.chunk_count - 1, &cv),
           OTA_STATUS_OK);
    uint64_t last_off = (uint64_t)(ci.chunk_count - 1) * ci.chunk_size;
    bool complete = false;
    EXPECT(ota_chunk_verifier_is_complete(cv, &complete), OTA_STATUS_OK);
    CHECK(!complete);
    EXPECT(ota_chunk_verifier_verify_chunk(cv, image.data + last_off, image.len - last_off), OTA_STATUS_OK);
    EXPECT(ota_chunk_verifier_is_complete(cv, &complete), OTA_STATUS_OK);
    CHECK(complete);
    ota_chunk_verifier_free(cv);
    printf("chunk verifier ok (%zu chunks of %u)\n", ci.chunk_count, ci.chunk_size);

    /* NULL handling. */
    EXPECT(ota_trust_root_new(NULL, 5, &root), OTA_STATUS_NULL_ARGUMENT);
    EXPECT(ota_trust_root_verify(NULL, env.data, env.len, NULL, 0, NOW, 6, &v), OTA_STATUS_NULL_ARGUMENT);
    EXPECT(ota_trust_root_verify(root, NULL, 0, NULL, 0, NOW, 6, &v), OTA_STATUS_NULL_ARGUMENT);
    EXPECT(ota_trust_root_verify(root, env.data, env.len, NULL, 3, NOW, 6, &v), OTA_STATUS_NULL_ARGUMENT);
    EXPECT(ota_trust_root_verify(root, env.data, env.len, NULL, 0, NOW, 6, NULL), OTA_STATUS_NULL_ARGUMENT);
    EXPECT(ota_digest_verifier_new(10, NULL, &dv), OTA_STATUS_NULL_ARGUMENT);
    EXPECT(ota_digest_verifier_update(NULL, image.data, 1), OTA_STATUS_NULL_ARGUMENT);
    EXPECT(ota_sha256(image.data, 1, NULL), OTA_STATUS_NULL_ARGUMENT);
    ota_trust_root_free(NULL);
    ota_digest_verifier_free(NULL);
    ota_chunk_verifier_free(NULL);

    ota_manifest_free(m);
    ota_trust_root_free(root);
    free(table);
    free(root_v1.data);
    free(root_v2.data);
    free(env.data);
    free(lone.data);
    free(stranger.data);
    free(cbor.data);
    free(image.data);
    return finish();
}
