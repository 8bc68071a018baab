#!/bin/sh
# check.sh - compare the module ABI of the headers in INCLUDE_DIR against
# the stored baseline (sdk/abi/baseline.abi, written when the ABI is
# frozen at 1.0).  Exit 1 on an incompatible change.
#   sdk/abi/check.sh INCLUDE_DIR            check against the baseline
#   sdk/abi/check.sh INCLUDE_DIR --dump OUT write the ABI record to OUT
set -e
here=$(cd "$(dirname "$0")" && pwd)
inc=${1:?usage: check.sh INCLUDE_DIR [--dump OUT | --baseline FILE]}
shift
baseline="$here/baseline.abi"
dump=
while [ $# -gt 0 ]; do
  case "$1" in
    --dump) dump=$2; shift 2 ;;
    --baseline) baseline=$2; shift 2 ;;
    *) echo "check.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
${CC:-cc} -g -Og -shared -fPIC -fvisibility=hidden -I"$inc" "$here/probe.c" -o "$tmp/probe.so"
abidw --no-corpus-path --out-file "$tmp/current.abi" "$tmp/probe.so"
if [ -n "$dump" ]; then
  cp "$tmp/current.abi" "$dump"
  exit 0
fi
major=$(sed -n 's/^#define CURSUS_ABI_MAJOR \([0-9]*\)/\1/p' "$inc/cursus/common.h")
if [ ! -f "$baseline" ]; then
  if [ "$major" = 0 ]; then
    echo "module ABI $major.x: no baseline yet (one is stored when the ABI is frozen at 1.0)"
    exit 0
  fi
  echo "check.sh: module ABI $major has no baseline $baseline" >&2
  exit 1
fi
set +e
abidiff --no-added-syms "$baseline" "$tmp/current.abi" > "$tmp/diff.txt"
rc=$?
set -e
# abidiff: bit 2 = ABI change, bit 3 = incompatible change, bits 0-1 = error
if [ $((rc & 3)) -ne 0 ]; then
  cat "$tmp/diff.txt" >&2
  echo "check.sh: abidiff failed ($rc)" >&2
  exit 1
fi
# abidiff calls a reordered or retyped member only "an ABI change"; for
# us anything but members appended at the end of a table is incompatible
if [ $((rc & 8)) -ne 0 ] ||
   grep -Eq 'offset changed|deletion|[1-9][0-9]* Removed|value changed|type name changed|name changed from' "$tmp/diff.txt" ||
   grep -Eo 'size changed from [0-9]+ to [0-9]+' "$tmp/diff.txt" |
     awk '{ if ($6 < $4) bad = 1 } END { exit !bad }'; then
  cat "$tmp/diff.txt"
  echo "module ABI: INCOMPATIBLE change against $baseline"
  exit 1
fi
if [ $((rc & 4)) -ne 0 ]; then
  cat "$tmp/diff.txt"
  echo "module ABI: compatible additions (members appended) against $baseline"
fi
echo "module ABI: compatible with $baseline"
