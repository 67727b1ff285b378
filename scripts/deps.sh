#!/bin/sh
# Install the Debian packages ocspd needs to build, test and demo, when missing.
# Usage: scripts/deps.sh [build|check|all]   (default: all)
set -eu
want="build-essential pkg-config openssl libssl-dev libcurl4-openssl-dev libev-dev libinih-dev libsystemd-dev uthash-dev libmicrohttpd-dev libjson-c-dev libhiredis-dev"
case "${1:-all}" in
build) ;;
*) want="$want libcmocka-dev haproxy nginx-light exim4-daemon-light redis-server apache2 wrk faketime curl clang libclang-rt-14-dev python3 procps iproute2 systemd debhelper dpkg-dev fakeroot" ;;
esac
missing=""
for p in $want; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
echo "deps: installing$missing" >&2
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq >&2
$SUDO apt-get install -y -qq --no-install-recommends $missing >&2
