#!/usr/bin/env bash
# What the portal's browser test needs: headless Chromium and ChromeDriver
# (Debian's packages), and axe-core (from the npm registry, into .tools/) to
# check every page's accessibility. Installs what is missing when this
# machine can; otherwise says what to do.
set -euo pipefail
cd "$(dirname "$0")/.."
AXE_VERSION=4.14.1
if [ ! -f .tools/node_modules/axe-core/axe.min.js ] \
  || ! grep -q "\"version\": \"$AXE_VERSION\"" .tools/node_modules/axe-core/package.json; then
  if command -v npm >/dev/null 2>&1; then
    echo "installing axe-core $AXE_VERSION (npm) into .tools/ for the browser test" >&2
    npm install --silent --no-save --no-audit --no-fund --prefix .tools "axe-core@$AXE_VERSION" >/dev/null
  else
    echo "The browser test needs axe-core: install Node.js and npm (sudo apt-get install -y npm), then run make test again." >&2
    exit 1
  fi
fi
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
