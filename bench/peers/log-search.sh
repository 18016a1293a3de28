#!/usr/bin/env bash
# Search speed over a large log store, through the Elasticsearch API as Kibana and Grafana call it: N lines of the
# corpus's mix shape (bench/Flotel.LogCorpus, a few ms apart, so 10 M lines span ~25 h and two or three daily indices)
# are sent as syslog over TCP into a fresh `flotel gateway` (default configuration, embedded store); once `_count`
# sees them all and the store is idle, each request below runs REPEATS times with curl over loopback.
#   term        `match` message:completed, newest 100 (sort @timestamp desc; track_total_hits default 10,000)
#   phrase      `match_phrase` message:"request completed", newest 100
#   qs+range    `query_string` `slow OR error` with a `range` filter on the newest 15 minutes, newest 100
#   histogram   Grafana's logs request: newest 1,000 hits + `date_histogram` 1m over the newest hour
# Printed per request: median and p90 wall ms, the gateway's CPU ms per request (all its CPU during the repeats, / N),
# hits total as answered. Budgets (storage requirement): term and phrase ≤ 50 ms, qs+range ≤ 200 ms over 10 M events.
# Usage: bench/peers/log-search.sh [--lines N] [--repeats R] [--seed S] [--data DIR]
#   FLOTEL_DLL=…/flotel.dll measures another build of the gateway (default: a Release build of this checkout), e.g. two
#   builds in turn on the same --data directory.
# --data DIR keeps the gateway's data directory in DIR: an empty or missing DIR is loaded and kept; a DIR that already
# holds a store (from an earlier run with the same --lines and --seed) is searched as it is, without loading again (the
# 10 M load takes ~2 min of both cores and 1.5 GB). Without it the data goes to a temporary directory, removed on exit.
# Bounded: N lines; every wait has a limit; the gateway is stopped by PID.
set -euo pipefail
source "$(dirname "$0")/common.sh"
load_at_start=$(cut -d' ' -f1-3 /proc/loadavg)

lines=10000000 repeats=20 seed=1 drain_limit=1800 data=
while [ $# -gt 0 ]; do
  case $1 in
    --lines) lines=$2; shift 2 ;;
    --repeats) repeats=$2; shift 2 ;;
    --seed) seed=$2; shift 2 ;;
    --data) data=$2; shift 2 ;;
    *) echo "usage: $0 [--lines N] [--repeats R] [--seed S] [--data DIR]" >&2; exit 2 ;;
  esac
done

[ -n "${FLOTEL_DLL:-}" ] || build_flotel
build_corpus

# Lines are ~9 ms apart on average (100,000 lines span ~15 min): start far enough back that the newest is before now.
span_s=$(( lines / 100000 * 900 + 900 ))
start=$(date -u -d "-$span_s seconds" +%Y-%m-%dT%H:%M:00Z)
data=${data:-$BENCH_TMP/gw}
reused=no
[ -f "$data/logs/logs.db" ] && reused=yes
start_gateway "$data"
if [ "$reused" = yes ]; then
  # The kept store: nothing is sent; it is searchable once _count sees the lines it was loaded with.
  wait_until_at_least "$lines" 120 gateway_log_count >/dev/null
  load_s="(reused $data)"
else
  t0=$(now)
  dotnet "$CORPUS_DLL" --shape mix --lines "$lines" --seed "$seed" --start "$start" --send "127.0.0.1:$GW_SYSLOG_PORT" 2>"$BENCH_TMP/gen.log"
  t1=$(wait_until_at_least "$lines" "$drain_limit" gateway_log_count)
  load_s=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.0f s", b - a }')
fi

# The newest event's time: the range and histogram requests are anchored there, not at now.
newest=$(curl -fsS -H 'Content-Type: application/json' \
  -d '{"size":1,"sort":[{"@timestamp":"desc"}],"_source":["@timestamp"],"query":{"match_all":{}}}' \
  "http://$GW_HTTP/logstash-*/_search" | sed -n 's/.*"@timestamp":"\([^"]*\)".*/\1/p')
[ -n "$newest" ] || { echo "bench: no newest event" >&2; exit 1; }
newest_ms=$(( $(date -u -d "$newest" +%s%3N) ))
from15=$(( newest_ms - 15 * 60 * 1000 ))
from60=$(( newest_ms - 60 * 60 * 1000 ))

# Let the store finish what the load left (merges, re-packing): wait until its CPU is quiet for 10 s (at most 5 min).
for ((i = 0; i < 30; i++)); do
  c0=$(cpu_seconds "$GW_PID"); sleep 10; c1=$(cpu_seconds "$GW_PID")
  awk -v a="$c0" -v b="$c1" 'BEGIN { exit !(b - a < 0.2) }' && break
done

newest100='"size":100,"sort":[{"@timestamp":{"order":"desc"}}]'
declare -A body=(
  [term]="{$newest100,\"query\":{\"match\":{\"message\":\"completed\"}}}"
  [phrase]="{$newest100,\"query\":{\"match_phrase\":{\"message\":\"request completed\"}}}"
  [qs+range]="{$newest100,\"query\":{\"bool\":{\"must\":[{\"query_string\":{\"query\":\"slow OR error\",\"default_field\":\"message\"}}],\"filter\":[{\"range\":{\"@timestamp\":{\"gte\":$from15,\"lte\":$newest_ms,\"format\":\"epoch_millis\"}}}]}}}"
  [histogram]="{\"size\":1000,\"sort\":[{\"@timestamp\":{\"order\":\"desc\"}}],\"query\":{\"bool\":{\"filter\":[{\"range\":{\"@timestamp\":{\"gte\":$from60,\"lte\":$newest_ms,\"format\":\"epoch_millis\"}}}]}},\"aggs\":{\"2\":{\"date_histogram\":{\"field\":\"@timestamp\",\"fixed_interval\":\"1m\",\"min_doc_count\":0,\"extended_bounds\":{\"min\":$from60,\"max\":$newest_ms},\"format\":\"epoch_millis\"}}}}"
)

rows=()
for name in term phrase qs+range histogram; do
  out=$BENCH_TMP/$name.json
  curl -fsS -H 'Content-Type: application/json' -d "${body[$name]}" "http://$GW_HTTP/logstash-*/_search" >"$out"
  total=$(sed -n 's/.*"total":{"value":\([0-9]*\),"relation":"\([a-z]*\)".*/\1 (\2)/p' "$out" | head -n 1)
  hits=$(grep -o '"_id"' "$out" | wc -l)
  : >"$BENCH_TMP/$name.times"
  c0=$(cpu_seconds "$GW_PID")
  for ((r = 0; r < repeats; r++)); do
    curl -fsS -o /dev/null -w '%{time_total}\n' -H 'Content-Type: application/json' -d "${body[$name]}" \
      "http://$GW_HTTP/logstash-*/_search" >>"$BENCH_TMP/$name.times"
  done
  c1=$(cpu_seconds "$GW_PID")
  stats=$(sort -n "$BENCH_TMP/$name.times" | awk '{ v[NR] = $1 * 1000 } END {
    m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2; p = v[int(NR * 0.9 + 0.999)]
    printf "%.1f | %.1f", m, p }')
  cpu=$(awk -v a="$c0" -v b="$c1" -v n="$repeats" 'BEGIN { printf "%.1f", (b - a) * 1000 / n }')
  rows+=("| $name | $stats | $cpu | $hits | $total |")
done

rss=$(rss_peak_mib "$GW_PID")
db_mb=$(awk -v b="$(stat -c %s "$data/logs/logs.db")" 'BEGIN { printf "%.0f", b / 1e6 }')
stop_pid "$GW_PID"

echo
echo "log search, $lines mix lines (seed $seed), loaded in ${load_s}, logs.db $db_mb MB, gateway RSS peak $rss MiB," \
  "$(date -u +%Y-%m-%dT%H:%MZ), load average at start: $load_at_start, at end: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "| request | median wall ms | p90 wall ms | gateway CPU ms / request | hits returned | hits.total |"
echo "|---|---:|---:|---:|---:|---:|"
printf '%s\n' "${rows[@]}"
echo "note: $repeats runs each, curl over loopback; newest event $newest."
