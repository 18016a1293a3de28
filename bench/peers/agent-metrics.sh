#!/usr/bin/env bash
# Agent metrics footprint, side by side (architecture §8, agent metrics budget): the Flotel agent, vmagent and Prometheus in agent
# mode each scrape the same real node_exporter every 5 s (every name it exposes, ~540 samples) and remote-write into
# one VictoriaMetrics. After a warm-up the script samples each process's RSS (/proc/PID/status VmRSS) and CPU time
# (/proc/PID/stat utime+stime) and prints RSS (MiB, end and max) and CPU seconds per minute over the measured window.
#
#   bench/peers/agent-metrics.sh [SECONDS]          # measured window, default 300 (plus WARMUP, default 30)
#   By default the agent is the device build (src/Flotel.Device, NativeAOT), published into the temp directory first —
#   what docs/deploy.md installs on devices. Other builds:
#   FLOTEL=/path/to/flotel bench/peers/agent-metrics.sh     # a binary published elsewhere
#   FLOTEL=jit bench/peers/agent-metrics.sh                  # `dotnet flotel.dll` of the full build (JIT)
#   DOTNET_GCgen0size=... (any DOTNET_* GC knob is passed to the agent and printed with the table)
#
# Everything listens on 127.0.0.1 with free ports, lives in one temp directory, and is stopped by PID at the end.
set -euo pipefail
cd "$(dirname "$0")/../.."
WINDOW=${1:-300}
WARMUP=${WARMUP:-30}
INTERVAL=5
work=$(mktemp -d /tmp/flotel-bench-agent-metrics.XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
wait_http() { for _ in $(seq 1 150); do curl -fsS -o /dev/null "$1" 2>/dev/null && return 0; sleep 0.2; done; echo "not ready: $1" >&2; return 1; }

for bin in prometheus-node-exporter victoria-metrics vmagent prometheus; do
  command -v "$bin" >/dev/null || { echo "missing $bin (apt-get install -y prometheus-node-exporter victoria-metrics prometheus)" >&2; exit 1; }
done

if [ -z "${FLOTEL:-}" ]; then
  echo "publishing the device build (NativeAOT, about a minute)" >&2
  dotnet publish src/Flotel.Device -c Release -r linux-x64 --nologo -v q -o "$work/device" >/dev/null
  FLOTEL_CMD=("$work/device/flotel")
  flavour="device build (src/Flotel.Device, NativeAOT)"
elif [ "$FLOTEL" = jit ]; then
  dotnet build src/Flotel.Cli -c Release --nologo -v q >/dev/null
  FLOTEL_CMD=(dotnet src/Flotel.Cli/bin/Release/net10.0/flotel.dll)
  flavour="full build, JIT (dotnet flotel.dll, Release)"
else
  FLOTEL_CMD=("$FLOTEL")
  flavour="$FLOTEL"
fi

ne_port=$(free_port); vm_port=$(free_port); vma_port=$(free_port); pa_port=$(free_port)
prometheus-node-exporter --web.listen-address=127.0.0.1:$ne_port >"$work/node_exporter.log" 2>&1 & pids+=($!)
victoria-metrics -httpListenAddr=127.0.0.1:$vm_port -storageDataPath="$work/vm" >"$work/vm.log" 2>&1 & pids+=($!)
wait_http "http://127.0.0.1:$ne_port/metrics"; wait_http "http://127.0.0.1:$vm_port/health"
write="http://127.0.0.1:$vm_port/api/v1/write"

# The Flotel agent: the blog's EdgeDevice with every name node_exporter exposes in its allow list (Flotta's allow
# lists are exact names; the comparison is "everything node_exporter has", like the other two).
mkdir -p "$work/manifests" "$work/agent"
names=$(curl -fsS "http://127.0.0.1:$ne_port/metrics" | grep -v '^#' | sed -E 's/[{ ].*//' | sort -u)
samples=$(curl -fsS "http://127.0.0.1:$ne_port/metrics" | grep -vc '^#')
{
  printf 'apiVersion: management.project-flotta.io/v1alpha1\nkind: EdgeDevice\nmetadata:\n  name: bench-device\n  namespace: default\n'
  printf 'spec:\n  metrics:\n    receiverConfiguration:\n      url: %s\n    system:\n      interval: %d\n      allowList:\n        name: all-node\n' "$write" "$INTERVAL"
  printf -- '---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: all-node\n  namespace: default\ndata:\n  metrics_list.yaml: |\n    names:\n'
  for n in $names; do printf '      - %s\n' "$n"; done
} >"$work/manifests/device.yaml"
"${FLOTEL_CMD[@]}" agent --manifests "$work/manifests" --data "$work/agent" --node-exporter "http://127.0.0.1:$ne_port/metrics" \
  >"$work/flotel.log" 2>&1 & flotel_pid=$!; pids+=($flotel_pid)

scrape="global:\n  scrape_interval: ${INTERVAL}s\nscrape_configs:\n  - job_name: node\n    static_configs:\n      - targets: ['127.0.0.1:$ne_port']\n"
printf "$scrape" >"$work/vmagent.yml"
vmagent -httpListenAddr=127.0.0.1:$vma_port -promscrape.config="$work/vmagent.yml" -remoteWrite.url="$write" \
  -remoteWrite.tmpDataPath="$work/vmagent-queue" >"$work/vmagent.log" 2>&1 & vmagent_pid=$!; pids+=($vmagent_pid)
printf "$scrape""remote_write:\n  - url: $write\n" >"$work/prom-agent.yml"
prometheus --enable-feature=agent --config.file="$work/prom-agent.yml" --storage.agent.path="$work/prom-agent" \
  --web.listen-address=127.0.0.1:$pa_port >"$work/prom-agent.log" 2>&1 & prom_pid=$!; pids+=($prom_pid)

tck=$(getconf CLK_TCK)
cpu_ticks() { awk '{print $14+$15}' "/proc/$1/stat"; }       # utime + stime, clock ticks (proc(5))
rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }

echo "warming up ${WARMUP}s (node_exporter: $samples samples per scrape, interval ${INTERVAL}s)" >&2
sleep "$WARMUP"
declare -A start max
for name in flotel vmagent prom; do
  pid_var=${name}_pid; pid=${!pid_var}
  kill -0 "$pid" 2>/dev/null || { echo "$name died during warm-up; log:" >&2; tail -20 "$work/$name"*.log >&2; exit 1; }
  start[$name]=$(cpu_ticks "$pid"); max[$name]=0
done
t0=$(date +%s)
while [ $(( $(date +%s) - t0 )) -lt "$WINDOW" ]; do
  for name in flotel vmagent prom; do
    pid_var=${name}_pid; r=$(rss_kib "${!pid_var}"); [ "$r" -gt "${max[$name]}" ] && max[$name]=$r
  done
  sleep 5
done
elapsed=$(( $(date +%s) - t0 ))

echo "# agent metrics footprint $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, window ${elapsed}s after ${WARMUP}s warm-up, $samples samples/scrape every ${INTERVAL}s"
echo "# flotel: $flavour $(env | grep -E '^DOTNET_GC' | tr '\n' ' ')"
printf '%-22s %10s %10s %14s\n' process "RSS MiB" "max MiB" "CPU s/min"
for name in flotel vmagent prom; do
  pid_var=${name}_pid; pid=${!pid_var}
  cpu=$(( $(cpu_ticks "$pid") - ${start[$name]} ))
  label=$name; [ $name = prom ] && label="prometheus --agent"; [ $name = flotel ] && label="flotel agent"
  r=$(rss_kib "$pid"); [ "$r" -gt "${max[$name]}" ] && max[$name]=$r
  awk -v n="$label" -v r="$r" -v m="${max[$name]}" -v c="$cpu" -v t="$tck" -v e="$elapsed" \
    'BEGIN { printf "%-22s %10.1f %10.1f %14.3f\n", n, r/1024, m/1024, (c/t)/(e/60) }'
done
# Sanity: the receiver has the agent's node_memory_Mapped_bytes (proves the agent really delivered).
curl -fsS "http://127.0.0.1:$vm_port/api/v1/query?query=count_over_time(node_memory_Mapped_bytes%7Bedgedeviceid%3D%22bench-device%22%7D%5B1h%5D)" \
  | sed -E 's/.*"value":\[[^,]*,"([^"]*)".*/# flotel samples of node_memory_Mapped_bytes at the receiver: \1/'
echo
grep -c 'wrote metrics range' "$work/flotel.log" | sed 's/^/# flotel "wrote metrics range" lines: /'
