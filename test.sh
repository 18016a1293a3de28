#!/usr/bin/env bash
# Runs every Flotel test: installs the Debian test peers it needs when they are missing (architecture §7),
# builds the solution, runs all test projects, and ends with one line "N passed, N failed, N skipped".
set -uo pipefail
cd "$(dirname "$0")"

# Real peers the tests start on 127.0.0.1 (command -> Debian package).
peers=(
  "prometheus:prometheus"
  "victoria-metrics:victoria-metrics"
  "vmagent:victoria-metrics"
  "prometheus-node-exporter:prometheus-node-exporter"
  "rsyslogd:rsyslog"
  "/usr/lib/x86_64-linux-gnu/rsyslog/omelasticsearch.so:rsyslog-elasticsearch"
  "/usr/lib/x86_64-linux-gnu/rsyslog/lmnsd_gtls.so:rsyslog-gnutls"   # rsyslog's TLS driver (agent TLS log target test)
  "chromium:chromium"
  "podman:podman"
  "runc:runc"
  "catatonit:catatonit"
  "/bin/busybox:busybox-static"
  "node:nodejs"   # the AWS SDK for JavaScript cross-check of the timestream output (npm ci from its lock file)
  "npm:npm"
  "influxd:influxdb"
  # The arm64 device build is cross-compiled (NativeAOT: clang, llvm-objcopy, the aarch64 GNU toolchain and C library)
  # and run under qemu-user; the release packages are built with dpkg-deb and rpmbuild (Deploy/ tests).
  "clang:clang"
  "llvm-objcopy:llvm"
  "aarch64-linux-gnu-gcc:gcc-aarch64-linux-gnu"
  "/usr/aarch64-linux-gnu/lib/libc.so:libc6-dev-arm64-cross"
  "qemu-aarch64-static:qemu-user-static"
  "rpmbuild:rpm"
  "readelf:binutils"               # the glibc version the agent packages require, read from the binary
  # systemd-analyze verify of the packaged units in a scratch root (no running systemd needed); /bin/kill is ExecReload's
  "systemd-analyze:systemd"
  "/bin/kill:procps"
  # flotel up's install step is tested in a fresh Debian root made with debootstrap (cached in .test-peers/)
  "debootstrap:debootstrap"
)
missing=()
for p in "${peers[@]}"; do
  cmd=${p%%:*}; pkg=${p#*:}
  if [ "${cmd#/}" != "$cmd" ]; then [ -e "$cmd" ] || missing+=("$pkg")
  else command -v "$cmd" >/dev/null 2>&1 || missing+=("$pkg"); fi
done
if [ ${#missing[@]} -gt 0 ]; then
  mapfile -t missing < <(printf '%s\n' "${missing[@]}" | sort -u)
  echo "test.sh: installing test peers: ${missing[*]}"
  if [ "$(id -u)" -eq 0 ]; then sudo=""; else sudo="sudo"; fi
  $sudo apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null \
    || { echo "test.sh: could not install ${missing[*]}"; echo "0 passed, 1 failed"; exit 1; }
fi

# loggen (syslog load generator) ships in syslog-ng-core, which conflicts with rsyslog as an installed package:
# unpack the .deb into .test-peers/ instead (architecture §7). The tests find it there or through FLOTEL_LOGGEN_ROOT.
loggen_root="$PWD/.test-peers/syslog-ng-core"
if [ ! -x "$loggen_root/usr/bin/loggen" ]; then
  echo "test.sh: unpacking loggen from syslog-ng-core into $loggen_root"
  dl=$(mktemp -d) && chmod 755 "$dl"
  if [ "$(id -u)" -eq 0 ]; then sudo=""; else sudo="sudo"; fi
  (cd "$dl" && apt-get download syslog-ng-core >/dev/null 2>&1) \
    || { $sudo apt-get update -qq >/dev/null; (cd "$dl" && apt-get download syslog-ng-core >/dev/null 2>&1); } \
    || echo "test.sh: could not download syslog-ng-core (the loggen tests will fail)"
  for deb in "$dl"/syslog-ng-core_*.deb; do [ -e "$deb" ] && mkdir -p "$loggen_root" && dpkg -x "$deb" "$loggen_root"; done
  rm -rf "$dl"
fi
export FLOTEL_LOGGEN_ROOT="$loggen_root"

log=$(mktemp)
trap 'rm -f "$log"' EXIT
dotnet test Flotel.sln -c Release --nologo --blame-hang-timeout 10m "$@" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}

# Sum the per-project summaries ("Failed:     0, Passed:    12, Skipped:     0, Total: ...").
read -r passed failed skipped < <(grep -oE 'Failed: +[0-9]+, Passed: +[0-9]+, Skipped: +[0-9]+' "$log" \
  | awk -F'[^0-9]+' '{f+=$2; p+=$3; s+=$4} END {printf "%d %d %d\n", p, f, s}')
if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then
  failed=1   # the build or a test host failed before reporting: count it, never report green
  echo "test.sh: dotnet test exited with $status without a failed test (build or test-host failure)"
fi
echo "${passed} passed, ${failed} failed, ${skipped} skipped"
[ "$status" -eq 0 ] && [ "$failed" -eq 0 ]
