# Shared by scripts/check-*.sh (sourced, not run).

pass() { printf 'ok    %s\n' "$*"; }
fail() { printf 'FAIL  %s\n' "$*" >&2; exit 1; }

# free_ports N prints N distinct loopback TCP ports, one per line, that no socket on the
# machine holds in any state. They come from below Linux's ephemeral range (32768-60999 by
# default), which the kernel hands to outgoing connections: a port from there could be
# taken by a client connection between this check and the collector binding it.
free_ports() {
  local n=$1 p hex taken picked=" "
  taken=" $(awk 'FNR > 1 { split($2, a, ":"); print a[2] }' /proc/net/tcp /proc/net/tcp6 2>/dev/null | sort -u | tr '\n' ' ')"
  for _ in $(seq 1 1000); do
    [ "$n" -gt 0 ] || return 0
    p=$(( (RANDOM % 12000) + 20000 ))
    printf -v hex '%04X' "$p"
    case "$taken$picked" in *" $hex "*|*" $p "*) continue ;; esac
    picked+="$p "
    echo "$p"
    n=$(( n - 1 ))
  done
  fail "no free loopback port below the ephemeral range"
}

# wait_http_200 URL [SECONDS]: polls URL until it answers 200, at most SECONDS (60).
wait_http_200() {
  local url=$1 deadline=$(( SECONDS + ${2:-60} ))
  while [ $SECONDS -lt $deadline ]; do
    [ "$(curl -s -o /dev/null -w '%{http_code}' "$url")" = 200 ] && return 0
    sleep 0.2
  done
  return 1
}

# post_captured_webhook URL [unsigned] prints the HTTP status the first webhook request Flipt
# v1.61.1 sent (testdata/flipt-v1.61.1) gets at URL, with the signature it carried (secret
# s3cr3t) unless "unsigned"; the audit line it must become is the first of that capture's
# audit.log.
post_captured_webhook() {
  local first body sig
  first=$(head -n 1 "$root/testdata/flipt-v1.61.1/webhook-requests.ndjson")
  body=$(printf '%s' "$first" | sed -n 's/.*"body_b64": "\([^"]*\)".*/\1/p' | base64 -d)
  sig=$(printf '%s' "$first" | sed -n 's/.*"X-Flipt-Webhook-Signature", "\([0-9a-f]*\)".*/\1/p')
  [ "${2:-}" != unsigned ] || sig=
  curl -s -o /dev/null -w '%{http_code}' -H 'Content-Type: application/json' \
    ${sig:+-H "X-Flipt-Webhook-Signature: $sig"} --data-binary "$body" "$1"
}

# container_setup sets CTR to the container command. With podman it uses runc and, unless
# CONTAINERS_CONF is set, scripts/containers-ci.conf: machines without systemd need both
# (see the README's Install section).
container_setup() {
  local tool=${CONTAINER:-podman}
  CTR=("$tool")
  if [ "$(basename "$tool")" = podman ]; then
    export CONTAINERS_CONF=${CONTAINERS_CONF:-$root/scripts/containers-ci.conf}
    if command -v runc >/dev/null 2>&1; then CTR+=(--runtime runc); fi
  fi
}
