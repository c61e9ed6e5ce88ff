/* The bare-metal board support of the QEMU test: semihosting output and exit, the cycle counter
   (SysTick under -icount), stack painting and a system reset. */
#ifndef OTA_MCU_BOARD_H
#define OTA_MCU_BOARD_H
#include <stddef.h>
#include <stdint.h>

void sh_puts(const char *s);
void sh_put_u32(uint32_t v);
void sh_put_hex(const uint8_t *p, size_t n);
/* Exit QEMU: status 0 is success, anything else a failure (QEMU exits 1). */
void sh_exit(int status) __attribute__((noreturn));

/* SysTick-based counter: ticks since board_counter_start (QEMU advances its virtual clock by one
   nanosecond per instruction under -icount shift=0; the tick rate is calibrated in the program). */
void board_counter_start(void);
uint64_t board_counter_ticks(void);

/* Stack painting: board_stack_paint(board_sp()) fills the free stack below the caller's stack
   pointer with a pattern (all but the 128 bytes just below, where it runs itself);
   board_stack_peak(sp) gives the deepest use below `sp` since, in bytes. */
static inline uintptr_t board_sp(void) {
    uintptr_t sp;
    __asm volatile("mov %0, sp" : "=r"(sp));
    return sp;
}
void board_stack_paint(uintptr_t sp);
uint32_t board_stack_peak(uintptr_t sp);

/* A system reset through AIRCR.SYSRESETREQ: RAM outside .noinit is lost (.data and .bss are set up
   again by the startup code; QEMU reloads the image). */
void board_reset(void) __attribute__((noreturn));

int main(void);
#endif
