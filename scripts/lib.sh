# Shared by scripts/check-*.sh (sourced, not run).

pass() { printf 'ok    %s\n' "$*"; }
fail() { printf 'FAIL  %s\n' "$*" >&2; exit 1; }

# free_port prints a loopback TCP port nothing listens on (bash's /dev/tcp connect fails).
free_port() {
  local p
  for _ in $(seq 1 100); do
    p=$(( (RANDOM % 20000) + 20000 ))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
      echo "$p"
      return 0
    fi
  done
  fail "no free loopback port found"
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
