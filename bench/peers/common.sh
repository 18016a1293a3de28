# Helpers shared by the bench/peers scripts (sourced, not run). Every process a script starts is recorded with
# track_pid and stopped by that PID alone on exit; every load is bounded in count and time; loopback only.

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
CLK_TCK=$(getconf CLK_TCK)
BENCH_TMP=$(mktemp -d "${TMPDIR:-/tmp}/flotel-bench.XXXXXX")
TRACKED_PIDS=()

track_pid() { TRACKED_PIDS+=("$1"); }

# Stops PID: SIGTERM, up to 30 s for a clean exit (stores flush), then SIGKILL. This PID only.
stop_pid() {
  local pid=$1 i
  kill -0 "$pid" 2>/dev/null || return 0
  kill -TERM "$pid" 2>/dev/null
  for ((i = 0; i < 300; i++)); do kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null; return 0; }; sleep 0.1; done
  echo "bench: PID $pid ignored SIGTERM for 30 s, killing it" >&2
  kill -KILL "$pid" 2>/dev/null; wait "$pid" 2>/dev/null
}

cleanup() {
  local pid
  for pid in "${TRACKED_PIDS[@]}"; do stop_pid "$pid"; done
  rm -rf "$BENCH_TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

now() { date +%s.%N; }

# CPU seconds (user + system) the process has used so far, from /proc/PID/stat fields 14 and 15 (after the
# parenthesised command name, which may hold spaces).
cpu_seconds() {
  local stat rest
  stat=$(<"/proc/$1/stat") || { echo 0; return; }
  rest=${stat##*) }
  awk -v tck="$CLK_TCK" '{ printf "%.3f\n", ($12 + $13) / tck }' <<<"$rest"
}

# Peak resident set size (VmHWM) in MiB.
rss_peak_mib() { awk '/^VmHWM:/ { printf "%.1f\n", $2 / 1024 }' "/proc/$1/status" 2>/dev/null || echo 0; }

# A port on 127.0.0.1 that nothing answers on right now.
free_port() {
  local p
  while :; do
    p=$((20000 + RANDOM % 30000))
    (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { echo "$p"; return; }
  done
}

# Waits until URL answers 2xx (up to $2 seconds, default 60).
wait_http() {
  local url=$1 limit=${2:-60} i
  for ((i = 0; i < limit * 10; i++)); do curl -fsS -o /dev/null "$url" 2>/dev/null && return 0; sleep 0.1; done
  echo "bench: $url did not answer within $limit s" >&2; return 1
}

wait_port() {
  local port=$1 i
  for ((i = 0; i < 600; i++)); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && return 0; sleep 0.1; done
  echo "bench: nothing listens on 127.0.0.1:$port after 60 s" >&2; return 1
}

# Polls "$@" (a command printing a number) until it prints at least TARGET or LIMIT seconds pass; prints the
# time it got there (now), or fails. Fails at once when WATCH_PID (if set) has exited.
wait_until_at_least() {
  local target=$1 limit=$2; shift 2
  local start value
  start=$(now)
  while :; do
    value=$("$@" 2>/dev/null || echo 0)
    if [ "${value%.*}" -ge "$target" ] 2>/dev/null; then now; return 0; fi
    if [ -n "${WATCH_PID:-}" ] && ! kill -0 "$WATCH_PID" 2>/dev/null; then
      echo "bench: PID $WATCH_PID exited while waiting ($value of $target)" >&2; return 1
    fi
    if awk -v s="$start" -v n="$(now)" -v l="$limit" 'BEGIN { exit !(n - s > l) }'; then
      echo "bench: still $value of $target after $limit s" >&2; return 1
    fi
    sleep 0.05
  done
}

# loggen from syslog-ng-core, unpacked (it conflicts with rsyslog as a package; architecture §7), as test.sh does.
LOGGEN_ROOT=${FLOTEL_LOGGEN_ROOT:-$REPO/.test-peers/syslog-ng-core}
ensure_loggen() {
  [ -x "$LOGGEN_ROOT/usr/bin/loggen" ] && return 0
  local dl; dl=$(mktemp -d) && chmod 755 "$dl"
  (cd "$dl" && apt-get download syslog-ng-core >/dev/null 2>&1) || { echo "bench: apt-get download syslog-ng-core failed" >&2; return 1; }
  mkdir -p "$LOGGEN_ROOT" && dpkg -x "$dl"/syslog-ng-core_*.deb "$LOGGEN_ROOT"; rm -rf "$dl"
}

# Runs loggen in the foreground; its closing line ("average rate = …, count=N, …") goes to stderr.
loggen() {
  SYSLOGNG_PREFIX="$LOGGEN_ROOT/usr" LD_LIBRARY_PATH="$LOGGEN_ROOT/usr/lib/syslog-ng" "$LOGGEN_ROOT/usr/bin/loggen" "$@"
}

# The count on loggen's closing line in FILE.
loggen_count() { sed -n 's/.*average rate = .* count=\([0-9]*\),.*/\1/p' "$1" | tail -n 1; }

# Release build of the flotel command; sets FLOTEL_DLL.
build_flotel() {
  dotnet build "$REPO/src/Flotel.Cli" -c Release --nologo -v q >"$BENCH_TMP/build-flotel.log" 2>&1 \
    || { cat "$BENCH_TMP/build-flotel.log" >&2; return 1; }
  FLOTEL_DLL="$REPO/src/Flotel.Cli/bin/Release/net10.0/flotel.dll"
}

# Release build of the log corpus generator (bench/Flotel.LogCorpus); sets CORPUS_DLL.
build_corpus() {
  dotnet build "$REPO/bench/Flotel.LogCorpus" -c Release --nologo -v q >"$BENCH_TMP/build-corpus.log" 2>&1 \
    || { cat "$BENCH_TMP/build-corpus.log" >&2; return 1; }
  CORPUS_DLL="$REPO/bench/Flotel.LogCorpus/bin/Release/net10.0/flotel-logcorpus.dll"
}

# Release build of the remote-write generator (bench/Flotel.RemoteWriteLoad); sets LOAD_DLL.
build_rwload() {
  dotnet build "$REPO/bench/Flotel.RemoteWriteLoad" -c Release --nologo -v q >"$BENCH_TMP/build-load.log" 2>&1 \
    || { cat "$BENCH_TMP/build-load.log" >&2; return 1; }
  LOAD_DLL="$REPO/bench/Flotel.RemoteWriteLoad/bin/Release/net10.0/flotel-rwload.dll"
}

# Starts `flotel gateway` on 127.0.0.1 with free ports and data dir $1 (and config file $2 when given); sets GW_PID,
# GW_HTTP (host:port), GW_SYSLOG_PORT.
start_gateway() {
  local data=$1 out=$1.out i line config=()
  [ -n "${2:-}" ] && config=(--config "$2")
  mkdir -p "$data"
  dotnet "$FLOTEL_DLL" gateway "${config[@]}" --data "$data" --http 127.0.0.1:0 --syslog 127.0.0.1:0 >"$out" 2>&1 &
  GW_PID=$!; track_pid "$GW_PID"; WATCH_PID=$GW_PID
  for ((i = 0; i < 600; i++)); do
    line=$(grep -m1 '^listening ' "$out" 2>/dev/null || true)
    [ -n "$line" ] && break
    kill -0 "$GW_PID" 2>/dev/null || { cat "$out" >&2; return 1; }
    sleep 0.1
  done
  [ -n "$line" ] || { echo "bench: the gateway printed no listening line" >&2; cat "$out" >&2; return 1; }
  GW_HTTP=$(sed -n 's/.*http=\([^ ]*\).*/\1/p' <<<"$line")
  GW_SYSLOG_PORT=$(sed -n 's/.*syslog=[^ ]*:\([0-9]*\).*/\1/p' <<<"$line")
}

# One value from the gateway's /metrics (exact series text).
gateway_metric() {
  curl -fsS "http://$GW_HTTP/metrics" | awk -v s="$1" '$1 == s { printf "%.0f\n", $2; found = 1 } END { if (!found) print 0 }'
}

# A gateway config file that runs no output at all: records stay in the durable queue (the "→ durable queue" rows).
queue_only_config() {
  printf 'store:\n  enabled: false\n' >"$BENCH_TMP/queue-only.yaml"
  echo "$BENCH_TMP/queue-only.yaml"
}

gateway_log_count() {
  curl -fsS -H 'Content-Type: application/json' -d '{"query":{"match_all":{}}}' "http://$GW_HTTP/logstash-*/_count" \
    | sed -n 's/.*"count":\([0-9]*\).*/\1/p'
}

# "a / b" with awk, printed with FORMAT.
ratio() { awk -v a="$1" -v b="$2" -v f="${3:-%.2f}" 'BEGIN { if (b == 0) print "n/a"; else printf f "\n", a / b }'; }
