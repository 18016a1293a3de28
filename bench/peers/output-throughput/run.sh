#!/usr/bin/env bash
# One short, bounded throughput run of each gateway HTTP output against its real peer on 127.0.0.1:
# remote_write → VictoriaMetrics and Prometheus, influxdb → InfluxDB 1.6, elasticsearch → a second Flotel gateway's
# _bulk. Peers get free ports and temporary directories and are stopped by their PIDs. ITEMS (default 200000) bounds
# every run. Prints one line per run (items/s and the sending gateway's CPU per item).
set -euo pipefail
cd "$(dirname "$0")"
ITEMS=${ITEMS:-200000}
root=$(mktemp -d /tmp/flotel-output-bench-XXXXXX)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done; rm -rf "$root"; }
trap cleanup EXIT
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
ready() { for _ in $(seq 1 150); do curl -fs -o /dev/null "$1" && return 0; sleep 0.2; done; echo "not ready: $1" >&2; return 1; }

dotnet build -c Release -v q -nologo OutputThroughput.csproj >/dev/null
dotnet build -c Release -v q -nologo ../../../src/Flotel.Cli/Flotel.Cli.csproj >/dev/null
bench=(dotnet bin/Release/net10.0/OutputThroughput.dll)

vm=$(port); victoria-metrics -httpListenAddr=127.0.0.1:$vm -storageDataPath="$root/vm" >"$root/vm.log" 2>&1 & pids+=($!)
ready "http://127.0.0.1:$vm/health"
"${bench[@]}" remote_write "http://127.0.0.1:$vm/api/v1/write" "$ITEMS"

prom=$(port); printf 'global:\n  scrape_interval: 15s\n' >"$root/prometheus.yml"
prometheus --config.file="$root/prometheus.yml" --storage.tsdb.path="$root/prom" --web.listen-address=127.0.0.1:$prom \
  --web.enable-remote-write-receiver >"$root/prom.log" 2>&1 & pids+=($!)
ready "http://127.0.0.1:$prom/-/ready"
"${bench[@]}" remote_write "http://127.0.0.1:$prom/api/v1/write" "$ITEMS"

influx=$(port); rpc=$(port)
cat >"$root/influxdb.conf" <<CONF
reporting-disabled = true
bind-address = "127.0.0.1:$rpc"
[meta]
  dir = "$root/influx/meta"
[data]
  dir = "$root/influx/data"
  wal-dir = "$root/influx/wal"
  query-log-enabled = false
[monitor]
  store-enabled = false
[http]
  bind-address = "127.0.0.1:$influx"
  log-enabled = false
CONF
influxd -config "$root/influxdb.conf" >"$root/influx.log" 2>&1 & pids+=($!)
ready "http://127.0.0.1:$influx/ping"
curl -fs -XPOST "http://127.0.0.1:$influx/query" --data-urlencode 'q=CREATE DATABASE "bench"' >/dev/null
"${bench[@]}" influxdb "http://127.0.0.1:$influx" "$ITEMS" bench

http=$(port); syslog=$(port)
dotnet ../../../src/Flotel.Cli/bin/Release/net10.0/flotel.dll gateway --data "$root/receiver" --http 127.0.0.1:$http \
  --syslog 127.0.0.1:$syslog >"$root/receiver.log" 2>&1 & pids+=($!)
ready "http://127.0.0.1:$http/readyz"
"${bench[@]}" elasticsearch "http://127.0.0.1:$http" "$ITEMS"
"${bench[@]}" elasticsearch "http://127.0.0.1:$http" "$ITEMS" gzip
