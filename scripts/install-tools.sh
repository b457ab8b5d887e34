#!/bin/sh
# Install the npm-based test peers into DIR (default: /var/cache/hoist-ci-tools):
# Stoplight Prism, pinned (5.15+ needs Node 24; Debian 12 ships Node 18).
set -e
dir=${1:-/var/cache/hoist-ci-tools}
mkdir -p "$dir"
if [ ! -f "$dir/node_modules/@stoplight/prism-cli/dist/index.js" ]; then
  npm install --silent --no-audit --no-fund --prefix "$dir" @stoplight/prism-cli@5.14.2 >/dev/null
fi
# s3rver: an S3-compatible server, for the S3 state backend's plain
# read/write test (it ignores conditional headers; see hoist.yml(5)).
if [ ! -f "$dir/node_modules/s3rver/bin/s3rver.js" ]; then
  npm install --silent --no-audit --no-fund --prefix "$dir" s3rver@3.7.1 >/dev/null
fi
