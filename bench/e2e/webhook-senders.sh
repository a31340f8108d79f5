#!/usr/bin/env bash
# webhook-senders.sh BINARY LOADGEN SENDERS SECONDS [RATE]
#
# Runs an otelcol-flipt binary on its default pipeline (loopback ports, a
# temporary audit file), sends it SECONDS of signed single-event webhook
# requests from SENDERS concurrent senders (RATE events/s, 0: flat out) with
# flipt-loadgen, prints acknowledged events/s and latency, and verifies every
# acknowledged event is in the audit file once. Loopback only; bounded by
# SECONDS. Used for the group commit figures in exporter/auditfile/README.md:
#
#   go build -o /tmp/otelcol-flipt ./cmd/otelcol-flipt
#   go build -o /tmp/flipt-loadgen ./cmd/flipt-loadgen
#   bench/e2e/webhook-senders.sh /tmp/otelcol-flipt /tmp/flipt-loadgen 64 10
set -euo pipefail
bin=$1 loadgen=$2 senders=$3 secs=$4 rate=${5:-0}
dir=$(mktemp -d)
port() { python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }
hp=$(port) wp=$(port)
env OTELCOL_FLIPT_HEALTH_ENDPOINT=127.0.0.1:$hp OTELCOL_FLIPT_WEBHOOK_ENDPOINT=127.0.0.1:$wp \
  OTELCOL_FLIPT_PROMETHEUS_ENDPOINT=127.0.0.1:$(port) OTELCOL_FLIPT_OTLP_GRPC_ENDPOINT=127.0.0.1:$(port) \
  OTELCOL_FLIPT_OTLP_HTTP_ENDPOINT=127.0.0.1:$(port) OTELCOL_FLIPT_TELEMETRY_HOST=127.0.0.1 \
  OTELCOL_FLIPT_TELEMETRY_PORT=$(port) OTELCOL_FLIPT_WEBHOOK_SECRET=s3cr3t \
  OTELCOL_FLIPT_AUDIT_FILE=$dir/flipt-audit.log "$bin" >$dir/collector.log 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null || true' EXIT
for i in $(seq 100); do curl -sf http://127.0.0.1:$hp/ >/dev/null && break; sleep 0.1; done
run=r$RANDOM
"$loadgen" -mode webhook -target http://127.0.0.1:$wp/flipt/audit -secret s3cr3t -run $run \
  -duration ${secs}s -rate $rate -concurrency $senders -timeout 30s > $dir/report.json
python3 -c "import json;r=json.load(open('$dir/report.json'));print('$(basename "$bin") senders=$senders rate=$rate acked=%d sent=%d refused=%s ev/s=%.0f p50=%.2fms p99=%.2fms max=%.1fms'%(r['events_acked'],r['events_sent'],r.get('refused_requests_by_status'),r['acked_events_per_s'],r['latency']['p50_ms'],r['latency']['p99_ms'],r['latency']['max_ms']))"
kill $pid; wait $pid 2>/dev/null || true; trap - EXIT
"$loadgen" verify -run $run -count $(python3 -c "import json;print(json.load(open('$dir/report.json'))['events_sent'])") $dir/flipt-audit*.log | python3 -c "import json,sys;t=json.load(sys.stdin);print('  verify:',{k:(len(v) if isinstance(v,list) else v) for k,v in t.items()})" || true
rm -rf $dir
