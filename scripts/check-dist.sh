#!/usr/bin/env bash
# CI proof of the release archives: checksums.txt matches every archive (sha256sum -c), each
# archive holds the binary, LICENSE, README, CHANGELOG and the configs under one directory, the
# binary is static, built for the archive's architecture, and (where this machine can run it)
# prints the version the archive is named after and validates the config it ships with.
#
#   scripts/check-dist.sh DIST VERSION
set -euo pipefail
dist=${1:?usage: check-dist.sh DIST VERSION}
version=${2:?usage: check-dist.sh DIST VERSION}
root=$(cd "$(dirname "$0")/.." && pwd)
. "$root/scripts/lib.sh"

(cd "$dist" && sha256sum --quiet -c checksums.txt) || fail "checksums.txt does not match the archives"
n=$(wc -l < "$dist/checksums.txt")
[ "$n" -ge 2 ] || fail "checksums.txt lists $n archives, want linux amd64 and arm64"
pass "checksums.txt matches all $n archives"

# elf_has_interp FILE: true when a program header of the 64-bit ELF FILE is PT_INTERP (3),
# i.e. it needs a dynamic loader.
elf_has_interp() {
  local phoff phentsize phnum i type
  phoff=$(od -A n -t u8 -j 32 -N 8 "$1" | tr -d ' ')
  phentsize=$(od -A n -t u2 -j 54 -N 2 "$1" | tr -d ' ')
  phnum=$(od -A n -t u2 -j 56 -N 2 "$1" | tr -d ' ')
  for ((i = 0; i < phnum; i++)); do
    type=$(od -A n -t u4 -j $((phoff + i * phentsize)) -N 4 "$1" | tr -d ' ')
    [ "$type" = 3 ] && return 0
  done
  return 1
}
# build_info FILE: the build's modules and settings, without the architecture's own lines.
build_info() { go version -m "$1" | tail -n +2 | grep -v -E '^\s+build\s+(GOARCH|GOAMD64|GOARM64)='; }

host_arch=$(uname -m)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for arch in amd64 arm64; do
  name="otelcol-flipt_${version}_linux_${arch}"
  tgz="$dist/$name.tar.gz"
  grep -q "  $name.tar.gz\$" "$dist/checksums.txt" || fail "$name.tar.gz is not in checksums.txt"
  want="$name/
$name/CHANGELOG.md
$name/LICENSE
$name/README.md
$name/config.yaml
$name/otelcol-flipt
$name/traces-backend.yaml"
  got=$(tar -tzf "$tgz" | sort)
  [ "$got" = "$want" ] || fail "$tgz holds:
$got"
  tar -C "$work" -xzf "$tgz"
  bin="$work/$name/otelcol-flipt"
  [ -x "$bin" ] || fail "$name/otelcol-flipt is not executable"
  case "$arch" in amd64) machine=x86-64 ;; arm64) machine=aarch64 ;; esac
  desc=$(od -A n -t x1 -j 18 -N 2 "$bin" | tr -d ' ') # ELF e_machine, little endian
  case "$arch/$desc" in amd64/3e00|arm64/b700) ;; *) fail "$name/otelcol-flipt is not a linux $machine ELF (e_machine $desc)" ;; esac
  elf_has_interp "$bin" && fail "$name/otelcol-flipt is dynamically linked (it has a program interpreter)"
  cmp -s "$work/$name/LICENSE" "$root/LICENSE" || fail "$name/LICENSE differs from LICENSE"
  if [ "$arch/$host_arch" = amd64/x86_64 ] || [ "$arch/$host_arch" = arm64/aarch64 ]; then
    got=$("$bin" --version)
    [ "$got" = "otelcol-flipt version $version" ] || fail "$name: --version printed '$got'"
    (cd "$work" && "$bin" validate --config "$name/config.yaml") || fail "$name: config.yaml does not validate"
    ran=$bin
    pass "$name: static $machine binary prints version $version, its config validates"
  else
    # Not runnable here: it must come from the same modules and build settings as the one
    # that printed the version (go version -m reads the build info of any GOARCH).
    [ -n "${ran:-}" ] || fail "no archive's binary could be run on $host_arch"
    # A module imported on one architecture only (klauspost/cpuid is amd64's) is absent
    # from the other's build info; every module and setting this one has must be the
    # run binary's too, at the same version.
    extra=$(comm -13 <(build_info "$ran" | sort) <(build_info "$bin" | sort))
    [ -z "$extra" ] || { echo "$extra" >&2; fail "$name: built differently from $(basename "$(dirname "$ran")")"; }
    pass "$name: static $machine binary, same modules and build settings as the one run, files complete"
  fi
done
