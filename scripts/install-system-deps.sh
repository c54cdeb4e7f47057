#!/usr/bin/env bash
# System tools some tests need: Chromium (dashboard e2e), Prometheus/promtool (monitoring),
# openssl (the TLS tests' self-signed certificates).
# Installs them from Debian's packages when running as root; otherwise says what is missing.
# Tests skip with a reason when a tool is missing on a laptop, and fail in CI (CI=true).
set -euo pipefail

missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
command -v promtool >/dev/null 2>&1 || missing+=(prometheus)
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
command -v openssl >/dev/null 2>&1 || missing+=(openssl)

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing system packages: ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  # Debian's prometheus package may start a daemon on :9090; tests start their own on free ports.
  if command -v systemctl >/dev/null 2>&1; then systemctl disable --now prometheus >/dev/null 2>&1 || true; fi
else
  echo "note: missing system packages: ${missing[*]} (apt-get install ${missing[*]}); tests needing them will skip" >&2
fi
