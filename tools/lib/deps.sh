# SPDX-License-Identifier: MIT
# shellcheck shell=bash
#
# Installs the Debian packages storelink's scripts need, only those missing:
# quiet and quick when everything is there. (tshark and python3-scapy were
# used to make and check the radiotap vectors in tests/data/wifi/vectors/;
# the tests read the recorded results, so they are not installed here.) Sourced by tools/test and
# tools/demo; needs root (or sudo) only when something must be installed.

SL_DEPS_BUILD=(
	cmake make gcc pkg-config file python3-kconfiglib
	libinih-dev libmbedtls-dev libmosquitto-dev libbluetooth-dev
	libsqlite3-dev libcmocka-dev libpcap-dev libnl-genl-3-dev
)
# the publisher reads OpenSSL's verify result through libmosquitto (TLS errors)
SL_DEPS_BUILD+=(libssl-dev)
SL_DEPS_RUN=(mosquitto mosquitto-clients openssl sqlite3 python3-paho-mqtt)
SL_DEPS_TEST=(
	clang-14 libclang-rt-14-dev binutils gdb
	gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user-static
	libinih-dev:arm64 libmbedtls-dev:arm64 libmosquitto-dev:arm64
	libbluetooth-dev:arm64 libsqlite3-dev:arm64 libcmocka-dev:arm64
	libpcap-dev:arm64 libnl-genl-3-dev:arm64
)
SL_DEPS_TEST+=(libssl-dev:arm64)	# publisher TLS verify result, cross build
SL_DEPS_TEST+=(fiu-utils)	# fiu-run/fiu-ctrl: fdatasync failures in tests/integration/test_spool_commit_faults.py
SL_DEPS_PACKAGE=(debhelper dpkg-dev lintian adduser systemd strace)	# tools/package: Debian packages, lintian; the package test: systemd-analyze, sysusers, adduser, strace (system calls vs the unit's filter)
SL_DEPS_TEST+=(iproute2 nftables)	# tests/integration/test_uplink_drop.py: ip netns, veth, nft drop rules

sl_deps_missing() {
	local p missing=()
	for p in "$@"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' ||
			missing+=("$p")
	done
	echo "${missing[@]}"
}

# sl_deps_install PKG... : installs what is missing.
sl_deps_install() {
	local missing sudo=""
	missing=$(sl_deps_missing "$@")
	[ -z "$missing" ] && return 0
	[ "$(id -u)" -ne 0 ] && sudo="sudo"
	echo "installing: $missing"
	if [[ "$missing" == *":arm64"* ]] && ! dpkg --print-foreign-architectures | grep -qx arm64; then
		$sudo dpkg --add-architecture arm64
	fi
	export DEBIAN_FRONTEND=noninteractive
	$sudo apt-get update -qq
	# shellcheck disable=SC2086
	$sudo apt-get install -y -qq --no-install-recommends $missing >/dev/null
}
