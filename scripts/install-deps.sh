#!/usr/bin/env bash
# Installs the Debian packages ordo needs to build and test (idempotent; run as root).
set -euo pipefail
need=()
command -v protoc >/dev/null || need+=(protobuf-compiler)   # etcd-client's build script
command -v etcd >/dev/null || need+=(etcd-server)            # the etcd store engine and its tests
command -v runc >/dev/null || need+=(runc)                   # real pods
command -v nft >/dev/null || need+=(nftables)               # the service proxy (ClusterIPs, NodePorts)
command -v curl >/dev/null || need+=(curl)
command -v openssl >/dev/null || need+=(openssl)       # certificate requests in the join tests
command -v ip >/dev/null || need+=(iproute2)             # test clean-up of pod networks
command -v cc >/dev/null || need+=(build-essential)
[ -x /usr/bin/docker-registry ] || need+=(docker-registry)  # the loopback registry of the image pull tests
command -v htpasswd >/dev/null || need+=(apache2-utils)     # its bcrypt password file (pulls with credentials)
[ -x /usr/bin/chromium ] || need+=(chromium)                # the web view's browser tests (tests/ui_browser.rs)
command -v node >/dev/null || need+=(nodejs)                 # their driver script
command -v npm >/dev/null || need+=(npm)                     # installs the driver's playwright-core
if [ ${#need[@]} -gt 0 ]; then
  echo "installing: ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${need[@]}" >/dev/null
  # The tests start their own registry on loopback; the package's service (port 5000 on every
  # interface) is not wanted where systemd would start it.
  if [[ " ${need[*]} " == *" docker-registry "* ]] && command -v systemctl >/dev/null \
      && [ -d /run/systemd/system ]; then
    systemctl disable --now docker-registry >/dev/null 2>&1 || true
  fi
fi
# The browser tests' driver library (playwright-core only: it drives /usr/bin/chromium, no browser
# download), pinned by the committed package-lock.json.
ui_tests="$(dirname "$0")/../crates/ordo/tests/ui"
if [ ! -d "$ui_tests/node_modules/playwright-core" ] \
    || ! cmp -s "$ui_tests/package-lock.json" "$ui_tests/node_modules/.package-lock.json.installed"; then
  (cd "$ui_tests" && npm ci --no-audit --no-fund --loglevel=error \
    && cp package-lock.json node_modules/.package-lock.json.installed)
fi
