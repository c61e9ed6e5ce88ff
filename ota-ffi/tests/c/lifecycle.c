/* The update lifecycle through the C API: a device written in C (a memory store, a simulated
 * bootloader with A/B slots and tries, two firmware slots in memory, a fetch serving the signed
 * release's patch, a health probe) drives ota_agent_* through an upgrade to Committed, a revert
 * (health check fails), callback failures mid-download followed by a resume, and bad input.
 * Usage: lifecycle FIXTURE_DIR (files from examples/make_fixtures.rs). */
#include "common.h"

#define NOW 1700000000u
#define SLOT_CAP (128u * 1024u)

typedef struct device device;

struct device {
    /* store: one record in memory (a memcpy is atomic here) */
    uint8_t rec[4096];
    size_t rec_len;
    int saves;
    int fail_save_at; /* 1-based save number that fails (0: none) */
    int fail_save_code;
    /* boot control: the rules a bootloader follows */
    uint32_t booted, primary;
    int successful[2];
    uint8_t tries[2], attempts[2];
    int boot_writes;
    /* firmware slots */
    uint8_t *slot[2];
    /* fetch */
    bytes patch, image;
    uint8_t patch_sha[32], image_sha[32];
    long budget; /* bytes served before the link drops; < 0: unlimited */
    long served;
    long tamper_at; /* patch byte flipped when served; < 0: none */
    int garbage;    /* report one byte more than the buffer holds */
    /* health */
    int health_rc;
    int health_calls;
    ota_agent *self;
    ota_status reentrant;
};

static int32_t store_load(void *user, uint8_t *buf, size_t cap, size_t *len) {
    device *d = user;
    if (d->rec_len == 0) {
        return OTA_AGENT_CB_EMPTY;
    }
    if (d->rec_len > cap) {
        return OTA_AGENT_CB_FAILED;
    }
    memcpy(buf, d->rec, d->rec_len);
    *len = d->rec_len;
    return OTA_AGENT_CB_OK;
}

static int32_t store_save(void *user, const uint8_t *rec, size_t len) {
    device *d = user;
    d->saves++;
    if (d->fail_save_at != 0 && d->saves == d->fail_save_at) {
        return d->fail_save_code; /* nothing written: the old record stands */
    }
    if (len > sizeof d->rec) {
        return OTA_AGENT_CB_FAILED;
    }
    memcpy(d->rec, rec, len);
    d->rec_len = len;
    return OTA_AGENT_CB_OK;
}

static int32_t booted_slot(void *user, uint32_t *slot) {
    *slot = ((device *)user)->booted;
    return OTA_AGENT_CB_OK;
}

static int32_t primary_slot(void *user, uint32_t *slot) {
    *slot = ((device *)user)->primary;
    return OTA_AGENT_CB_OK;
}

static int32_t set_pending(void *user, uint32_t slot, uint8_t tries) {
    device *d = user;
    d->boot_writes++;
    d->primary = slot;
    d->successful[slot] = 0;
    d->tries[slot] = tries;
    d->attempts[slot] = 0;
    return OTA_AGENT_CB_OK;
}

static int32_t mark_successful(void *user, uint32_t slot) {
    device *d = user;
    d->boot_writes++;
    d->successful[slot] = 1;
    return OTA_AGENT_CB_OK;
}

static int32_t mark_unbootable(void *user, uint32_t slot) {
    device *d = user;
    d->boot_writes++;
    d->successful[slot] = 0;
    d->tries[slot] = 0;
    d->primary = 1 - slot;
    return OTA_AGENT_CB_OK;
}

static int32_t boot_attempts(void *user, uint32_t slot, uint8_t *n) {
    *n = ((device *)user)->attempts[slot];
    return OTA_AGENT_CB_OK;
}

static int32_t slot_read(void *user, uint32_t slot, uint64_t off, uint8_t *buf, size_t len) {
    device *d = user;
    if (slot > 1 || off > SLOT_CAP || len > SLOT_CAP - off) {
        return OTA_AGENT_CB_FAILED;
    }
    memcpy(buf, d->slot[slot] + off, len);
    return OTA_AGENT_CB_OK;
}

static int32_t slot_write(void *user, uint32_t slot, uint64_t off, const uint8_t *data, size_t len) {
    device *d = user;
    if (slot > 1 || slot == d->booted || off > SLOT_CAP || len > SLOT_CAP - off) {
        return OTA_AGENT_CB_FAILED; /* never the running slot */
    }
    memcpy(d->slot[slot] + off, data, len);
    return OTA_AGENT_CB_OK;
}

static int32_t slot_sync(void *user, uint32_t slot) {
    (void)user;
    return slot <= 1 ? OTA_AGENT_CB_OK : OTA_AGENT_CB_FAILED;
}

static int32_t fetch(void *user, const ota_agent_resource *what, uint64_t off, uint8_t *buf,
                     size_t cap, size_t *got) {
    device *d = user;
    const bytes *src = NULL;
    if (what->kind == OTA_AGENT_RESOURCE_PATCH && memcmp(what->sha256, d->patch_sha, 32) == 0) {
        src = &d->patch;
    } else if (what->kind == OTA_AGENT_RESOURCE_IMAGE &&
               memcmp(what->sha256, d->image_sha, 32) == 0) {
        src = &d->image;
    }
    if (src == NULL || strcmp(what->component, "firmware") != 0) {
        return OTA_AGENT_CB_NOT_FOUND;
    }
    if (d->budget >= 0 && d->served >= d->budget) {
        return OTA_AGENT_CB_INTERRUPTED; /* the link dropped */
    }
    size_t n = off >= src->len ? 0 : src->len - (size_t)off;
    if (n > cap) {
        n = cap;
    }
    if (d->budget >= 0 && (long)n > d->budget - d->served) {
        n = (size_t)(d->budget - d->served);
    }
    memcpy(buf, src->data + off, n);
    if (src == &d->patch && d->tamper_at >= 0 && (uint64_t)d->tamper_at >= off &&
        (uint64_t)d->tamper_at < off + n) {
        buf[d->tamper_at - (long)off] ^= 0x40;
    }
    d->served += (long)n;
    *got = d->garbage ? cap + 1 : n;
    return OTA_AGENT_CB_OK;
}

static int32_t health(void *user, uint64_t deadline_ms) {
    device *d = user;
    (void)deadline_ms;
    d->health_calls++;
    ota_agent_report r;
    /* Calling back into the agent from its own callback is refused, not undefined. */
    d->reentrant = ota_agent_get_report(d->self, &r);
    return d->health_rc;
}

static uint64_t clock_ms(void *user) {
    (void)user;
    return 1000; /* a clock that never moves: the health check is never late */
}

/* ---- the device's life ---- */

static bytes root, envelope, old_image;
static uint8_t old_sha[32], new_sha[32];

static void device_init(device *d, const char *dir) {
    memset(d, 0, sizeof *d);
    d->booted = d->primary = OTA_SLOT_A;
    d->successful[OTA_SLOT_A] = 1;
    for (int i = 0; i < 2; i++) {
        d->slot[i] = calloc(SLOT_CAP, 1);
        if (!d->slot[i]) {
            exit(2);
        }
    }
    memcpy(d->slot[OTA_SLOT_A], old_image.data, old_image.len);
    d->patch = read_fixture(dir, "patch.otad");
    d->image = read_fixture(dir, "new.bin");
    EXPECT(ota_sha256(d->patch.data, d->patch.len, d->patch_sha), OTA_STATUS_OK);
    EXPECT(ota_sha256(d->image.data, d->image.len, d->image_sha), OTA_STATUS_OK);
    d->budget = -1;
    d->tamper_at = -1;
}

static void device_free(device *d) {
    free(d->slot[0]);
    free(d->slot[1]);
    free(d->patch.data);
    free(d->image.data);
}

/* The bootloader: the primary slot first, then the other; a slot marked successful boots
 * without spending a try, one with tries left spends one. */
static void reboot(device *d) {
    uint32_t order[2] = {d->primary, 1 - d->primary};
    for (int i = 0; i < 2; i++) {
        uint32_t s = order[i];
        if (d->successful[s]) {
            d->booted = s;
            return;
        }
        if (d->tries[s] > 0) {
            d->tries[s]--;
            d->attempts[s]++;
            d->booted = s;
            return;
        }
    }
    fprintf(stderr, "no bootable slot\n");
    failures++;
}

static ota_agent *agent_new(device *d) {
    ota_agent_callbacks cb = {
        d,           store_load,   store_save, booted_slot,     primary_slot,
        set_pending, mark_successful, mark_unbootable, boot_attempts, SLOT_CAP,
        slot_read,   slot_write,   slot_sync,  fetch,           health,
        clock_ms,
    };
    ota_agent_config cfg;
    EXPECT(ota_agent_config_default(&cfg), OTA_STATUS_OK);
    ota_agent *a = NULL;
    EXPECT(ota_agent_new(root.data, root.len, &cb, &cfg, &a), OTA_STATUS_OK);
    d->self = a;
    return a;
}

/* What the device reports about itself: running firmware 1.0.0 (or 2.0.0 on slot B). */
static ota_installed installed;
static ota_device_state device_state(const device *d) {
    int upgraded = d->booted == OTA_SLOT_B;
    installed.id = "firmware";
    installed.version = upgraded ? "2.0.0" : "1.0.0";
    memcpy(installed.sha256, upgraded ? new_sha : old_sha, 32);
    ota_device_state s = {(const uint8_t *)"acme", 4, (const uint8_t *)"gw-200", 6, "2.1.0",
                          &installed, 1, 0, false, 0, NOW, d->booted};
    return s;
}

static ota_agent_report report(ota_agent *a) {
    ota_agent_report r;
    memset(&r, 0xEE, sizeof r);
    EXPECT(ota_agent_get_report(a, &r), OTA_STATUS_OK);
    return r;
}

static void print_report(const char *label, ota_agent *a) {
    ota_agent_report r = report(a);
    printf("%s: state %u outcome %u stage %u reason %u fw %u/%u sw %u/%u floor %llu/%llu\n", label,
           r.state, r.outcome, r.stage, r.reason, r.lwm2m_fw_state, r.lwm2m_fw_result,
           r.lwm2m_sw_state, r.lwm2m_sw_result, (unsigned long long)r.floor_sequence,
           (unsigned long long)r.floor_security_counter);
}

static uint32_t resume(ota_agent *a, ota_status want) {
    uint32_t p = 99;
    EXPECT(ota_agent_resume(a, &p), want);
    return p;
}

static uint32_t start(ota_agent *a, const device *d, const bytes *env) {
    ota_device_state s = device_state(d);
    uint32_t state = 99;
    EXPECT(ota_agent_start(a, env->data, env->len, &s, &state), OTA_STATUS_OK);
    return state;
}

/* Installs the release up to the armed trial, reboots into it and runs the trial. */
static ota_agent *install_and_reboot(device *d, ota_agent *a) {
    CHECK(start(a, d, &envelope) == OTA_AGENT_STATE_DOWNLOADING);
    CHECK(resume(a, OTA_STATUS_OK) == OTA_AGENT_PROGRESS_REBOOT_REQUIRED);
    print_report("armed", a);
    CHECK(d->primary == OTA_SLOT_B && d->tries[OTA_SLOT_B] == 3);
    ota_agent_free(a);
    reboot(d);
    CHECK(d->booted == OTA_SLOT_B);
    return agent_new(d);
}

static void upgrade(const char *dir) {
    device d;
    device_init(&d, dir);
    ota_agent *a = agent_new(&d);
    CHECK(resume(a, OTA_STATUS_OK) == OTA_AGENT_PROGRESS_AT_REST);
    print_report("fresh", a);
    a = install_and_reboot(&d, a);
    CHECK(resume(a, OTA_STATUS_OK) == OTA_AGENT_PROGRESS_AT_REST);
    print_report("upgrade", a);
    printf("upgrade: booted %u successful %d health calls %d reentrant call %u\n", d.booted,
           d.successful[d.booted], d.health_calls, (unsigned)d.reentrant);
    CHECK(memcmp(d.slot[OTA_SLOT_B], d.image.data, d.image.len) == 0);
    CHECK(memcmp(d.slot[OTA_SLOT_A], old_image.data, old_image.len) == 0);
    /* The committed release again: refused (anti-rollback), recorded, nothing written. */
    ota_device_state s = device_state(&d);
    uint32_t state = 99;
    int writes = d.boot_writes;
    EXPECT(ota_agent_start(a, envelope.data, envelope.len, &s, &state), OTA_STATUS_AGENT_REJECTED);
    CHECK(state == 99 && d.boot_writes == writes);
    print_report("replayed", a);
    ota_agent_free(a);
    device_free(&d);
}

static void revert(const char *dir) {
    device d;
    device_init(&d, dir);
    d.health_rc = 7; /* the new firmware is sick */
    ota_agent *a = install_and_reboot(&d, agent_new(&d));
    CHECK(resume(a, OTA_STATUS_OK) == OTA_AGENT_PROGRESS_REBOOT_REQUIRED);
    print_report("revert", a);
    ota_agent_free(a);
    reboot(&d);
    a = agent_new(&d);
    CHECK(resume(a, OTA_STATUS_OK) == OTA_AGENT_PROGRESS_AT_REST);
    print_report("reverted", a);
    printf("reverted: booted %u primary %u\n", d.booted, d.primary);
    CHECK(memcmp(d.slot[OTA_SLOT_A], old_image.data, old_image.len) == 0);
    ota_agent_free(a);
    device_free(&d);
}

static void interrupted(const char *dir) {
    device d;
    device_init(&d, dir);
    ota_agent *a = agent_new(&d);
    CHECK(start(a, &d, &envelope) == OTA_AGENT_STATE_DOWNLOADING);
    /* A power cut at the third save of the download: nothing after the last record happened. */
    d.fail_save_at = d.saves + 3;
    d.fail_save_code = OTA_AGENT_CB_INTERRUPTED;
    resume(a, OTA_STATUS_AGENT_INTERRUPTED);
    CHECK(report(a).state == OTA_AGENT_STATE_DOWNLOADING);
    /* A store that fails outright: the same, with another status. */
    d.fail_save_at = d.saves + 2;
    d.fail_save_code = OTA_AGENT_CB_FAILED;
    resume(a, OTA_STATUS_CALLBACK_FAILED);
    char why[256];
    size_t len = 0;
    EXPECT(ota_agent_last_error(a, why, sizeof why, &len), OTA_STATUS_OK);
    printf("store failure: %s\n", why);
    /* The link drops: the download stops where it is. */
    d.fail_save_at = 0;
    d.budget = d.served + 500;
    CHECK(resume(a, OTA_STATUS_OK) == OTA_AGENT_PROGRESS_INTERRUPTED);
    CHECK(report(a).state == OTA_AGENT_STATE_DOWNLOADING);
    /* Reboot mid-download: the release is asked for again, then the download continues. */
    ota_agent_free(a);
    reboot(&d);
    a = agent_new(&d);
    d.budget = -1;
    long before = d.served;
    CHECK(resume(a, OTA_STATUS_OK) == OTA_AGENT_PROGRESS_RELEASE_NEEDED);
    ota_device_state s = device_state(&d);
    EXPECT(ota_agent_set_release(a, envelope.data, envelope.len, &s), OTA_STATUS_OK);
    CHECK(resume(a, OTA_STATUS_OK) == OTA_AGENT_PROGRESS_REBOOT_REQUIRED);
    printf("resumed download fetched %ld of %zu patch bytes\n", d.served - before, d.patch.len);
    ota_agent_free(a);
    reboot(&d);
    a = agent_new(&d);
    CHECK(resume(a, OTA_STATUS_OK) == OTA_AGENT_PROGRESS_AT_REST);
    print_report("interrupted", a);
    CHECK(memcmp(d.slot[OTA_SLOT_B], d.image.data, d.image.len) == 0);
    ota_agent_free(a);
    device_free(&d);
}

static void bad_input(const char *dir) {
    device d;
    device_init(&d, dir);
    /* A tampered image (one patch byte flipped in transit). */
    d.tamper_at = (long)d.patch.len / 2;
    ota_agent *a = agent_new(&d);
    CHECK(start(a, &d, &envelope) == OTA_AGENT_STATE_DOWNLOADING);
    CHECK(resume(a, OTA_STATUS_OK) == OTA_AGENT_PROGRESS_AT_REST);
    print_report("tampered image", a);
    printf("tampered image: boot writes %d booted %u primary %u\n", d.boot_writes, d.booted,
           d.primary);
    CHECK(memcmp(d.slot[OTA_SLOT_A], old_image.data, old_image.len) == 0);
    /* A tampered envelope (its signature). */
    bytes bad = {malloc(envelope.len), envelope.len};
    if (!bad.data) {
        exit(2);
    }
    memcpy(bad.data, envelope.data, envelope.len);
    bad.data[bad.len - 5] ^= 1;
    ota_device_state s = device_state(&d);
    uint32_t state = 99;
    EXPECT(ota_agent_start(a, bad.data, bad.len, &s, &state), OTA_STATUS_AGENT_REJECTED);
    print_report("tampered envelope", a);
    free(bad.data);
    /* A fetch that reports more bytes than the buffer holds: refused, nothing concluded. */
    d.tamper_at = -1;
    d.garbage = 1;
    CHECK(start(a, &d, &envelope) == OTA_AGENT_STATE_DOWNLOADING);
    resume(a, OTA_STATUS_CALLBACK_FAILED);
    CHECK(report(a).state == OTA_AGENT_STATE_DOWNLOADING);
    EXPECT(ota_agent_cancel(a), OTA_STATUS_OK);
    print_report("cancelled", a);
    /* NULL handles and outputs. */
    uint32_t p;
    EXPECT(ota_agent_resume(NULL, &p), OTA_STATUS_NULL_ARGUMENT);
    EXPECT(ota_agent_resume(a, NULL), OTA_STATUS_NULL_ARGUMENT);
    EXPECT(ota_agent_get_report(a, NULL), OTA_STATUS_NULL_ARGUMENT);
    /* Two starts reached Downloading: each first made slot B unbootable (one boot write
     * each, never an arming), so A stays primary and B cannot boot half-written. */
    CHECK(d.booted == OTA_SLOT_A && d.primary == OTA_SLOT_A && d.boot_writes == 2);
    CHECK(d.tries[OTA_SLOT_B] == 0 && !d.successful[OTA_SLOT_B]);
    ota_agent_free(a);
    ota_agent_free(NULL);
    device_free(&d);
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: lifecycle FIXTURE_DIR\n");
        return 2;
    }
    root = read_fixture(argv[1], "root.cose");
    envelope = read_fixture(argv[1], "agent-release.cose");
    old_image = read_fixture(argv[1], "old.bin");
    bytes new_image = read_fixture(argv[1], "new.bin");
    EXPECT(ota_sha256(old_image.data, old_image.len, old_sha), OTA_STATUS_OK);
    EXPECT(ota_sha256(new_image.data, new_image.len, new_sha), OTA_STATUS_OK);
    free(new_image.data);
    upgrade(argv[1]);
    revert(argv[1]);
    interrupted(argv[1]);
    bad_input(argv[1]);
    free(root.data);
    free(envelope.data);
    free(old_image.data);
    return finish();
}
