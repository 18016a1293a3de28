#!/usr/bin/env bash
# What an active series costs the receiver, side by side with VictoriaMetrics, fed the same remote-write stream by
# bench/Flotel.RemoteWriteLoad: GROUPS requests of S series with N samples each (creating GROUPS × S series), then
# ROUNDS - 1 more rounds giving every series N more samples, STEP later each in sample time (compressed time: the
# rounds are sent back to back). Defaults: N = 1, STEP = 60 s. A full head chunk (2 h at 15 s = 480 samples):
# --groups 1000 --rounds 10 --samples-per-request 48 --step-ms 15000.
#
#   bench/peers/series-memory.sh [--groups 10000] [--series-per-request 100] [--rounds 2] [--samples-per-request 1]
#                                [--step-ms 60000] [--concurrency 4] [--settle 30] [--seconds 600] [--only vm,gateway]
#   FLOTEL_DLL=…/flotel.dll measures another build of the gateway (default: a Release build of this checkout).
#
# One receiver at a time, each started fresh in a temporary directory. Per receiver:
#   RSS before   VmRSS 5 s after it answered its health check, before any request
#   created      series created per second, from the first request until the receiver counts them all
#                (VictoriaMetrics: vm_new_timeseries_created_total; gateway: flotel_store_metric_series)
#   queryable    seconds from the first request until the receiver holds every acknowledged sample where queries
#                read them (VictoriaMetrics: vm_rows_added_to_storage_total, searchable after its in-memory parts
#                are flushed, ≤ 1 s later by default; gateway: flotel_store_samples_total, the in-memory heads
#                queries read)
#   RSS after    VmRSS --settle seconds after that; bytes per series = (after - before) / series
#   managed heap the gateway's dotnet_gc_heap_bytes at the same moment (live objects plus garbage not yet collected)
#   check        samples a PromQL query finds in the last series created (ROUNDS × N), after the RSS was read
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
load_at_start=$(cut -d' ' -f1-3 /proc/loadavg)

groups=10000 series=100 rounds=2 per_request=1 step_ms=60000 concurrency=4 settle=30 seconds=600 only=vm,gateway
while [ $# -gt 0 ]; do
  case "$1" in
    --groups) groups=$2; shift 2 ;;
    --series-per-request) series=$2; shift 2 ;;
    --rounds) rounds=$2; shift 2 ;;
    --samples-per-request) per_request=$2; shift 2 ;;
    --step-ms) step_ms=$2; shift 2 ;;
    --concurrency) concurrency=$2; shift 2 ;;
    --settle) settle=$2; shift 2 ;;
    --seconds) seconds=$2; shift 2 ;;
    --only) only=$2; shift 2 ;;
    *) echo "usage: $0 [--groups G] [--series-per-request S] [--rounds R] [--samples-per-request N] [--step-ms MS] [--concurrency C]" \
         "[--settle SECONDS] [--seconds T] [--only vm,gateway]" >&2; exit 2 ;;
  esac
done
want() { [[ ",$only," == *",$1,"* ]]; }
total_series=$((groups * series))
requests=$((groups * rounds))
total_samples=$((total_series * rounds * per_request))
# The query window of the check: every sample of a series (they end when the generator starts), plus ten minutes for
# the run and the settling.
span_s=$((rounds * per_request * step_ms / 1000 + 600))
drain_limit=$((seconds + 300))

if [ -z "${FLOTEL_DLL:-}" ] && want gateway; then build_flotel; fi
build_rwload

rss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }

# One value from a Prometheus-format /metrics page at URL: the sum of every series whose name is $2 (any labels).
metric_sum() {
  curl -fsS "$1" | awk -v n="$2" '{ s = $1; sub(/\{.*/, "", s) } s == n { v += $2; found = 1 } END { printf "%.0f\n", found ? v : 0 }'
}

# The samples a PromQL query at base URL $1 finds in the last series the generator created (extra query parameters in
# $2): ROUNDS × N when it is queryable.
count_last_series() {
  curl -fsS --max-time 60 "$1/api/v1/query" --data-urlencode "query=count_over_time({series=\"$((total_series - 1))\"}[${span_s}s])" ${2:+--data-urlencode "$2"} \
    | sed -n 's/.*"value":\[[0-9.]*,"\([0-9]*\)"\].*/\1/p'
}

# Measures receiver PID; $1 name, $2 PID, $3 write URL, $4 metrics URL, $5 series metric, $6 samples metric, $7 query base
# URL, $8 extra query parameter. Appends a table row.
rows=()
measure() {
  local name=$1 pid=$2 url=$3 metrics=$4 series_metric=$5 samples_metric=$6 query=$7 extra=$8
  local out=$BENCH_TMP/load-$name.txt before after start t_series t_samples cpu0 cpu1 heap="" check
  sleep 5
  before=$(rss_kib "$pid")
  cpu0=$(cpu_seconds "$pid")
  start=$(now)
  dotnet "$LOAD_DLL" --url "$url" --requests "$requests" --groups "$groups" --series-per-request "$series" \
    --samples-per-series "$per_request" --step-ms "$step_ms" --concurrency "$concurrency" --duration-seconds "$seconds" >"$out" 2>"$out.err" \
    || { echo "bench: the generator reported failures against $name:" >&2; cat "$out" "$out.err" >&2; }
  local acked; acked=$(sed -n 's/.*samples=\([0-9]*\) .*/\1/p' "$out")
  [ "$acked" = "$total_samples" ] || echo "bench: $name acknowledged $acked of $total_samples samples" >&2
  WATCH_PID=$pid
  t_series=$(wait_until_at_least "$total_series" "$drain_limit" metric_sum "$metrics" "$series_metric")
  t_samples=$(wait_until_at_least "$acked" "$drain_limit" metric_sum "$metrics" "$samples_metric")
  cpu1=$(cpu_seconds "$pid")
  sleep "$settle"
  after=$(rss_kib "$pid")
  if [ "$name" = gateway ]; then heap=$(metric_sum "$metrics" dotnet_gc_heap_bytes); fi
  check=$(count_last_series "$query" "$extra" || echo "failed")
  local peak; peak=$(rss_peak_mib "$pid")
  rows+=("$(awk -v n="$name" -v b="$before" -v a="$after" -v s="$total_series" -v st="$start" -v ts="$t_series" -v tq="$t_samples" \
    -v c0="$cpu0" -v c1="$cpu1" -v h="$heap" -v p="$peak" -v chk="$check" 'BEGIN {
      printf "| %s | %d | %.1f | %.1f | %.1f | **%.0f** | %s | %.0f | %.1f | %.1f | %s |",
        n, s, b / 1024, a / 1024, p, (a - b) * 1024 / s, (h == "" ? "n/a" : sprintf("%.0f", h / s)),
        s / (ts - st), tq - st, c1 - c0, chk }')")
  echo "${rows[-1]}" >&2 # at once: a table row survives a later failure
  PER_SERIES[$name]=$(awk -v b="$before" -v a="$after" -v s="$total_series" 'BEGIN { printf "%.3f", (a - b) * 1024 / s }')
}
declare -A PER_SERIES

if want vm; then
  vm=$BENCH_TMP/vm; mkdir -p "$vm"; vm_port=$(free_port)
  /usr/bin/victoria-metrics -httpListenAddr="127.0.0.1:$vm_port" -storageDataPath="$vm/data" -loggerLevel=ERROR >"$vm/out" 2>&1 &
  vm_pid=$!; track_pid "$vm_pid"
  wait_http "http://127.0.0.1:$vm_port/health"
  measure vm "$vm_pid" "http://127.0.0.1:$vm_port/api/v1/write" "http://127.0.0.1:$vm_port/metrics" \
    vm_new_timeseries_created_total vm_rows_added_to_storage_total "http://127.0.0.1:$vm_port" nocache=1
  stop_pid "$vm_pid" || true
fi

if want gateway; then
  start_gateway "$BENCH_TMP/gateway"
  measure gateway "$GW_PID" "http://$GW_HTTP/api/v1/write" "http://$GW_HTTP/metrics" \
    flotel_store_metric_series flotel_store_samples_total "http://$GW_HTTP" ""
  stop_pid "$GW_PID" || true # a gateway still flushing its heads after 30 s is killed (and says so)
fi

echo
echo "active series: $groups requests × $series series × $per_request sample(s) $((step_ms / 1000)) s apart, then $((rounds - 1)) more round(s) (as many more samples per series), $concurrency senders, $(date -u +%Y-%m-%dT%H:%MZ), load average at start: $load_at_start, at end: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "| receiver | series | RSS before MiB | RSS after MiB | RSS peak MiB | bytes/series (RSS) | managed heap bytes/series | series created/s | queryable after s | CPU s | check: samples of the last series |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
printf '%s\n' "${rows[@]}"
if want vm && want gateway; then
  echo
  echo "ratio: gateway / VictoriaMetrics bytes per series (RSS) $(ratio "${PER_SERIES[gateway]}" "${PER_SERIES[vm]}")× (goal ≤ 1.0)"
fi
