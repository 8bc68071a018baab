#!/bin/sh
# run-corpus.sh - run every fuzz harness over its saved corpus (make check)
: "${srcdir:=.}"
status=0
for h in tests/fuzz/fuzz_*; do
  [ -x "$h" ] || continue
  case "$h" in *.o|*.c) continue ;; esac
  name=$(basename "$h")
  corpus="$srcdir/tests/fuzz/corpus/${name#fuzz_}"
  if [ -d "$corpus" ]; then
    "$h" "$corpus" || status=1
  else
    echo "$name: no corpus in $corpus" >&2
    status=1
  fi
done
exit $status
