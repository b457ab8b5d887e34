#!/bin/sh
# Regenerate the build system from configure.ac and the Makefile fragments.
# Automake's TAP driver is not added by --add-missing, so copy it here.
set -e
cd "$(dirname "$0")"
mkdir -p build-aux m4
autoreconf -fi
cp "$(automake --print-libdir)/tap-driver.sh" build-aux/tap-driver.sh
