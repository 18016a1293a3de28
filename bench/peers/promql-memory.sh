#!/usr/bin/env bash
# What one PromQL instant query over every series costs the gateway's memory: bench/Flotel.RemoteWriteLoad creates
# GROUPS × 100 series (default 3,000 requests × 100 = 300,000) with ROUNDS samples each, 60 s apart in sample time
# (default 10: ten minutes, the samples ending a minute before the generator starts); once the gateway counts every
# sample and has settled, each query runs once, in order, at that minute, with the gateway's /metrics polled every
# 0.3 s meanwhile.
#
#   bench/peers/promql-memory.sh [--groups 3000] [--rounds 10] [--settle 20] [--seconds 900] [QUERY …]
#   FLOTEL_DLL=…/flotel.dll measures another build of the gateway (default: a Release build of this checkout).
#
# Default queries: sum(count_over_time({series=~".+"}[15m])) (every sample of every series) and
# count({__name__=~".+"}) (every series' latest sample). Per query:
#   heap before / peak / after   dotnet_gc_heap_bytes before the query, the largest value polled while it ran (live
#                                objects plus garbage not yet collected), and 2 s after it answered
#   RSS after, peak              VmRSS 2 s after the answer, VmHWM (the process's peak so far)
#   seconds, answer              wall time as curl sees it; the first 120 characters of the answer
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
load_at_start=$(cut -d' ' -f1-3 /proc/loadavg)

groups=3000 rounds=10 settle=20 seconds=900 queries=()
while [ $# -gt 0 ]; do
  case "$1" in
    --groups) groups=$2; shift 2 ;;
    --rounds) rounds=$2; shift 2 ;;
    --settle) settle=$2; shift 2 ;;
    --seconds) seconds=$2; shift 2 ;;
    --*) echo "usage: $0 [--groups G] [--rounds R] [--settle SECONDS] [--seconds T] [QUERY …]" >&2; exit 2 ;;
    *) queries+=("$1"); shift ;;
  esac
done
[ ${#queries[@]} -gt 0 ] || queries=('sum(count_over_time({series=~".+"}[15m]))' 'count({__name__=~".+"})')
total_series=$((groups * 100))
total_samples=$((total_series * rounds))

if [ -z "${FLOTEL_DLL:-}" ]; then build_flotel; fi
build_rwload

metric_sum() {
  curl -fsS "http://$GW_HTTP/metrics" | awk -v n="$1" '{ s = $1; sub(/\{.*/, "", s) } s == n { v += $2; found = 1 } END { printf "%.0f\n", found ? v : 0 }'
}
mib() { awk -v b="$1" 'BEGIN { printf "%.0f", b / 1048576 }'; }
rss_mib() { awk '/^VmRSS:/ { printf "%.0f", $2 / 1024 }' "/proc/$GW_PID/status"; }

start_gateway "$BENCH_TMP/gateway"
t0=$(date +%s)
timeout "$seconds" dotnet "$LOAD_DLL" --url "http://$GW_HTTP/api/v1/write" --requests $((groups * rounds)) --groups "$groups" \
  --series-per-request 100 --samples-per-series 1 --step-ms 60000 --concurrency 2 --duration-seconds "$seconds" >"$BENCH_TMP/load.txt" 2>&1 \
  || { echo "bench: the generator failed:" >&2; cat "$BENCH_TMP/load.txt" >&2; exit 1; }
wait_until_at_least "$total_samples" 300 metric_sum flotel_store_samples_total >/dev/null
sleep "$settle"

rows=()
for q in "${queries[@]}"; do
  heap0=$(metric_sum dotnet_gc_heap_bytes)
  ( while :; do metric_sum dotnet_gc_heap_bytes; sleep 0.3; done ) >"$BENCH_TMP/heap.poll" 2>/dev/null &
  poller=$!
  s=$(now)
  status=$(curl -sS --max-time 300 "http://$GW_HTTP/api/v1/query" --data-urlencode "query=$q" --data-urlencode "time=$((t0 + 60))" \
    -o "$BENCH_TMP/answer.json" -w '%{http_code}')
  e=$(now)
  sleep 2
  kill "$poller" 2>/dev/null || true; wait "$poller" 2>/dev/null || true
  peak=$(sort -n "$BENCH_TMP/heap.poll" | tail -n 1)
  rows+=("| \`$q\` | $status $(head -c 120 "$BENCH_TMP/answer.json" | tr '|' '/') | $(awk -v s="$s" -v e="$e" 'BEGIN { printf "%.1f", e - s }') \
| $(mib "$heap0") / **$(mib "${peak:-0}")** / $(mib "$(metric_sum dotnet_gc_heap_bytes)") | $(rss_mib) / $(rss_peak_mib "$GW_PID") |")
  echo "${rows[-1]}" >&2
done
stop_pid "$GW_PID" || true

echo
echo "PromQL over every series: $total_series series × $rounds samples 60 s apart, $(date -u +%Y-%m-%dT%H:%MZ)," \
  "load average at start: $load_at_start, at end: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "| query | answer | seconds | heap MiB before / peak / after | RSS MiB after / peak |"
echo "|---|---|---:|---:|---:|"
printf '%s\n' "${rows[@]}"
