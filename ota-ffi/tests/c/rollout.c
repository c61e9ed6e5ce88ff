/* Rollout: ring assignment (rings, pins, exclusion, eligibility with its reason, not yet) and
 * the install-window check, with the buffer-too-small protocol and NULL handling. */
#include "common.h"

static const char PLAN[] =
    "{\"salt\":\"release-2.0.0\","
    "\"rings\":[{\"name\":\"canary\",\"share\":0.05,\"gate\":{\"rule\":{\"kind\":\"threshold\","
    "\"max_failure_percent\":5.0,\"min_executions\":10}}},"
    "{\"name\":\"half\",\"share\":0.45,\"gate\":{\"rule\":{\"kind\":\"threshold\","
    "\"max_failure_percent\":5.0,\"min_executions\":10}}}],"
    "\"eligibility\":{\"all\":[{\"equals\":{\"attr\":\"model\",\"value\":\"gw-200\"}}]},"
    "\"pinned\":{\"lab-1\":0},"
    "\"excluded\":[\"gw-0007\"]}";

/* Saturday 02:00-06:00 local; charging and 30 % battery required; critical updates wait at
 * most a week after they were offered. */
static const char POLICY[] =
    "{\"windows\":[{\"day\":\"saturday\",\"start_minute\":120,\"duration_minutes\":240}],"
    "\"require_charging\":true,\"min_battery_percent\":30,\"max_deferral_secs\":604800}";

#define NOW 1700000000u /* Tuesday 2023-11-14 22:13:20 UTC */
#define SAT_0200 1700272800u /* Saturday 2023-11-18 02:00 UTC */

int main(void) {
    ota_rollout_plan *plan = NULL;
    EXPECT(ota_rollout_plan_new_from_json((const uint8_t *)PLAN, strlen(PLAN), &plan), OTA_STATUS_OK);
    size_t rings = 0;
    EXPECT(ota_rollout_plan_ring_count(plan, &rings), OTA_STATUS_OK);
    printf("rings %zu\n", rings);

    const char *keys[] = {"model", "region"};
    const char *good[] = {"gw-200", "eu"};
    const char *bad[] = {"gw-100", "eu"};
    unsigned counts[4] = {0, 0, 0, 0}; /* ring 0, ring 1, not yet, other */
    for (int i = 0; i < 1000; i++) {
        char id[16];
        snprintf(id, sizeof id, "gw-%04d", i);
        ota_rollout_device d = {id, keys, good, 2, NULL};
        size_t ring = 99;
        bool pinned = true;
        ota_status st = ota_rollout_plan_ring(plan, &d, &ring, &pinned);
        if (st == OTA_STATUS_OK) {
            CHECK(ring < rings && !pinned);
            counts[ring]++;
        } else if (st == OTA_STATUS_ROLLOUT_NOT_YET) {
            CHECK(ring == 99); /* not written */
            counts[2]++;
        } else {
            counts[3]++;
        }
    }
    printf("1000 devices: ring0 %u ring1 %u not_yet %u other %u\n", counts[0], counts[1], counts[2], counts[3]);
    /* The same device always lands in the same ring, with attributes as pairs or JSON. */
    ota_rollout_device pairs = {"gw-0042", keys, good, 2, NULL};
    ota_rollout_device as_json = {"gw-0042", NULL, NULL, 0, "{\"model\":\"gw-200\",\"region\":\"eu\"}"};
    size_t r1 = 0, r2 = 1;
    bool p1, p2;
    ota_status s1 = ota_rollout_plan_ring(plan, &pairs, &r1, &p1);
    ota_status s2 = ota_rollout_plan_ring(plan, &as_json, &r2, &p2);
    CHECK(s1 == s2);
    if (s1 == OTA_STATUS_OK) {
        CHECK(r1 == r2);
    }

    ota_rollout_device lab = {"lab-1", keys, good, 2, NULL};
    size_t ring = 9;
    bool pinned = false;
    EXPECT(ota_rollout_plan_ring(plan, &lab, &ring, &pinned), OTA_STATUS_OK);
    CHECK(ring == 0 && pinned);
    ota_rollout_device excluded = {"gw-0007", keys, good, 2, NULL};
    EXPECT(ota_rollout_plan_ring(plan, &excluded, &ring, &pinned), OTA_STATUS_ROLLOUT_EXCLUDED);
    ota_rollout_device old_model = {"gw-0001", keys, bad, 2, NULL};
    EXPECT(ota_rollout_plan_ring(plan, &old_model, &ring, &pinned), OTA_STATUS_ROLLOUT_INELIGIBLE);
    ota_rollout_device no_attrs = {"gw-0001", NULL, NULL, 0, NULL};
    EXPECT(ota_rollout_plan_ring(plan, &no_attrs, &ring, &pinned), OTA_STATUS_ROLLOUT_INELIGIBLE);

    /* Why: size-needed protocol, then the text. */
    size_t need = 0;
    EXPECT(ota_rollout_plan_explain(plan, &old_model, NULL, 0, &need), OTA_STATUS_BUFFER_TOO_SMALL);
    char *why = malloc(need);
    size_t len = 0;
    EXPECT(ota_rollout_plan_explain(plan, &old_model, why, need, &len), OTA_STATUS_OK);
    CHECK(len == need && strlen(why) + 1 == len);
    printf("gw-0001 (gw-100): %s\n", why);
    free(why);
    char text[128];
    EXPECT(ota_rollout_plan_explain(plan, &no_attrs, text, sizeof text, &len), OTA_STATUS_OK);
    printf("gw-0001 (no attributes): %s\n", text);
    EXPECT(ota_rollout_plan_explain(plan, &lab, text, sizeof text, &len), OTA_STATUS_OK);
    printf("lab-1: %s\n", text);
    EXPECT(ota_rollout_plan_explain(plan, &excluded, text, sizeof text, &len), OTA_STATUS_OK);
    printf("gw-0007: %s\n", text);

    /* Bad plans and devices. */
    ota_rollout_plan *other = NULL;
    EXPECT(ota_rollout_plan_new_from_json((const uint8_t *)"{\"salt\":1}", 10, &other), OTA_STATUS_ROLLOUT_PLAN_INVALID);
    EXPECT(ota_rollout_plan_new_from_json((const uint8_t *)PLAN, 20, &other), OTA_STATUS_ROLLOUT_PLAN_INVALID);
    CHECK(other == NULL);
    ota_rollout_device bad_json = {"x", NULL, NULL, 0, "{\"model\":3}"};
    EXPECT(ota_rollout_plan_ring(plan, &bad_json, &ring, &pinned), OTA_STATUS_INVALID_ARGUMENT);
    ota_rollout_device null_keys = {"x", NULL, good, 2, NULL};
    EXPECT(ota_rollout_plan_ring(plan, &null_keys, &ring, &pinned), OTA_STATUS_NULL_ARGUMENT);
    ota_rollout_device null_id = {NULL, keys, good, 2, NULL};
    EXPECT(ota_rollout_plan_ring(plan, &null_id, &ring, &pinned), OTA_STATUS_NULL_ARGUMENT);
    EXPECT(ota_rollout_plan_ring(plan, NULL, &ring, &pinned), OTA_STATUS_NULL_ARGUMENT);
    EXPECT(ota_rollout_plan_ring(plan, &lab, NULL, &pinned), OTA_STATUS_NULL_ARGUMENT);
    EXPECT(ota_rollout_plan_ring(NULL, &lab, &ring, &pinned), OTA_STATUS_NULL_ARGUMENT);
    ota_rollout_plan_free(NULL);

    /* The install window. */
    ota_install_policy *policy = NULL;
    EXPECT(ota_install_policy_new_from_json((const uint8_t *)POLICY, strlen(POLICY), &policy), OTA_STATUS_OK);
    ota_device_context ctx = {0, true, true, 80, false, true, NOW};
    ota_may_start ms;
    EXPECT(ota_install_policy_may_start(policy, &ctx, NOW, false, &ms), OTA_STATUS_OK);
    printf("tuesday: may_start %d blockers %u next %llu\n", ms.may_start, ms.blockers,
           ms.has_next ? (unsigned long long)ms.next : 0ull);
    CHECK(!ms.may_start && ms.blockers == OTA_BLOCKER_OUTSIDE_WINDOW && ms.has_next && ms.next == SAT_0200);
    EXPECT(ota_install_policy_may_start(policy, &ctx, SAT_0200 + 60, false, &ms), OTA_STATUS_OK);
    printf("saturday 02:01: may_start %d\n", ms.may_start);
    CHECK(ms.may_start && !ms.forced);
    /* Two hours east of UTC, the same instant is 04:01 local: still inside. */
    ctx.utc_offset_minutes = 120;
    EXPECT(ota_install_policy_may_start(policy, &ctx, SAT_0200 + 60, false, &ms), OTA_STATUS_OK);
    CHECK(ms.may_start);
    ctx.utc_offset_minutes = 0;
    ctx.charging = false;
    ctx.battery_percent = 20;
    EXPECT(ota_install_policy_may_start(policy, &ctx, SAT_0200 + 60, false, &ms), OTA_STATUS_OK);
    printf("saturday, on a low battery: may_start %d blockers %u\n", ms.may_start, ms.blockers);
    CHECK(ms.blockers == (OTA_BLOCKER_NOT_CHARGING | OTA_BLOCKER_BATTERY_LOW));
    /* Critical, a week after the offer: forced outside the window, but never on a low battery. */
    ctx.battery_percent = 50;
    EXPECT(ota_install_policy_may_start(policy, &ctx, NOW + 604800, true, &ms), OTA_STATUS_OK);
    printf("critical after the deferral limit: may_start %d forced %d\n", ms.may_start, ms.forced);
    CHECK(ms.may_start && ms.forced);
    ctx.battery_percent = 10;
    EXPECT(ota_install_policy_may_start(policy, &ctx, NOW + 604800, true, &ms), OTA_STATUS_OK);
    CHECK(!ms.may_start && (ms.blockers & OTA_BLOCKER_BATTERY_LOW));
    ctx.battery_percent = 150;
    EXPECT(ota_install_policy_may_start(policy, &ctx, NOW, false, &ms), OTA_STATUS_INVALID_ARGUMENT);
    EXPECT(ota_install_policy_may_start(policy, NULL, NOW, false, &ms), OTA_STATUS_NULL_ARGUMENT);
    ota_install_policy *bad_policy = NULL;
    const char *p_bad = "{\"windows\":[{\"day\":\"saturday\",\"start_minute\":2000,\"duration_minutes\":1}]}";
    EXPECT(ota_install_policy_new_from_json((const uint8_t *)p_bad, strlen(p_bad), &bad_policy), OTA_STATUS_ROLLOUT_PLAN_INVALID);
    const char *p3 = "{\"windowz\":[]}";
    EXPECT(ota_install_policy_new_from_json((const uint8_t *)p3, strlen(p3), &bad_policy), OTA_STATUS_ROLLOUT_PLAN_INVALID);
    CHECK(bad_policy == NULL);
    ota_install_policy_free(NULL);

    ota_install_policy_free(policy);
    ota_rollout_plan_free(plan);
    return finish();
}
