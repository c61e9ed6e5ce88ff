/* The header in strict C90 (gcc -std=c90 -pedantic -Wall -Wextra -Werror, see tests/linking.rs):
 * an agent for an old toolchain includes ota.h and calls the library. Also linked against
 * libota.so to check the SONAME the program records. */
#include "ota.h"

#include <stdio.h>
#include <string.h>

int main(void) {
    static const uint8_t abc[3] = {'a', 'b', 'c'};
    /* SHA-256("abc"), FIPS 180-2 appendix B.1. */
    static const uint8_t want[32] = {
        0xba, 0x78, 0x16, 0xbf, 0x8f, 0x01, 0xcf, 0xea, 0x41, 0x41, 0x40, 0xde, 0x5d, 0xae, 0x22, 0x23,
        0xb0, 0x03, 0x61, 0xa3, 0x96, 0x17, 0x7a, 0x9c, 0xb4, 0x10, 0xff, 0x61, 0xf2, 0x00, 0x15, 0xad};
    uint8_t digest[32];
    char delta[64];
    size_t len = 0;
    int failures = 0;
    ota_status st;

    printf("version %s\n", ota_version());
    st = ota_sha256(abc, sizeof abc, digest);
    if (st != OTA_STATUS_OK || memcmp(digest, want, sizeof want) != 0) {
        printf("sha256: %s\n", ota_status_message(st));
        failures++;
    }
    st = ota_twin_delta("{\"fan\":3}", "{\"fan\":2}", delta, sizeof delta, &len);
    if (st != OTA_STATUS_OK || strcmp(delta, "{\"fan\":3}") != 0) {
        printf("twin delta: %s\n", ota_status_message(st));
        failures++;
    }
    printf("%s\n", failures == 0 ? "PASS" : "FAIL");
    return failures == 0 ? 0 : 1;
}
