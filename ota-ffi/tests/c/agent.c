/* A device agent, end to end: load the trust root it ships with, verify a signed manifest,
 * run the install decision for its state, fetch and check each download, apply the firmware
 * delta from files through the callbacks with a simulated link drop and a resume from the
 * persisted cursor, and check the new slot's digest (whole, then chunk by chunk with a resume).
 * Usage: agent FIXTURE_DIR (files from examples/make_fixtures.rs; writes slot-b.bin and
 * cursor.bin there). */
#define _POSIX_C_SOURCE 200809L
#include "common.h"

#include <unistd.h>

#define NOW 1700000000u

/* ---- callbacks over files ---- */

static int source_read_at(void *ctx, uint64_t offset, uint8_t *buf, size_t len) {
    FILE *f = ctx;
    if (fseek(f, (long)offset, SEEK_SET) != 0) {
        return -1;
    }
    return fread(buf, 1, len, f) == len ? 0 : -1;
}

/* The download: a file, and a link that drops once `budget` bytes have been delivered. */
typedef struct {
    FILE *f;
    long budget; /* < 0: unlimited */
    long delivered;
} link_t;

static int patch_read(void *ctx, uint8_t *buf, size_t cap, size_t *got) {
    link_t *l = ctx;
    if (l->budget >= 0 && l->delivered >= l->budget) {
        return -1; /* connection reset */
    }
    if (l->budget >= 0 && (long)cap > l->budget - l->delivered) {
        cap = (size_t)(l->budget - l->delivered);
    }
    size_t n = fread(buf, 1, cap, l->f);
    if (n == 0 && ferror(l->f)) {
        return -1;
    }
    l->delivered += (long)n;
    *got = n;
    return 0;
}

static int target_write(void *ctx, const uint8_t *buf, size_t len) {
    return fwrite(buf, 1, len, ctx) == len ? 0 : -1;
}

static int save_cursor(const char *path, const uint8_t cursor[OTA_DELTA_CURSOR_LEN]) {
    FILE *f = fopen(path, "wb");
    if (!f) {
        return -1;
    }
    size_t n = fwrite(cursor, 1, OTA_DELTA_CURSOR_LEN, f);
    return (fclose(f) == 0 && n == OTA_DELTA_CURSOR_LEN) ? 0 : -1;
}

/* Applies the patch from dir/patch.otad onto dir/old.bin into `slot_path`. The link drops after
 * `frames_before_drop` frames; the agent resumes from the cursor it persisted. */
static int apply_firmware_delta(const char *dir, const char *slot_path, unsigned frames_before_drop) {
    char path[4096], cursor_path[4096];
    snprintf(cursor_path, sizeof cursor_path, "%s/cursor.bin", dir);
    snprintf(path, sizeof path, "%s/old.bin", dir);
    FILE *old = fopen(path, "rb");
    snprintf(path, sizeof path, "%s/patch.otad", dir);
    FILE *patch = fopen(path, "rb");
    FILE *slot = fopen(slot_path, "wb");
    if (!old || !patch || !slot) {
        return -1;
    }
    fseek(old, 0, SEEK_END);
    ota_delta_source source = {source_read_at, old, (uint64_t)ftell(old)};
    link_t link = {patch, -1, 0};
    ota_delta_patch patch_cb = {patch_read, &link};

    ota_delta_apply *job = NULL;
    EXPECT(ota_delta_apply_new(&source, &patch_cb, true, &job), OTA_STATUS_OK);
    ota_delta_info info;
    EXPECT(ota_delta_apply_info(job, &info), OTA_STATUS_OK);
    printf("patch frames %u target %llu\n", info.frame_count, (unsigned long long)info.target_size);
    uint8_t cursor[OTA_DELTA_CURSOR_LEN];
    bool done = false;
    unsigned applied = 0;
    ota_status st = OTA_STATUS_OK;
    while (!done) {
        if (applied == frames_before_drop) {
            link.budget = link.delivered + 1000; /* the link drops 1000 bytes into the frame */
        }
        st = ota_delta_apply_next_frame(job, target_write, slot, cursor, sizeof cursor, &done);
        if (st != OTA_STATUS_OK) {
            break;
        }
        applied++;
        fflush(slot);
        /* Persist the cursor only once the frame's bytes are durable. */
        CHECK(save_cursor(cursor_path, cursor) == 0);
    }
    printf("interrupted after frame %u: %s\n", applied, ota_status_message(st));
    /* After a failure the handle writes nothing more. */
    EXPECT(ota_delta_apply_next_frame(job, target_write, slot, cursor, sizeof cursor, &done),
           OTA_STATUS_INVALID_STATE);
    ota_delta_apply_free(job);
    fclose(slot);

    /* "Reboot": read the persisted cursor, cut the slot back to it, reopen the link. */
    bytes saved = read_fixture(dir, "cursor.bin");
    ota_delta_cursor_info at;
    EXPECT(ota_delta_cursor_parse(saved.data, saved.len, &at), OTA_STATUS_OK);
    printf("resume at frame %u target_offset %llu\n", at.frame_index,
           (unsigned long long)at.target_offset);
    CHECK(truncate(slot_path, (off_t)at.target_offset) == 0);
    /* The link comes back: the header, then only the bytes from the cursor's patch offset on
     * (a range request). The slot is read back so that bytes changed in flash since they were
     * written are refused instead of being covered by the final digest. */
    uint8_t header[OTA_DELTA_HEADER_LEN];
    rewind(patch);
    CHECK(fread(header, 1, sizeof header, patch) == sizeof header);
    CHECK(fseek(patch, (long)at.patch_offset, SEEK_SET) == 0);
    link.budget = -1;
    link.delivered = 0;
    FILE *back = fopen(slot_path, "rb");
    CHECK(back != NULL);
    link_t back_link = {back, -1, 0};
    ota_delta_patch stored = {patch_read, &back_link};
    EXPECT(ota_delta_resume(&source, header, sizeof header, &patch_cb, saved.data, saved.len, &stored, true, &job),
           OTA_STATUS_OK);
    fclose(back);
    printf("resume re-read %ld stored bytes, fetched from patch offset %llu\n", back_link.delivered,
           (unsigned long long)at.patch_offset);
    slot = fopen(slot_path, "ab");
    done = false;
    unsigned resumed = 0;
    while (!done && job) {
        st = ota_delta_apply_next_frame(job, target_write, slot, cursor, sizeof cursor, &done);
        if (st != OTA_STATUS_OK) {
            fprintf(stderr, "resume failed: %s\n", ota_status_message(st));
            failures++;
            break;
        }
        resumed++;
    }
    printf("resumed frames %u done %d\n", resumed, done ? 1 : 0);
    ota_delta_apply_free(job);
    free(saved.data);
    fclose(slot);
    fclose(patch);
    fclose(old);
    return st == OTA_STATUS_OK ? 0 : -1;
}

/* Streams a file through the digest verifier. */
static ota_status check_digest(const char *path, uint64_t size, const uint8_t sha256[32]) {
    ota_digest_verifier *v = NULL;
    ota_status st = ota_digest_verifier_new(size, sha256, &v);
    FILE *f = fopen(path, "rb");
    uint8_t buf[4096];
    size_t n;
    while (st == OTA_STATUS_OK && f && (n = fread(buf, 1, sizeof buf, f)) > 0) {
        st = ota_digest_verifier_update(v, buf, n);
    }
    if (st == OTA_STATUS_OK) {
        st = ota_digest_verifier_finish(v);
    }
    if (f) {
        fclose(f);
    }
    ota_digest_verifier_free(v);
    return st;
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: agent FIXTURE_DIR\n");
        return 2;
    }
    const char *dir = argv[1];

    /* 1. The trust root shipped with the device. */
    bytes root_bytes = read_fixture(dir, "root.cose");
    ota_trust_root *root = NULL;
    EXPECT(ota_trust_root_new(root_bytes.data, root_bytes.len, &root), OTA_STATUS_OK);

    /* 2. The signed manifest: threshold, expiry, anti-rollback (last accepted: 6). */
    bytes envelope = read_fixture(dir, "manifest.cose");
    ota_verified verified;
    EXPECT(ota_trust_root_verify(root, envelope.data, envelope.len, NULL, 0, NOW, 6, &verified),
           OTA_STATUS_OK);
    printf("verified sequence %llu signers %u\n", (unsigned long long)verified.sequence,
           (unsigned)verified.signers);
    CHECK(!verified.payload_detached);
    ota_manifest *manifest = NULL;
    EXPECT(ota_manifest_new_from_cbor(envelope.data + verified.payload_offset, verified.payload_len,
                                      &manifest),
           OTA_STATUS_OK);
    ota_manifest_info minfo;
    EXPECT(ota_manifest_get_info(manifest, &minfo), OTA_STATUS_OK);
    CHECK(minfo.sequence == verified.sequence);

    /* 3. The device's state and the install decision. */
    bytes old = read_fixture(dir, "old.bin");
    ota_installed installed[2] = {{"firmware", "1.0.0", {0}}, {"app", "1.0.0", {0}}};
    EXPECT(ota_sha256(old.data, old.len, installed[0].sha256), OTA_STATUS_OK);
    EXPECT(ota_sha256((const uint8_t *)"app 1.0.0", 9, installed[1].sha256), OTA_STATUS_OK);
    ota_device_state state = {
        .vendor = (const uint8_t *)"acme", .vendor_len = 4,
        .device_class = (const uint8_t *)"gw-200", .device_class_len = 6,
        .hardware = "2.1.0",
        .installed = installed, .installed_count = 2,
        .security_counter = 2,
        .has_last_sequence = true, .last_sequence = 6,
        .now = NOW,
        .active_slot = OTA_SLOT_A,
    };
    ota_plan *plan = NULL;
    EXPECT(ota_manifest_plan(manifest, &state, &plan), OTA_STATUS_OK);
    ota_plan_info pinfo;
    EXPECT(ota_plan_get_info(plan, &pinfo), OTA_STATUS_OK);
    printf("plan steps %zu download %llu reboot %d\n", pinfo.step_count,
           (unsigned long long)pinfo.download_bytes, pinfo.reboot_required ? 1 : 0);

    /* 4. Each step. */
    bytes patch = read_fixture(dir, "patch.otad");
    for (size_t i = 0; i < pinfo.step_count; i++) {
        ota_plan_step step;
        EXPECT(ota_plan_get_step(manifest, plan, i, &step), OTA_STATUS_OK);
        char id[64];
        size_t id_len = 0;
        EXPECT(ota_manifest_component_id(manifest, step.component_index, id, sizeof id, &id_len),
               OTA_STATUS_OK);
        ota_component_info comp;
        EXPECT(ota_manifest_component_info(manifest, step.component_index, &comp), OTA_STATUS_OK);
        const char *action = step.action == OTA_ACTION_DELTA  ? "delta"
                             : step.action == OTA_ACTION_FULL ? "full"
                                                              : "skip";
        printf("step %zu %s %s size %llu slot %s reboot %d\n", i, id, action,
               (unsigned long long)step.download_size,
               step.has_slot ? (step.slot == OTA_SLOT_B ? "B" : "A") : "-", step.reboot ? 1 : 0);
        if (step.action == OTA_ACTION_DELTA) {
            /* The download is checked against the signed patch size and digest. */
            char patch_path[4096], slot_path[4096];
            snprintf(patch_path, sizeof patch_path, "%s/patch.otad", dir);
            EXPECT(check_digest(patch_path, step.download_size, step.download_sha256), OTA_STATUS_OK);
            CHECK(memcmp(step.delta_from_sha256, installed[0].sha256, 32) == 0);
            snprintf(slot_path, sizeof slot_path, "%s/slot-b.bin", dir);
            CHECK(apply_firmware_delta(dir, slot_path, 2) == 0);
            EXPECT(check_digest(slot_path, comp.size, comp.sha256), OTA_STATUS_OK);
            printf("%s digest ok\n", id);

            /* The same slot, checked chunk by chunk, with a power cut after chunk 3. */
            uint8_t *table = malloc(comp.chunk_count * 32);
            size_t table_len = 0;
            EXPECT(ota_manifest_component_chunk_table(manifest, step.component_index, table,
                                                      comp.chunk_count * 32, &table_len),
                   OTA_STATUS_OK);
            bytes image = read_fixture(dir, "slot-b.bin");
            ota_chunk_verifier *cv = NULL;
            EXPECT(ota_chunk_verifier_new(comp.size, comp.chunk_size, table, table_len, &cv),
                   OTA_STATUS_OK);
            uint64_t next = 0;
            for (int k = 0; k < 3; k++) {
                EXPECT(ota_chunk_verifier_verify_chunk(cv, image.data + next * comp.chunk_size,
                                                       comp.chunk_size),
                       OTA_STATUS_OK);
                EXPECT(ota_chunk_verifier_next_chunk(cv, &next), OTA_STATUS_OK);
            }
            ota_chunk_verifier_free(cv);
            cv = NULL;
            EXPECT(ota_chunk_verifier_resume(comp.size, comp.chunk_size, table, table_len, next, &cv),
                   OTA_STATUS_OK);
            bool complete = false;
            while (!complete) {
                uint64_t off = next * comp.chunk_size;
                size_t n = (size_t)(comp.size - off < comp.chunk_size ? comp.size - off : comp.chunk_size);
                ota_status st = ota_chunk_verifier_verify_chunk(cv, image.data + off, n);
                EXPECT(st, OTA_STATUS_OK);
                if (st != OTA_STATUS_OK) {
                    break;
                }
                EXPECT(ota_chunk_verifier_next_chunk(cv, &next), OTA_STATUS_OK);
                EXPECT(ota_chunk_verifier_is_complete(cv, &complete), OTA_STATUS_OK);
            }
            printf("%s chunks ok (%llu of %zu, resumed at 3)\n", id, (unsigned long long)next,
                   comp.chunk_count);
            ota_chunk_verifier_free(cv);
            free(image.data);
            free(table);
        } else if (step.action == OTA_ACTION_FULL) {
            char path[4096];
            snprintf(path, sizeof path, "%s/%s.bin", dir, id);
            EXPECT(check_digest(path, step.download_size, step.download_sha256), OTA_STATUS_OK);
            printf("%s digest ok\n", id);
        }
    }
    /* 5. Done: the device records the sequence so the same release is a replay from now on. */
    EXPECT(ota_trust_root_verify(root, envelope.data, envelope.len, NULL, 0, NOW, pinfo.sequence,
                                 &verified),
           OTA_STATUS_VERIFY_ROLLBACK);
    printf("sequence %llu recorded\n", (unsigned long long)pinfo.sequence);

    ota_plan_free(plan);
    ota_manifest_free(manifest);
    ota_trust_root_free(root);
    free(patch.data);
    free(old.data);
    free(envelope.data);
    free(root_bytes.data);
    return finish();
}
