#!/usr/bin/env bash
# Side by side, same generator (bench/Flotel.RemoteWriteLoad: pre-encoded remote-write 1.0 bodies posted
# concurrently), same machine, loopback: VictoriaMetrics vs Prometheus vs flotel gateway.
# Reports samples/s acknowledged (2xx), receiver CPU per sample, peak RSS, and bytes per sample on disk (gateway's
# metric store after a clean stop; VictoriaMetrics' storage after a clean stop; Prometheus keeps them in its WAL
# until a 2 h block is cut, so its size is shown but not comparable).
# Usage: bench/peers/remote-write.sh [--requests N] [--series-per-request S] [--samples-per-series K]
#                                    [--groups G] [--concurrency C] [--seconds T] [--only LIST]
#   --only: a comma-separated subset of vm,prom,queue,store (default all). queue = the gateway with store.enabled: false
#   (no output reads the queue: a 2xx is the whole job); store = a second gateway run with its embedded metric store.
set -euo pipefail
source "$(dirname "$0")/common.sh"
load_at_start=$(cut -d' ' -f1-3 /proc/loadavg)

# 8 groups × 1,000 series: each series gets 1,250 samples by default, so bytes/sample are the chunks' cost and not
# the series index's. Samples 2 s apart keep a whole run inside Prometheus' appendable head window.
requests=1000 series=1000 samples=10 groups=8 step_ms=2000 concurrency=4 seconds=60 drain_limit=300 only=vm,prom,queue,store
while [ $# -gt 0 ]; do
  case $1 in
    --requests) requests=$2; shift 2 ;;
    --series-per-request) series=$2; shift 2 ;;
    --samples-per-series) samples=$2; shift 2 ;;
    --groups) groups=$2; shift 2 ;;
    --concurrency) concurrency=$2; shift 2 ;;
    --seconds) seconds=$2; shift 2 ;;
    --only) only=$2; shift 2 ;;
    *) echo "usage: $0 [--requests N] [--series-per-request S] [--samples-per-series K] [--groups G] [--concurrency C] [--seconds T] [--only vm,prom,queue,store]" >&2; exit 2 ;;
  esac
done

want() { [[ ",$only," == *",$1,"* ]]; }
[ -n "${FLOTEL_DLL:-}" ] || build_flotel  # FLOTEL_DLL=…/flotel.dll measures another build
build_rwload

# Runs the generator against URL, measuring PID's CPU; sets R_SAMPLES R_SECS R_CPU0 R_CPU1.
run_load() {
  local url=$1 pid=$2 out=$BENCH_TMP/load-$3.txt
  R_CPU0=$(cpu_seconds "$pid")
  dotnet "$LOAD_DLL" --url "$url" --requests "$requests" --series-per-request "$series" --samples-per-series "$samples" \
    --groups "$groups" --step-ms "$step_ms" --concurrency "$concurrency" --duration-seconds "$seconds" >"$out" 2>"$out.err" \
    || { echo "bench: the generator reported failures against $3:" >&2; cat "$out" "$out.err" >&2; }
  R_CPU1=$(cpu_seconds "$pid")
  R_SAMPLES=$(sed -n 's/.*samples=\([0-9]*\) .*/\1/p' "$out")
  R_SECS=$(sed -n 's/.*seconds=\([0-9.]*\) .*/\1/p' "$out")
}

row() { # name samples seconds cpu0 cpu1 rss bytes
  local rate cpu_us bps
  rate=$(ratio "$2" "$3" %.0f)
  cpu_us=$(awk -v a="$4" -v b="$5" -v n="$2" 'BEGIN { printf "%.3f", (b - a) * 1e6 / n }')
  bps=$(if [ -n "$7" ]; then ratio "$7" "$2" %.2f; else echo "n/a"; fi)
  printf '| %s | %s | %s | %s | %s | %s | %s |\n' "$1" "$2" "$3" "$rate" "$cpu_us" "$6" "$bps"
}
rows=()

if want vm; then
# ---- VictoriaMetrics ----
vm=$BENCH_TMP/vm; mkdir -p "$vm"; vm_port=$(free_port)
/usr/bin/victoria-metrics -httpListenAddr="127.0.0.1:$vm_port" -storageDataPath="$vm/data" -loggerLevel=ERROR >"$vm/out" 2>&1 &
vm_pid=$!; track_pid "$vm_pid"
wait_http "http://127.0.0.1:$vm_port/health"
run_load "http://127.0.0.1:$vm_port/api/v1/write" "$vm_pid" vm
vm_rss=$(rss_peak_mib "$vm_pid"); stop_pid "$vm_pid"
vm_bytes=$(du -sb "$vm/data" | cut -f1)
rows+=("$(row "VictoriaMetrics → its storage" "$R_SAMPLES" "$R_SECS" "$R_CPU0" "$R_CPU1" "$vm_rss" "$vm_bytes")")
vm_rate=$(ratio "$R_SAMPLES" "$R_SECS" %.3f); vm_cpu=$(ratio "$(awk -v a="$R_CPU0" -v b="$R_CPU1" 'BEGIN { print b - a }')" "$R_SAMPLES" %.12f)
fi

if want prom; then
# ---- Prometheus ----
pr=$BENCH_TMP/prom; mkdir -p "$pr"; pr_port=$(free_port)
printf 'global:\n  scrape_interval: 15s\n' >"$pr/prometheus.yml"
/usr/bin/prometheus --config.file="$pr/prometheus.yml" --storage.tsdb.path="$pr/data" --web.listen-address="127.0.0.1:$pr_port" \
  --web.enable-remote-write-receiver --log.level=error >"$pr/out" 2>&1 &
pr_pid=$!; track_pid "$pr_pid"
wait_http "http://127.0.0.1:$pr_port/-/ready"
run_load "http://127.0.0.1:$pr_port/api/v1/write" "$pr_pid" prom
pr_rss=$(rss_peak_mib "$pr_pid"); stop_pid "$pr_pid"
rows+=("$(row "Prometheus → head + WAL" "$R_SAMPLES" "$R_SECS" "$R_CPU0" "$R_CPU1" "$pr_rss" "")")
pr_rate=$(ratio "$R_SAMPLES" "$R_SECS" %.3f)
fi

# ---- flotel gateway → durable queue, no output reading it (store.enabled: false): the 2xx is the whole job ----
if want queue; then
gq=$BENCH_TMP/gateway-queue
start_gateway "$gq" "$(queue_only_config)"
run_load "http://$GW_HTTP/api/v1/write" "$GW_PID" gateway-queue
gq_rss=$(rss_peak_mib "$GW_PID"); stop_pid "$GW_PID"
rows+=("$(row "flotel gateway → durable queue" "$R_SAMPLES" "$R_SECS" "$R_CPU0" "$R_CPU1" "$gq_rss" "")")
q_rate=$(ratio "$R_SAMPLES" "$R_SECS" %.3f); q_cpu=$(ratio "$(awk -v a="$R_CPU0" -v b="$R_CPU1" 'BEGIN { print b - a }')" "$R_SAMPLES" %.12f)
fi

# ---- flotel gateway with its embedded store (the default): 2xx while storing, then → metric store ----
if want store; then
gw=$BENCH_TMP/gateway
start_gateway "$gw"
run_load "http://$GW_HTTP/api/v1/write" "$GW_PID" gateway
gw_q_samples=$R_SAMPLES gw_q_secs=$R_SECS gw_cpu0=$R_CPU0 gw_cpu_q=$R_CPU1
load_started=$(awk -v n="$(now)" -v s="$R_SECS" 'BEGIN { printf "%.3f", n - s }')
ts=$(wait_until_at_least "$gw_q_samples" "$drain_limit" gateway_metric flotel_store_samples_total)
gw_cpu_s=$(cpu_seconds "$GW_PID"); gw_rss=$(rss_peak_mib "$GW_PID")
gw_s_secs=$(awk -v a="$load_started" -v b="$ts" 'BEGIN { printf "%.3f", b - a }')
stop_pid "$GW_PID"
gw_bytes=$(du -sb "$gw/metrics" | cut -f1)
rows+=("$(row "flotel gateway + store, 2xx mark" "$gw_q_samples" "$gw_q_secs" "$gw_cpu0" "$gw_cpu_q" "$gw_rss" "")")
rows+=("$(row "flotel gateway → embedded metric store" "$gw_q_samples" "$gw_s_secs" "$gw_cpu0" "$gw_cpu_s" "$gw_rss" "$gw_bytes")")
s_rate=$(ratio "$gw_q_samples" "$gw_s_secs" %.3f)
fi

echo
echo "remote-write ingest, ${requests} requests × ${series} series × ${samples} samples ($((groups * series)) series in all), ${concurrency} senders, $(date -u +%Y-%m-%dT%H:%MZ), load average at start: $load_at_start, at end: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "| receiver | samples (2xx) | seconds | samples/s | CPU µs/sample | RSS peak MiB | bytes/sample on disk |"
echo "|---|---:|---:|---:|---:|---:|---:|"
printf '%s\n' "${rows[@]}"
echo
want vm && want queue && echo "ratios: gateway queue / VictoriaMetrics $(ratio "$q_rate" "$vm_rate")× (goal ≥ 1.0), CPU/sample $(ratio "$q_cpu" "$vm_cpu")×"
want vm && want store && echo "        gateway store / VictoriaMetrics $(ratio "$s_rate" "$vm_rate")× (goal ≥ 0.5)"
want prom && want queue && echo "        gateway queue / Prometheus $(ratio "$q_rate" "$pr_rate")×"
echo "note: the queue row runs the gateway with store.enabled: false (nothing reads the queue); the \"+ store, 2xx mark\" row is"
echo "      a second gateway with its store output running, timed by the generator; the metric-store row's bytes are the"
echo "      whole metrics/ directory after a clean stop (index + chunks)."
