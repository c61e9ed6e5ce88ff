/* Delta apply through callbacks over memory: header info, a full apply checked against the new
 * image, a resume from every frame's cursor (header + the patch after the cursor only), a stored
 * target changed before the resume, failing callbacks, hostile patches and cursors, NULL
 * handling. Usage: delta FIXTURE_DIR */
#include "common.h"

typedef struct {
    const uint8_t *data;
    size_t len;
    size_t pos;
    long fail_at_call; /* < 0: never */
    long calls;
} reader_t;

typedef struct {
    uint8_t *data;
    size_t len, cap;
    long fail_at_call;
    long calls;
} writer_t;

static int read_at(void *ctx, uint64_t offset, uint8_t *buf, size_t len) {
    const bytes *src = ctx;
    if (offset > src->len || len > src->len - offset) {
        return -1;
    }
    memcpy(buf, src->data + offset, len);
    return 0;
}

static int read_patch(void *ctx, uint8_t *buf, size_t cap, size_t *got) {
    reader_t *r = ctx;
    if (r->fail_at_call >= 0 && r->calls++ >= r->fail_at_call) {
        return 5;
    }
    size_t n = r->len - r->pos < cap ? r->len - r->pos : cap;
    memcpy(buf, r->data + r->pos, n);
    r->pos += n;
    *got = n;
    return 0;
}

static int write_target(void *ctx, const uint8_t *buf, size_t len) {
    writer_t *w = ctx;
    if (w->fail_at_call >= 0 && w->calls++ >= w->fail_at_call) {
        return 1;
    }
    if (w->len + len > w->cap) {
        return -1;
    }
    memcpy(w->data + w->len, buf, len);
    w->len += len;
    return 0;
}

/* Runs frames until done or an error; returns the status, the frames applied in *frames. */
static ota_status run(ota_delta_apply *job, writer_t *w, uint8_t cursor[64], unsigned *frames) {
    bool done = false;
    *frames = 0;
    while (!done) {
        ota_status st = ota_delta_apply_next_frame(job, write_target, w, cursor, 64, &done);
        if (st != OTA_STATUS_OK) {
            return st;
        }
        (*frames)++;
    }
    return OTA_STATUS_OK;
}

/* Opens and runs a whole apply; returns the first failing status. */
static ota_status apply_all(const bytes *src, const uint8_t *patch, size_t patch_len, writer_t *w) {
    ota_delta_source s = {read_at, (void *)src, src->len};
    reader_t r = {patch, patch_len, 0, -1, 0};
    ota_delta_patch p = {read_patch, &r};
    ota_delta_apply *job = NULL;
    ota_status st = ota_delta_apply_new(&s, &p, true, &job);
    if (st != OTA_STATUS_OK) {
        CHECK(job == NULL);
        return st;
    }
    uint8_t cursor[64];
    unsigned frames;
    st = run(job, w, cursor, &frames);
    ota_delta_apply_free(job);
    return st;
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: delta FIXTURE_DIR\n");
        return 2;
    }
    bytes old = read_fixture(argv[1], "old.bin");
    bytes new_ = read_fixture(argv[1], "new.bin");
    bytes patch = read_fixture(argv[1], "patch.otad");
    writer_t w = {malloc(new_.len + 65536), 0, new_.len + 65536, -1, 0};

    ota_delta_info info;
    EXPECT(ota_delta_read_header(patch.data, patch.len, &info), OTA_STATUS_OK);
    printf("header mode %u codec %u frames %u frame_size %u source %llu target %llu\n", info.mode,
           info.codec, info.frame_count, info.frame_size, (unsigned long long)info.source_size,
           (unsigned long long)info.target_size);
    uint8_t digest[32];
    EXPECT(ota_sha256(old.data, old.len, digest), OTA_STATUS_OK);
    CHECK(memcmp(digest, info.source_sha256, 32) == 0);
    EXPECT(ota_sha256(new_.data, new_.len, digest), OTA_STATUS_OK);
    CHECK(memcmp(digest, info.target_sha256, 32) == 0);
    EXPECT(ota_delta_read_header(patch.data, OTA_DELTA_HEADER_LEN - 1, &info), OTA_STATUS_DELTA_TRUNCATED);

    /* The whole apply reproduces the new image. */
    EXPECT(apply_all(&old, patch.data, patch.len, &w), OTA_STATUS_OK);
    CHECK(w.len == new_.len && memcmp(w.data, new_.data, new_.len) == 0);
    printf("apply ok %zu bytes\n", w.len);

    /* Resume from the cursor after every frame: the same image each time. */
    ota_delta_source s = {read_at, &old, old.len};
    unsigned resumes_ok = 0;
    for (unsigned k = 1; k <= info.frame_count; k++) {
        reader_t r = {patch.data, patch.len, 0, -1, 0};
        ota_delta_patch p = {read_patch, &r};
        ota_delta_apply *job = NULL;
        EXPECT(ota_delta_apply_new(&s, &p, false, &job), OTA_STATUS_OK);
        w.len = 0;
        uint8_t cursor[64];
        bool done = false;
        for (unsigned i = 0; i < k; i++) {
            EXPECT(ota_delta_apply_next_frame(job, write_target, &w, cursor, sizeof cursor, &done), OTA_STATUS_OK);
        }
        CHECK(done == (k == info.frame_count));
        ota_delta_apply_free(job);
        ota_delta_cursor_info ci;
        EXPECT(ota_delta_cursor_parse(cursor, sizeof cursor, &ci), OTA_STATUS_OK);
        CHECK(ci.frame_index == k && ci.target_offset == w.len);
        /* Only the patch from the cursor on is sent again; the stored target is read back. */
        reader_t r2 = {patch.data + ci.patch_offset, patch.len - ci.patch_offset, 0, -1, 0};
        ota_delta_patch p2 = {read_patch, &r2};
        reader_t back = {w.data, w.len, 0, -1, 0};
        ota_delta_patch stored = {read_patch, &back};
        job = NULL;
        EXPECT(ota_delta_resume(&s, patch.data, OTA_DELTA_HEADER_LEN, &p2, cursor, sizeof cursor, &stored,
                                false, &job),
               OTA_STATUS_OK);
        unsigned frames = 0;
        EXPECT(run(job, &w, cursor, &frames), OTA_STATUS_OK);
        ota_delta_apply_free(job);
        if (w.len == new_.len && memcmp(w.data, new_.data, new_.len) == 0 && frames == info.frame_count - k) {
            resumes_ok++;
        } else if (k == info.frame_count && frames == 1 && w.len == new_.len) {
            resumes_ok++; /* resuming a finished apply: one call that reports done */
        }
    }
    printf("resume after every frame ok %u of %u\n", resumes_ok, info.frame_count);

    /* Issue 15: a stored byte flipped between the interruption and the resume is refused, not
     * called verified (before the fix the resume re-used the cursor's hash of what was written). */
    {
        reader_t r = {patch.data, patch.len, 0, -1, 0};
        ota_delta_patch p = {read_patch, &r};
        ota_delta_apply *job = NULL;
        EXPECT(ota_delta_apply_new(&s, &p, false, &job), OTA_STATUS_OK);
        w.len = 0;
        uint8_t cursor[64];
        bool done = false;
        EXPECT(ota_delta_apply_next_frame(job, write_target, &w, cursor, sizeof cursor, &done), OTA_STATUS_OK);
        ota_delta_apply_free(job);
        ota_delta_cursor_info ci;
        EXPECT(ota_delta_cursor_parse(cursor, sizeof cursor, &ci), OTA_STATUS_OK);
        w.data[1000 % w.len] ^= 0x01;
        reader_t r2 = {patch.data + ci.patch_offset, patch.len - ci.patch_offset, 0, -1, 0};
        ota_delta_patch p2 = {read_patch, &r2};
        reader_t back = {w.data, w.len, 0, -1, 0};
        ota_delta_patch stored = {read_patch, &back};
        job = NULL;
        EXPECT(ota_delta_resume(&s, patch.data, patch.len, &p2, cursor, sizeof cursor, &stored, false, &job),
               OTA_STATUS_DELTA_TARGET_MISMATCH);
        CHECK(job == NULL);
        /* Fewer stored bytes than the cursor vouches for. */
        w.data[1000 % w.len] ^= 0x01;
        reader_t short_back = {w.data, w.len - 1, 0, -1, 0};
        ota_delta_patch short_stored = {read_patch, &short_back};
        r2.pos = 0;
        EXPECT(ota_delta_resume(&s, patch.data, patch.len, &p2, cursor, sizeof cursor, &short_stored, false,
                                &job),
               OTA_STATUS_DELTA_TARGET_MISMATCH);
        /* A failing read-back callback, a short header. */
        reader_t fail_back = {w.data, w.len, 0, 0, 0};
        ota_delta_patch fail_stored = {read_patch, &fail_back};
        EXPECT(ota_delta_resume(&s, patch.data, patch.len, &p2, cursor, sizeof cursor, &fail_stored, false,
                                &job),
               OTA_STATUS_CALLBACK_FAILED);
        reader_t ok_back = {w.data, w.len, 0, -1, 0};
        ota_delta_patch ok_stored = {read_patch, &ok_back};
        EXPECT(ota_delta_resume(&s, patch.data, OTA_DELTA_HEADER_LEN - 1, &p2, cursor, sizeof cursor, &ok_stored,
                                false, &job),
               OTA_STATUS_DELTA_TRUNCATED);
        CHECK(job == NULL);
        printf("resume with a changed stored target refused\n");
    }

    /* A failing write callback: CALLBACK_FAILED, then nothing more is written. */
    {
        reader_t r = {patch.data, patch.len, 0, -1, 0};
        ota_delta_patch p = {read_patch, &r};
        ota_delta_apply *job = NULL;
        EXPECT(ota_delta_apply_new(&s, &p, false, &job), OTA_STATUS_OK);
        writer_t fw = {w.data, 0, w.cap, 2, 0};
        uint8_t cursor[64];
        unsigned frames = 0;
        EXPECT(run(job, &fw, cursor, &frames), OTA_STATUS_CALLBACK_FAILED);
        size_t written = fw.len;
        long calls = fw.calls;
        bool done = false;
        EXPECT(ota_delta_apply_next_frame(job, write_target, &fw, cursor, sizeof cursor, &done),
               OTA_STATUS_INVALID_STATE);
        CHECK(fw.len == written && fw.calls == calls);
        printf("write callback failed after %u frames, %zu bytes written\n", frames, written);
        ota_delta_apply_free(job);
    }
    /* A failing patch read in the header, and a failing source read. */
    {
        reader_t r = {patch.data, patch.len, 0, 0, 0};
        ota_delta_patch p = {read_patch, &r};
        ota_delta_apply *job = NULL;
        EXPECT(ota_delta_apply_new(&s, &p, false, &job), OTA_STATUS_CALLBACK_FAILED);
        CHECK(job == NULL);
        bytes short_src = {old.data, old.len - 1};
        ota_delta_source bad = {read_at, &short_src, old.len}; /* claims more than it has */
        reader_t r2 = {patch.data, patch.len, 0, -1, 0};
        ota_delta_patch p2 = {read_patch, &r2};
        EXPECT(ota_delta_apply_new(&bad, &p2, true, &job), OTA_STATUS_CALLBACK_FAILED);
    }

    /* Hostile input. */
    w.len = 0;
    uint8_t *copy = malloc(patch.len);
    memcpy(copy, patch.data, patch.len);
    copy[0] ^= 0xFF;
    EXPECT(apply_all(&old, copy, patch.len, &w), OTA_STATUS_DELTA_BAD_MAGIC);
    memcpy(copy, patch.data, patch.len);
    copy[40] ^= 0x01; /* inside the header: its check value catches it */
    EXPECT(apply_all(&old, copy, patch.len, &w), OTA_STATUS_DELTA_CORRUPT);
    w.len = 0;
    EXPECT(apply_all(&old, patch.data, patch.len - 100, &w), OTA_STATUS_DELTA_TRUNCATED);
    unsigned bad_frames = 0;
    for (size_t off = OTA_DELTA_HEADER_LEN; off < patch.len; off += 2999) {
        memcpy(copy, patch.data, patch.len);
        copy[off] ^= 0x20;
        w.len = 0;
        ota_status st = apply_all(&old, copy, patch.len, &w);
        CHECK(st == OTA_STATUS_DELTA_CORRUPT || st == OTA_STATUS_DELTA_TARGET_MISMATCH ||
              st == OTA_STATUS_DELTA_TRUNCATED || st == OTA_STATUS_DELTA_LIMIT_EXCEEDED);
        CHECK(w.len <= new_.len);
        bad_frames += st != OTA_STATUS_OK;
    }
    printf("bit flips in frames refused %u\n", bad_frames);
    bytes wrong_src = {malloc(old.len), old.len};
    memcpy(wrong_src.data, old.data, old.len);
    wrong_src.data[100] ^= 1;
    EXPECT(apply_all(&wrong_src, patch.data, patch.len, &w), OTA_STATUS_DELTA_SOURCE_MISMATCH);
    bytes short_src = {old.data, old.len - 1};
    EXPECT(apply_all(&short_src, patch.data, patch.len, &w), OTA_STATUS_DELTA_SOURCE_MISMATCH);

    /* Cursors: corrupt, wrong length, from another patch state. */
    {
        uint8_t cursor[64];
        reader_t r = {patch.data, patch.len, 0, -1, 0};
        ota_delta_patch p = {read_patch, &r};
        ota_delta_apply *job = NULL;
        EXPECT(ota_delta_apply_new(&s, &p, false, &job), OTA_STATUS_OK);
        bool done = false;
        w.len = 0;
        uint8_t small[10];
        EXPECT(ota_delta_apply_next_frame(job, write_target, &w, small, sizeof small, &done),
               OTA_STATUS_BUFFER_TOO_SMALL);
        CHECK(w.len == 0);
        EXPECT(ota_delta_apply_next_frame(job, NULL, &w, cursor, sizeof cursor, &done), OTA_STATUS_NULL_ARGUMENT);
        EXPECT(ota_delta_apply_next_frame(job, write_target, &w, cursor, sizeof cursor, &done), OTA_STATUS_OK);
        ota_delta_apply_free(job);
        cursor[20] ^= 1;
        EXPECT(ota_delta_cursor_parse(cursor, sizeof cursor, &(ota_delta_cursor_info){0}), OTA_STATUS_DELTA_BAD_CURSOR);
        reader_t r2 = {patch.data, patch.len, 0, -1, 0};
        ota_delta_patch p2 = {read_patch, &r2};
        reader_t back = {w.data, w.len, 0, -1, 0};
        ota_delta_patch stored = {read_patch, &back};
        job = NULL;
        EXPECT(ota_delta_resume(&s, patch.data, patch.len, &p2, cursor, sizeof cursor, &stored, false, &job),
               OTA_STATUS_DELTA_BAD_CURSOR);
        EXPECT(ota_delta_resume(&s, patch.data, patch.len, &p2, cursor, 63, &stored, false, &job),
               OTA_STATUS_INVALID_ARGUMENT);
        EXPECT(ota_delta_resume(&s, patch.data, patch.len, &p2, NULL, 64, &stored, false, &job),
               OTA_STATUS_NULL_ARGUMENT);
        EXPECT(ota_delta_resume(&s, NULL, 0, &p2, cursor, 64, &stored, false, &job), OTA_STATUS_NULL_ARGUMENT);
        EXPECT(ota_delta_resume(&s, patch.data, patch.len, &p2, cursor, 64, NULL, false, &job),
               OTA_STATUS_NULL_ARGUMENT);
        CHECK(job == NULL);
    }

    /* NULL handling. */
    {
        reader_t r = {patch.data, patch.len, 0, -1, 0};
        ota_delta_patch p = {read_patch, &r};
        ota_delta_patch no_read = {NULL, &r};
        ota_delta_source no_src = {NULL, &old, old.len};
        ota_delta_apply *job = NULL;
        EXPECT(ota_delta_apply_new(NULL, &p, false, &job), OTA_STATUS_NULL_ARGUMENT);
        EXPECT(ota_delta_apply_new(&s, &no_read, false, &job), OTA_STATUS_NULL_ARGUMENT);
        EXPECT(ota_delta_apply_new(&no_src, &p, false, &job), OTA_STATUS_NULL_ARGUMENT);
        EXPECT(ota_delta_apply_new(&s, &p, false, NULL), OTA_STATUS_NULL_ARGUMENT);
        bool done;
        uint8_t cursor[64];
        EXPECT(ota_delta_apply_next_frame(NULL, write_target, &w, cursor, 64, &done), OTA_STATUS_NULL_ARGUMENT);
        EXPECT(ota_delta_read_header(NULL, 200, &info), OTA_STATUS_NULL_ARGUMENT);
        ota_delta_apply_free(NULL);
    }

    free(copy);
    free(wrong_src.data);
    free(w.data);
    free(old.data);
    free(new_.data);
    free(patch.data);
    return finish();
}
