#!/usr/bin/env bash
# Measures the figures the Kubernetes resource requests and the ingest HPA target are sized from
# (docs/DEPLOYMENT.md, "Resources"): CPU time per request of ingest, CPU time per applied sample of
# a worker, idle and peak RSS of both. Starts a private redis-server, one ingest and one worker on
# free loopback ports, drives ingest with wrk for a bounded time, stops everything it started.
#
#   npm run build && bash test/deploy/tools/measure-resources.sh [seconds per phase, default 15]
set -euo pipefail
cd "$(dirname "$0")/../../.."
PHASE_SECONDS=${1:-15}
TICK=$(getconf CLK_TCK)
WORK=$(mktemp -d)
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

free_port() { node -e "const s=require('net').createServer();s.listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})"; }
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
status_kb() { awk -v key="$2:" '$1 == key {print $2}' "/proc/$1/status"; }
metric() { curl -sf "http://127.0.0.1:$1/metrics" | awk -v name="$2" '$1 == name {print $2}'; }
wait_ready() {
  for _ in $(seq 1 150); do
    curl -sf "http://127.0.0.1:$1/readyz" >/dev/null && return 0
    sleep 0.2
  done
  echo "port $1 never became ready" >&2
  exit 1
}
# Polls (bounded) until the worker has applied `want` samples.
wait_applied() {
  for _ in $(seq 1 600); do
    local applied
    applied=$(metric "$WORKER_PORT" nodeagg_samples_applied_total)
    [ "${applied%.*}" -ge "$1" ] && return 0
    sleep 0.2
  done
  echo "worker applied $(metric "$WORKER_PORT" nodeagg_samples_applied_total) of $1 samples within 120 s" >&2
  exit 1
}
requests_of() { awk '/requests in/ {print $1}' "$1"; }
non2xx_of() { awk '/Non-2xx/ {print $NF}' "$1"; }

# The machine may be shared: say how busy it was.
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
export LOAD_BEFORE
REDIS_PORT=$(free_port)
redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no --dir "$WORK" >"$WORK/redis.log" 2>&1 &
PIDS+=($!)
INGEST_PORT=$(free_port)
WORKER_PORT=$(free_port)
export REDIS_URL="redis://127.0.0.1:$REDIS_PORT" KEY_PREFIX=measure LOG_LEVEL=warn INGEST_PORT WORKER_HEALTH_PORT=$WORKER_PORT
sleep 0.5
node dist/ingest/main.js >"$WORK/ingest.log" 2>&1 &
INGEST_PID=$!
PIDS+=("$INGEST_PID")
node --max-semi-space-size=32 dist/worker/main.js >"$WORK/worker.log" 2>&1 &
WORKER_PID=$!
PIDS+=("$WORKER_PID")
wait_ready "$INGEST_PORT"
wait_ready "$WORKER_PORT"
sleep 2
INGEST_IDLE_KB=$(status_kb "$INGEST_PID" VmRSS)
WORKER_IDLE_KB=$(status_kb "$WORKER_PID" VmRSS)

# Phase 1: single-sample POSTs (one sample per request), 16 connections.
i0=$(ticks "$INGEST_PID"); w0=$(ticks "$WORKER_PID"); a0=$(metric "$WORKER_PORT" nodeagg_samples_applied_total)
wrk -t1 -c16 -d"${PHASE_SECONDS}s" -s bench/post.lua "http://127.0.0.1:$INGEST_PORT" >"$WORK/single.txt"
i1=$(ticks "$INGEST_PID")
single=$(requests_of "$WORK/single.txt")
wait_applied $((${a0%.*} + single))
w1=$(ticks "$WORKER_PID")

# Phase 2: batches of 100 samples, 4 connections.
a1=$(metric "$WORKER_PORT" nodeagg_samples_applied_total)
wrk -t1 -c4 -d"${PHASE_SECONDS}s" -s test/deploy/tools/batch.lua "http://127.0.0.1:$INGEST_PORT" >"$WORK/batch.txt"
i2=$(ticks "$INGEST_PID")
batches=$(requests_of "$WORK/batch.txt")
wait_applied $((${a1%.*} + batches * 100))
w2=$(ticks "$WORKER_PID")

node - "$TICK" "$PHASE_SECONDS" "$single" "$batches" "$i0" "$i1" "$i2" "$w0" "$w1" "$w2" \
  "$INGEST_IDLE_KB" "$(status_kb "$INGEST_PID" VmHWM)" "$WORKER_IDLE_KB" "$(status_kb "$WORKER_PID" VmHWM)" \
  "$(non2xx_of "$WORK/single.txt")" "$(non2xx_of "$WORK/batch.txt")" <<'JS'
const [tick, secs, single, batches, i0, i1, i2, w0, w1, w2, ingestIdle, ingestPeak, workerIdle, workerPeak, bad1, bad2] = process.argv
  .slice(2)
  .map((v) => Number(v || 0));
const ms = (t) => (t / tick) * 1000;
const mb = (kb) => (kb / 1024).toFixed(0);
const row = (k, v) => console.log(`${k.padEnd(44)} ${v}`);
row('node', process.version);
row('load average before (1/5/15 min)', process.env.LOAD_BEFORE);
row('phase length', `${secs} s`);
row('single POSTs: requests/s (non-2xx)', `${(single / secs).toFixed(0)} (${bad1})`);
row('single POSTs: ingest CPU per request', `${(ms(i1 - i0) / single).toFixed(3)} ms`);
row('single POSTs: ingest CPU used', `${(ms(i1 - i0) / secs / 1000).toFixed(2)} cores`);
row('single POSTs: worker CPU per sample', `${(ms(w1 - w0) / single).toFixed(3)} ms`);
row('batches of 100: requests/s (non-2xx)', `${(batches / secs).toFixed(0)} (${bad2})`);
row('batches of 100: ingest CPU per sample', `${(ms(i2 - i1) / (batches * 100)).toFixed(4)} ms`);
row('batches of 100: ingest CPU used', `${(ms(i2 - i1) / secs / 1000).toFixed(2)} cores`);
row('batches of 100: worker CPU per sample', `${(ms(w2 - w1) / (batches * 100)).toFixed(4)} ms`);
row('ingest RSS idle / peak', `${mb(ingestIdle)} / ${mb(ingestPeak)} MiB`);
row('worker RSS idle / peak', `${mb(workerIdle)} / ${mb(workerPeak)} MiB`);
JS
