#!/bin/sh
# The audit trail is evidence: removal (dpkg -r, rpm -e) and purge (dpkg --purge, which
# also deletes the configs) leave /var/lib/otelcol-flipt to the operator. The otelcol-flipt
# user stays too: deleting it would let the next account given its UID read that data.
set -e
if [ -d /run/systemd/system ]; then
  systemctl daemon-reload >/dev/null 2>&1 || true
fi
