#!/bin/sh
# Install hoist's build, test and example dependencies on Debian 12 (as root,
# or through sudo).  Safe to re-run: apt-get skips what is already there.
set -e
SUDO=
[ "$(id -u)" -eq 0 ] || SUDO=sudo
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends \
  build-essential autoconf automake libtool libltdl-dev pkg-config \
  libcurl4-openssl-dev libssl-dev libjansson-dev libyaml-dev check \
  libmicrohttpd-dev libxml2-dev libarchive-dev zlib1g-dev \
  ca-certificates curl openssl git procps psmisc iproute2 \
  postgresql redis-server mariadb-server \
  python3 python3-botocore awscli docker-registry skopeo umoci apache2-utils \
  >/dev/null
# Node.js for the example app: Debian's nodejs + npm, unless a node and npm
# are already installed (e.g. from NodeSource, whose nodejs conflicts with
# Debian's npm package).
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq nodejs npm >/dev/null
fi
