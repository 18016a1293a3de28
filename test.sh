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
  "chromium:chromium"
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
