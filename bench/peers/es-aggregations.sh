#!/usr/bin/env bash
# The gateway's Elasticsearch API answering Grafana's two heaviest log requests over N events in the queried range:
#   logs    Grafana's Logs query: the newest 1,000 hits of a time range + a date_histogram of the volume (min_doc_count 0,
#           extended_bounds, epoch_millis), as its Elasticsearch data source builds it (see docs/benchmarks.md)
#   terms   "group by" program: terms(program, size 10) → date_histogram(@timestamp) with size 0
# Events (RFC 5424 over TCP syslog, 20 programs, 10 hosts, timestamps spread evenly over the last hour) are loaded
# first and waited for until _count sees them all; each request then runs REPEATS times: the median wall time and the
# gateway's CPU time per request (user + system, /proc) are printed, the second telling more on a loaded machine.
# Usage: bench/peers/es-aggregations.sh [--events N] [--repeats R]
# Bounded: N events (default 1,000,000), one TCP connection, every wait has a limit; loopback only.
set -euo pipefail
source "$(dirname "$0")/common.sh"
load_at_start=$(cut -d' ' -f1-3 /proc/loadavg)

events=1000000 repeats=5 drain_limit=600
while [ $# -gt 0 ]; do
  case $1 in
    --events) events=$2; shift 2 ;;
    --repeats) repeats=$2; shift 2 ;;
    *) echo "usage: $0 [--events N] [--repeats R]" >&2; exit 2 ;;
  esac
done

build_flotel
gw=$BENCH_TMP/gateway
start_gateway "$gw"

# One hour of events ending now, evenly spaced, written as RFC 5424 lines (LF-framed, as loggen sends).
end_ms=$(( $(date +%s) * 1000 ))
start_ms=$(( end_ms - 3600 * 1000 ))
awk -v n="$events" -v s="$start_ms" -v e="$end_ms" 'BEGIN {
  step = (e - s) / n
  for (i = 0; i < n; i++) {
    t = s + int(i * step); sec = int(t / 1000); ms = t % 1000
    printf "<%d>1 %s.%03dZ host%d prog%02d %d - - request %d handled in %d ms by worker %d\n",
      8 + (i % 8), strftime("%Y-%m-%dT%H:%M:%S", sec, 1), ms, i % 10, (i * 7) % 20, 1000 + i % 50, i, i % 997, i % 16
  }
}' >"$BENCH_TMP/events.txt"
t0=$(now)
cat "$BENCH_TMP/events.txt" >"/dev/tcp/127.0.0.1/$GW_SYSLOG_PORT"
wait_until_at_least "$events" "$drain_limit" gateway_log_count >/dev/null
load_secs=$(awk -v a="$t0" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }')
stored=$(gateway_log_count)

range="{\"range\":{\"@timestamp\":{\"gte\":$start_ms,\"lte\":$end_ms,\"format\":\"epoch_millis\"}}}"
# The Logs query as Grafana's data source sends it (size, the range and query_string filter, the two sort keys with
# unmapped_type), with the logs-volume date_histogram of its metric queries (metric_multi.request.line1.json).
logs_body="{\"size\":1000,\"query\":{\"bool\":{\"filter\":[$range,{\"query_string\":{\"analyze_wildcard\":true,\"query\":\"*\"}}]}},\
\"sort\":[{\"@timestamp\":{\"order\":\"desc\",\"unmapped_type\":\"boolean\"}},{\"_doc\":{\"order\":\"desc\"}}],\
\"aggs\":{\"2\":{\"date_histogram\":{\"field\":\"@timestamp\",\"min_doc_count\":0,\"extended_bounds\":{\"min\":$start_ms,\"max\":$end_ms},\"format\":\"epoch_millis\",\"fixed_interval\":\"1m\"}}}}"
# Grafana's "group by" terms → date_histogram (metric_complex.request.line1.json: terms with order and size, a
# date_histogram under it), counting documents.
terms_body="{\"size\":0,\"query\":{\"bool\":{\"filter\":$range}},\"aggs\":{\"3\":{\"terms\":{\"field\":\"program\",\"size\":10,\"order\":{\"_count\":\"desc\"},\"min_doc_count\":1},\
\"aggs\":{\"2\":{\"date_histogram\":{\"field\":\"@timestamp\",\"min_doc_count\":0,\"extended_bounds\":{\"min\":$start_ms,\"max\":$end_ms},\"format\":\"epoch_millis\",\"fixed_interval\":\"1m\"}}}}}}"

# Median wall time (curl: request to last byte) of REPEATS runs of body $1; checks the answer carries aggregations.
median_seconds() {
  local body=$1 i times=()
  for ((i = 0; i < repeats; i++)); do
    curl -fsS -o "$BENCH_TMP/answer.json" -w '%{time_total}\n' -H 'Content-Type: application/json' \
      -d "$body" "http://$GW_HTTP/logstash-*/_search" >"$BENCH_TMP/time.txt"
    grep -q '"aggregations"' "$BENCH_TMP/answer.json" || { echo "bench: no aggregations in the answer" >&2; head -c 500 "$BENCH_TMP/answer.json" >&2; return 1; }
    times+=("$(cat "$BENCH_TMP/time.txt")")
  done
  printf '%s\n' "${times[@]}" | sort -n | awk '{ a[NR] = $1 } END { printf "%.3f", a[int((NR + 1) / 2)] }'
}

cpu0=$(cpu_seconds "$GW_PID")
logs_s=$(median_seconds "$logs_body")
cpu1=$(cpu_seconds "$GW_PID")
logs_buckets=$(grep -o '"key_as_string"' "$BENCH_TMP/answer.json" | wc -l)
logs_hits=$(grep -o '"_id"' "$BENCH_TMP/answer.json" | wc -l)
terms_s=$(median_seconds "$terms_body")
cpu2=$(cpu_seconds "$GW_PID")
logs_cpu=$(awk -v a="$cpu0" -v b="$cpu1" -v n="$repeats" 'BEGIN { printf "%.3f", (b - a) / n }')
terms_cpu=$(awk -v a="$cpu1" -v b="$cpu2" -v n="$repeats" 'BEGIN { printf "%.3f", (b - a) / n }')
terms_buckets=$(grep -o '"key_as_string"' "$BENCH_TMP/answer.json" | wc -l)
rss=$(rss_peak_mib "$GW_PID")
stop_pid "$GW_PID"

echo
echo "Elasticsearch API aggregations, $stored events in the last hour (loaded in ${load_secs} s), $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, load average at start: $load_at_start, at end: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "| request | median s ($repeats runs) | gateway CPU s per request | answer | goal s |"
echo "|---|---:|---:|---|---:|"
echo "| Grafana Logs: 1,000 newest hits + date_histogram 1m (min_doc_count 0, extended_bounds) | $logs_s | $logs_cpu | $logs_hits hits, $logs_buckets buckets | ≤ 0.5 |"
echo "| terms(program, 10) → date_histogram 1m, size 0 | $terms_s | $terms_cpu | $terms_buckets buckets | ≤ 1.0 |"
echo "gateway RSS peak ${rss} MiB"
