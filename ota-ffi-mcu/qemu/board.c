/* Vector table, startup and board support for the QEMU MPS2-AN386 test (Cortex-M4F). */
#include "board.h"

extern uint32_t _data_start, _data_end, _data_load, _bss_start, _bss_end;
extern uint32_t _stack_bottom, _stack_top;

#define REG(a) (*(volatile uint32_t *)(a))
#define SCB_CPACR 0xE000ED88u
#define SCB_AIRCR 0xE000ED0Cu
#define SYST_CSR 0xE000E010u
#define SYST_RVR 0xE000E014u
#define SYST_CVR 0xE000E018u
#define PAINT 0xA5C3A5C3u

void reset_handler(void);
static void fault_handler(void);
static void systick_handler(void);

__attribute__((section(".vectors"), used)) static void (*const vectors[16])(void) = {
    (void (*)(void))(&_stack_top), reset_handler, fault_handler, fault_handler, fault_handler,
    fault_handler, fault_handler, 0, 0, 0, 0, fault_handler, fault_handler, 0, fault_handler,
    systick_handler,
};

void reset_handler(void) {
    /* The FPU first: the hard-float ABI may use its registers anywhere. */
    REG(SCB_CPACR) |= 0xFu << 20;
    __asm volatile("dsb\n isb" ::: "memory");
    uint32_t *src = &_data_load, *dst = &_data_start;
    while (dst < &_data_end) *dst++ = *src++;
    for (dst = &_bss_start; dst < &_bss_end;) *dst++ = 0;
    sh_exit(main());
}

static void semihost(uint32_t op, const void *arg) {
    register uint32_t r0 __asm("r0") = op;
    register const void *r1 __asm("r1") = arg;
    __asm volatile("bkpt 0xAB" : "+r"(r0) : "r"(r1) : "memory");
}

void sh_puts(const char *s) { semihost(0x04, s); } /* SYS_WRITE0 */

void sh_put_u32(uint32_t v) {
    char buf[11];
    int i = 10;
    buf[i] = 0;
    do {
        buf[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v && i > 0);
    sh_puts(&buf[i]);
}

void sh_put_hex(const uint8_t *p, size_t n) {
    static const char digits[] = "0123456789abcdef";
    char buf[3] = {0, 0, 0};
    for (size_t i = 0; i < n; i++) {
        buf[0] = digits[p[i] >> 4];
        buf[1] = digits[p[i] & 15];
        sh_puts(buf);
    }
}

void sh_exit(int status) {
    /* SYS_EXIT: ADP_Stopped_ApplicationExit makes QEMU exit 0, RunTimeErrorUnknown exit 1. */
    semihost(0x18, (const void *)(status == 0 ? 0x20026u : 0x20023u));
    for (;;) {
    }
}

static void fault_handler(void) {
    sh_puts("FAIL: fault (a panic in the library is `udf`, a HardFault)\n");
    sh_exit(1);
}

static volatile uint32_t systick_wraps;
static void systick_handler(void) { systick_wraps++; }

void board_counter_start(void) {
    REG(SYST_CSR) = 0;
    REG(SYST_RVR) = 0xFFFFFFu;
    REG(SYST_CVR) = 0;
    systick_wraps = 0;
    REG(SYST_CSR) = 7; /* processor clock, interrupt on wrap, enable */
    /* The current value reads 0 until the first clock edge reloads it. */
    while (REG(SYST_CVR) == 0) {
    }
}

uint64_t board_counter_ticks(void) {
    uint32_t wraps, val;
    do {
        wraps = systick_wraps;
        val = REG(SYST_CVR);
    } while (wraps != systick_wraps);
    return (uint64_t)wraps * 0x1000000u + (0xFFFFFFu - val);
}

__attribute__((noinline)) void board_stack_paint(uintptr_t sp) {
    volatile uint32_t *p = &_stack_bottom;
    while ((uintptr_t)p < sp - 128) *p++ = PAINT;
}

uint32_t board_stack_peak(uintptr_t reference) {
    const volatile uint32_t *p = &_stack_bottom;
    while ((uintptr_t)p < reference && *p == PAINT) p++;
    return (uint32_t)(reference - (uintptr_t)p);
}

void board_reset(void) {
    __asm volatile("dsb" ::: "memory");
    REG(SCB_AIRCR) = 0x05FA0004u; /* VECTKEY | SYSRESETREQ */
    __asm volatile("dsb" ::: "memory");
    for (;;) {
    }
}
