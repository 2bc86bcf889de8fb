#!/usr/bin/env bash
# `make run`: the whole pipeline on 127.0.0.1 with the embedded defaults,
# all state under ./var. Ctrl-C stops everything.
set -euo pipefail
cd "$(dirname "$0")/.."
B=build/rel
mkdir -p var/tls var/store
chmod 755 var var/store
if [ ! -f var/tls/cert.pem ]; then
	openssl req -x509 -newkey rsa:2048 -nodes -days 365 \
		-subj "/CN=localhost" -keyout var/tls/key.pem \
		-out var/tls/cert.pem 2>/dev/null
	echo "run: made a self-signed certificate in var/tls/"
fi
if [ ! -f var/store/users ]; then
	cat > var/store/users <<USERS
# mailboxes of the demo domain, and one alias
alice@example.test
bob@example.test
postmaster@example.test: alice@example.test
USERS
	chmod 644 var/store/users
fi

pids=()
stop() {
	trap - INT TERM EXIT
	echo
	echo "run: stopping"
	for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
}
trap stop INT TERM EXIT

$B/sluice-store &
pids+=($!)
$B/sluice-mx &
pids+=($!)
sleep 0.5
cat <<MSG

  Sluice is running on 127.0.0.1 (Ctrl-C stops it):
    mx     SMTP  127.0.0.1:2525   (STARTTLS, queue in var/mx/queue)
    store  LMTP  127.0.0.1:2424   (Maildirs in var/store/mail)

  Send alice a message:
    swaks --server 127.0.0.1:2525 --from someone@remote.test --to alice@example.test

  It lands in var/store/mail/example.test/alice/Maildir/new/
  The queue:  $B/sluice-queue -d var/mx/queue list

MSG
wait -n "${pids[@]}" || true
