#!/usr/bin/env sh
# Writes the config the packages and the image install as /etc/otelcol-flipt/config.yaml:
# the default pipeline (config/default.yaml, its only source) with the audit file at an
# absolute path under /var/lib/otelcol-flipt, so it never depends on the working directory.
set -eu
src=${1:?usage: packaged-config.sh config/default.yaml}
rel='./flipt-audit.log'
abs='/var/lib/otelcol-flipt/flipt-audit.log'
grep -q -F -- "\${env:OTELCOL_FLIPT_AUDIT_FILE:-$rel}" "$src" || {
  echo "packaged-config.sh: $src no longer defaults the audit file to $rel; update this script" >&2
  exit 1
}
cat <<HEADER
# /etc/otelcol-flipt/config.yaml: otelcol-flipt's default pipeline as installed by its
# packages and container image. It is config/default.yaml with the audit file at
# $abs; the comments below describe the rest.
# The packages keep your edits on upgrade (the new default is saved beside it).
#
HEADER
sed -e "s|$rel|$abs|g" "$src"
