#!/usr/bin/env bash
# Bytes on disk per raw byte of log lines, per corpus shape: each shape (bench/Flotel.LogCorpus: blog, access, json,
# system, and the mix) is generated to a file (the raw bytes), sent as syslog over TCP into a fresh `flotel gateway`
# (default configuration, embedded store), and measured while it runs (peak of logs.db + logs.db-wal, sampled every
# 0.2 s until _count sees every line) and after a clean stop (SIGTERM). zstd -3 of the raw file is the reference.
# Usage: bench/peers/log-storage.sh [--lines N] [--seed S] [--shapes LIST] [--keep DIR] [--settle S]
#   --shapes: comma-separated subset of blog,access,json,system,mix (default all)
#   --settle: seconds the gateway keeps running (idle, sizes still sampled) after _count sees every line, before the stop:
#     idle maintenance (re-packing blocks at a higher zstd level, full-text merges) then has its time; default 1
#   --keep: copy each shape's logs.db after the stop to DIR/<shape>.db (e.g. for sqlite3's dbstat)
# FLOTEL_DLL=…/flotel.dll measures another build of the gateway (default: a Release build of this checkout).
# Bounded: N lines per shape; every wait has a limit.
set -euo pipefail
source "$(dirname "$0")/common.sh"
load_at_start=$(cut -d' ' -f1-3 /proc/loadavg)

lines=200000 seed=1 shapes=blog,access,json,system,mix drain_limit=300 keep= settle=1
while [ $# -gt 0 ]; do
  case $1 in
    --lines) lines=$2; shift 2 ;;
    --seed) seed=$2; shift 2 ;;
    --shapes) shapes=$2; shift 2 ;;
    --keep) keep=$2; shift 2 ;;
    --settle) settle=$2; shift 2 ;;
    *) echo "usage: $0 [--lines N] [--seed S] [--shapes blog,access,json,system,mix] [--keep DIR] [--settle S]" >&2; exit 2 ;;
  esac
done

[ -n "${FLOTEL_DLL:-}" ] || build_flotel
build_corpus
have_zstd=1; command -v zstd >/dev/null || have_zstd=0

size_of() { stat -c %s "$1" 2>/dev/null || echo 0; }
mb() { awk -v b="$1" 'BEGIN { printf "%.1f", b / 1e6 }'; }

# Samples logs.db and logs.db-wal of data dir $1 every 0.2 s; writes "peak_total peak_wal" to $2 on each sample.
sample_sizes() {
  local db=$1/logs/logs.db out=$2 peak=0 peak_wal=0 d w
  while :; do
    d=$(size_of "$db"); w=$(size_of "$db-wal")
    (( d + w > peak )) && peak=$((d + w))
    (( w > peak_wal )) && peak_wal=$w
    echo "$peak $peak_wal" >"$out.tmp" && mv "$out.tmp" "$out"
    sleep 0.2
  done
}

rows=()
start=$(date -u -d '-1 hour' +%Y-%m-%dT%H:%M:00Z)
for shape in ${shapes//,/ }; do
  raw=$BENCH_TMP/$shape.log
  dotnet "$CORPUS_DLL" --shape "$shape" --lines "$lines" --seed "$seed" --start "$start" --out "$raw" 2>"$BENCH_TMP/$shape.gen"
  raw_bytes=$(size_of "$raw")
  zstd_bytes=n/a
  [ "$have_zstd" = 1 ] && zstd_bytes=$(zstd -3 -q -c "$raw" | wc -c)

  data=$BENCH_TMP/gw-$shape
  start_gateway "$data"
  sample_sizes "$data" "$BENCH_TMP/$shape.peak" & sampler=$!; track_pid "$sampler"
  t0=$(now)
  dotnet "$CORPUS_DLL" --shape "$shape" --lines "$lines" --seed "$seed" --start "$start" --send "127.0.0.1:$GW_SYSLOG_PORT" 2>>"$BENCH_TMP/$shape.gen"
  t1=$(wait_until_at_least "$lines" "$drain_limit" gateway_log_count)
  sleep "$settle" # at least one more sample after the last commit
  kill "$sampler" 2>/dev/null; wait "$sampler" 2>/dev/null || true
  read -r peak peak_wal <"$BENCH_TMP/$shape.peak"
  stored=$(gateway_log_count)
  stop_pid "$GW_PID"
  db_after=$(size_of "$data/logs/logs.db"); wal_after=$(size_of "$data/logs/logs.db-wal")
  if [ -n "$keep" ]; then mkdir -p "$keep" && cp "$data/logs/logs.db" "$keep/$shape.db"; fi
  secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }')
  rows+=("$(printf '| %-6s | %8s | %8s | %7s | %9s | %8s | %8s | %7s | %7s | %7s | %6s |' \
    "$shape" "$stored" "$(mb "$raw_bytes")" "$([ "$zstd_bytes" = n/a ] && echo n/a || ratio "$zstd_bytes" "$raw_bytes")" \
    "$(mb "$peak")" "$(mb "$peak_wal")" "$(mb "$db_after")" "$(mb "$wal_after")" \
    "$(ratio "$peak" "$raw_bytes")" "$(ratio "$db_after" "$raw_bytes")" "$secs")")
done

echo
echo "log storage, $lines lines per shape (seed $seed, stopped $settle s after searchable), $(date -u +%Y-%m-%dT%H:%MZ), load average at start: $load_at_start, at end: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "| shape  |   stored |   raw MB | zstd -3 | running MB (db+wal peak) | WAL peak MB | db after stop MB | WAL after stop MB | running / raw | after stop / raw | s to searchable |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
printf '%s\n' "${rows[@]}"
[ "$have_zstd" = 1 ] || echo "note: zstd is not installed: no zstd -3 reference"
echo "note: sizes are file sizes (stat); MB = 10^6 bytes; ratios are to the raw lines as sent (LF included)."
