#!/bin/sh
# run-pytest.sh - run the integration tests (pytest) against the build tree
# Extra pytest arguments come from $PYTEST_ARGS (e.g. -k foundation -x).
: "${srcdir:=.}"
CURSUS_BUILDDIR=$(pwd)
CURSUS_SRCDIR=$(cd "$srcdir" && pwd)
export CURSUS_BUILDDIR CURSUS_SRCDIR
PYTHONDONTWRITEBYTECODE=1
export PYTHONDONTWRITEBYTECODE
exec /usr/bin/python3 -m pytest -q -p no:cacheprovider $PYTEST_ARGS "$CURSUS_SRCDIR/tests/integration"
