#!/usr/bin/env bash
# The container engine the compose-stack test tier (tests/containers) runs on: Podman from Debian's
# packages, which serves the Docker API that the real Compose v2 binary drives, with runc and
# mmdebstrap (to build a base image from Debian's packages where no registry can be reached).
# Idempotent; run as root. Why each setting: docs/deployment.md, "Troubleshooting".
set -euo pipefail

packages=(podman runc fuse-overlayfs slirp4netns uidmap mmdebstrap)
missing=()
for tool in podman runc mmdebstrap; do
  command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
done

if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "note: missing ${missing[*]}; as root: apt-get install ${packages[*]}" >&2
    exit 1
  fi
  echo "installing the container engine: ${packages[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${packages[@]}" >/dev/null
fi

# crun (podman's default runtime) fails on hybrid cgroups here; runc works. Raising rlimits is
# refused in this kind of sandbox and podman raises nofile/nproc on every container by default:
# lower explicit values work. Only written when absent, so a machine's own settings stay.
conf=/etc/containers/containers.conf
if [ ! -e "$conf" ] && [ "$(id -u)" -eq 0 ]; then
  mkdir -p /etc/containers
  cat >"$conf" <<'CONF'
# Written by MySpinBot's scripts/install-container-engine.sh (see docs/deployment.md).
[containers]
default_ulimits = ["nofile=16384:16384", "nproc=4096:4096"]
[engine]
runtime = "runc"
CONF
fi
