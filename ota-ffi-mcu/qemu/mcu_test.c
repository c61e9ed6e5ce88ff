/* The Cortex-M proof of ota-ffi-mcu, run under qemu-system-arm (MPS2-AN386, Cortex-M4F) by
 * .ci/steps/mcu.sh: load the trust root, verify the signed release manifest (and refuse a tampered,
 * a replayed and an expired one), then a system reset in the middle of the update after which only
 * the persisted state (.noinit) survives, and the check of the result. Prints its figures: peak
 * stack of each step (stack painting) and instructions (SysTick under -icount shift=0). */
#include "board.h"
#include "fixtures.h"
#include "ota_mcu.h"

#define MAGIC 0x4f544131u

/* What survives a reset (in .noinit, neither zeroed by the startup code nor reloaded by QEMU):
 * the update's progress as the device would persist it, and the figures measured so far. */
struct persisted {
    uint32_t magic;
    uint32_t phase;
    uint32_t resets;
    uint64_t sequence_accepted;
    uint32_t stack_load, stack_verify, stack_decide;
    uint64_t insn_load, insn_verify, insn_decide;
    /* Where the verified manifest lies in the envelope (the envelope stays in flash). */
    uint32_t manifest_offset, manifest_len;
    ota_mcu_step step;
    /* The delta apply: the last cursor persisted, and how many frames persisted one. */
    uint8_t cursor[OTA_MCU_CURSOR_LEN];
    uint32_t frames_persisted;
    uint32_t stack_apply;
    uint64_t insn_apply, insn_resume, resumed_bytes;
};
__attribute__((section(".noinit"))) static struct persisted nv;
/* The inactive slot ("flash"): written by the apply, survives the reset. */
__attribute__((section(".noinit"), aligned(8))) static uint8_t slot[FX_NEW_LEN];

/* The apply's working memory, static so that it counts as static RAM. */
static uint8_t frame_buf[OTA_MCU_FRAME_BUF_LEN];
static uint8_t work_buf[512];
static uint8_t input_buf[256];
/* The power cut comes in the middle of a frame: after CUT_AFTER_FRAMES cursors were persisted
 * and a few target writes into the next frame. */
#define CUT_AFTER_FRAMES 4u
static uint32_t writes_since_cursor;

static int failures;
static uint32_t insn_per_tick_x1000; /* calibrated: instructions per SysTick tick, times 1000 */

static void check(int ok, const char *what) {
    sh_puts(ok ? "ok   " : "FAIL ");
    sh_puts(what);
    sh_puts("\n");
    if (!ok) failures++;
}

static void check_status(ota_mcu_status got, ota_mcu_status want, const char *what) {
    check(got == want, what);
    if (got != want) {
        sh_puts("     got ");
        sh_put_u32((uint32_t)got);
        sh_puts(": ");
        sh_puts(ota_mcu_status_message((uint32_t)got));
        sh_puts("\n");
    }
}

/* A loop of a known instruction count against SysTick: under -icount shift=0 QEMU's virtual
 * clock advances 1 ns per instruction, and SysTick runs from the 25 MHz CPU clock. */
static void calibrate(void) {
    board_counter_start();
    uint64_t t0 = board_counter_ticks();
    uint32_t n = 4000000; /* 2 instructions per iteration: subs, bne */
    __asm volatile("1: subs %0, %0, #1\n bne 1b" : "+r"(n)::"cc");
    uint64_t ticks = board_counter_ticks() - t0;
    insn_per_tick_x1000 = ticks ? (uint32_t)(8000000ull * 1000u / ticks) : 0;
}

static uint64_t insn_since(uint64_t t0) {
    return (board_counter_ticks() - t0) * insn_per_tick_x1000 / 1000u;
}

static void put_figure(const char *name, uint64_t value, const char *unit) {
    sh_puts(name);
    sh_puts(" ");
    sh_put_u32((uint32_t)value);
    sh_puts(unit);
    sh_puts("\n");
}

/* The trust root lives on this function's stack: its size counts in the RAM figures below. */
static void verify_release(void) {
    ota_mcu_trust_root root;
    ota_mcu_verified v;
    uintptr_t sp = board_sp();
    board_stack_paint(sp);
    uint64_t t0 = board_counter_ticks();
    ota_mcu_status st = ota_mcu_trust_root_load(fx_root, fx_root_len, &root);
    nv.insn_load = insn_since(t0);
    nv.stack_load = board_stack_peak(sp);
    check_status(st, OTA_MCU_STATUS_OK, "trust root loads (2 of 3 root keys signed it)");

    board_stack_paint(sp);
    t0 = board_counter_ticks();
    st = ota_mcu_trust_root_verify(&root, fx_envelope, fx_envelope_len, NULL, 0, FX_NOW,
                                   FX_LAST_SEQUENCE, &v);
    nv.insn_verify = insn_since(t0);
    nv.stack_verify = board_stack_peak(sp);
    check_status(st, OTA_MCU_STATUS_OK, "release envelope verifies (2 of 2 release keys)");
    check(st == OTA_MCU_STATUS_OK && v.sequence == FX_SEQUENCE && v.signers == 2 &&
              !v.payload_detached && v.payload_len == FX_MANIFEST_LEN &&
              v.payload_offset + v.payload_len <= fx_envelope_len,
          "verified: sequence, signers, payload inside the envelope");
    if (st == OTA_MCU_STATUS_OK) {
        nv.sequence_accepted = v.sequence;
        nv.manifest_offset = (uint32_t)v.payload_offset;
        nv.manifest_len = (uint32_t)v.payload_len;
    }

    ota_mcu_verified untouched = {0, 0, 0, false, 0, 0};
    st = ota_mcu_trust_root_verify(&root, fx_envelope_tampered, fx_envelope_tampered_len, NULL,
                                   0, FX_NOW, FX_LAST_SEQUENCE, &untouched);
    check_status(st, OTA_MCU_STATUS_VERIFY_BAD_SIGNATURE, "a flipped signature bit is refused");
    check(untouched.sequence == 0 && untouched.payload_len == 0, "no output on error");
    st = ota_mcu_trust_root_verify(&root, fx_envelope, fx_envelope_len, NULL, 0, FX_NOW,
                                   FX_SEQUENCE, &untouched);
    check_status(st, OTA_MCU_STATUS_VERIFY_ROLLBACK, "a replay (sequence not newer) is refused");
    st = ota_mcu_trust_root_verify(&root, fx_envelope, fx_envelope_len, NULL, 0,
                                   FX_NOW + 365u * 86400u, FX_LAST_SEQUENCE, &untouched);
    check_status(st, OTA_MCU_STATUS_VERIFY_EXPIRED, "an expired release is refused");
    ota_mcu_trust_root blank;
    blank._mark = 0;
    st = ota_mcu_trust_root_verify(&blank, fx_envelope, fx_envelope_len, NULL, 0, FX_NOW,
                                   FX_LAST_SEQUENCE, &untouched);
    check_status(st, OTA_MCU_STATUS_INVALID_STATE, "storage the library did not fill is refused");
}

static int mem_eq(const uint8_t *a, const uint8_t *b, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (a[i] != b[i]) return 0;
    return 1;
}

static size_t c_len(const char *s) {
    size_t n = 0;
    while (s[n]) n++;
    return n;
}

/* The install decision on the verified manifest, read in place in the envelope. */
static void decide_release(void) {
    const uint8_t *m = fx_envelope + nv.manifest_offset;
    size_t len = nv.manifest_len;
    ota_mcu_installed installed = {FX_COMPONENT, FX_OLD_VERSION, {0}};
    for (int i = 0; i < 32; i++) installed.sha256[i] = fx_old_sha256[i];
    ota_mcu_device_state device = {
        (const uint8_t *)FX_VENDOR, c_len(FX_VENDOR), (const uint8_t *)FX_CLASS, c_len(FX_CLASS),
        FX_HARDWARE, &installed, 1, 0, true, FX_LAST_SEQUENCE, FX_NOW};
    ota_mcu_manifest_info info;
    ota_mcu_status st = ota_mcu_manifest_check(m, len, &info);
    check_status(st, OTA_MCU_STATUS_OK, "manifest view: canonical CBOR, consistent");
    check(st == OTA_MCU_STATUS_OK && info.sequence == FX_SEQUENCE && info.component_count == 1,
          "manifest view: sequence and one component");
    ota_mcu_component c;
    st = ota_mcu_manifest_component(m, len, 0, &c);
    check(st == OTA_MCU_STATUS_OK && c.id_len == c_len(FX_COMPONENT) &&
              mem_eq(c.id, (const uint8_t *)FX_COMPONENT, c.id_len) && c.size == FX_NEW_LEN &&
              mem_eq(c.sha256, fx_new_sha256, 32) && c.needs_reboot,
          "component 0: id, size and SHA-256 of the new image, needs a reboot");
    check_status(ota_mcu_manifest_component(m, len, 1, &c), OTA_MCU_STATUS_INDEX_OUT_OF_RANGE,
                 "component 1 is past the end");

    uintptr_t sp = board_sp();
    board_stack_paint(sp);
    uint64_t t0 = board_counter_ticks();
    st = ota_mcu_manifest_decide(m, len, &device);
    nv.insn_decide = insn_since(t0);
    nv.stack_decide = board_stack_peak(sp);
    check_status(st, OTA_MCU_STATUS_OK, "decision: the device may install the release");
    st = ota_mcu_manifest_step(m, len, &device, 0, &nv.step);
    check_status(st, OTA_MCU_STATUS_OK, "step 0 of the install plan");
    check(nv.step.component_index == 0 && nv.step.target_size == FX_NEW_LEN &&
              mem_eq(nv.step.target_sha256, fx_new_sha256, 32) && nv.step.reboot,
          "step 0: the firmware, to the new image");
    ota_mcu_step none;
    check_status(ota_mcu_manifest_step(m, len, &device, 1, &none),
                 OTA_MCU_STATUS_INDEX_OUT_OF_RANGE, "no step 1");

    ota_mcu_device_state other = device;
    other.last_sequence = FX_SEQUENCE;
    check_status(ota_mcu_manifest_decide(m, len, &other), OTA_MCU_STATUS_REFUSED_SEQUENCE,
                 "refused: sequence not newer");
    other = device;
    other.vendor = (const uint8_t *)"emca";
    check_status(ota_mcu_manifest_decide(m, len, &other), OTA_MCU_STATUS_REFUSED_WRONG_VENDOR,
                 "refused: wrong vendor");
    other = device;
    other.hardware = "9.9.9";
    check_status(ota_mcu_manifest_decide(m, len, &other), OTA_MCU_STATUS_REFUSED_WRONG_HARDWARE,
                 "refused: hardware revision");
    other = device;
    other.now = FX_NOW + 365u * 86400u;
    check_status(ota_mcu_manifest_decide(m, len, &other), OTA_MCU_STATUS_REFUSED_EXPIRED,
                 "refused: expired");
    check_status(ota_mcu_manifest_check(m, len - 1, &info), OTA_MCU_STATUS_MANIFEST_MALFORMED,
                 "a truncated manifest is malformed");
}

/* The storage and download callbacks: the source in flash (fixture), the slot in .noinit RAM,
 * the patch in flash (as if downloaded), the cursor persisted in .noinit. */
static int32_t read_source(void *ctx, uint64_t off, uint8_t *buf, size_t len) {
    (void)ctx;
    if (off > fx_old_len || len > fx_old_len - off) return -1;
    for (size_t i = 0; i < len; i++) buf[i] = fx_old[off + i];
    return 0;
}

static int32_t write_target(void *ctx, uint64_t off, const uint8_t *data, size_t len) {
    (void)ctx;
    if (off > FX_NEW_LEN || len > FX_NEW_LEN - off) return -1;
    for (size_t i = 0; i < len; i++) slot[off + i] = data[i];
    if (nv.phase == 0 && nv.frames_persisted >= CUT_AFTER_FRAMES && ++writes_since_cursor == 7) {
        nv.phase = 1;
        sh_puts("---- power cut in the middle of frame ");
        sh_put_u32(nv.frames_persisted);
        sh_puts(" (reset): only .noinit survives\n");
        board_reset(); /* abandons the library's call, as a power cut would */
    }
    return 0;
}

static int32_t read_target(void *ctx, uint64_t off, uint8_t *buf, size_t len) {
    (void)ctx;
    if (off > FX_NEW_LEN || len > FX_NEW_LEN - off) return -1;
    for (size_t i = 0; i < len; i++) buf[i] = slot[off + i];
    return 0;
}

static int32_t read_patch(void *ctx, uint64_t off, uint8_t *buf, size_t cap, size_t *got) {
    (void)ctx;
    size_t n = 0;
    while (n < cap && off + n < fx_patch_len) {
        buf[n] = fx_patch[off + n];
        n++;
    }
    *got = n;
    return 0;
}

static int32_t persist_cursor(void *ctx, const uint8_t *cursor) {
    (void)ctx;
    for (size_t i = 0; i < OTA_MCU_CURSOR_LEN; i++) nv.cursor[i] = cursor[i];
    nv.frames_persisted++;
    writes_since_cursor = 0;
    return 0;
}

static const ota_mcu_delta_buffers bufs = {frame_buf, sizeof frame_buf, work_buf, sizeof work_buf,
                                           input_buf, sizeof input_buf};
static const ota_mcu_delta_io io = {NULL, read_source, write_target, read_target, read_patch,
                                    persist_cursor};

static void start_apply(void) {
    uint8_t digest[32];
    check(nv.step.action == OTA_MCU_ACTION_DELTA && nv.step.download_size == fx_patch_len &&
              ota_mcu_sha256(fx_patch, fx_patch_len, digest) == OTA_MCU_STATUS_OK &&
              mem_eq(digest, nv.step.download_sha256, 32) &&
              mem_eq(nv.step.delta_from_sha256, fx_old_sha256, 32),
          "step 0 is the delta from the installed image; the patch has the manifest's SHA-256");
    nv.frames_persisted = 0;
    ota_mcu_status st = ota_mcu_delta_apply(&bufs, &io, false, NULL);
    /* Not reached: the power cut resets the board inside the call. */
    check_status(st, OTA_MCU_STATUS_OK, "apply returned before the power cut");
}

/* After the reset: a corrupt cursor and a changed slot are refused, then the apply resumes from
 * the persisted cursor, and the slot is checked against the manifest's digest. */
static void resume_apply(void) {
    check(nv.frames_persisted == CUT_AFTER_FRAMES, "the cursor of the last whole frame was persisted");
    uint8_t bad[OTA_MCU_CURSOR_LEN];
    for (size_t i = 0; i < sizeof bad; i++) bad[i] = nv.cursor[i];
    bad[20] ^= 1;
    check_status(ota_mcu_delta_apply(&bufs, &io, false, bad), OTA_MCU_STATUS_DELTA_BAD_CURSOR,
                 "a corrupt cursor is refused");
    slot[100] ^= 0x40;
    check_status(ota_mcu_delta_apply(&bufs, &io, false, nv.cursor),
                 OTA_MCU_STATUS_DELTA_TARGET_MISMATCH,
                 "a slot changed before the cursor is refused");
    slot[100] ^= 0x40;

    uint32_t before = nv.frames_persisted;
    uintptr_t sp = board_sp();
    board_stack_paint(sp);
    uint64_t t0 = board_counter_ticks();
    ota_mcu_status st = ota_mcu_delta_apply(&bufs, &io, false, nv.cursor);
    nv.insn_resume = insn_since(t0);
    check_status(st, OTA_MCU_STATUS_OK, "the apply resumes from the cursor and finishes");
    check(nv.frames_persisted > before, "frames after the cut persisted their cursors");

    ota_mcu_digest_verifier v;
    check(ota_mcu_digest_verifier_new(nv.step.target_size, nv.step.target_sha256, &v) ==
                  OTA_MCU_STATUS_OK &&
              ota_mcu_digest_verifier_update(&v, slot, sizeof slot) == OTA_MCU_STATUS_OK &&
              ota_mcu_digest_verifier_finish(&v) == OTA_MCU_STATUS_OK,
          "the slot has the size and SHA-256 the signed manifest names");
    check(mem_eq(nv.step.target_sha256, fx_new_sha256, 32),
          "and that is the SHA-256 of the real new file");

    /* The same apply once more from the start, uninterrupted, for the figures. */
    for (size_t i = 0; i < sizeof slot; i++) slot[i] = 0;
    board_stack_paint(sp);
    t0 = board_counter_ticks();
    st = ota_mcu_delta_apply(&bufs, &io, false, NULL);
    nv.insn_apply = insn_since(t0);
    nv.stack_apply = board_stack_peak(sp);
    check_status(st, OTA_MCU_STATUS_OK, "a whole apply from the start, uninterrupted");
    uint8_t digest[32];
    check(ota_mcu_sha256(slot, sizeof slot, digest) == OTA_MCU_STATUS_OK &&
              mem_eq(digest, fx_new_sha256, 32),
          "its result has the new file's SHA-256");
}

int main(void) {
    calibrate();
    if (nv.magic != MAGIC) { /* first boot since the image was loaded */
        nv.magic = MAGIC;
        nv.phase = 0;
        nv.resets = 0;
    }
    if (nv.phase == 0) {
        sh_puts("ota-ffi-mcu on an MPS2-AN386 (Cortex-M4F) under QEMU; data: " FX_ORIGIN "\n");
        verify_release();
        if (failures) return 1;
        decide_release();
        if (failures) return 1;
        start_apply();
        return 1;
    }
    nv.resets++;
    check(nv.resets == 1 && nv.sequence_accepted == FX_SEQUENCE,
          "after the reset: the persisted state is there");
    resume_apply();
    check(insn_per_tick_x1000 > 0, "SysTick counts under -icount");
    sh_puts("---- figures\n");
    put_figure("instructions per SysTick tick x1000:", insn_per_tick_x1000, "");
    put_figure("sizeof(ota_mcu_trust_root):", sizeof(ota_mcu_trust_root), " B");
    put_figure("stack peak trust_root_load:", nv.stack_load, " B");
    put_figure("stack peak trust_root_verify:", nv.stack_verify, " B");
    put_figure("stack peak manifest_decide:", nv.stack_decide, " B");
    put_figure("instructions trust_root_load:", nv.insn_load, "");
    put_figure("instructions trust_root_verify:", nv.insn_verify, "");
    put_figure("instructions manifest_decide:", nv.insn_decide, "");
    put_figure("delta apply: patch bytes:", fx_patch_len, "");
    put_figure("delta apply: target bytes:", FX_NEW_LEN, "");
    put_figure("delta apply: buffers (frame + work + input):",
               sizeof frame_buf + sizeof work_buf + sizeof input_buf, " B");
    put_figure("stack peak delta_apply:", nv.stack_apply, " B");
    put_figure("instructions delta_apply (whole, from the start):", nv.insn_apply, "");
    put_figure("instructions delta_apply per MiB of target:",
               nv.insn_apply * 1048576u / FX_NEW_LEN, "");
    put_figure("instructions delta_apply (resume after the cut):", nv.insn_resume, "");
    sh_puts(failures ? "FAIL\n" : "PASS\n");
    return failures ? 1 : 0;
}
