#!/bin/sh
# run-pytest.sh - run the integration tests (pytest) against the build tree
# Extra pytest arguments come from $PYTEST_ARGS (e.g. -k foundation -x).
# The tests' directories live below a short temporary directory: UNIX
# socket paths inside them (Postfix, slapd, LMTP) must stay under 108
# bytes.  It is removed when every test passed.
: "${srcdir:=.}"
CURSUS_BUILDDIR=$(pwd)
CURSUS_SRCDIR=$(cd "$srcdir" && pwd)
export CURSUS_BUILDDIR CURSUS_SRCDIR
PYTHONDONTWRITEBYTECODE=1
export PYTHONDONTWRITEBYTECODE
base=$(mktemp -d /tmp/cursus-t.XXXXXX)
# The tests mostly wait on daemons and sockets: with pytest-xdist they run
# in $CURSUS_TEST_JOBS processes (default 4; 1 runs them in one process).
parallel=
jobs=${CURSUS_TEST_JOBS:-4}
if [ "$jobs" -gt 1 ] && /usr/bin/python3 -c 'import xdist' 2>/dev/null; then
  parallel="-n $jobs"
fi
/usr/bin/python3 -m pytest -q -p no:cacheprovider --basetemp="$base" \
  --durations=10 $parallel $PYTEST_ARGS "$CURSUS_SRCDIR/tests/integration"
status=$?
if [ $status -eq 0 ]; then rm -rf "$base"; else echo "test directories kept in $base"; fi
exit $status
