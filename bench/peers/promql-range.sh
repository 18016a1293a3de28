#!/usr/bin/env bash
# Side by side, same data, same machine, loopback: PromQL range queries (a dashboard's 24 h panel) answered by
# Prometheus, VictoriaMetrics and the flotel gateway's embedded metric store.
# The same generator (bench/Flotel.RemoteWriteLoad) writes the same samples to the three, in time order (one sender),
# 15 s apart, ending about now; then each query_range runs REPEATS times against each and the median wall time is
# reported (curl's time_total: request to last byte). VictoriaMetrics is asked with nocache=1 (its rollup cache would
# otherwise answer repeats from memory); Prometheus and the gateway have no result cache. The gateway keeps the stored
# chunks of queried series in memory (store.metrics.chunkCacheMiB, as Prometheus keeps its chunk files mapped): the first
# run of a query reads them from its database, the repeats (and the median) do not.
# Usage: bench/peers/promql-range.sh [--groups G] [--hours H] [--step SECONDS] [--repeats N]
#   G × 1,000 series (a quarter per metric name), H hours of samples each.
#   FLOTEL_DLL=…/flotel.dll measures another build of the gateway (default: a Release build of this checkout).
set -euo pipefail
source "$(dirname "$0")/common.sh"
load_at_start=$(cut -d' ' -f1-3 /proc/loadavg)

groups=4 hours=24 step=60 repeats=5
while [ $# -gt 0 ]; do
  case $1 in
    --groups) groups=$2; shift 2 ;;
    --hours) hours=$2; shift 2 ;;
    --step) step=$2; shift 2 ;;
    --repeats) repeats=$2; shift 2 ;;
    *) echo "usage: $0 [--groups G] [--hours H] [--step SECONDS] [--repeats N]" >&2; exit 2 ;;
  esac
done

[ -n "${FLOTEL_DLL:-}" ] || build_flotel
build_rwload
# 10 samples per series per request: H × 240 samples per series need H × 24 windows of every group.
requests=$((hours * 24 * groups))

load() { # url name
  dotnet "$LOAD_DLL" --url "$1" --requests "$requests" --series-per-request 1000 --samples-per-series 10 \
    --groups "$groups" --step-ms 15000 --concurrency 1 --duration-seconds 600 >"$BENCH_TMP/load-$2.txt" 2>&1 \
    || { echo "bench: the generator reported failures against $2:" >&2; cat "$BENCH_TMP/load-$2.txt" >&2; exit 1; }
}

# ---- the three receivers, each loaded with the same bodies ----
vm=$BENCH_TMP/vm; mkdir -p "$vm"; vm_port=$(free_port)
/usr/bin/victoria-metrics -httpListenAddr="127.0.0.1:$vm_port" -storageDataPath="$vm/data" -loggerLevel=ERROR >"$vm/out" 2>&1 &
vm_pid=$!; track_pid "$vm_pid"
pr=$BENCH_TMP/prom; mkdir -p "$pr"; pr_port=$(free_port)
printf 'global:\n  scrape_interval: 15s\n' >"$pr/prometheus.yml"
/usr/bin/prometheus --config.file="$pr/prometheus.yml" --storage.tsdb.path="$pr/data" --web.listen-address="127.0.0.1:$pr_port" \
  --web.enable-remote-write-receiver --log.level=error >"$pr/out" 2>&1 &
pr_pid=$!; track_pid "$pr_pid"
start_gateway "$BENCH_TMP/gateway"
wait_http "http://127.0.0.1:$vm_port/health"
wait_http "http://127.0.0.1:$pr_port/-/ready"

load "http://127.0.0.1:$vm_port/api/v1/write" vm
load "http://127.0.0.1:$pr_port/api/v1/write" prom
load "http://$GW_HTTP/api/v1/write" gateway
end=$(date +%s)
start=$((end - hours * 3600))
total=$((groups * 1000 * hours * 240))
# Everything written is queryable: VictoriaMetrics after a flush, the gateway once its store output caught up.
curl -fsS "http://127.0.0.1:$vm_port/internal/force_flush" >/dev/null
wait_until_at_least "$(sed -n 's/.*samples=\([0-9]*\) .*/\1/p' "$BENCH_TMP/load-gateway.txt")" 300 gateway_metric flotel_store_samples_total >/dev/null

# Median time_total of REPEATS runs of one query_range; prints "seconds series".
time_query() { # base-url query extra-params
  local times=() series=0 i out
  for ((i = 0; i < repeats; i++)); do
    out=$(curl -sS -o "$BENCH_TMP/answer.json" -w '%{http_code} %{time_total}' --get "$1/api/v1/query_range" \
      --data-urlencode "query=$2" --data-urlencode "start=$start" --data-urlencode "end=$end" --data-urlencode "step=$step" $3)
    [ "${out%% *}" = 200 ] || { echo "bench: $1 answered ${out%% *} to $2: $(head -c 300 "$BENCH_TMP/answer.json")" >&2; exit 1; }
    times+=("${out#* }")
  done
  series=$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["data"]["result"]))' "$BENCH_TMP/answer.json")
  printf '%s\n' "${times[@]}" | sort -n | awk -v s="$series" '{ a[NR] = $1 } END { printf "%.3f %s\n", a[int((NR + 1) / 2)], s }'
}

queries=(
  'rate(node_network_transmit_packets_total[5m])'
  'sum by (mode) (rate(node_cpu_seconds_total[5m]))'
  'avg_over_time(node_memory_MemAvailable_bytes[10m])'
  'topk(5, rate(node_network_transmit_packets_total[5m]))'
  'sum(rate(node_cpu_seconds_total{device_id="dev-0001"}[5m]))'
)
echo
echo "PromQL query_range over ${hours} h at ${step} s steps, ${groups}k series × $((hours * 240)) samples ($total samples per receiver), median of $repeats, $(date -u +%Y-%m-%dT%H:%MZ), load average at start: $load_at_start, at end: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "| query | series | Prometheus s | VictoriaMetrics s | flotel gateway s | gateway / Prometheus | gateway / VictoriaMetrics |"
echo "|---|---:|---:|---:|---:|---:|---:|"
for q in "${queries[@]}"; do
  read -r pt ps <<<"$(time_query "http://127.0.0.1:$pr_port" "$q" "")"
  read -r vt _ <<<"$(time_query "http://127.0.0.1:$vm_port" "$q" "--data-urlencode nocache=1")"
  read -r gt gs <<<"$(time_query "http://$GW_HTTP" "$q" "")"
  [ "$gs" = "$ps" ] || echo "bench: series differ for $q: Prometheus $ps, gateway $gs" >&2
  printf '| `%s` | %s | %s | %s | %s | %s× | %s× |\n' "$q" "$gs" "$pt" "$vt" "$gt" "$(ratio "$gt" "$pt")" "$(ratio "$gt" "$vt")"
done
echo
echo "peak RSS over the load and the queries: Prometheus $(rss_peak_mib "$pr_pid") MiB, VictoriaMetrics $(rss_peak_mib "$vm_pid") MiB, flotel gateway $(rss_peak_mib "$GW_PID") MiB"
stop_pid "$GW_PID"; stop_pid "$pr_pid"; stop_pid "$vm_pid"
echo "note: wall time per request as curl sees it (JSON encoding and transfer included); ratios below 1 mean the gateway answered faster."
