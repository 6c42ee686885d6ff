#!/usr/bin/env bash
# Installs Debian's chromium when it is missing: the views/ tests render the
# MCP Apps views in a real headless browser (README "Views (MCP Apps)").
# Only Debian's package is used; no browser build is downloaded.
set -euo pipefail
if command -v chromium >/dev/null 2>&1 || [ -x /usr/bin/chromium ]; then
  exit 0
fi
echo "== installing chromium from Debian's packages"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core fonts-noto-color-emoji >/dev/null
command -v chromium
