#!/usr/bin/env bash
# What an idle syslog TCP connection costs the receiver: N clients connect, each sends one line (so every connection
# has carried data once, as a device's does), then all stay open and silent; the receiver's RSS growth divided by N.
#   flotel gateway (default configuration)   vs   rsyslog imptcp → omfile
#
#   bench/peers/idle-connections.sh [--connections 5000,10000] [--settle 10] [--only rsyslog,gateway]
#
# One receiver at a time, started fresh for each count; RSS is VmRSS from /proc/PID/status, read before connecting
# and again --settle seconds after the last connection sent its line. Bounded: the client holds its connections
# for at most 10 minutes and is stopped by PID.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

counts=5000,10000 settle=10 only=rsyslog,gateway
while [ $# -gt 0 ]; do
  case "$1" in
    --connections) counts=$2; shift 2 ;;
    --settle) settle=$2; shift 2 ;;
    --only) only=$2; shift 2 ;;
    *) echo "usage: $0 [--connections 5000,10000] [--settle SECONDS] [--only rsyslog,gateway]" >&2; exit 2 ;;
  esac
done
want() { [[ ",$only," == *",$1,"* ]]; }
# Each connection is one descriptor in the client and one in the receiver.
ulimit -n "$(ulimit -Hn)"

rss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }

# Opens $2 connections to 127.0.0.1:$1, writes one LF-framed line on each, prints "ready" and holds them until its
# stdin closes (or 10 minutes pass).
cat >"$BENCH_TMP/hold.py" <<'PY'
import select, socket, sys
port, n = int(sys.argv[1]), int(sys.argv[2])
held = []
for i in range(n):
    s = socket.create_connection(("127.0.0.1", port), timeout=30)
    s.sendall(b"<14>2026-01-01T00:00:00Z idle-%05d bench[1]: connected and now idle\n" % i)
    held.append(s)
print("ready", flush=True)
select.select([sys.stdin], [], [], 600)
PY
hold_connections() { python3 -u "$BENCH_TMP/hold.py" "$1" "$2"; }

# Measures receiver PID on PORT with N connections; sets RSS_BEFORE and RSS_AFTER (KiB).
measure() {
  local pid=$1 port=$2 n=$3 fifo=$BENCH_TMP/hold.$n.$RANDOM
  sleep 2
  RSS_BEFORE=$(rss_kib "$pid")
  mkfifo "$fifo"
  hold_connections "$port" "$n" <"$fifo" >"$fifo.out" &
  local holder=$!; track_pid "$holder"
  exec 7>"$fifo"
  for ((i = 0; i < 3000; i++)); do grep -q '^ready' "$fifo.out" 2>/dev/null && break; kill -0 "$holder" 2>/dev/null || break; sleep 0.2; done
  grep -q '^ready' "$fifo.out" || { echo "bench: the client did not open $n connections" >&2; exec 7>&-; return 1; }
  sleep "$settle"
  RSS_AFTER=$(rss_kib "$pid")
  exec 7>&-
  wait "$holder" 2>/dev/null || true
}

rows=()
row() { # name n before after
  rows+=("$(awk -v name="$1" -v n="$2" -v b="$3" -v a="$4" 'BEGIN { printf "| %s | %d | %.1f | %.1f | %.1f |", name, n, b / 1024, a / 1024, (a - b) / n }')")
}

IFS=, read -r -a ns <<<"$counts"
# FLOTEL_DLL=path/flotel.dll measures that build instead (e.g. an older commit's).
want gateway && { [ -n "${FLOTEL_DLL:-}" ] || build_flotel; }
for n in "${ns[@]}"; do
  if want rsyslog; then
    rs=$BENCH_TMP/rsyslog-$n; mkdir -p "$rs"; rs_port=$(free_port)
    cat >"$rs/rsyslog.conf" <<CONF
global(workDirectory="$rs" net.enableDNS="off" processInternalMessages="on")
module(load="imptcp")
*.* action(type="omfile" file="$rs/internal.log")
ruleset(name="bench") { action(type="omfile" file="$rs/out.log") }
input(type="imptcp" port="$rs_port" address="127.0.0.1" ruleset="bench")
CONF
    /usr/sbin/rsyslogd -n -f "$rs/rsyslog.conf" -i "$rs/rsyslogd.pid" >"$rs/stdout" 2>&1 &
    rs_pid=$!; track_pid "$rs_pid"
    wait_port "$rs_port"
    measure "$rs_pid" "$rs_port" "$n"
    row "rsyslog imptcp" "$n" "$RSS_BEFORE" "$RSS_AFTER"
    stop_pid "$rs_pid"
  fi
  if want gateway; then
    start_gateway "$BENCH_TMP/gateway-$n"
    measure "$GW_PID" "$GW_SYSLOG_PORT" "$n"
    row "flotel gateway" "$n" "$RSS_BEFORE" "$RSS_AFTER"
    stop_pid "$GW_PID"
  fi
done

echo "idle syslog TCP connections, $(date -u +%Y-%m-%d), $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "| receiver | connections | RSS before (MiB) | RSS with them open (MiB) | KiB per connection |"
echo "|---|---|---|---|---|"
printf '%s\n' "${rows[@]}"
