#!/usr/bin/env bash
# CI proof of the deb and the rpm, on a Debian machine as root: installs the .deb, checks the
# user, paths, owners and modes, validates the packaged config, judges the installed unit
# (systemd-analyze verify, and security with the bar at 2.0), runs the binary as the package's
# user with the packaged config (health, a signed webhook POST written to
# /var/lib/otelcol-flipt), checks that a reinstall keeps an edited config, then removes and
# purges and checks what is left. The rpm's file list, modes, config files and scripts are
# read with rpm -qp.
#
#   scripts/check-packages.sh DIST VERSION ARCH
set -euo pipefail
dist=${1:?usage: check-packages.sh DIST VERSION ARCH}
version=${2:?usage: check-packages.sh DIST VERSION ARCH}
arch=${3:?usage: check-packages.sh DIST VERSION ARCH}
root=$(cd "$(dirname "$0")/.." && pwd)
. "$root/scripts/lib.sh"

deb="$dist/otelcol-flipt_${version}_${arch}.deb"
rpm_arch=$arch
case "$arch" in amd64) rpm_arch=x86_64 ;; arm64) rpm_arch=aarch64 ;; esac
rpmfile="$dist/otelcol-flipt-${version}-1.${rpm_arch}.rpm"
[ -f "$deb" ] || fail "no $deb"
[ -f "$rpmfile" ] || fail "no $rpmfile"
[ "$(id -u)" = 0 ] || fail "installing the package needs root"

# What rpm must hold, and the deb too (its list is checked once installed).
expected_files="/etc/otelcol-flipt/config.yaml
/etc/otelcol-flipt/otelcol-flipt.conf
/etc/otelcol-flipt/traces-backend.yaml
/lib/systemd/system/otelcol-flipt.service
/usr/bin/otelcol-flipt
/usr/share/doc/otelcol-flipt/CHANGELOG.md
/usr/share/doc/otelcol-flipt/LICENSE
/usr/share/doc/otelcol-flipt/README.md
/var/lib/otelcol-flipt"
expected_configs="/etc/otelcol-flipt/config.yaml
/etc/otelcol-flipt/otelcol-flipt.conf
/etc/otelcol-flipt/traces-backend.yaml"

# --- rpm (read only: this is a Debian machine) ---
got=$(rpm -qlp "$rpmfile" 2>/dev/null | sort)
[ "$got" = "$expected_files" ] || fail "rpm file list:
$got
want:
$expected_files"
pass "rpm holds exactly the expected files"
got=$(rpm -qcp "$rpmfile" 2>/dev/null | sort)
[ "$got" = "$expected_configs" ] || fail "rpm config files: $got"
# %config(noreplace) shows as the file's flags; the data dir is owned by the service user.
rpm -qp --qf '[%{FILENAMES} %{FILEFLAGS:fflags} %{FILEMODES:perms} %{FILEUSERNAME}:%{FILEGROUPNAME}\n]' "$rpmfile" 2>/dev/null > "${TMPDIR:-/tmp}/rpm-files.$$"
while read -r want; do
  grep -q -x -F "$want" "${TMPDIR:-/tmp}/rpm-files.$$" || fail "rpm: no entry '$want' in
$(cat "${TMPDIR:-/tmp}/rpm-files.$$")"
done <<'EOF'
/etc/otelcol-flipt/config.yaml cn -rw-r----- root:otelcol-flipt
/etc/otelcol-flipt/otelcol-flipt.conf cn -rw-r----- root:otelcol-flipt
/usr/bin/otelcol-flipt  -rwxr-xr-x root:root
/var/lib/otelcol-flipt  drwxr-x--- otelcol-flipt:otelcol-flipt
EOF
rm -f "${TMPDIR:-/tmp}/rpm-files.$$"
[ "$(rpm -qp --qf '%{VERSION}' "$rpmfile" 2>/dev/null)" = "$version" ] || fail "rpm version"
rpm -qp --scripts "$rpmfile" 2>/dev/null | grep -q 'useradd --system' || fail "rpm has no preinstall creating the user"
pass "rpm: configs noreplace, modes and owners, version $version, user created before install"

# --- deb: installed on this machine ---
if dpkg -s otelcol-flipt >/dev/null 2>&1 || [ -e /var/lib/otelcol-flipt ]; then
  fail "otelcol-flipt is (or was) installed here; this check installs and purges it, so it refuses to run"
fi
ctrl=$(mktemp -d)
cleanup() {
  # The check's own leftovers: what removal keeps on purpose (audit data, the user).
  dpkg --purge otelcol-flipt >/dev/null 2>&1 || true
  rm -rf /var/lib/otelcol-flipt "$ctrl"
  userdel otelcol-flipt >/dev/null 2>&1 || true
  groupdel otelcol-flipt >/dev/null 2>&1 || true
}
trap 'kill "${pid:-}" 2>/dev/null || true; cleanup' EXIT

dpkg-deb -e "$deb" "$ctrl"
[ "$(sort "$ctrl/conffiles")" = "$expected_configs" ] || fail "deb conffiles: $(cat "$ctrl/conffiles")"
[ "$(dpkg-deb -f "$deb" Version)" = "$version" ] || fail "deb version"
pass "deb: configs are conffiles (kept across upgrades), version $version"

dpkg -i "$deb" >/dev/null
got=$(dpkg -L otelcol-flipt | sort | grep -x -F -f <(printf '%s\n' "$expected_files"))
[ "$got" = "$expected_files" ] || fail "dpkg -L misses files: $got"
pass "dpkg -i installed every file"

# A system user that cannot log in, in its own group.
IFS=: read -r _ _ uid gid _ home shell < <(getent passwd otelcol-flipt) || fail "no otelcol-flipt user"
[ "$uid" -lt 1000 ] || fail "otelcol-flipt is not a system user (uid $uid)"
[ "$(getent group otelcol-flipt | cut -d: -f3)" = "$gid" ] || fail "otelcol-flipt's group is not otelcol-flipt"
[ "$shell" = /usr/sbin/nologin ] || fail "otelcol-flipt's shell is $shell"
[ "$home" = /var/lib/otelcol-flipt ] || fail "otelcol-flipt's home is $home"
pass "system user otelcol-flipt (uid $uid), no login shell"

check_mode() { # path want("owner:group mode")
  local got
  got=$(stat -c '%U:%G %a' "$1")
  [ "$got" = "$2" ] || fail "$1 is '$got', want '$2'"
}
check_mode /usr/bin/otelcol-flipt "root:root 755"
check_mode /etc/otelcol-flipt/config.yaml "root:otelcol-flipt 640"
check_mode /etc/otelcol-flipt/otelcol-flipt.conf "root:otelcol-flipt 640"
check_mode /etc/otelcol-flipt/traces-backend.yaml "root:otelcol-flipt 640"
check_mode /lib/systemd/system/otelcol-flipt.service "root:root 644"
check_mode /var/lib/otelcol-flipt "otelcol-flipt:otelcol-flipt 750"
pass "owners and modes: binary 0755, configs root:otelcol-flipt 0640, /var/lib/otelcol-flipt 0750"

grep -q 'path: ${env:OTELCOL_FLIPT_AUDIT_FILE:-/var/lib/otelcol-flipt/flipt-audit.log}' /etc/otelcol-flipt/config.yaml ||
  fail "the packaged config does not default the audit file to /var/lib/otelcol-flipt/flipt-audit.log"
[ "$(/usr/bin/otelcol-flipt --version)" = "otelcol-flipt version $version" ] || fail "--version: $(/usr/bin/otelcol-flipt --version)"
as_user() { setpriv --reuid=otelcol-flipt --regid=otelcol-flipt --init-groups -- "$@"; }
(cd / && as_user /usr/bin/otelcol-flipt validate --config /etc/otelcol-flipt/config.yaml) ||
  fail "otelcol-flipt validate refused the packaged config"
pass "/usr/bin/otelcol-flipt validate --config /etc/otelcol-flipt/config.yaml passes (as otelcol-flipt)"

# The unit, judged where it is installed.
unit=/lib/systemd/system/otelcol-flipt.service
systemd-analyze verify "$unit" || fail "systemd-analyze verify $unit"
exposure=$(systemd-analyze security --offline=yes "$unit" 2>/dev/null | sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p')
[ -n "$exposure" ] || fail "systemd-analyze security printed no exposure level"
awk -v e="$exposure" 'BEGIN { exit !(e <= 2.0) }' || fail "unit exposure $exposure, the bar is 2.0"
pass "unit verifies; systemd-analyze security exposure $exposure (bar 2.0)"

# Smoke run: the package's user, the packaged config, the unit's umask, the working
# directory / (not writable): the audit file must still land in /var/lib/otelcol-flipt.
ports=$(free_ports 6 | tr "\n" " ")
read -r health webhook grpc http prom tele <<<"$ports"
[ -n "$tele" ] || fail "no free loopback ports"
log=$(mktemp)
(
  cd /
  umask 0077
  export OTELCOL_FLIPT_HEALTH_ENDPOINT=127.0.0.1:$health OTELCOL_FLIPT_WEBHOOK_ENDPOINT=127.0.0.1:$webhook \
    OTELCOL_FLIPT_WEBHOOK_SECRET=s3cr3t OTELCOL_FLIPT_OTLP_GRPC_ENDPOINT=127.0.0.1:$grpc \
    OTELCOL_FLIPT_OTLP_HTTP_ENDPOINT=127.0.0.1:$http OTELCOL_FLIPT_PROMETHEUS_ENDPOINT=127.0.0.1:$prom \
    OTELCOL_FLIPT_TELEMETRY_HOST=127.0.0.1 OTELCOL_FLIPT_TELEMETRY_PORT=$tele
  exec setpriv --reuid=otelcol-flipt --regid=otelcol-flipt --init-groups -- \
    /usr/bin/otelcol-flipt --config=/etc/otelcol-flipt/config.yaml
) >"$log" 2>&1 &
pid=$!
wait_http_200 "http://127.0.0.1:$health/" || { cat "$log" >&2; fail "the packaged collector never answered its health check"; }
capture="$root/testdata/flipt-v1.61.1"
code=$(post_captured_webhook "http://127.0.0.1:$webhook/flipt/audit")
[ "$code" = 200 ] || { cat "$log" >&2; fail "signed webhook POST answered $code"; }
audit=/var/lib/otelcol-flipt/flipt-audit.log
[ "$(cat "$audit")" = "$(head -n 1 "$capture/audit.log")" ] || fail "$audit does not hold Flipt's line"
check_mode "$audit" "otelcol-flipt:otelcol-flipt 600"
kill -TERM "$pid"
wait "$pid" || { cat "$log" >&2; fail "the packaged collector exited $? on SIGTERM"; }
pid=
rm -f "$log"
pass "smoke run as otelcol-flipt: healthy, signed webhook POST written to $audit (0600), clean stop"

# An edited config survives a reinstall of the package.
echo "# edited by the operator" >> /etc/otelcol-flipt/config.yaml
dpkg -i "$deb" >/dev/null
tail -n 1 /etc/otelcol-flipt/config.yaml | grep -q -x '# edited by the operator' || fail "reinstall replaced the edited config"
pass "reinstall keeps the edited config"

# Removal keeps configs, audit data and the user; purge deletes the configs only.
dpkg -r otelcol-flipt >/dev/null
[ ! -e /usr/bin/otelcol-flipt ] && [ ! -e "$unit" ] || fail "dpkg -r left the binary or the unit"
[ -f /etc/otelcol-flipt/config.yaml ] || fail "dpkg -r deleted the config"
[ -f "$audit" ] || fail "dpkg -r deleted the audit file"
getent passwd otelcol-flipt >/dev/null || fail "dpkg -r deleted the user"
pass "dpkg -r: binary and unit gone; configs, $audit and the user kept"
# dpkg warns that the directory holding the audit file is not empty: that is the point.
out=$(dpkg --purge otelcol-flipt 2>&1) || fail "dpkg --purge: $out"
[ ! -e /etc/otelcol-flipt ] || fail "dpkg --purge left $(ls -A /etc/otelcol-flipt)"
[ -f "$audit" ] || fail "dpkg --purge deleted the audit file"
check_mode /var/lib/otelcol-flipt "otelcol-flipt:otelcol-flipt 750"
pass "dpkg --purge: /etc/otelcol-flipt gone; $audit (the evidence) and the user kept"
