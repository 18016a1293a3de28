#!/usr/bin/env bash
# The fleet simulator: N devices, each with one persistent syslog connection (Flotta line layout, its device name as
# hostname) and one remote-write request of K series every I seconds (edgedeviceid=<device>), against one gateway on
# loopback. Without --gateway it starts a Release `flotel gateway` in a temporary directory (ports chosen by the
# kernel) and stops it by PID at the end. Prints a table and a last line "fleet: …". Exit 0 = nothing lost, no errors.
# With --enrol every device first enrols with the gateway's fleet and runs the agent's bundle long poll and status
# reports; --control-plane-only does that without sending any data.
#
#   bench/fleet/run.sh --devices N --seconds S [--warmup W] [--lines-per-s L] [--series K] [--interval I] [--tls] [--enrol]
#   bench/fleet/run.sh --devices N --seconds S [--warmup W] --control-plane-only
#   bench/fleet/run.sh --devices N --seconds S --gateway http://127.0.0.1:9201 --syslog 127.0.0.1:5140 [--gateway-pid PID]
#
# Defaults: L = 1, K = 100, I = 60, W = 0. More options: --probes-per-s (0 = none), --settle-seconds, --fleet
# (flotel-fleetsim --help).
#
# Every device holds a socket in the simulator and one in the gateway for its syslog connection, and one more on each
# side for its fleet connection with --enrol. Before anything connects the simulator checks that both processes'
# open-file limits (RLIMIT_NOFILE) hold them with 256 to spare, and otherwise exits 2 at once naming the limit and the
# largest --devices that fits (docs/benchmarks.md, "Fleet simulator").
set -euo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
LOG=$(mktemp "${TMPDIR:-/tmp}/flotel-fleet-build.XXXXXX")
trap 'rm -f "$LOG"' EXIT

args=("$@")
external=0
seconds=60
warmup=0
devices=100
enrol=0
for ((i = 0; i < ${#args[@]}; i++)); do
  case "${args[$i]}" in
    --gateway) external=1 ;;
    --seconds) seconds=${args[$((i + 1))]:-60} ;;
    --devices) devices=${args[$((i + 1))]:-100} ;;
    --warmup) warmup=${args[$((i + 1))]:-0} ;;
    --enrol|--control-plane-only) enrol=1 ;;
    -h|--help) external=1 ;;
  esac
done

build() {
  dotnet build "$REPO/$1" -c Release --nologo -v q >"$LOG" 2>&1 || { cat "$LOG" >&2; exit 1; }
}

if [ "$external" = 0 ]; then
  build src/Flotel.Cli
  args=(--flotel "$REPO/src/Flotel.Cli/bin/Release/net10.0/flotel.dll" "${args[@]}")
fi
build bench/Flotel.FleetSim

# Each device holds sockets in the simulator and in the gateway (a child process: it inherits this limit).
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
echo "fleet: load average $(cut -d' ' -f1-3 /proc/loadavg), $(nproc) cores" >&2
# Bounded twice: the simulator stops sending after --seconds and waits at most --settle-seconds for the counts;
# this outer limit only catches a hang (enrolment is bounded inside at 10 minutes or 0.15 s per device, the longer).
rm -f "$LOG"
exec timeout --signal=TERM "$((seconds + warmup + 900 + enrol * (1200 + devices * 15 / 100)))" dotnet "$REPO/bench/Flotel.FleetSim/bin/Release/net10.0/flotel-fleetsim.dll" "${args[@]}"
