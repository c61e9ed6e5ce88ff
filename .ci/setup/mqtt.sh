#!/usr/bin/env bash
# ota-mqtt: the transport tests start Debian's mosquitto (2.0.x, MQTT 5) themselves, on a free
# loopback port, with the config in ota-mqtt/broker/. Only the binary is needed: the packaged
# system service is stopped and disabled so it does not hold port 1883 or run as a daemon.
# The TLS tests make their CA and certificates with the openssl CLI and load mosquitto's
# dynamic-security plugin (ota_mqtt::Access).
set -euo pipefail
need=()
command -v mosquitto >/dev/null || [ -x /usr/sbin/mosquitto ] || need+=(mosquitto)
command -v openssl >/dev/null || need+=(openssl)
if [ ${#need[@]} -gt 0 ]; then
    apt-get update -qq
    # policy-rc.d 101 keeps the package's post-install from starting the system broker.
    had_policy=0
    [ -e /usr/sbin/policy-rc.d ] && had_policy=1
    if [ "$had_policy" = 0 ]; then
        printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
        chmod +x /usr/sbin/policy-rc.d
    fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}"
    [ "$had_policy" = 1 ] || rm -f /usr/sbin/policy-rc.d
fi
MOSQ=$(command -v mosquitto || echo /usr/sbin/mosquitto)
"$MOSQ" -h 2>&1 | head -1 || true
# The TLS tests load mosquitto's dynamic-security plugin (in Debian's mosquitto package).
dynsec=""
for f in /usr/lib/*/mosquitto_dynamic_security.so /usr/lib/mosquitto_dynamic_security.so; do
    [ -f "$f" ] && { dynsec=$f; break; }
done
[ -n "$dynsec" ] || { echo "mosquitto_dynamic_security.so not found" >&2; exit 1; }
echo "dynamic-security plugin: $dynsec"
openssl version
