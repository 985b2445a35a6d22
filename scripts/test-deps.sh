#!/usr/bin/env bash
# Installs what the test suite needs and the machine lacks (Debian packages,
# via apt-get; run as root). Safe to run again: it installs nothing present.
set -euo pipefail

need=()
command -v redis-server >/dev/null 2>&1 || need+=(redis-server)
command -v chromium >/dev/null 2>&1 || need+=(chromium)
command -v nginx >/dev/null 2>&1 || need+=(nginx)
# actionlint (e2e/release_test.go) runs shellcheck on the workflows' scripts.
command -v shellcheck >/dev/null 2>&1 || need+=(shellcheck)
# deploy/check verifies the systemd unit with systemd-analyze.
command -v systemd-analyze >/dev/null 2>&1 || need+=(systemd)
# Container images (e2e/image_test.go): podman with runc (crun fails here), and
# qemu-user-static to run the linux/arm64 release binaries (make release-verify).
command -v podman >/dev/null 2>&1 || need+=(podman)
command -v runc >/dev/null 2>&1 || need+=(runc)
command -v qemu-aarch64-static >/dev/null 2>&1 || need+=(qemu-user-static)
# The OpenAI Node SDK tests (e2e/openai_node_test.go) need Node 20+ and npm.
command -v node >/dev/null 2>&1 || need+=(nodejs)
command -v npm >/dev/null 2>&1 || need+=(npm)
# The examples (e2e/examples_test.go) and the Quick start check call curl.
command -v curl >/dev/null 2>&1 || need+=(curl)

if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "test-deps: missing ${need[*]}; run as root or install them" >&2
    exit 1
  fi
  echo "test-deps: installing ${need[*]}"
  apt-get -o DPkg::Lock::Timeout=300 update -qq
  DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

# The pinned Node packages of the OpenAI SDK tests (package-lock.json), once.
node_dir="$(dirname "$0")/../e2e/openai-node"
if [ ! -d "$node_dir/node_modules" ]; then
  echo "test-deps: npm ci in e2e/openai-node"
  (cd "$node_dir" && npm ci --no-audit --no-fund >/dev/null)
fi
