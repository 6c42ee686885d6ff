#!/usr/bin/env bash
# Installs Debian's haproxy when it is missing: the replica tests and the
# load benchmark (README "Running several replicas") start their own HAProxy
# with deploy/haproxy.cfg in front of three `igmcp http` processes. Only
# Debian's package is used, and no system service is started: policy-rc.d
# answers 101 ("action forbidden") while the package installs, so its
# postinst leaves haproxy stopped (and without systemd nothing starts it
# later either).
set -euo pipefail
if command -v haproxy >/dev/null 2>&1 || [ -x /usr/sbin/haproxy ]; then
  exit 0
fi
echo "== installing haproxy from Debian's packages (no service started)"
export DEBIAN_FRONTEND=noninteractive
policy=/usr/sbin/policy-rc.d
own_policy=0
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' >"$policy"
  chmod 0755 "$policy"
  own_policy=1
fi
trap '[ "$own_policy" = 1 ] && rm -f "$policy"' EXIT
apt-get update -qq
apt-get install -y -qq --no-install-recommends haproxy >/dev/null
/usr/sbin/haproxy -v | head -1
