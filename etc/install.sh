#!/bin/sh
# `make install`: binaries, man pages, configuration samples and systemd
# units where Debian expects them, and each stage's state directories.
# Environment (from the Makefile): B (build dir), DESTDIR, SBINDIR, MANDIR,
# UNITDIR, SYSCONFDIR, LOCALSTATEDIR. Run as root without DESTDIR it also
# creates the system user 'sluice' and hands it the state directories.
# An existing /etc/sluice/<stage>.conf is kept (the new sample goes next to
# it as <stage>.conf.new).
set -eu
: "${B:?}" "${SBINDIR:?}" "${MANDIR:?}" "${UNITDIR:?}" "${SYSCONFDIR:?}" \
	"${LOCALSTATEDIR:?}"
D=${DESTDIR:-}
STAGES="mx msa avscan spamd outmta store admin"
QUEUED="mx msa avscan spamd outmta store"
ETC=$SYSCONFDIR/sluice
SPOOL=$LOCALSTATEDIR/spool/sluice
LIB=$LOCALSTATEDIR/lib/sluice

install -d "$D$SBINDIR" "$D$MANDIR/man8" "$D$UNITDIR" \
	"$D$UNITDIR/sluice@store.service.d" \
	"$D$UNITDIR/sluice@admin.service.d" "$D$ETC"
install -d -m 0750 "$D$ETC/tls"
for s in $STAGES; do
	install -m 0755 "$B/sluice-$s" "$D$SBINDIR/"
	install -m 0644 "$s/sluice-$s.8" "$D$MANDIR/man8/"
done
for t in sluice-queue sluice-quarantine sluice-spamtrain sluice-dkim-keygen sluicectl \
	sluice-boxkey; do
	install -m 0755 "$B/$t" "$D$SBINDIR/"
done
install -m 0644 common/sluice-queue.8 common/sluice-quarantine.8 \
	"$D$MANDIR/man8/"
# sluice-audit: Python, its modules beside it under lib/sluice/audit
AUDITLIB=$SBINDIR/../lib/sluice/audit
install -d "$D$AUDITLIB"
install -m 0644 audit/audit_*.py "$D$AUDITLIB/"
install -m 0755 audit/sluice-audit "$D$SBINDIR/"
install -m 0644 audit/sluice-audit.8 "$D$MANDIR/man8/"

# the samples with the host's paths: the queue under the spool, state
# under /var/lib/sluice, certificates in /etc/sluice/tls (uncommented,
# so the file says where things are)
for s in $STAGES; do
	sed -e "s|^#\([a-z_]*\) = var/tls/|\1 = $ETC/tls/|" \
	    -e "s|^#\([a-z_]*\) = var/\([a-z]*\)/queue\$|\1 = $SPOOL/\2/queue|" \
	    -e "s|^#\([a-z_]*\) = var/avscan/tmp\$|\1 = $SPOOL/avscan/tmp|" \
	    -e "s|^#\([a-z_]*\) = var/|\1 = $LIB/|" \
	    "etc/$s.conf" > "$D$ETC/$s.conf.new"
	chmod 0644 "$D$ETC/$s.conf.new"
	if [ -e "$D$ETC/$s.conf" ]; then
		echo "install: kept $D$ETC/$s.conf (new sample: $s.conf.new)"
	else
		mv "$D$ETC/$s.conf.new" "$D$ETC/$s.conf"
	fi
done

# units: the paths of this PREFIX
for u in sluice@.service sluice.target \
	 sluice@store.service.d/reload.conf \
	 sluice@admin.service.d/paths.conf; do
	sed -e "s|/usr/sbin/|$SBINDIR/|g" -e "s|/etc/sluice|$ETC|g" \
	    -e "s|/var/spool/sluice|$SPOOL|g" -e "s|/var/lib/sluice|$LIB|g" \
	    "etc/systemd/$u" > "$D$UNITDIR/$u"
	chmod 0644 "$D$UNITDIR/$u"
done

install -d -m 0755 "$D$SPOOL" "$D$LIB"
dirs=
for s in $QUEUED; do
	install -d -m 0750 "$D$SPOOL/$s"
	dirs="$dirs $D$SPOOL/$s"
done
for s in $STAGES; do
	install -d -m 0750 "$D$LIB/$s"
	dirs="$dirs $D$LIB/$s"
done

if [ -z "$D" ] && [ "$(id -u)" = 0 ]; then
	if ! getent passwd sluice >/dev/null; then
		useradd --system --user-group --home-dir "$LIB" \
			--shell /usr/sbin/nologin sluice
		echo "install: created the system user sluice"
	fi
	# shellcheck disable=SC2086
	chown sluice:sluice $dirs
	chgrp sluice "$D$ETC/tls"
	if command -v systemctl >/dev/null && [ -d /run/systemd/system ]; then
		systemctl daemon-reload
	fi
fi
echo "install: done ($D$SBINDIR, $D$ETC, $D$UNITDIR, $D$SPOOL, $D$LIB)"
