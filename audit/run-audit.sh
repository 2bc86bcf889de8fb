#!/usr/bin/env bash
# `make audit`: sluice-audit against `make run`'s default configuration
# (tests/run.sh: its ports, its demo user alice with the password in
# var/demo-credentials, the loopback Internet remote.test). `make run`
# must be running (in another terminal); the probes come from 127.0.0.9,
# an address none of the stages trusts, and the result goes to
# var/audit/ (audit.txt, audit.json, audit.html).
set -eu
cd "$(dirname "$0")/.."
if [ ! -f var/demo-credentials ]; then
	echo "audit: no var/demo-credentials: start 'make run' first" >&2
	exit 2
fi
if ! (exec 3<>/dev/tcp/127.0.0.1/2525) 2>/dev/null; then
	echo "audit: nothing on 127.0.0.1:2525: start 'make run' first" >&2
	exit 2
fi
mkdir -p var/audit
spam=
if [ -d var/corpus/data/spam-2 ]; then
	spam="--spam-dir var/corpus/data/spam-2"
fi
# shellcheck disable=SC2086
audit/sluice-audit --name "make run" \
	--mx 127.0.0.1:2525 --submission 127.0.0.1:5870 \
	--submissions 127.0.0.1:4650 --imap 127.0.0.1:1143 \
	--imaps 127.0.0.1:9933 --pop3 127.0.0.1:1110 --pop3s 127.0.0.1:9955 \
	--internal 127.0.0.1:10024,127.0.0.1:10025,127.0.0.1:2424,127.0.0.1:10026 \
	--outbound 127.0.0.1:10026 \
	--user alice@example.test --password-file var/demo-credentials \
	--other-user bob@example.test --remote-domain remote.test \
	--ca var/tls/cert.pem --tls-name localhost \
	--source 127.0.0.9 $spam \
	--json var/audit/audit.json --html var/audit/audit.html \
	${AUDIT_ARGS:-} | tee var/audit/audit.txt
