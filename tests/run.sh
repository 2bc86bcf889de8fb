#!/usr/bin/env bash
# `make run`: the whole pipeline on 127.0.0.1 with the embedded defaults,
# all state under ./var. A stage that dies is restarted; Ctrl-C stops
# everything. `tests/run.sh cluster` (make run-cluster): the same grown
# to pairs and access boxes on PostgreSQL and Redis (tests/run-cluster.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
B=build/rel
cluster=0
[ "${1:-}" = cluster ] && cluster=1
mkdir -p var/tls var/store
chmod 755 var var/store

# every stage under tests/supervise.sh: one that dies is started again
# (with a short backoff and a log line) while the others keep running
pids=()
stop() {
	trap - INT TERM EXIT
	echo
	echo "run: stopping"
	for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
}
trap stop INT TERM EXIT
run() {
	tests/supervise.sh "$@" &
	pids+=($!)
}
if [ ! -f var/tls/cert.pem ]; then
	openssl req -x509 -newkey rsa:2048 -nodes -days 365 \
		-subj "/CN=localhost" -keyout var/tls/key.pem \
		-out var/tls/cert.pem 2>/dev/null
	echo "run: made a self-signed certificate in var/tls/"
fi
# The directory: SQLite in var/store, or (cluster) PostgreSQL
DIRDB=var/store/directory.db
if [ "$cluster" = 1 ]; then
	. tests/run-cluster.sh
	cluster_engines
fi
ctl="$B/sluicectl -d $DIRDB -s var/store/users"
# The demo directory: domain example.test, users alice and bob with
# generated passwords (var/demo-credentials), postmaster -> alice. The
# snapshot var/store/users is what the store and mx read.
if ! $ctl user show alice@example.test | grep -q .; then
	$ctl domain add example.test
	: > var/demo-credentials
	chmod 600 var/demo-credentials
	for u in alice bob; do
		$ctl user add $u@example.test --quota 100m
		pw=$(openssl rand -base64 12)
		printf '%s\n' "$pw" | $ctl user passwd $u@example.test
		printf '%s@example.test %s\n' "$u" "$pw" >> var/demo-credentials
	done
	$ctl alias add postmaster@example.test alice@example.test
	chmod 644 var/store/users
	echo "run: demo users (address password) in var/demo-credentials:"
	cat var/demo-credentials
fi
# sluice-admin's demo administrators (var/demo-credentials): admin, a
# super admin, and alice, the domain admin of example.test
if ! $ctl admin list | grep -q '^\*'; then
	if ! $ctl user show admin@example.test | grep -q .; then
		$ctl user add admin@example.test
		pw=$(openssl rand -base64 12)
		printf '%s\n' "$pw" | $ctl user passwd admin@example.test
		printf 'admin@example.test %s (super admin, https://127.0.0.1:8443/)\n' \
			"$pw" >> var/demo-credentials
	fi
	$ctl admin add '*' admin@example.test
	$ctl admin add example.test alice@example.test
fi
# the credentials snapshot (var/store/users.auth) of a directory made
# before it existed
$ctl export
# sluice-admin runs as sluice and edits the directory and its snapshots
# in var/store (sluicectl as root keeps the files sluice's)
if id sluice >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
	chown sluice var/store var/store/users var/store/users.auth \
		var/store/users.senders
	[ "$cluster" = 1 ] || chown sluice var/store/directory.db*
fi
mkdir -p var/admin
# mx refuses unknown recipients at RCPT with the store's snapshot;
# remote targets of aliases take the pipeline too (spamd sends them on
# to outmta). mx resolves SPF, DKIM and DMARC records through the
# demo's own DNS server on loopback (dnsmasq below), never the host's
# resolver (mail claiming example.test from outside is refused: local
# users send through msa)
printf 'directory_file = var/store/users\nalias_relay = lmtp:127.0.0.1:10024\ndns_servers = 127.0.0.1:5354\ndns_timeout = 1s\n' > var/mx.conf

# avscan: Debian's ClamAV signatures when freshclam has fetched them,
# else only the test signatures (EICAR and ClamAV's own test files)
CLAMDB=tests/data/clamav
if ls /var/lib/clamav/main.c[lv]d >/dev/null 2>&1; then
	CLAMDB=/var/lib/clamav
fi
printf 'clamav_database = %s\n' "$CLAMDB" > var/avscan.conf
# spamd: Bayes trained on the SpamAssassin public corpus's training sets
# (fetched once into var/corpus by spamd/corpus.sh)
mkdir -p var/spamd
# (again when sluice-spamtrain is newer: its tokens may have changed)
if [ ! -f var/spamd/bayes.db ] || [ $B/sluice-spamtrain -nt var/spamd/bayes.db ]; then
	SPAMTRAIN=$B/sluice-spamtrain spamd/corpus.sh all var/corpus
	cp var/corpus/bayes.db var/spamd/bayes.db.tmp
	mv var/spamd/bayes.db.tmp var/spamd/bayes.db
	chmod 755 var/spamd
	chmod 644 var/spamd/bayes.db
fi

# The loopback "Internet": dnsmasq on 127.0.0.1:5354 serves remote.test,
# whose MX is 127.0.0.2; a second mx + store there keep what arrives
# under var/remote.test/. outmta delivers to it and signs example.test
# mail with DKIM (the key's TXT record is served too).
mkdir -p var/dkim var/remote.test
if [ ! -f var/dkim/demo.pem ]; then
	$B/sluice-dkim-keygen -t rsa -d example.test -s demo \
		-o var/dkim/demo.pem > var/dkim/demo.txt
fi
# the private key stays private (outmta reads it before dropping root)
chmod 600 var/dkim/demo.pem var/tls/key.pem
printf 'someone@remote.test\n' > var/remote.test/users
chmod 755 var/dkim var/remote.test
chmod 644 var/remote.test/users
txt=$(sed -e 's/^[^"]*"//' -e 's/" *"//g' -e 's/".*$//' var/dkim/demo.txt)
cat > var/dnsmasq.conf <<DNS
port=5354
listen-address=127.0.0.1
bind-interfaces
no-resolv
no-hosts
local=/test/
mx-host=remote.test,mx.remote.test,10
host-record=mx.remote.test,127.0.0.2
txt-record=demo._domainkey.example.test,"$txt"
DNS
cat > var/outmta.conf <<CONF
dns_servers = 127.0.0.1:5354
smtp_port = 2525
# the demo Internet is on loopback (remote.test's MX is 127.0.0.2)
allow_loopback_mx = yes
domain_routes = example.test = lmtp:127.0.0.1:2424
dkim_keys = example.test:demo:var/dkim/demo.pem
retry_min = 10s
CONF
cat > var/remote-mx.conf <<CONF
listen = 127.0.0.2:2525
hostname = mx.remote.test
local_domains = remote.test
next_hop = lmtp:127.0.0.2:2424
queue_dir = var/remote.test/queue
dns_servers = 127.0.0.1:5354
greylist_db = var/remote.test/state/greylist.db
screen_state = var/remote.test/state/screen.state
CONF
cat > var/remote-store.conf <<CONF
lmtp_listen = 127.0.0.2:2424
hostname = mx.remote.test
directory_file = var/remote.test/users
mail_root = var/remote.test/mail
imap_listen =
imaps_listen =
pop3_listen =
pop3s_listen =
CONF

# every stage serves its metrics (Prometheus text) on a loopback port of
# its own: mx 9101, msa 9102, avscan 9103, spamd 9104, outmta 9105,
# store 9106 (README "Operations")
printf 'metrics_listen = 127.0.0.1:9101\n' >> var/mx.conf
printf 'metrics_listen = 127.0.0.1:9102\n' > var/msa.conf
printf 'metrics_listen = 127.0.0.1:9103\n' >> var/avscan.conf
printf 'metrics_listen = 127.0.0.1:9104\n' > var/spamd.conf
# users' moves into and out of Junk are learnt (store -> spamd)
printf 'learn_listen = 127.0.0.1:10027\n' >> var/spamd.conf
printf 'metrics_listen = 127.0.0.1:9105\n' >> var/outmta.conf
printf 'metrics_listen = 127.0.0.1:9106\n' > var/store.conf
# the notices of shared addresses (smith@ when two Smiths exist) leave
# through outmta
printf 'next_hop = smtp:127.0.0.1:10026\n' >> var/store.conf
printf 'learn_hop = lmtp:127.0.0.1:10027\n' >> var/store.conf

[ "$cluster" = 1 ] && cluster_stages

DNSMASQ=$(command -v dnsmasq || echo /usr/sbin/dnsmasq)
run dnsmasq $DNSMASQ -k -C var/dnsmasq.conf --user=root
run remote-store $B/sluice-store -c var/remote-store.conf
run remote-mx $B/sluice-mx -c var/remote-mx.conf
run store $B/sluice-store -c var/store.conf
run spamd $B/sluice-spamd -c var/spamd.conf
run avscan $B/sluice-avscan -c var/avscan.conf
run mx $B/sluice-mx -c var/mx.conf
run outmta $B/sluice-outmta -c var/outmta.conf
# submission: the defaults fit make run (credentials and directory
# snapshots in var/store, local domain to the store, the rest to outmta)
run msa $B/sluice-msa -c var/msa.conf
# delegated administration over HTTPS (the demo's loopback mail host)
cat > var/admin.conf <<CONF
mail_host = 127.0.0.1
imaps_port = 9933
pop3s_port = 9955
submission_port = 5870
metrics = mx=http://127.0.0.1:9101/metrics, msa=http://127.0.0.1:9102/metrics, avscan=http://127.0.0.1:9103/metrics, spamd=http://127.0.0.1:9104/metrics, outmta=http://127.0.0.1:9105/metrics, store=http://127.0.0.1:9106/metrics
CONF
[ "$cluster" = 1 ] && printf 'directory = %s\n' "$DIRDB" >>var/admin.conf
run admin $B/sluice-admin -c var/admin.conf
[ "$cluster" = 1 ] && cluster_start
sleep 0.5
cat <<MSG

  Sluice is running on 127.0.0.1 (Ctrl-C stops it):
    mx      SMTP  127.0.0.1:2525   (STARTTLS, queue in var/mx/queue)
    avscan  LMTP  127.0.0.1:10024  (ClamAV: $CLAMDB)
    spamd   LMTP  127.0.0.1:10025  (Bayes, rules; spam goes to the Junk folder)
    store   LMTP  127.0.0.1:2424   (Maildirs in var/store/mail)
            IMAP  127.0.0.1:1143 (STARTTLS), 127.0.0.1:9933 (TLS)
            POP3  127.0.0.1:1110 (STLS), 127.0.0.1:9955 (TLS)
    outmta  SMTP  127.0.0.1:10026  (to the Internet; DKIM for example.test)
    msa     SMTP  127.0.0.1:5870   (submission: STARTTLS + AUTH; 4650 implicit TLS)
    admin   HTTPS https://127.0.0.1:8443/  (sluice-admin; logins in var/demo-credentials)
  and a loopback Internet: DNS on 127.0.0.1:5354 (remote.test MX 127.0.0.2),
  remote.test's own mx + store on 127.0.0.2 keeping mail in var/remote.test/

  Send alice a message:
    swaks --server 127.0.0.1:2525 --from someone@remote.test --to alice@example.test

  It goes mx -> avscan -> spamd -> store and lands in
  var/store/mail/example.test/alice/Maildir/new/ with X-Sluice-Virus and
  X-Spam-Status headers (spam goes to the Junk folder). A virus (the
  EICAR test string) is quarantined by avscan in var/avscan/quarantine/:
    swaks --server 127.0.0.1:2525 --to alice@example.test --body \\
      'X5O!P%@AP[4\\PZX54(P^)7CC)7}\$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!\$H+H*'
  Read it over IMAP (password in var/demo-credentials):
    openssl s_client -quiet -crlf -connect 127.0.0.1:9933
    a LOGIN alice@example.test PASSWORD / b SELECT INBOX /
    c FETCH 1 (ENVELOPE BODY[]) / d LOGOUT
  or over POP3:
    openssl s_client -quiet -connect 127.0.0.1:9955
    USER alice@example.test / PASS ... / LIST / RETR 1 / QUIT

  Send mail out to the (loopback) Internet, DKIM-signed:
    swaks --server 127.0.0.1:10026 --from alice@example.test --to someone@remote.test

  It lands in var/remote.test/mail/remote.test/someone/Maildir/new/

  Submit as alice (password in var/demo-credentials), TLS and AUTH required:
    swaks --server 127.0.0.1:5870 --tls --auth PLAIN --auth-user alice@example.test \\
          --auth-password PASSWORD --from alice@example.test --to bob@example.test

  The queue:  $B/sluice-queue -d var/mx/queue list
  Metrics:    curl -s http://127.0.0.1:9101/metrics   (mx; msa 9102, avscan
              9103, spamd 9104, outmta 9105, store 9106)
  Reload a stage's configuration (or kill -HUP it):
              $B/sluice-queue -d var/mx/queue reload
  Failover drill: $B/sluice-queue -d var/avscan/queue play-dead hang 10

MSG
if [ "$cluster" = 1 ]; then
	cat <<MSG
  The cluster (make run-cluster), all state under var/cluster and var/*2:
    PostgreSQL 127.0.0.1:55432  directory ($DIRDB) and the access
                                boxes' mailboxes, bodies encrypted with
                                var/cluster/box.key (sluice-boxkey)
    Redis      $REDIS  rate limits, failed logins, greylisting
    mx         127.0.0.1:2525 and 127.0.0.11:2525
    msa        127.0.0.1:5870 and 127.0.0.12:5870 (4650 TLS)
    store      three access boxes: $BOXES
               (LMTP 2424, IMAP 1143/9933, POP3 1110/9955 on each;
               spamd spreads deliveries over them)
  Every box shows the same folders, UIDs and flags:
    openssl s_client -quiet -crlf -connect 127.0.0.13:9933

MSG
fi
# until Ctrl-C (or every stage stopped by itself)
wait || true
