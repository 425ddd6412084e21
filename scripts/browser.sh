#!/usr/bin/env bash
# Headless Chromium and ChromeDriver for the portal's browser test (Debian's
# packages). Installs them when missing and this machine can; otherwise says
# what to do.
set -euo pipefail
if command -v chromium >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1; then
  exit 0
fi
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing chromium and chromium-driver (Debian packages) for the browser test" >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null
  exit 0
fi
cat >&2 <<'MSG'
The portal's browser test needs Chromium and ChromeDriver on PATH.
On Debian or Ubuntu: sudo apt-get install -y chromium chromium-driver
Elsewhere: install Chromium and the ChromeDriver of the same version, and put
`chromium` and `chromedriver` on PATH.
MSG
exit 1
