#!/bin/sh
# autogen.sh - generate the configure script and Makefile.in from a checkout
set -e
cd "$(dirname "$0")"
autoreconf --install --force --warnings=all,no-portability
