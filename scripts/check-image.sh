#!/usr/bin/env bash
# CI proof of the container image: run it the way the README says, then check that it
# prints the build's version, answers its health check, refuses an unsigned webhook POST,
# accepts one Flipt signed and writes the event into the volume, byte for byte as Flipt's
# own audit log, owned by the image's UID with mode 0600, and stops cleanly on SIGTERM.
#
#   scripts/check-image.sh IMAGE VERSION        (CONTAINER=podman by default)
#
# The container shares the host's network (--network=host) so that it listens on loopback
# ports picked here; it is removed whatever happens.
set -euo pipefail
image=${1:?usage: check-image.sh IMAGE VERSION}
version=${2:?usage: check-image.sh IMAGE VERSION}
root=$(cd "$(dirname "$0")/.." && pwd)
. "$root/scripts/lib.sh"
container_setup

name=otelcol-flipt-check-$$
data=$(mktemp -d)
cleanup() {
  "${CTR[@]}" rm -f "$name" >/dev/null 2>&1 || true
  rm -rf "$data"
}
trap cleanup EXIT

# Version: the one the build stamped.
got=$("${CTR[@]}" run --rm "$image" --version)
[ "$got" = "otelcol-flipt version $version" ] || fail "image --version: '$got', want '$version'"
pass "image prints otelcol-flipt version $version"

# Unless told otherwise, everything listens on the container's own loopback only, and the
# audit file is in the volume (the config as the collector resolves it, env defaults applied).
resolved=$("${CTR[@]}" run --rm "$image" print-config --config /etc/otelcol-flipt/config.yaml)
listen=$(printf '%s\n' "$resolved" | grep -E '^\s*(endpoint|host): ' || true)
[ "$(printf '%s\n' "$listen" | grep -c .)" -ge 6 ] || fail "print-config shows too few listeners:
$listen"
beyond=$(printf '%s\n' "$listen" | grep -v -E ':\s*localhost(:[0-9]+)?$' || true)
[ -z "$beyond" ] || fail "the image listens beyond its loopback by default:
$beyond"
printf '%s\n' "$resolved" | grep -q -E '^\s*path: /var/lib/otelcol-flipt/flipt-audit.log$' ||
  fail "the image's audit file is not /var/lib/otelcol-flipt/flipt-audit.log"
pass "by default every listener is on the container's loopback; audit file in the volume"

# The volume: a host directory owned by the image's UID, as the README says.
chown 10001:10001 "$data"
chmod 0750 "$data"

ports=$(free_ports 6 | tr "\n" " ")
read -r health webhook grpc http prom tele <<<"$ports"
[ -n "$tele" ] || fail "no free loopback ports"
secret=s3cr3t # the signing secret of the captured requests
"${CTR[@]}" run -d --name "$name" --network=host \
  -v "$data:/var/lib/otelcol-flipt" \
  -e OTELCOL_FLIPT_HEALTH_ENDPOINT=127.0.0.1:$health \
  -e OTELCOL_FLIPT_WEBHOOK_ENDPOINT=127.0.0.1:$webhook \
  -e OTELCOL_FLIPT_WEBHOOK_SECRET=$secret \
  -e OTELCOL_FLIPT_OTLP_GRPC_ENDPOINT=127.0.0.1:$grpc \
  -e OTELCOL_FLIPT_OTLP_HTTP_ENDPOINT=127.0.0.1:$http \
  -e OTELCOL_FLIPT_PROMETHEUS_ENDPOINT=127.0.0.1:$prom \
  -e OTELCOL_FLIPT_TELEMETRY_HOST=127.0.0.1 -e OTELCOL_FLIPT_TELEMETRY_PORT=$tele \
  "$image" >/dev/null

wait_http_200 "http://127.0.0.1:$health/" || { "${CTR[@]}" logs "$name" >&2; fail "health check never answered 200"; }
pass "health check answers 200"

# The process itself, as the host sees it (named volumes and bind mounts see this UID).
pid=$("${CTR[@]}" inspect "$name" --format '{{.State.Pid}}')
user=$(stat -c '%u:%g' "/proc/$pid")
[ "$user" = "10001:10001" ] || fail "the collector runs as '$user', want 10001:10001"
pass "the collector process runs as 10001:10001"

if "${CTR[@]}" logs "$name" 2>&1 | grep -q -F "$secret"; then fail "the signing secret is in the container's log"; fi

# One webhook request exactly as Flipt v1.61.1 sent it (body and signature captured).
capture="$root/testdata/flipt-v1.61.1"
url="http://127.0.0.1:$webhook/flipt/audit"

code=$(post_captured_webhook "$url" unsigned)
[ "$code" = 401 ] || fail "unsigned webhook POST answered $code, want 401"
pass "unsigned webhook POST refused (401)"

code=$(post_captured_webhook "$url")
[ "$code" = 200 ] || { "${CTR[@]}" logs "$name" >&2; fail "signed webhook POST answered $code, want 200"; }
pass "signed webhook POST accepted (200)"

# The 200 came after the fsync: the file holds the event now, as Flipt's own log sink wrote it.
file="$data/flipt-audit.log"
[ -f "$file" ] || fail "no audit file in the volume"
want=$(head -n 1 "$capture/audit.log")
[ "$(cat "$file")" = "$want" ] || fail "audit file holds '$(cat "$file")', want Flipt's line '$want'"
owner=$(stat -c '%u:%g %a' "$file")
[ "$owner" = "10001:10001 600" ] || fail "audit file is '$owner', want '10001:10001 600'"
pass "event written to the volume, byte for byte, 10001:10001 mode 0600"

"${CTR[@]}" stop -t 30 "$name" >/dev/null
status=$("${CTR[@]}" inspect "$name" --format '{{.State.ExitCode}}')
[ "$status" = 0 ] || { "${CTR[@]}" logs "$name" >&2; fail "container exited $status on SIGTERM, want 0"; }
pass "stops cleanly on SIGTERM (exit 0)"
