#!/usr/bin/env bash
# supervise.sh NAME COMMAND [ARG...]: run COMMAND and start it again
# whenever it dies, as `make run` does for every stage (systemd does it
# on a host: etc/systemd/) unless it exited 0. The restart waits 0.2 s, doubling up to 5 s
# while the command keeps dying within 10 s of its start; each death is
# one log line on stderr. SIGTERM or SIGINT stops the command (SIGTERM,
# then waits for it) and the supervisor; its exit status is then 0.
set -u
name=$1
shift
child=
stopping=0
stop() {
	stopping=1
	if [ -n "$child" ]; then
		kill -TERM "$child" 2>/dev/null
		wait "$child" 2>/dev/null
	fi
	exit 0
}
trap stop TERM INT
delay=0.2
while :; do
	started=$SECONDS
	"$@" &
	child=$!
	rc=0
	wait "$child" || rc=$?
	# a trap ran during wait: stop() exits; anything else is a death
	[ "$stopping" = 1 ] && exit 0
	child=
	# status 0: it was asked to stop (SIGTERM, SIGINT), as systemd's
	# Restart=on-failure sees it
	if [ "$rc" = 0 ]; then
		echo "run: $name stopped" >&2
		exit 0
	fi
	if [ $((SECONDS - started)) -ge 10 ]; then
		delay=0.2
	fi
	echo "run: $name exited (status $rc), restarting in ${delay}s" >&2
	sleep "$delay" &
	wait $! || true
	case $delay in
	0.2) delay=0.4 ;;
	0.4) delay=0.8 ;;
	0.8) delay=1.6 ;;
	1.6) delay=3.2 ;;
	*) delay=5 ;;
	esac
done
