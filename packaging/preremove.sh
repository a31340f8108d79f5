#!/bin/sh
# Stops and disables the service before its files go, on removal only: an upgrade keeps
# it running until postinstall restarts it. deb passes "remove"/"upgrade", rpm the number
# of versions left (0 on removal).
set -e
case "$1" in
  remove|purge|0)
    if [ -d /run/systemd/system ]; then
      systemctl stop otelcol-flipt.service >/dev/null 2>&1 || true
      systemctl disable otelcol-flipt.service >/dev/null 2>&1 || true
    fi
    ;;
esac
