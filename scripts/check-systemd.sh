#!/usr/bin/env bash
# Proof of the deb's unit under a real systemd, as root: a minimal Debian (debootstrap) is
# booted with systemd as its PID 1 in a systemd-nspawn container on this machine's network,
# the .deb installed there as an operator would, its environment file given loopback ports
# and the webhook secret, and the service started with every hardening option of the unit
# in force. From outside: the health check, a signed webhook POST of Flipt's written to
# /var/lib/otelcol-flipt as Flipt's line (0600, the service's user). Inside: the service
# runs as otelcol-flipt, reloads on SIGHUP, is restarted by systemd after a SIGKILL, and
# stops cleanly on `systemctl stop` (exit 0, nothing logged at error level).
#
#   scripts/check-systemd.sh DEB
#
# Needs debootstrap and systemd-container (apt) and Debian's mirror for debootstrap.
set -euo pipefail
deb=${1:?usage: check-systemd.sh DEB}
root=$(cd "$(dirname "$0")/.." && pwd)
. "$root/scripts/lib.sh"
[ -f "$deb" ] || fail "no $deb"
[ "$(id -u)" = 0 ] || fail "booting a container needs root"
for tool in debootstrap systemd-nspawn curl; do
  command -v "$tool" >/dev/null 2>&1 || fail "$tool not found (apt-get install debootstrap systemd-container curl)"
done

work=$(mktemp -d /var/tmp/check-systemd.XXXXXX)
nspawn_pid=
cleanup() {
  [ -z "$nspawn_pid" ] || kill "$nspawn_pid" 2>/dev/null || true
  [ -z "$nspawn_pid" ] || wait "$nspawn_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
os=$work/root
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
debootstrap --variant=minbase --include=systemd,systemd-sysv,dbus bookworm "$os" "$mirror" >"$work/debootstrap.log" 2>&1 ||
  { tail -20 "$work/debootstrap.log" >&2; fail "debootstrap bookworm from $mirror"; }
pass "a minimal Debian bookworm with systemd in $os"

ports=$(free_ports 6 | tr "\n" " ")
read -r health webhook grpc http prom tele <<<"$ports"
[ -n "$tele" ] || fail "no free loopback ports"
cp "$deb" "$os/root/otelcol-flipt.deb"

# What runs inside once the container has booted; it reports to /root/check.log, waits
# for the checks made from outside (/root/outside-done), then powers the container off.
cat >"$os/root/check.sh" <<EOF
#!/bin/bash
set -u
log() { echo "\$*" >>/root/check.log; }
show() { systemctl show -p "\$1" --value otelcol-flipt; }
wait_for() { # what, condition
  for _ in \$(seq 300); do eval "\$2" && return 0; sleep 0.1; done
  log "timeout: \$1"; return 1
}
finish() { log "end"; systemctl poweroff; exit 0; }
healthy() { # the health check answers 200 (no curl in a minimal Debian)
  exec 3<>/dev/tcp/127.0.0.1/$health 2>/dev/null || return 1
  printf 'GET / HTTP/1.0\r\n\r\n' >&3
  local status=; read -r -t 2 _ status _ <&3; exec 3>&-
  [ "\$status" = 200 ]
}
dpkg -i /root/otelcol-flipt.deb >/root/dpkg.log 2>&1 || { log "dpkg failed: \$(tail -3 /root/dpkg.log)"; finish; }
log "enabled=\$(systemctl is-enabled otelcol-flipt)"
cat >>/etc/otelcol-flipt/otelcol-flipt.conf <<CONF
OTELCOL_FLIPT_WEBHOOK_SECRET=s3cr3t
OTELCOL_FLIPT_HEALTH_ENDPOINT=127.0.0.1:$health
OTELCOL_FLIPT_WEBHOOK_ENDPOINT=127.0.0.1:$webhook
OTELCOL_FLIPT_OTLP_GRPC_ENDPOINT=127.0.0.1:$grpc
OTELCOL_FLIPT_OTLP_HTTP_ENDPOINT=127.0.0.1:$http
OTELCOL_FLIPT_PROMETHEUS_ENDPOINT=127.0.0.1:$prom
OTELCOL_FLIPT_TELEMETRY_HOST=127.0.0.1
OTELCOL_FLIPT_TELEMETRY_PORT=$tele
CONF
systemctl start otelcol-flipt
wait_for active '[ "\$(show ActiveState)" = active ]' || { journalctl -u otelcol-flipt --no-pager >>/root/check.log; finish; }
pid=\$(show MainPID)
# Type=simple is active once forked; the sandbox is set up before the exec.
wait_for "the exec of /usr/bin/otelcol-flipt" '[ "\$(readlink /proc/\$pid/exe)" = /usr/bin/otelcol-flipt ]' ||
  { journalctl -u otelcol-flipt --no-pager >>/root/check.log; finish; }
uid=\$(awk '/^Uid:/ { print \$2 }' /proc/\$pid/status)
log "started user=\$(getent passwd "\$uid" | cut -d: -f1) state=\$(show ActiveState)/\$(show SubState)"
# What the kernel enforces on the process: no new privileges, a seccomp filter, no
# capabilities, / read-only and the state directory writable (ProtectSystem=strict).
field() { awk -v k="\$1:" '\$1 == k { print \$2 }' /proc/\$pid/status; }
mountopt() { awk -v m="\$1" '\$5 == m { split(\$6, o, ","); print o[1] }' /proc/\$pid/mountinfo | tail -1; }
log "sandbox nonewprivs=\$(field NoNewPrivs) seccomp=\$(field Seccomp) capbnd=\$(field CapBnd) root=\$(mountopt /) state=\$(mountopt /var/lib/otelcol-flipt)"
touch /root/ready
wait_for "the checks from outside" '[ -e /root/outside-done ]' || finish
log "reloading"
timeout 30 systemctl reload otelcol-flipt; rc=\$?
wait_for "the reloaded service's health check" healthy || finish
log "reloaded rc=\$rc state=\$(show ActiveState)/\$(show SubState) same_pid=\$([ "\$(show MainPID)" = "\$pid" ] && echo yes || echo no)"
kill -KILL "\$pid"
wait_for "the restart after SIGKILL" '[ "\$(show NRestarts)" = 1 ] && [ "\$(show ActiveState)" = active ]' || finish
wait_for "the restarted service's health check" healthy || finish
log "restarted restarts=\$(show NRestarts) state=\$(show ActiveState)/\$(show SubState)"
timeout 90 systemctl stop otelcol-flipt
log "stopped state=\$(show ActiveState) result=\$(show Result) status=\$(show ExecMainStatus) code=\$(show ExecMainCode)" # code 1: exited (not killed)
journalctl -u otelcol-flipt --no-pager -o cat >/root/journal.log 2>&1
finish
EOF
chmod 0755 "$os/root/check.sh"
mkdir -p "$os/var/log/journal" # kept on disk, so a failure can show it from outside
journal() { journalctl -D "$os/var/log/journal" --no-pager -o short-monotonic 2>/dev/null | tail -40 >&2; }
cat >"$os/etc/systemd/system/otelcol-flipt-check.service" <<'EOF'
[Unit]
Description=otelcol-flipt's packaging check
After=basic.target
[Service]
Type=oneshot
ExecStart=/root/check.sh
[Install]
WantedBy=multi-user.target
EOF
ln -s /etc/systemd/system/otelcol-flipt-check.service "$os/etc/systemd/system/multi-user.target.wants/otelcol-flipt-check.service"

# --register=no: no machined to register with here; the host's network is shared, so its
# loopback reaches the service.
timeout 180 systemd-nspawn -q --register=no --keep-unit -D "$os" -b >"$work/console.log" 2>&1 &
nspawn_pid=$!
deadline=$(( SECONDS + 120 ))
until [ -e "$os/root/ready" ] || grep -q -x 'end' "$os/root/check.log" 2>/dev/null; do
  [ $SECONDS -lt $deadline ] || { cat "$os/root/check.log" 2>/dev/null >&2; fail "the container never reported the service started"; }
  kill -0 "$nspawn_pid" 2>/dev/null || { tail -30 "$work/console.log" >&2; fail "the container stopped before the service started"; }
  sleep 0.2
done
[ -e "$os/root/ready" ] || { cat "$os/root/check.log" >&2; journal; fail "the service did not start under systemd"; }
grep -q -x 'enabled=enabled' "$os/root/check.log" || fail "the package did not enable the unit: $(head -1 "$os/root/check.log")"
grep -q -x 'started user=otelcol-flipt state=active/running' "$os/root/check.log" ||
  fail "the service did not run as otelcol-flipt: $(grep started "$os/root/check.log")"
grep -q -x 'sandbox nonewprivs=1 seccomp=2 capbnd=0000000000000000 root=ro state=rw' "$os/root/check.log" ||
  fail "the unit's hardening is not in force: $(grep sandbox "$os/root/check.log")"
pass "dpkg -i enabled the unit; systemctl start: active, running as otelcol-flipt with no new privileges, a seccomp filter, no capabilities, / read-only and /var/lib/otelcol-flipt writable"

wait_http_200 "http://127.0.0.1:$health/" 30 || fail "the service never answered its health check"
capture="$root/testdata/flipt-v1.61.1"
code=$(post_captured_webhook "http://127.0.0.1:$webhook/flipt/audit")
[ "$code" = 200 ] || fail "signed webhook POST answered $code"
audit=$os/var/lib/otelcol-flipt/flipt-audit.log
[ "$(cat "$audit")" = "$(head -n 1 "$capture/audit.log")" ] || fail "the audit file does not hold Flipt's line"
[ "$(stat -c %a "$audit")" = 600 ] || fail "the audit file's mode is $(stat -c %a "$audit")"
[ "$(chroot "$os" stat -c %U /var/lib/otelcol-flipt/flipt-audit.log)" = otelcol-flipt ] || fail "the audit file is not the service's"
pass "healthy; a signed webhook POST written to /var/lib/otelcol-flipt/flipt-audit.log as Flipt's line (0600, otelcol-flipt)"
touch "$os/root/outside-done"

deadline=$(( SECONDS + 120 ))
until grep -q -x 'end' "$os/root/check.log"; do
  if [ $SECONDS -ge $deadline ] || ! kill -0 "$nspawn_pid" 2>/dev/null; then
    journal
    fail "the container's check did not finish: $(cat "$os/root/check.log")"
  fi
  sleep 0.2
done
wait "$nspawn_pid" || true
nspawn_pid=
results=$(cat "$os/root/check.log")
grep -q -x 'reloaded rc=0 state=active/running same_pid=yes' <<<"$results" || fail "systemctl reload: $(grep reloaded <<<"$results")"
pass "systemctl reload: SIGHUP, still running, same process"
grep -q -x 'restarted restarts=1 state=active/running' <<<"$results" || fail "after SIGKILL: $(grep -E 'restart|timeout' <<<"$results")"
pass "SIGKILL: systemd restarted it (Restart=on-failure)"
grep -q -x 'stopped state=inactive result=success status=0 code=1' <<<"$results" || fail "systemctl stop: $(grep stopped <<<"$results")"
! grep -a -q $'\terror\t' "$os/root/journal.log" || fail "the service logged errors: $(grep -a $'\terror\t' "$os/root/journal.log" | head -5)"
pass "systemctl stop: exited 0 within TimeoutStopSec, nothing logged at error level"
