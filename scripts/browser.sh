#!/usr/bin/env bash
# What the portal's browser tests need: headless Chromium and ChromeDriver
# (Debian's packages); from the npm registry, into .tools/, axe-core to check
# every page's accessibility and oidc-provider (OpenID Certified) to sign in
# through a real OpenID provider (scripts/oidc-provider.mjs). Installs what
# is missing when this machine can; otherwise says what to do.
set -euo pipefail
cd "$(dirname "$0")/.."
AXE_VERSION=4.14.1
# 8.x runs on Node.js 20 (9.x asks for 22).
OIDC_PROVIDER_VERSION=8.8.1
has() { grep -q "\"version\": \"$2\"" ".tools/node_modules/$1/package.json" 2>/dev/null; }
if ! has axe-core "$AXE_VERSION" || ! has oidc-provider "$OIDC_PROVIDER_VERSION"; then
  if command -v npm >/dev/null 2>&1; then
    echo "installing axe-core $AXE_VERSION and oidc-provider $OIDC_PROVIDER_VERSION (npm) into .tools/ for the browser tests" >&2
    # One command: a second --no-save install would remove the first's package.
    npm install --silent --no-save --no-audit --no-fund --prefix .tools \
      "axe-core@$AXE_VERSION" "oidc-provider@$OIDC_PROVIDER_VERSION" >/dev/null
  else
    echo "The browser tests need axe-core and oidc-provider: install Node.js and npm (sudo apt-get install -y npm), then run make test again." >&2
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
