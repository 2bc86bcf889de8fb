#!/usr/bin/env bash
# Install the Debian packages Sluice needs to build, run and test, when
# some are missing (or the packages named as arguments). Safe to run again:
# it only installs what is absent.
set -euo pipefail

PKGS="gcc make clang libclang-rt-14-dev libssl-dev libc-ares-dev libsasl2-dev
libsasl2-modules libsqlite3-dev pkg-config openssl swaks postfix python3 python3-pytest
dnsmasq-base python3-dkim python3-authres python3-nacl python3-cryptography
procps psmisc isync python3-pytest-xdist libclamav-dev libmilter-dev
clamav-testfiles curl libpq-dev postgresql redis-server libhiredis-dev
libmicrohttpd-dev chromium chromium-driver python3-selenium zlib1g-dev
fetchmail slapd ldap-utils libldap-dev clang-format"
# Other lists (bench/deps.sh) pass their packages as arguments.
MAIN=1
if [ $# -gt 0 ]; then
	PKGS="$*"
	MAIN=0
fi

missing=""
for p in $PKGS; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null |
		grep -q "install ok installed"; then
		missing="$missing $p"
	fi
done

if [ -n "$missing" ]; then
	echo "deps: installing:$missing"
	SUDO=""
	if [ "$(id -u)" != 0 ]; then
		if command -v sudo >/dev/null; then
			SUDO="sudo"
		else
			echo "deps: need root (or sudo) to install:$missing" >&2
			exit 1
		fi
	fi
	# Never let the package start Postfix (or anything) as a service:
	# tests and benchmarks start their own private instances.
	printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null
	$SUDO chmod +x /usr/sbin/policy-rc.d
	export DEBIAN_FRONTEND=noninteractive
	echo "postfix postfix/main_mailer_type select No configuration" |
		$SUDO debconf-set-selections
	# slapd: no system directory either (tests start a private slapd).
	echo "slapd slapd/no_configuration boolean true" |
		$SUDO debconf-set-selections
	$SUDO apt-get update -qq
	$SUDO apt-get install -y -qq $missing >/dev/null
	$SUDO rm -f /usr/sbin/policy-rc.d
fi

# The unprivileged user the daemons drop to when started as root.
if [ "$(id -u)" = 0 ] && ! getent passwd sluice >/dev/null; then
	useradd --system --no-create-home --shell /usr/sbin/nologin sluice
fi
# The SpamAssassin public corpus for spamd's Bayes tests, once, into a
# cache outside the repository (checked against its sha512).
if [ "$MAIN" = 1 ]; then
	"$(dirname "$0")/../spamd/corpus.sh" fetch
fi
exit 0
