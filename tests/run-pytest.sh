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
/usr/bin/python3 -m pytest -q -p no:cacheprovider --basetemp="$base" \
  $PYTEST_ARGS "$CURSUS_SRCDIR/tests/integration"
status=$?
if [ $status -eq 0 ]; then rm -rf "$base"; else echo "test directories kept in $base"; fi
exit $status
