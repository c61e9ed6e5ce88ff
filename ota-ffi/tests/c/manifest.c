/* Manifests: CBOR and JSON decode to the same fields, getters, the buffer-too-small protocol,
 * NULL handling, and one refusal per install rule with its message.
 * Usage: manifest FIXTURE_DIR */
#include "common.h"

#define NOW 1700000000u

static ota_installed installed[2];

static ota_device_state good_state(void) {
    ota_device_state s = {
        .vendor = (const uint8_t *)"acme", .vendor_len = 4,
        .device_class = (const uint8_t *)"gw-200", .device_class_len = 6,
        .hardware = "2.1.0",
        .installed = installed, .installed_count = 2,
        .security_counter = 2,
        .has_last_sequence = true, .last_sequence = 6,
        .now = NOW,
        .active_slot = OTA_SLOT_A,
    };
    installed[0] = (ota_installed){"firmware", "1.0.0", {0}};
    installed[1] = (ota_installed){"app", "1.0.0", {0}};
    return s;
}

/* Runs the decision, checks the refusal status, and prints the refusal message. */
static void refuse(const ota_manifest *m, const ota_device_state *s, ota_status want, const char *label) {
    ota_plan *plan = (ota_plan *)0x1; /* must stay untouched on refusal */
    ota_status st = ota_manifest_plan(m, s, &plan);
    EXPECT(st, want);
    CHECK(plan == (ota_plan *)0x1);
    char msg[256] = "";
    size_t len = 0;
    EXPECT(ota_manifest_refusal_message(m, s, msg, sizeof msg, &len), OTA_STATUS_OK);
    CHECK(len == strlen(msg) + 1);
    printf("refused %s: %u %s\n", label, (unsigned)st, msg);
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: manifest FIXTURE_DIR\n");
        return 2;
    }
    bytes cbor = read_fixture(argv[1], "manifest.cbor");
    bytes json = read_fixture(argv[1], "manifest.json");
    bytes old = read_fixture(argv[1], "old.bin");

    ota_manifest *from_cbor = NULL, *from_json = NULL;
    EXPECT(ota_manifest_new_from_cbor(cbor.data, cbor.len, &from_cbor), OTA_STATUS_OK);
    EXPECT(ota_manifest_new_from_json(json.data, json.len, &from_json), OTA_STATUS_OK);
    EXPECT(ota_manifest_validate(from_cbor), OTA_STATUS_OK);

    /* The same fields either way. */
    ota_manifest_info a, b;
    EXPECT(ota_manifest_get_info(from_cbor, &a), OTA_STATUS_OK);
    EXPECT(ota_manifest_get_info(from_json, &b), OTA_STATUS_OK);
    CHECK(a.sequence == b.sequence && a.security_counter == b.security_counter &&
          a.expires_at == b.expires_at && a.component_count == b.component_count);
    char name[32], version[32];
    size_t len = 0;
    EXPECT(ota_manifest_name(from_json, name, sizeof name, &len), OTA_STATUS_OK);
    EXPECT(ota_manifest_version(from_cbor, version, sizeof version, &len), OTA_STATUS_OK);
    printf("manifest %s %s sequence %llu counter %llu expires %llu components %zu\n", name, version,
           (unsigned long long)a.sequence, (unsigned long long)a.security_counter,
           (unsigned long long)a.expires_at, a.component_count);
    for (size_t i = 0; i < a.component_count; i++) {
        char id[32], cv[32];
        ota_component_info ci, cj;
        EXPECT(ota_manifest_component_id(from_cbor, i, id, sizeof id, &len), OTA_STATUS_OK);
        EXPECT(ota_manifest_component_version(from_cbor, i, cv, sizeof cv, &len), OTA_STATUS_OK);
        EXPECT(ota_manifest_component_info(from_cbor, i, &ci), OTA_STATUS_OK);
        EXPECT(ota_manifest_component_info(from_json, i, &cj), OTA_STATUS_OK);
        CHECK(memcmp(ci.sha256, cj.sha256, 32) == 0 && ci.size == cj.size);
        printf("component %zu %s %s layer %u size %llu chunks %zu deltas %zu\n", i, id, cv, ci.layer,
               (unsigned long long)ci.size, ci.chunk_count, ci.delta_count);
    }

    /* Buffer too small: nothing written, the size needed (with the NUL) reported. */
    char small[4] = {'x', 'x', 'x', 'x'};
    len = 0;
    EXPECT(ota_manifest_name(from_cbor, small, sizeof small, &len), OTA_STATUS_BUFFER_TOO_SMALL);
    CHECK(len == strlen(name) + 1);
    CHECK(small[0] == 'x' && small[3] == 'x');
    EXPECT(ota_manifest_name(from_cbor, NULL, 0, &len), OTA_STATUS_BUFFER_TOO_SMALL);
    printf("name needs %zu bytes\n", len);

    /* NULL and range handling. */
    ota_manifest *m = NULL;
    EXPECT(ota_manifest_new_from_cbor(NULL, 10, &m), OTA_STATUS_NULL_ARGUMENT);
    EXPECT(ota_manifest_new_from_cbor(cbor.data, cbor.len, NULL), OTA_STATUS_NULL_ARGUMENT);
    EXPECT(ota_manifest_get_info(NULL, &a), OTA_STATUS_NULL_ARGUMENT);
    EXPECT(ota_manifest_get_info(from_cbor, NULL), OTA_STATUS_NULL_ARGUMENT);
    EXPECT(ota_manifest_name(from_cbor, name, sizeof name, NULL), OTA_STATUS_NULL_ARGUMENT);
    EXPECT(ota_manifest_component_info(from_cbor, 2, &(ota_component_info){0}), OTA_STATUS_INDEX_OUT_OF_RANGE);
    ota_manifest_free(NULL);
    ota_plan_free(NULL);

    /* Hostile bytes: every truncation of the CBOR is refused, nothing is returned. */
    unsigned refused = 0;
    for (size_t cut = 0; cut < cbor.len; cut++) {
        m = NULL;
        ota_status st = ota_manifest_new_from_cbor(cbor.data, cut, &m);
        CHECK(st == OTA_STATUS_MANIFEST_MALFORMED && m == NULL);
        refused += st != OTA_STATUS_OK;
    }
    printf("truncations refused %u of %zu\n", refused, cbor.len);
    EXPECT(ota_manifest_new_from_json((const uint8_t *)"{\"name\":", 8, &m), OTA_STATUS_MANIFEST_MALFORMED);
    EXPECT(ota_manifest_new_from_json((const uint8_t *)"\xff\xfe", 2, &m), OTA_STATUS_INVALID_UTF8);

    /* The decision: a plan for the good state, a refusal per rule otherwise. */
    ota_device_state s = good_state();
    EXPECT(ota_sha256(old.data, old.len, installed[0].sha256), OTA_STATUS_OK);
    ota_plan *plan = NULL;
    EXPECT(ota_manifest_plan(from_cbor, &s, &plan), OTA_STATUS_OK);
    ota_plan_info pi;
    EXPECT(ota_plan_get_info(plan, &pi), OTA_STATUS_OK);
    printf("plan steps %zu sequence %llu counter %llu\n", pi.step_count, (unsigned long long)pi.sequence,
           (unsigned long long)pi.security_counter);
    EXPECT(ota_plan_get_step(from_cbor, plan, pi.step_count, &(ota_plan_step){0}), OTA_STATUS_INDEX_OUT_OF_RANGE);
    ota_plan_free(plan);
    char msg[128];
    EXPECT(ota_manifest_refusal_message(from_cbor, &s, msg, sizeof msg, &len), OTA_STATUS_NOT_REFUSED);

    /* A device without the source image gets the full image instead of the delta. */
    memset(installed[0].sha256, 0x55, 32);
    EXPECT(ota_manifest_plan(from_cbor, &s, &plan), OTA_STATUS_OK);
    ota_plan_step step;
    EXPECT(ota_plan_get_step(from_cbor, plan, 0, &step), OTA_STATUS_OK);
    printf("unknown source image: step 0 action %u size %llu\n", step.action,
           (unsigned long long)step.download_size);
    ota_plan_free(plan);

    s = good_state();
    s.vendor = (const uint8_t *)"evil";
    refuse(from_cbor, &s, OTA_STATUS_REFUSED_WRONG_VENDOR, "vendor");
    s = good_state();
    s.device_class_len = 5;
    refuse(from_cbor, &s, OTA_STATUS_REFUSED_WRONG_CLASS, "class");
    s = good_state();
    s.hardware = "3.0.0";
    refuse(from_cbor, &s, OTA_STATUS_REFUSED_WRONG_HARDWARE, "hardware");
    s = good_state();
    s.now = 4000000000u;
    refuse(from_cbor, &s, OTA_STATUS_REFUSED_EXPIRED, "expired");
    s = good_state();
    s.last_sequence = 7;
    refuse(from_cbor, &s, OTA_STATUS_REFUSED_SEQUENCE, "sequence");
    s = good_state();
    s.security_counter = 4;
    refuse(from_cbor, &s, OTA_STATUS_REFUSED_SECURITY_COUNTER, "counter");
    s = good_state();
    installed[0].version = "0.9.0";
    refuse(from_cbor, &s, OTA_STATUS_REFUSED_UPGRADE_PATH, "upgrade-path");
    s = good_state();
    installed[1].id = "firmware";
    refuse(from_cbor, &s, OTA_STATUS_REFUSED_DUPLICATE_INSTALLED, "duplicate");

    /* Edited JSON manifests (same-length edits): an unmet dependency, and an inconsistent
     * release (its app needs a firmware version the release does not carry). */
    {
        char *text = malloc(json.len + 1);
        memcpy(text, json.data, json.len);
        text[json.len] = 0;
        char *deps = strstr(text, "\"dependencies\"");
        char *dep_id = deps ? strstr(deps, "\"firmware\"") : NULL;
        CHECK(dep_id != NULL);
        if (dep_id) {
            memcpy(dep_id, "\"modem-fw\"", 10);
            ota_manifest *edited = NULL;
            EXPECT(ota_manifest_new_from_json((const uint8_t *)text, json.len, &edited), OTA_STATUS_OK);
            s = good_state();
            refuse(edited, &s, OTA_STATUS_REFUSED_DEPENDENCY, "dependency");
            /* With the dependency installed, the release is accepted. */
            ota_installed three[3] = {installed[0], installed[1], {"modem-fw", "2.1.0", {0}}};
            s.installed = three;
            s.installed_count = 3;
            ota_plan *ok = NULL;
            EXPECT(ota_manifest_plan(edited, &s, &ok), OTA_STATUS_OK);
            ota_plan_free(ok);
            ota_manifest_free(edited);
            memcpy(dep_id, "\"firmware\"", 10);
        }
        char *req = strstr(text, "\">=2.0.0\"");
        CHECK(req != NULL);
        if (req) {
            req[3] = '3';
            ota_manifest *edited = NULL;
            ota_status st = ota_manifest_new_from_json((const uint8_t *)text, json.len, &edited);
            if (st == OTA_STATUS_OK) {
                EXPECT(ota_manifest_validate(edited), OTA_STATUS_MANIFEST_INVALID);
                s = good_state();
                refuse(edited, &s, OTA_STATUS_REFUSED_INVALID, "invalid");
                ota_manifest_free(edited);
            } else {
                EXPECT(st, OTA_STATUS_MANIFEST_INVALID);
                printf("refused invalid: at decode\n");
            }
        }
        free(text);
    }

    /* A state the API cannot read is an argument error, not a refusal. */
    s = good_state();
    installed[0].version = "not-a-version";
    EXPECT(ota_manifest_plan(from_cbor, &s, &plan), OTA_STATUS_INVALID_ARGUMENT);
    s = good_state();
    s.active_slot = 7;
    EXPECT(ota_manifest_plan(from_cbor, &s, &plan), OTA_STATUS_INVALID_ARGUMENT);
    s = good_state();
    s.installed = NULL;
    EXPECT(ota_manifest_plan(from_cbor, &s, &plan), OTA_STATUS_NULL_ARGUMENT);
    EXPECT(ota_manifest_plan(from_cbor, NULL, &plan), OTA_STATUS_NULL_ARGUMENT);

    ota_manifest_free(from_cbor);
    ota_manifest_free(from_json);
    free(cbor.data);
    free(json.data);
    free(old.data);
    return finish();
}
