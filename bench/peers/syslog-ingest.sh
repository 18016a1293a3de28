#!/usr/bin/env bash
# Side by side, same generator (syslog-ng's loggen, TCP, 256-byte RFC 3164 lines), same machine, loopback:
#   (a) rsyslog imptcp → omfile   vs   flotel gateway → durable queue with no output reading it (store.enabled: false)
#       (msg/s, CPU per message, peak RSS)
#   (b) a second gateway run with its embedded log store (the default): msg/s and CPU until the last line is queued,
#       and until _count equals what loggen sent (searchable)
# Usage: bench/peers/syslog-ingest.sh [--messages N] [--connections C] [--rate R] [--seconds S] [--only LIST]
#   --only: a comma-separated subset of rsyslog,queue,store (the runs to do; default all three)
#   FLOTEL_DLL=…/flotel.dll measures another build of the gateway (default: a Release build of this checkout).
# Bounded: loggen stops after N messages or S seconds (whichever first); every wait has a limit.
set -euo pipefail
source "$(dirname "$0")/common.sh"
load_at_start=$(cut -d' ' -f1-3 /proc/loadavg)

messages=1000000 connections=2 rate=1000000 seconds=20 drain_limit=300 only=rsyslog,queue,store
while [ $# -gt 0 ]; do
  case $1 in
    --messages) messages=$2; shift 2 ;;
    --connections) connections=$2; shift 2 ;;
    --rate) rate=$2; shift 2 ;;
    --seconds) seconds=$2; shift 2 ;;
    --only) only=$2; shift 2 ;;
    *) echo "usage: $0 [--messages N] [--connections C] [--rate R per connection] [--seconds S] [--only rsyslog,queue,store]" >&2; exit 2 ;;
  esac
done

want() { [[ ",$only," == *",$1,"* ]]; }
ensure_loggen
[ -n "${FLOTEL_DLL:-}" ] || build_flotel
# loggen's --number is per connection.
per_connection=$(( (messages + connections - 1) / connections ))
loggen_args=(--inet --stream --rate "$rate" --interval "$seconds" --number "$per_connection" --active-connections "$connections" --size 256)

if want rsyslog; then
# ---- rsyslog imptcp → omfile (the anchor of architecture §8) ----
rs=$BENCH_TMP/rsyslog; mkdir -p "$rs"
rs_port=$(free_port)
cat >"$rs/rsyslog.conf" <<CONF
global(workDirectory="$rs" net.enableDNS="off" processInternalMessages="on")
module(load="imptcp")
*.* action(type="omfile" file="$rs/internal.log")
ruleset(name="bench") { action(type="omfile" file="$rs/out.log") }
input(type="imptcp" port="$rs_port" address="127.0.0.1" ruleset="bench")
CONF
/usr/sbin/rsyslogd -n -f "$rs/rsyslog.conf" -i "$rs/rsyslogd.pid" >"$rs/stdout" 2>&1 &
rs_pid=$!; track_pid "$rs_pid"; WATCH_PID=$rs_pid
wait_port "$rs_port"
rs_lines() { [ -f "$rs/out.log" ] && wc -l <"$rs/out.log" || echo 0; }

rs_cpu0=$(cpu_seconds "$rs_pid"); t0=$(now)
loggen "${loggen_args[@]}" 127.0.0.1 "$rs_port" 2>"$rs/loggen.txt" >/dev/null
rs_sent=$(loggen_count "$rs/loggen.txt")
t1=$(wait_until_at_least "$rs_sent" "$drain_limit" rs_lines)
rs_cpu1=$(cpu_seconds "$rs_pid"); rs_rss=$(rss_peak_mib "$rs_pid")
rs_secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')
rs_got=$(rs_lines)
stop_pid "$rs_pid"
fi

if want queue; then
# ---- flotel gateway → durable queue, no output reading it (store.enabled: false): rsyslog's omfile row indexes nothing ----
gq=$BENCH_TMP/gateway-queue
start_gateway "$gq" "$(queue_only_config)"
gq_cpu0=$(cpu_seconds "$GW_PID"); t0=$(now)
loggen "${loggen_args[@]}" 127.0.0.1 "$GW_SYSLOG_PORT" 2>"$gq.loggen.txt" >/dev/null
gq_sent=$(loggen_count "$gq.loggen.txt")
tq=$(wait_until_at_least "$gq_sent" "$drain_limit" gateway_metric 'flotel_syslog_frames_total{transport="tcp"}')
gq_cpu1=$(cpu_seconds "$GW_PID"); gq_rss=$(rss_peak_mib "$GW_PID")
gq_queued=$(gateway_metric 'flotel_syslog_frames_total{transport="tcp"}')
q_secs=$(awk -v a="$t0" -v b="$tq" 'BEGIN { printf "%.3f", b - a }')
stop_pid "$GW_PID"
fi

if want store; then
# ---- flotel gateway with its embedded store (the default): queue mark while storing, then → searchable ----
gw=$BENCH_TMP/gateway
start_gateway "$gw"
gw_cpu0=$(cpu_seconds "$GW_PID"); t0=$(now)
loggen "${loggen_args[@]}" 127.0.0.1 "$GW_SYSLOG_PORT" 2>"$gw.loggen.txt" >/dev/null
gw_sent=$(loggen_count "$gw.loggen.txt")
tm=$(wait_until_at_least "$gw_sent" "$drain_limit" gateway_metric 'flotel_syslog_frames_total{transport="tcp"}')
gw_cpu_m=$(cpu_seconds "$GW_PID")
ts=$(wait_until_at_least "$gw_sent" "$drain_limit" gateway_log_count)
gw_cpu_s=$(cpu_seconds "$GW_PID"); gw_rss=$(rss_peak_mib "$GW_PID")
gw_marked=$(gateway_metric 'flotel_syslog_frames_total{transport="tcp"}')
gw_stored=$(gateway_log_count)
m_secs=$(awk -v a="$t0" -v b="$tm" 'BEGIN { printf "%.3f", b - a }')
s_secs=$(awk -v a="$t0" -v b="$ts" 'BEGIN { printf "%.3f", b - a }')
stop_pid "$GW_PID"
fi

row() { # name sent got seconds cpu0 cpu1 rss
  local rate cpu_us
  rate=$(ratio "$2" "$4" %.0f)
  cpu_us=$(awk -v a="$5" -v b="$6" -v n="$2" 'BEGIN { printf "%.2f", (b - a) * 1e6 / n }')
  printf '| %-36s | %9s | %9s | %8s | %9s | %8s | %8s |\n' "$1" "$2" "$3" "$4" "$rate" "$cpu_us" "$7"
}
echo
echo "syslog TCP ingest, loggen ${connections} connection(s), 256-byte lines, $(date -u +%Y-%m-%dT%H:%MZ), load average at start: $load_at_start, at end: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "| receiver                             |      sent |  received |  seconds |     msg/s | CPU µs/msg | RSS peak MiB |"
echo "|---|---:|---:|---:|---:|---:|---:|"
want rsyslog && row "rsyslog imptcp → omfile" "$rs_sent" "$rs_got" "$rs_secs" "$rs_cpu0" "$rs_cpu1" "$rs_rss"
want queue && row "flotel gateway → durable queue (a)" "$gq_sent" "$gq_queued" "$q_secs" "$gq_cpu0" "$gq_cpu1" "$gq_rss"
want store && row "flotel gateway + store, queue mark" "$gw_sent" "$gw_marked" "$m_secs" "$gw_cpu0" "$gw_cpu_m" "$gw_rss"
want store && row "flotel gateway → searchable store (b)" "$gw_sent" "$gw_stored" "$s_secs" "$gw_cpu0" "$gw_cpu_s" "$gw_rss"
echo
if want rsyslog && want queue; then
  rs_rate=$(ratio "$rs_sent" "$rs_secs" %.3f); q_rate=$(ratio "$gq_sent" "$q_secs" %.3f)
  rs_cpu=$(awk -v a="$rs_cpu0" -v b="$rs_cpu1" -v n="$rs_sent" 'BEGIN { print (b - a) / n }')
  q_cpu=$(awk -v a="$gq_cpu0" -v b="$gq_cpu1" -v n="$gq_sent" 'BEGIN { print (b - a) / n }')
  echo "ratios (gateway / rsyslog): queue msg/s $(ratio "$q_rate" "$rs_rate")×, CPU per message $(ratio "$q_cpu" "$rs_cpu")× (goal ≥ 1.0× and ≤ 1.0×)"
fi
want store && echo "searchable store: $(ratio "$gw_sent" "$s_secs" %.0f) msg/s (goal ≥ 100000); gateway RSS peak ${gw_rss} MiB with the store (goal ≤ 256)"
echo "note: (a) runs the gateway with store.enabled: false, so nothing reads the queue (like omfile, nothing is indexed);"
echo "      the \"+ store, queue mark\" row is a second gateway with its store output running, timed when the last line was queued."
