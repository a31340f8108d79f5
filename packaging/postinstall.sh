#!/bin/sh
# Sets the owners and modes the service relies on, then enables the service where systemd
# runs. It is not started: point Flipt at it and set the webhook secret first (README).
set -e
chown otelcol-flipt:otelcol-flipt /var/lib/otelcol-flipt
chmod 0750 /var/lib/otelcol-flipt
for f in /etc/otelcol-flipt/config.yaml /etc/otelcol-flipt/otelcol-flipt.conf /etc/otelcol-flipt/traces-backend.yaml; do
  if [ -f "$f" ]; then
    chown root:otelcol-flipt "$f"
    chmod 0640 "$f"
  fi
done
if [ -d /run/systemd/system ]; then
  systemctl daemon-reload >/dev/null 2>&1 || true
  systemctl enable otelcol-flipt.service >/dev/null 2>&1 || true
  # An upgrade restarts a service that was running, so it runs the new binary.
  if systemctl is-active --quiet otelcol-flipt.service; then
    systemctl try-restart otelcol-flipt.service >/dev/null 2>&1 || true
  fi
fi
