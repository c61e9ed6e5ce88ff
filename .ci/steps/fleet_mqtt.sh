#!/usr/bin/env bash
# The second flagship demo, `fleet_mqtt`, at a smaller size (300 devices; the README's command
# runs 1,000): ota-server over SQLite and ota-agent devices over MQTT through the mosquitto the
# demo starts itself (.ci/setup/mqtt.sh installs it). Checks the outcome from its output:
# the good release completes with every device of every ring installed, the bad one is refused by
# revision A (counted apart), aborted by the canary gate and never reaches a later ring, and the
# server's inventory (from the devices' reports) equals what the devices' simulated flash boots.
set -euo pipefail
cd "$(dirname "$0")/../.."

report=$(mktemp)
trap 'rm -f "$report"' EXIT
t0=$(date +%s)
cargo build --release --locked -p ota-examples --example fleet_mqtt
cargo run --release --locked -p ota-examples --example fleet_mqtt -- --devices 300 --deadline 240 \
    > "$report"
cat "$report"
echo "fleet_mqtt took $(( $(date +%s) - t0 )) s (including the build)"

fail() { echo "fleet_mqtt: $*" >&2; exit 1; }

# Release 1: each ring's installed count equals its size, and the rollout completed.
awk '
    /^Release 1/ { r = 1 } /^Release 2/ { r = 2 }
    r == 1 && $1 ~ /^(canary|early|everyone)$/ {
        rows++; if ($2 != $4 || $3 != $2) bad = bad " " $1 " (" $0 ")"
    }
    END { if (rows != 3 || bad != "") { print "release 1 rings not all installed:" bad; exit 1 } }
' "$report" || fail "the good release did not install everywhere"
[ "$(grep -c '^  status: completed$' "$report")" = 1 ] || fail "the good release did not complete"

# Release 2: aborted at the canary ring, nothing offered beyond it, refusals by revision A only.
grep -q '^  status: aborted at ring canary$' "$report" || fail "the bad release was not aborted at canary"
grep -q 'later rings received it: 0$' "$report" || fail "the bad release reached a later ring"
awk '
    /^Release 2/ { r = 1 }
    r == 1 && $1 ~ /^(early|everyone)$/ && $3 != 0 { print "offered in " $1 ": " $0; exit 1 }
' "$report" || fail "a later ring was offered the bad release"
grep -Eq '^  refused by revision: A [1-9][0-9,]*, B 0, C 0 ' "$report" \
    || fail "refusals are not revision A's only"
grep -q 'rolled back [0-9,]* x stage trial, HealthCheckFailed' "$report" \
    || fail "no device rolled back after a failed health check"

# End state: the server's view (reports over MQTT, stored in SQLite) is the devices' flash.
booted=$(sed -n "s/^  firmware booted (devices' flash) *//p" "$report")
seen=$(sed -n "s/^  firmware reported (server's view) *//p" "$report")
[ -n "$booted" ] && [ "$booted" = "$seen" ] \
    || fail "server's view ($seen) differs from the devices' flash ($booted)"
grep -q 'mosquitto pid [0-9]* stopped$' "$report" || fail "the broker was not stopped"
echo "fleet_mqtt: outcome as expected"
