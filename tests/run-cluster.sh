# shellcheck shell=bash
# Sourced by tests/run.sh for `make run-cluster`: the pipeline of `make
# run` grown to the scale-out topology of docs/scale-out.md, all on
# loopback with every engine a private instance under var/cluster (no
# system service is touched):
#   PostgreSQL 127.0.0.1:55432  the directory and the access boxes'
#                               mailboxes (bodies encrypted)
#   Redis      127.0.0.1:56379  rate limits, failed logins, greylisting
#   mx         127.0.0.1:2525 and 127.0.0.11:2525 (one greylist)
#   msa        127.0.0.1:5870 and 127.0.0.12:5870 (one rate limit)
#   store      127.0.0.1, 127.0.0.13 and 127.0.0.14: three access boxes
#              (LMTP 2424, IMAP 1143/9933, POP3 1110/9955 on each)
# spamd and outmta spread deliveries over the three boxes.
PGPORT=55432
REDIS=127.0.0.1:56379
CL=var/cluster
BOXES="127.0.0.1 127.0.0.13 127.0.0.14"

# the prefix that runs a command as the unprivileged user when we are
# root (PostgreSQL refuses to run as root)
AS_SLUICE=()
[ "$(id -u)" = 0 ] &&
	AS_SLUICE=(setpriv --reuid sluice --regid sluice --init-groups --)

# PostgreSQL and Redis, supervised like the stages; DIRDB names the
# directory database for sluicectl and sluice-admin
cluster_engines() {
	local pgbin
	pgbin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
	mkdir -p $CL/pg/sock $CL/redis
	[ "$(id -u)" = 0 ] && chown -R sluice:sluice $CL/pg $CL/redis
	if [ ! -f $CL/pg/data/PG_VERSION ]; then
		"${AS_SLUICE[@]}" "$pgbin/initdb" -D $CL/pg/data -U sluice -A trust \
			-E UTF8 >/dev/null
		echo "run: made a PostgreSQL cluster in $CL/pg/data"
	fi
	run postgres "${AS_SLUICE[@]}" "$pgbin/postgres" -D $CL/pg/data -p $PGPORT \
		-k "$PWD/$CL/pg/sock" -c listen_addresses=127.0.0.1
	run redis "${AS_SLUICE[@]}" redis-server --port "${REDIS##*:}" \
		--bind 127.0.0.1 --dir "$PWD/$CL/redis" --save '' \
		--appendonly no
	local i
	for i in $(seq 100); do
		"$pgbin/pg_isready" -q -h 127.0.0.1 -p $PGPORT && break
		sleep 0.1
	done
	if ! "$pgbin/psql" -h 127.0.0.1 -p $PGPORT -U sluice -d postgres \
		-Atc "select 1 from pg_database where datname = 'sluice'" |
		grep -q 1; then
		"$pgbin/createdb" -h 127.0.0.1 -p $PGPORT -U sluice sluice
	fi
	DIRDB=postgresql://sluice@127.0.0.1:$PGPORT/sluice
	if [ ! -f $CL/box.key ]; then
		# read by the stores before they drop root: root's, 0400
		$B/sluice-boxkey keygen $CL/box.key
	fi
}

# copy of the config file $1 without the keys named in $3.., into $2
conf_without() {
	local from=$1 to=$2
	shift 2
	local re
	re=$(printf '%s|' "$@")
	grep -Ev "^(${re%|}) *=" "$from" >"$to" || true
}

# the shared state for the stages of make run, then the second mx and
# msa and the two more access boxes
cluster_stages() {
	local hops="" b n=1
	for b in $BOXES; do hops="$hops${hops:+, }lmtp:$b:2424"; done
	printf 'redis_server = %s\n' $REDIS >>var/mx.conf
	printf 'redis_server = %s\n' $REDIS >>var/msa.conf
	printf 'mailbox_store = %s\nbox_key_file = %s\nredis_server = %s\n' \
		"$DIRDB" $CL/box.key $REDIS >>var/store.conf
	printf 'domain_routes = example.test = %s\nnext_hop_mode = spread\n' \
		"$hops" >>var/spamd.conf
	conf_without var/outmta.conf var/outmta.conf.new domain_routes
	printf 'domain_routes = example.test = %s\n' "$hops" \
		>>var/outmta.conf.new
	mv var/outmta.conf.new var/outmta.conf
	conf_without var/mx.conf var/mx2.conf metrics_listen
	printf 'listen = 127.0.0.11:2525\nqueue_dir = var/mx2/queue\n' \
		>>var/mx2.conf
	printf 'greylist_db = var/mx2/state/greylist.db\n' >>var/mx2.conf
	printf 'screen_state = var/mx2/state/screen.state\n' >>var/mx2.conf
	conf_without var/msa.conf var/msa2.conf metrics_listen
	printf 'listen = 127.0.0.12:5870\nsmtps_listen = 127.0.0.12:4650\n' \
		>>var/msa2.conf
	printf 'queue_dir = var/msa2/queue\n' >>var/msa2.conf
	for b in $BOXES; do
		[ "$b" = 127.0.0.1 ] && continue
		n=$((n + 1))
		conf_without var/store.conf var/store$n.conf metrics_listen
		cat >>var/store$n.conf <<CONF
lmtp_listen = $b:2424
imap_listen = $b:1143
imaps_listen = $b:9933
pop3_listen = $b:1110
pop3s_listen = $b:9955
queue_dir = var/store$n/queue
control_dir = var/store$n
autoreply_dir = var/store$n/autoreply
learn_spool_dir = var/store$n/learn
CONF
		mkdir -p var/store$n
	done
	mkdir -p var/mx2 var/msa2
}

cluster_start() {
	local n=1 b
	run watch $B/sluicectl -d "$DIRDB" -s var/store/users watch
	run mx2 $B/sluice-mx -c var/mx2.conf
	run msa2 $B/sluice-msa -c var/msa2.conf
	for b in $BOXES; do
		[ "$b" = 127.0.0.1 ] && continue
		n=$((n + 1))
		run store$n $B/sluice-store -c var/store$n.conf
	done
}
