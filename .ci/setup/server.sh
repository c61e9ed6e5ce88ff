#!/usr/bin/env bash
# ota-server: the PostgreSQL backend's tests start their own throwaway cluster (initdb into a
# temporary directory, pg_ctl on a free loopback port, unix socket in that directory, stopped by
# its pid), so only Debian's binaries are needed: the packaged cluster is not created and the
# system service is not started (policy-rc.d 101 during the install).
set -euo pipefail
have_pg() {
    compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null && command -v psql >/dev/null
}
if ! have_pg; then
    apt-get update -qq
    had_policy=0
    [ -e /usr/sbin/policy-rc.d ] && had_policy=1
    if [ "$had_policy" = 0 ]; then
        printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
        chmod +x /usr/sbin/policy-rc.d
    fi
    # create_main_cluster=false: no cluster in /var/lib/postgresql, nothing on port 5432.
    mkdir -p /etc/postgresql-common/createcluster.d
    echo 'create_main_cluster = false' > /etc/postgresql-common/createcluster.d/ota-no-main.conf
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends postgresql
    [ "$had_policy" = 1 ] || rm -f /usr/sbin/policy-rc.d
fi
# The tests run initdb and postgres as this user when CI runs as root.
getent passwd postgres >/dev/null
ls -d /usr/lib/postgresql/*/bin
psql --version
