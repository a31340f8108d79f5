#!/bin/sh
# Creates the otelcol-flipt system user and group before the files are unpacked, so that
# the package's /var/lib/otelcol-flipt and config files get their owner. Works on Debian
# and RPM systems; an existing user is kept as it is.
set -e
if ! getent group otelcol-flipt >/dev/null 2>&1; then
  groupadd --system otelcol-flipt
fi
if ! getent passwd otelcol-flipt >/dev/null 2>&1; then
  useradd --system --gid otelcol-flipt --no-create-home --home-dir /var/lib/otelcol-flipt \
    --shell /usr/sbin/nologin --comment "otelcol-flipt collector" otelcol-flipt
fi
