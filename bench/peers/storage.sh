#!/usr/bin/env bash
# Bytes on disk per sample (metrics) for VictoriaMetrics and `flotel gateway` side by side, fed the same remote-write
# bodies (bench/Flotel.RemoteWriteLoad) in one run, for three shapes; then bytes on disk per raw byte of logs
# (bench/peers/log-storage.sh, called as is).
#   remote-write  the generator's node_exporter-like mix (bench/Shared/NodeSeries.cs): 8,000 series, samples 2 s apart
#   node          a real prometheus-node-exporter on loopback, scraped SCRAPES times back to back before sending; the
#                 i-th scrape is stamped 15 s after the (i-1)-th, so SCRAPES × 15 s of sample time (default 960 = 4 h);
#                 real series and values, but the counters grew by what the machine did between two scrapes (a few
#                 ms), not by 15 s of work
#   decimal       --values decimal: 4,000 series of uneven decimal counters and drifting decimal gauges, 15 s apart, 12 h
# Each receiver starts fresh with an empty directory per shape. VictoriaMetrics: after the last 2xx,
# /internal/force_flush, /internal/force_merge for each month the samples fall in, then SIGTERM (a clean stop), then
# `du -sb` of its whole -storageDataPath. Flotel: wait until flotel_store_samples_total reaches the acknowledged
# samples, SIGTERM (heads persisted), `du -sb` of the whole metric store directory (<data>/metrics: metrics.db, no WAL
# left after a clean stop). Bytes/sample = those bytes / samples acknowledged.
# Usage: bench/peers/storage.sh [--shapes LIST] [--scrapes N] [--log-lines N] [--only vm,gateway]
#   --shapes: comma-separated subset of remote-write,node,decimal,logs (default all)
#   FLOTEL_DLL=…/flotel.dll measures another build of the gateway (default: a Release build of this checkout).
# Bounded: fixed request counts, at most 120 s of sending per run, every wait has a limit.
set -euo pipefail
source "$(dirname "$0")/common.sh"
load_at_start=$(cut -d' ' -f1-3 /proc/loadavg)

shapes=remote-write,node,decimal,logs scrapes=960 log_lines=100000 only=vm,gateway drain_limit=300
while [ $# -gt 0 ]; do
  case $1 in
    --shapes) shapes=$2; shift 2 ;;
    --scrapes) scrapes=$2; shift 2 ;;
    --log-lines) log_lines=$2; shift 2 ;;
    --only) only=$2; shift 2 ;;
    *) echo "usage: $0 [--shapes remote-write,node,decimal,logs] [--scrapes N] [--log-lines N] [--only vm,gateway]" >&2; exit 2 ;;
  esac
done
want() { [[ ",$only," == *",$1,"* ]]; }
shape() { [[ ",$shapes," == *",$1,"* ]]; }

if [ -z "${FLOTEL_DLL:-}" ] && want gateway; then build_flotel; fi
build_rwload

# Generator arguments per shape (the bodies file makes both receivers get the same scrapes).
shape_args() {
  case $1 in
    remote-write) echo "--requests 1000 --series-per-request 1000 --samples-per-series 10 --groups 8 --step-ms 2000 --concurrency 4" ;;
    node) echo "--scrape http://127.0.0.1:$NE_PORT/metrics --requests $(( (scrapes + 9) / 10 )) --samples-per-series 10 --groups 1 --step-ms 15000 --concurrency 1" ;;
    decimal) echo "--values decimal --requests 1152 --series-per-request 1000 --samples-per-series 10 --groups 4 --step-ms 15000 --concurrency 4" ;;
  esac
}

# Sends shape $1's bodies to URL $2; sets R_SAMPLES.
send() {
  local out=$BENCH_TMP/load-$1-$3.txt args
  read -r -a args <<<"$(shape_args "$1")"
  dotnet "$LOAD_DLL" --url "$2" "${args[@]}" --bodies "$BENCH_TMP/bodies-$1.bin" --duration-seconds 120 >"$out" 2>"$out.err" \
    || { echo "bench: the generator reported failures against $3:" >&2; cat "$out" "$out.err" >&2; return 1; }
  R_SAMPLES=$(sed -n 's/.*samples=\([0-9]*\) .*/\1/p' "$out")
}

# Waits until du -sb of $1 is the same twice 1 s apart (at most 60 s): VictoriaMetrics merges in the background.
settle_size() {
  local prev=-1 cur i
  for ((i = 0; i < 60; i++)); do
    cur=$(du -sb "$1" | cut -f1); [ "$cur" = "$prev" ] && return 0; prev=$cur; sleep 1
  done
}

if shape node; then
  NE_PORT=$(free_port)
  /usr/bin/prometheus-node-exporter --web.listen-address="127.0.0.1:$NE_PORT" >"$BENCH_TMP/node-exporter.out" 2>&1 &
  ne_pid=$!; track_pid "$ne_pid"
  wait_http "http://127.0.0.1:$NE_PORT/metrics"
fi

rows=()
for s in remote-write node decimal; do
  shape "$s" || continue
  vm_bps=n/a gw_bps=n/a vm_samples=0 gw_samples=0
  if want vm; then
    vm=$BENCH_TMP/vm-$s; mkdir -p "$vm"; vm_port=$(free_port)
    /usr/bin/victoria-metrics -httpListenAddr="127.0.0.1:$vm_port" -storageDataPath="$vm/data" -loggerLevel=ERROR >"$vm/out" 2>&1 &
    vm_pid=$!; track_pid "$vm_pid"
    wait_http "http://127.0.0.1:$vm_port/health"
    send "$s" "http://127.0.0.1:$vm_port/api/v1/write" vm; vm_samples=$R_SAMPLES
    curl -fsS "http://127.0.0.1:$vm_port/internal/force_flush" >/dev/null
    for month in $(date -u +%Y_%m) $(date -u -d '-1 day' +%Y_%m); do
      curl -fsS "http://127.0.0.1:$vm_port/internal/force_merge?partition_prefix=$month" >/dev/null || true
    done
    settle_size "$vm/data"
    stop_pid "$vm_pid"
    vm_bytes=$(du -sb "$vm/data" | cut -f1)
    vm_bps=$(ratio "$vm_bytes" "$vm_samples" %.3f)
  fi
  if want gateway; then
    gw=$BENCH_TMP/gateway-$s
    start_gateway "$gw"
    send "$s" "http://$GW_HTTP/api/v1/write" gateway; gw_samples=$R_SAMPLES
    wait_until_at_least "$gw_samples" "$drain_limit" gateway_metric flotel_store_samples_total >/dev/null
    stop_pid "$GW_PID"
    gw_bytes=$(du -sb "$gw/metrics" | cut -f1)
    gw_bps=$(ratio "$gw_bytes" "$gw_samples" %.3f)
    [ -n "${STORAGE_KEEP:-}" ] && { mkdir -p "$STORAGE_KEEP/$s"; cp -r "$gw/metrics" "$STORAGE_KEEP/$s/"; }
  fi
  rows+=("| $s | $vm_samples | $vm_bps | $gw_samples | $gw_bps | $(if want vm && want gateway; then ratio "$gw_bps" "$vm_bps"; else echo n/a; fi) |")
done

if [ ${#rows[@]} -gt 0 ]; then
  echo
  echo "metric storage, $(date -u +%Y-%m-%dT%H:%MZ), load average at start: $load_at_start, at end: $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "| shape | VictoriaMetrics samples | VictoriaMetrics bytes/sample | Flotel samples | Flotel bytes/sample | Flotel / VictoriaMetrics |"
  echo "|---|---:|---:|---:|---:|---:|"
  printf '%s\n' "${rows[@]}"
  echo "note: whole directories after a clean stop (VictoriaMetrics: force_flush and force_merge first); goal Flotel / VictoriaMetrics ≤ 1"
fi

if shape logs; then
  echo
  echo "log storage (bench/peers/log-storage.sh --lines $log_lines):"
  "$(dirname "$0")/log-storage.sh" --lines "$log_lines"
fi
