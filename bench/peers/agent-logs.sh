#!/usr/bin/env bash
# Agent logs footprint, side by side (architecture §8, agent logs budget): a workload printing RATE lines/s is captured and
# forwarded over syslog TCP by the Flotel agent (podman pod → libpod log stream → agent → collector), and the same
# stream is forwarded by rsyslog (a host shell loop appends the lines to a file → imfile → omfwd with a disk-assisted
# queue → collector). The collector is a second rsyslog (imtcp → omfile) that counts lines. For each, after a
# warm-up, the script takes the forwarder's CPU (/proc/PID/stat utime+stime) over the window and the lines the
# collector received in it, and prints CPU µs per line and RSS (start/end/max: flat or not). For the agent it also
# prints the podman API service's CPU (the log stream when the agent reads a container through the API; with podman's
# default k8s-file driver the agent follows conmon's file itself, and the service only answers the agent's pod and
# container polls) and the container's conmon's (it writes the log file on either path, as the host loop does for rsyslog).
#
#   bench/peers/agent-logs.sh [RATE] [SECONDS]      # lines per second (default 1000), window (default 60)
#   WARMUP=20 bench/peers/agent-logs.sh 5000 60
#   PODMAN_SERVICE=socket (default): podman's API service runs as on a device with systemd's podman.socket, started
#   when a client connects and gone after 5 s without one (`socket-activate.py` beside this script plays systemd);
#   PODMAN_SERVICE=always: one `podman system service --time=0` for the whole run.
#   FLOOR=20: seconds the podman API service is measured idle (no client, no pod) before the agent starts; the table
#   gives the service's CPU per line and the same less that floor, which a device running podman pays anyway.
#   By default the agent is the device build (src/Flotel.Device, NativeAOT, what docs/deploy.md installs), published
#   into the temp directory first. FLOTEL_BIN=path/to/flotel runs another binary, FLOTEL_BIN=jit the full build with
#   `dotnet flotel.dll`; ONLY=agent|rsyslog runs one side only.
#
# Needs podman, runc, catatonit, busybox-static and rsyslog (./test.sh installs them). Everything on 127.0.0.1 in one
# temp directory; processes stopped by PID; the pod removed at the end.
set -euo pipefail
cd "$(dirname "$0")/../.."
RATE=${1:-1000}
WINDOW=${2:-60}
WARMUP=${WARMUP:-20}
PODMAN_SERVICE=${PODMAN_SERVICE:-socket} # socket: started on demand, exits after 5 s idle (podman.socket); always: --time=0
FLOOR=${FLOOR:-20}             # seconds the podman API service's idle CPU is measured before the agent starts
FLOTEL_BIN=${FLOTEL_BIN:-}   # empty: publish the device build; jit: build src/Flotel.Cli and run it with dotnet
ONLY=${ONLY:-}               # agent | rsyslog | empty for both
BATCH=$(( RATE / 10 ))   # lines per 0.1 s tick

work=$(mktemp -d /tmp/flotel-bench-agent-logs.XXXXXX)
pids=()
pod=bench-logs
export CONTAINERS_CONF="$work/containers.conf"
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  podman pod rm --force --ignore "$pod" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
cpu_ticks() { awk '{print $14+$15}' "/proc/$1/stat"; }
# The podman API service's CPU: the service itself (always on), or the activator with the services it started and
# reaped (cutime/cstime) plus the one running now.
service_ticks() {
  if [ "$PODMAN_SERVICE" = always ]; then cpu_ticks "$podman_pid"; return; fi
  local live; live=$(cat "$work/podman.pid" 2>/dev/null || true)
  local l=0; [ -n "$live" ] && l=$(awk '{print $14+$15+$16+$17}' "/proc/$live/stat" 2>/dev/null || echo 0)
  echo $(( $(awk '{print $14+$15+$16+$17}' "/proc/$podman_pid/stat") + l ))
}
rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }
lines() { [ -f "$1" ] && wc -l <"$1" || echo 0; }
tck=$(getconf CLK_TCK)

for bin in podman rsyslogd; do command -v "$bin" >/dev/null || { echo "missing $bin (./test.sh installs it)" >&2; exit 1; }; done
printf '[containers]\ndefault_ulimits = []\n[engine]\nruntime = "runc"\n' >"$CONTAINERS_CONF"
if ! podman image exists localhost/busybox:local; then
  mkdir -p "$work/rootfs/bin" && cp /bin/busybox "$work/rootfs/bin/"
  for a in sh echo sleep date cat seq; do ln -s busybox "$work/rootfs/bin/$a"; done
  tar -C "$work/rootfs" -cf "$work/rootfs.tar" . && podman import --change 'ENV PATH=/bin' "$work/rootfs.tar" localhost/busybox:local >/dev/null
fi

# The collector: counts what the forwarders deliver.
# Runs in this shell, not in $(…): a subshell's pids+=() is lost, and the collector outlived the script.
start_collector() { # $1 = name; sets collector_port
  local port; port=$(free_port)
  cat >"$work/$1-collector.conf" <<CONF
global(workDirectory="$work")
module(load="imtcp")
template(name="msg" type="string" string="%msg%\n")
input(type="imtcp" port="$port" address="127.0.0.1" ruleset="in")
ruleset(name="in") { action(type="omfile" file="$work/$1-received.log" template="msg") }
CONF
  rsyslogd -n -f "$work/$1-collector.conf" -i "$work/$1-collector.pid" >"$work/$1-collector.out" 2>&1 & pids+=($!)
  for _ in $(seq 1 50); do (exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null && break; sleep 0.1; done
  collector_port=$port
}

measure() { # $1 = label, $2 = forwarder pid, $3 = collector file, $4 = extra pid (or 0), $5 = the pod's container (conmon)
  local label=$1 pid=$2 file=$3 extra=$4 ctr=${5:-}
  sleep "$WARMUP"
  kill -0 "$pid" 2>/dev/null || { echo "$label died during warm-up" >&2; exit 1; }
  local c0 e0=0 l0 r0 rmax t0 t1 mon=0 m0=0 m1=0
  [ -n "$ctr" ] && mon=$(podman inspect --format '{{.State.ConmonPid}}' "$ctr" 2>/dev/null || echo 0)
  [ "$mon" != 0 ] && m0=$(cpu_ticks "$mon")
  c0=$(cpu_ticks "$pid"); [ "$extra" != 0 ] && e0=$(service_ticks)
  l0=$(lines "$file"); r0=$(rss_kib "$pid"); rmax=$r0; t0=$(date +%s.%N)
  local end=$(( $(date +%s) + WINDOW ))
  while [ "$(date +%s)" -lt "$end" ]; do
    r=$(rss_kib "$pid"); [ "$r" -gt "$rmax" ] && rmax=$r; sleep 2
  done
  local c1 e1=0 l1 r1
  c1=$(cpu_ticks "$pid"); [ "$extra" != 0 ] && e1=$(service_ticks); [ "$mon" != 0 ] && m1=$(cpu_ticks "$mon")
  l1=$(lines "$file"); r1=$(rss_kib "$pid"); t1=$(date +%s.%N); [ "$r1" -gt "$rmax" ] && rmax=$r1
  awk -v n="$label" -v c=$((c1 - c0)) -v e=$((e1 - e0)) -v l=$((l1 - l0)) -v t="$tck" -v a="$t0" -v b="$t1" \
      -v r0="$r0" -v r1="$r1" -v rm="$rmax" -v x="$extra" -v m=$((m1 - m0)) -v mp="$mon" -v fl="$floor_per_s" 'BEGIN {
    s = b - a; cpu = c / t; ext = e / t; mc = m / t
    printf "| %s | %.0f | %.2f | %s | %.1f / %.1f / %.1f |\n", n, l / s, (l > 0 ? cpu * 1e6 / l : 0),
      (x != 0 ? sprintf("+ %.2f in the podman API service (%.2f above its idle floor), + %.2f in conmon",
                        (l > 0 ? ext * 1e6 / l : 0), (l > 0 ? (ext - fl * s) * 1e6 / l : 0),
                        (l > 0 && mp != 0 ? mc * 1e6 / l : 0)) : "—"),
      r0 / 1024, r1 / 1024, rm / 1024 }'
}

echo "# agent logs footprint $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, ${RATE} lines/s target, window ${WINDOW}s after ${WARMUP}s warm-up, podman service ${PODMAN_SERVICE/socket/socket-activated (--time=5)}, load: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "| forwarder | lines/s delivered | CPU µs/line | with podman's log service | RSS MiB start / end / max |"
echo "|---|---:|---:|---|---:|"

# --- Flotel agent -------------------------------------------------------------------------------------------------
if [ "$ONLY" != rsyslog ]; then
if [ -z "$FLOTEL_BIN" ]; then
  dotnet publish src/Flotel.Device -c Release -r linux-x64 --nologo -v q -o "$work/device" >/dev/null
  agent_cmd=("$work/device/flotel"); agent_label="flotel agent (device build, NativeAOT)"
elif [ "$FLOTEL_BIN" = jit ]; then
  dotnet build src/Flotel.Cli -c Release --nologo -v q >/dev/null
  agent_cmd=(dotnet src/Flotel.Cli/bin/Release/net10.0/flotel.dll); agent_label="flotel agent (full build, JIT)"
else
  agent_cmd=("$FLOTEL_BIN"); agent_label="flotel agent ($(basename "$FLOTEL_BIN"))"
fi
start_collector flotel; cport=$collector_port
if [ "$PODMAN_SERVICE" = always ]; then
  podman system service --time=0 "unix://$work/podman.sock" >"$work/podman.out" 2>&1 & podman_pid=$!; pids+=($podman_pid)
else
  python3 bench/peers/socket-activate.py "$work/podman.sock" "$work/podman.pid" podman system service --time=5 & podman_pid=$!
  pids+=($podman_pid)
fi
for _ in $(seq 1 100); do [ -S "$work/podman.sock" ] && break; sleep 0.1; done
# The service's own floor with no client and nothing running: a device running podman pays it with or without the
# agent (Go runtime, its events backend); the table shows the service's share per line and that share less this floor.
sleep 2; f0=$(service_ticks); sleep "$FLOOR"; idle_floor_ticks=$(( $(service_ticks) - f0 ))
mkdir -p "$work/manifests"
cat >"$work/manifests/device.yaml" <<YAML
apiVersion: management.project-flotta.io/v1alpha1
kind: EdgeDevice
metadata: {name: bench-device, namespace: default, labels: {app: bench}}
spec:
  logCollection:
    collector: {kind: syslog, bufferSize: 4096, syslogConfig: {name: collector}}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: collector, namespace: default}
data: {Address: "127.0.0.1:$cport", Protocol: tcp}
---
apiVersion: management.project-flotta.io/v1alpha1
kind: EdgeWorkload
metadata: {name: $pod, namespace: default}
spec:
  logCollection: collector
  deviceSelector: {matchLabels: {app: bench}}
  type: pod
  pod:
    spec:
      hostNetwork: true
      containers:
        - name: printer
          image: localhost/busybox:local
          command: [/bin/sh, -c, 'i=0; while true; do seq \$((i+1)) \$((i+$BATCH)); i=\$((i+$BATCH)); sleep 0.1; done']
YAML
"${agent_cmd[@]}" agent --manifests "$work/manifests" --data "$work/agent" \
  --podman-socket "$work/podman.sock" --node-exporter http://127.0.0.1:1/metrics >"$work/agent.log" 2>&1 & agent_pid=$!; pids+=($agent_pid)
floor_per_s=$(awk -v t="$idle_floor_ticks" -v k="$tck" -v s="$FLOOR" 'BEGIN { printf "%.6f", t / k / s }')
floor_note="podman API service idle floor (no client, no pod, ${FLOOR} s before the agent started): $(awk -v f="$floor_per_s" 'BEGIN { printf "%.2f", f * 1000 }') ms CPU/s"
measure "$agent_label" "$agent_pid" "$work/flotel-received.log" "$podman_pid" "$pod-printer"
# The agent first: stopped after the pod, it could play the pod again in between.
kill "$agent_pid" 2>/dev/null || true
wait "$agent_pid" 2>/dev/null || true
podman pod rm --force --ignore "$pod" >/dev/null 2>&1 || true
fi

# --- rsyslog imfile → omfwd (disk-assisted queue) -------------------------------------------------------------------
[ "$ONLY" = agent ] && { echo; echo "$floor_note"; exit 0; }
start_collector rsyslog; rport=$collector_port
mkdir -p "$work/spool"
cat >"$work/forwarder.conf" <<CONF
global(workDirectory="$work/spool")
module(load="imfile")
input(type="imfile" File="$work/generated.log" Tag="bench-logs:" Severity="info")
action(type="omfwd" target="127.0.0.1" port="$rport" protocol="tcp"
       queue.type="LinkedList" queue.filename="fwd" queue.maxDiskSpace="64m" queue.saveOnShutdown="on"
       action.resumeRetryCount="-1")
CONF
bash -c "i=0; while true; do seq \$((i+1)) \$((i+$BATCH)) >>'$work/generated.log'; i=\$((i+$BATCH)); sleep 0.1; done" & gen_pid=$!; pids+=($gen_pid)
rsyslogd -n -f "$work/forwarder.conf" -i "$work/forwarder.pid" >"$work/forwarder.out" 2>&1 & fwd_pid=$!; pids+=($fwd_pid)
measure "rsyslog imfile → omfwd (DA queue)" "$fwd_pid" "$work/rsyslog-received.log" 0
[ -n "${floor_note:-}" ] && { echo; echo "$floor_note"; }
