#!/usr/bin/env bash
# The Debian packages the benchmarks need beyond tests/deps.sh: Dovecot
# for the IMAP FETCH comparison (bench/imap_bench.py); ClamAV's clamd and
# clamav-milter, SpamAssassin's spamd, spamc and spamass-milter for
# Postfix's side of the pipeline path (bench/pipeline.py); gnuplot for
# the chart. Installed without starting any service (tests/deps.sh puts
# a policy-rc.d in place); the benchmark runs private instances of each
# on its own ports and sockets. Debian's own services of these packages
# are then stopped and disabled, so that none runs freshclam or sa-update
# (network), takes the default sockets or competes for the CPU in a run.
set -euo pipefail
cd "$(dirname "$0")/.."
BENCH_PKGS="dovecot-imapd clamav-daemon clamav-milter spamassassin spamc
spamass-milter gnuplot-nox"
tests/deps.sh
# shellcheck disable=SC2086
tests/deps.sh $BENCH_PKGS

[ "$(id -u)" = 0 ] || exit 0
SERVICES="clamav-daemon clamav-freshclam clamav-milter clamav-clamonacc spamd
spamass-milter dovecot"
TIMERS="clamav-freshclam-once.timer spamassassin-maintenance.timer"
if [ -d /run/systemd/system ]; then
	for s in $SERVICES; do
		systemctl disable --now "$s" >/dev/null 2>&1 || true
	done
	systemctl disable --now clamav-daemon.socket $TIMERS \
		>/dev/null 2>&1 || true
else
	for s in $SERVICES; do
		if [ -x "/etc/init.d/$s" ]; then
			if "/etc/init.d/$s" status >/dev/null 2>&1; then
				"/etc/init.d/$s" stop >/dev/null 2>&1 || true
			fi
			update-rc.d "$s" disable >/dev/null 2>&1 || true
		fi
	done
fi
# spamassassin's install imports sa-update's signing key with a gpg-agent
# that stays behind
if [ -d /var/lib/spamassassin/sa-update-keys ]; then
	gpgconf --homedir /var/lib/spamassassin/sa-update-keys \
		--kill gpg-agent >/dev/null 2>&1 || true
fi
exit 0
