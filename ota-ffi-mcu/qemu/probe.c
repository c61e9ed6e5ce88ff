/* Size probe: the library pieces a program links, each alone and all together, to measure their
 * flash and static RAM with arm-none-eabi-size (a piece's figure is the probe's size minus that of
 * the probe with no piece). Inputs come through volatile pointers so nothing is optimised away.
 * Built by .ci/steps/mcu.sh with -DPROBE_VERIFY, -DPROBE_VIEW, -DPROBE_APPLY (any combination);
 * never run. */
#include "board.h"
#include "ota_mcu.h"

static const uint8_t *volatile in_ptr;
static volatile size_t in_len;
static volatile uint32_t sink;

int main(void) {
#ifdef PROBE_VERIFY
    {
        static ota_mcu_trust_root root; /* caller storage: counted as static RAM */
        ota_mcu_verified v;
        sink = (uint32_t)ota_mcu_trust_root_load(in_ptr, in_len, &root);
        sink = (uint32_t)ota_mcu_trust_root_verify(&root, in_ptr, in_len, NULL, 0, 1, 0, &v);
        sink = (uint32_t)v.payload_len;
        sink = (uint32_t)(uintptr_t)ota_mcu_status_message(sink);
    }
#endif
#ifdef PROBE_VIEW
    {
        ota_mcu_device_state device = {0};
        ota_mcu_manifest_info info;
        ota_mcu_step step;
        ota_mcu_component c;
        uint8_t chunk[32];
        device.now = in_len;
        sink = (uint32_t)ota_mcu_manifest_check(in_ptr, in_len, &info);
        sink = (uint32_t)ota_mcu_manifest_component(in_ptr, in_len, sink, &c);
        sink = (uint32_t)ota_mcu_manifest_chunk_sha256(in_ptr, in_len, 0, sink, chunk);
        sink = (uint32_t)ota_mcu_manifest_decide(in_ptr, in_len, &device);
        sink = (uint32_t)ota_mcu_manifest_step(in_ptr, in_len, &device, sink, &step);
        sink = (uint32_t)step.download_size + chunk[3] + (uint32_t)info.sequence + c.layer;
    }
#endif
#ifdef PROBE_APPLY
    {
        static uint8_t frame[OTA_MCU_FRAME_BUF_LEN], work[512], input[256]; /* static RAM */
        static ota_mcu_delta_buffers bufs = {frame, sizeof frame, work, sizeof work, input,
                                             sizeof input};
        /* The callbacks come from a volatile pointer: nothing is known at compile time. */
        static const ota_mcu_delta_io *volatile io;
        sink = (uint32_t)ota_mcu_delta_apply(&bufs, io, sink != 0, sink ? in_ptr : NULL);
    }
#endif
    return (int)sink;
}
