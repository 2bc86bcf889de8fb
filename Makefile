# Sluice top-level Makefile.
#   make deps   install missing Debian packages (needs root)
#   make all    build release binaries into build/rel
#   make run    start the whole pipeline on 127.0.0.1 (state under ./var)
#   make test   build with ASan+UBSan into build/asan and run every test
#   make bench  benchmarks against Postfix (bench/)
#   make bench-imap  IMAP FETCH throughput and command mixes against Dovecot (bench/)
#   make bench-avscan  avscan: 4 KB latency beside 25 MB scans, reload time (bench/)
#   make bench-login  IMAP FETCH p99 with and without 50 logins/s, N runs (bench/)
#   make install  binaries, man pages, etc/ samples and systemd units
#               (PREFIX=/usr/local, DESTDIR; see etc/install.sh)
#   make chaos  longer recovery drills (tests/chaos.py)
#   make audit  sluice-audit against `make run` (which must be running):
#               the 14 faults x mechanisms matrix in var/audit/
#   make clean  remove build/

CC ?= cc
WARN = -std=c11 -Wall -Wextra -Werror -Wformat=2 -Wshadow -Wpointer-arith \
       -Wstrict-prototypes -Wmissing-prototypes -Wno-unused-parameter
DEFS = -D_GNU_SOURCE
HARDEN = -fstack-protector-strong -fPIE -fstack-clash-protection
REL_CFLAGS = $(WARN) $(DEFS) $(HARDEN) -O2 -g -D_FORTIFY_SOURCE=2
ASAN_CFLAGS = $(WARN) $(DEFS) $(HARDEN) -O1 -g -fno-omit-frame-pointer \
       -fsanitize=address,undefined -fno-sanitize-recover=undefined
LDHARDEN = -pie -Wl,-z,relro,-z,now
LIBS = -lssl -lcrypto -lsqlite3 -lcares -lsasl2 -lz -pthread

MODE ?= rel
ifeq ($(MODE),asan)
CFLAGS_USE = $(ASAN_CFLAGS)
LDFLAGS_USE = $(LDHARDEN) -fsanitize=address,undefined
else
CFLAGS_USE = $(REL_CFLAGS)
LDFLAGS_USE = $(LDHARDEN)
endif
B = build/$(MODE)

COMMON_SRC = $(filter-out %_test.c %_fuzz.c common/queue_tool.c common/quarantine_tool.c common/dkim_keygen.c, \
	$(wildcard common/*.c))
COMMON_OBJ = $(COMMON_SRC:%.c=$(B)/%.o)
TEST_SRC = $(wildcard common/*_test.c store/*_test.c store/*/*_test.c msa/*_test.c \
	avscan/*_test.c spamd/*_test.c mx/*_test.c outmta/*_test.c)
TEST_BIN = $(TEST_SRC:%.c=$(B)/%)

MX_OBJ = $(patsubst %.c,$(B)/%.o,$(filter-out %_test.c,$(wildcard mx/*.c)))
OUTMTA_OBJ = $(patsubst %.c,$(B)/%.o,$(filter-out %_test.c,$(wildcard outmta/*.c)))
MSA_OBJ = $(patsubst %.c,$(B)/%.o,$(filter-out %_test.c %_fuzz.c,$(wildcard msa/*.c)))
AVSCAN_OBJ = $(patsubst %.c,$(B)/%.o,$(filter-out %_test.c,$(wildcard avscan/*.c)))
# libmilter only where the milter modes are (common/milter.o is pulled
# from libsluice.a only by them); libclamav only in avscan
MILTER_LIBS = -lmilter
AVSCAN_LIBS = -lclamav $(MILTER_LIBS)

SPAMD_LIB_OBJ = $(patsubst %.c,$(B)/%.o,$(filter-out %_test.c %_fuzz.c \
	spamd/main.c spamd/spamd_smtp.c spamd/spamd_milter.c spamd/spamtrain.c, \
	$(wildcard spamd/*.c)))
SPAMD_OBJ = $(B)/spamd/main.o $(B)/spamd/spamd_smtp.o $(B)/spamd/spamd_milter.o
# the user directory (sluicectl): SQLite or PostgreSQL behind one interface;
# libpq only through common/pgdb.c (the directory's and the store's
# PostgreSQL mailboxes)
DIR_SRC = store/dir/store_dir.c store/dir/store_dir_export.c store/dir/store_dir_admin.c store/dir/store_dir_senders.c \
	store/dir/store_dir_sqlite.c store/dir/store_dir_pg.c
DIR_OBJ = $(DIR_SRC:%.c=$(B)/%.o)
DIR_LIBS = -lpq
$(B)/common/pgdb.o: CFLAGS_USE += $(shell pkg-config --cflags libpq 2>/dev/null)
# the store by protocol: store/ (main, LMTP delivery, shared), store/imap,
# store/pop3, store/mbox, store/mime, store/dir (the user directory); each
# folder is on the include path of the store's objects
STORE_DIRS = store $(patsubst %/,%,$(sort $(dir $(wildcard store/*/*.c))))
STORE_INC = $(addprefix -iquote ,$(STORE_DIRS))
$(B)/store/%.o: CFLAGS_USE += $(STORE_INC)
STORE_OBJ = $(patsubst %.c,$(B)/%.o,$(filter-out %_test.c %_fuzz.c store/dir/sluicectl.c store/dir/store_dir_ldap.c \
	store/box/boxkey.c \
	$(DIR_SRC),$(wildcard $(addsuffix /*.c,$(STORE_DIRS)))))

BINS = $(B)/sluice-mx $(B)/sluice-store $(B)/sluice-outmta $(B)/sluice-msa \
	$(B)/sluice-avscan $(B)/sluice-spamd $(B)/sluice-spamtrain \
	$(B)/sluice-queue $(B)/sluice-quarantine \
	$(B)/sluice-dkim-keygen $(B)/sluicectl $(B)/sluice-admin \
	$(B)/sluice-boxkey

# objects of the unit tests are not intermediate: keep them, so a second
# make (make install in a test) finds everything up to date
.SECONDARY:

.PHONY: all build deps run run-cluster test bench bench-imap bench-avscan bench-login clean fuzz fuzz-long install chaos \
	audit
all:
	@$(MAKE) --no-print-directory MODE=rel build

build: $(BINS) $(TEST_BIN)

$(B)/%.o: %.c
	@mkdir -p $(dir $@)
	@echo "  CC $(MODE) $<"
	@$(CC) $(CFLAGS_USE) -iquote common -MMD -MP -c $< -o $@

$(B)/libsluice.a: $(COMMON_OBJ)
	@rm -f $@ && ar rcs $@ $^


# hiredis only where state is shared (common/shstate.c): mx, msa, store
# and spamd
SHSTATE_LIBS = -lhiredis

# a stage's unit tests link its objects but its main()
$(B)/mx/%_test: $(B)/mx/%_test.o $(filter-out $(B)/mx/main.o,$(MX_OBJ)) \
		$(B)/libsluice.a
	@echo "  LD $(MODE) $@"
	@$(CC) $(LDFLAGS_USE) -o $@ $^ $(LIBS) $(SHSTATE_LIBS)

$(B)/outmta/%_test: $(B)/outmta/%_test.o \
		$(filter-out $(B)/outmta/main.o,$(OUTMTA_OBJ)) $(B)/libsluice.a
	@echo "  LD $(MODE) $@"
	@$(CC) $(LDFLAGS_USE) -o $@ $^ $(LIBS)

$(B)/sluice-outmta: $(OUTMTA_OBJ) $(B)/libsluice.a
	@echo "  LD $(MODE) $@"
	@$(CC) $(LDFLAGS_USE) -o $@ $^ $(LIBS)

$(B)/sluice-mx: $(MX_OBJ) $(B)/libsluice.a
	@echo "  LD $(MODE) $@"
	@$(CC) $(LDFLAGS_USE) -o $@ $^ $(LIBS) $(SHSTATE_LIBS)

$(B)/sluice-msa: $(MSA_OBJ) $(B)/libsluice.a
	@echo "  LD $(MODE) $@"
	@$(CC) $(LDFLAGS_USE) -o $@ $^ $(LIBS) $(SHSTATE_LIBS)

$(B)/sluice-avscan: $(AVSCAN_OBJ) $(B)/libsluice.a
	@echo "  LD $(MODE) $@"
	@$(CC) $(LDFLAGS_USE) -o $@ $^ $(LIBS) $(AVSCAN_LIBS)

$(B)/avscan/avscan_clam_test: $(B)/avscan/avscan_clam_test.o \
		$(B)/avscan/avscan_clam.o $(B)/libsluice.a
	@echo "  LD $(MODE) $@"
	@$(CC) $(LDFLAGS_USE) -o $@ $^ $(LIBS) -lclamav

$(B)/sluice-spamd: $(SPAMD_OBJ) $(B)/libspamd.a $(B)/libsluice.a
	@echo "  LD $(MODE) $@"
	@$(CC) $(LDFLAGS_USE) -o $@ $^ $(LIBS) $(MILTER_LIBS) -lm \
		$(SHSTATE_LIBS)

$(B)/sluice-spamtrain: $(B)/spamd/spamtrain.o $(B)/libspamd.a $(B)/libsluice.a
	@echo "  LD $(MODE) $@"
	@$(CC) $(LDFLAGS_USE) -o $@ $^ $(LIBS) -lm $(SHSTATE_LIBS)

$(B)/spamd/%_test: $(B)/spamd/%_test.o $(B)/libspamd.a $(B)/libsluice.a
	@echo "  LD $(MODE) $@"
	@$(CC) $(LDFLAGS_USE) -o $@ $^ $(LIBS) -lm $(SHSTATE_LIBS)

$(B)/libspamd.a: $(SPAMD_LIB_OBJ)
	@rm -f $@ && ar rcs $@ $^

$(B)/msa/msa_header_test: $(B)/msa/msa_header_test.o $(B)/msa/msa_header.o \
		$(B)/libsluice.a
	@echo "  LD $(MODE) $@"
	@$(CC) $(LDFLAGS_USE) -o $@ $^ $(LIBS)

# the store's modules without main, for its unit tests
$(B)/libstore.a: $(filter-out $(B)/store/main.o,$(STORE_OBJ))
	@rm -f $@ && ar rcs $@ $^

$(B)/store/%_test: $(B)/store/%_test.o $(B)/libstore.a $(B)/libsluice.a
	@echo "  LD $(MODE) $@"
	@$(CC) $(LDFLAGS_USE) -o $@ $^ $(LIBS) $(DIR_LIBS)

# the directory's statements, on SQLite (links the directory, and libpq)
$(B)/store/dir/store_dir_test: $(B)/store/dir/store_dir_test.o $(DIR_OBJ) \
		$(B)/libsluice.a
	@echo "  LD $(MODE) $@"
	@$(CC) $(LDFLAGS_USE) -o $@ $^ $(LIBS) $(DIR_LIBS)

$(B)/sluice-store: $(STORE_OBJ) $(B)/libsluice.a
	@echo "  LD $(MODE) $@"
	@$(CC) $(LDFLAGS_USE) -o $@ $^ $(LIBS) $(SHSTATE_LIBS) $(DIR_LIBS)

# the access boxes' deployment key (make, rotate): libpq through pgdb
$(B)/sluice-boxkey: $(B)/store/box/boxkey.o $(B)/store/box/box_keys.o \
		$(B)/store/box/box_seal.o $(B)/libsluice.a
	@echo "  LD $(MODE) $@"
	@$(CC) $(LDFLAGS_USE) -o $@ $^ $(LIBS) $(DIR_LIBS)

$(B)/sluice-queue: $(B)/common/queue_tool.o $(B)/libsluice.a
	@echo "  LD $(MODE) $@"
	@$(CC) $(LDFLAGS_USE) -o $@ $^ $(LIBS)

$(B)/sluice-quarantine: $(B)/common/quarantine_tool.o $(B)/libsluice.a
	@echo "  LD $(MODE) $@"
	@$(CC) $(LDFLAGS_USE) -o $@ $^ $(LIBS)

# ldap-sync: libldap only in sluicectl
$(B)/sluicectl: $(B)/store/dir/sluicectl.o $(B)/store/dir/store_dir_ldap.o \
		$(DIR_OBJ) $(B)/libsluice.a
	@echo "  LD $(MODE) $@"
	@$(CC) $(LDFLAGS_USE) -o $@ $^ $(LIBS) $(DIR_LIBS) -lldap -llber

# the admin daemon: libmicrohttpd (and its GnuTLS) only here
ADMIN_OBJ = $(patsubst %.c,$(B)/%.o,$(filter-out %_test.c,$(wildcard admin/*.c)))
$(B)/sluice-admin: $(ADMIN_OBJ) $(DIR_OBJ) $(B)/libsluice.a
	@echo "  LD $(MODE) $@"
	@$(CC) $(LDFLAGS_USE) -o $@ $^ $(LIBS) $(DIR_LIBS) -lmicrohttpd -lgnutls

$(B)/sluice-dkim-keygen: $(B)/common/dkim_keygen.o $(B)/libsluice.a
	@echo "  LD $(MODE) $@"
	@$(CC) $(LDFLAGS_USE) -o $@ $^ $(LIBS)

$(B)/%_test: $(B)/%_test.o $(B)/libsluice.a
	@echo "  LD $(MODE) $@"
	@$(CC) $(LDFLAGS_USE) -o $@ $^ $(LIBS)

MIME_OBJ = $(patsubst %.c,$(B)/%.o,$(filter-out %_test.c %_fuzz.c, \
	$(wildcard store/mime/store_mime*.c)))
$(B)/store/mime/store_mime_test: $(B)/store/mime/store_mime_test.o $(MIME_OBJ) \
		$(B)/libsluice.a
	@echo "  LD $(MODE) $@"
	@$(CC) $(LDFLAGS_USE) -o $@ $^ $(LIBS)

-include $(shell find build -name '*.d' 2>/dev/null)

deps:
	@tests/deps.sh

run: deps all
	@tests/run.sh

# the same grown to pairs and three access boxes on a private PostgreSQL
# and Redis under var/cluster (tests/run-cluster.sh)
run-cluster: deps all
	@tests/run.sh cluster

# both builds use every core: CI starts from nothing
NPROC := $(shell nproc 2>/dev/null || echo 2)
test: deps
	@$(MAKE) --no-print-directory -j$(NPROC) MODE=asan build
	@$(MAKE) --no-print-directory -j$(NPROC) MODE=rel build
	@tests/run-tests.sh

# libFuzzer targets for the parsers that face the network (and the queue's
# recovery, which reads what a damaged disk holds); FUZZ_TIME
# seconds each (make test runs them briefly).
FUZZ_TIME ?= 60
FUZZ_TARGETS = smtp_parse_fuzz smtp_reply_fuzz dkim_fuzz mime_tree_fuzz store_mime_fuzz \
	store_imap_parse_fuzz store_pop3_fuzz msa_header_fuzz spamd_token_fuzz \
	queue_rec_fuzz addrlist_fuzz smtp_data_fuzz spf_fuzz arc_fuzz \
	spamd_hdr_fuzz dmarc_fuzz ratemap_fuzz \
	tracehdr_fuzz spamd_lists_fuzz authres_fuzz dns_ttl_fuzz
FUZZ_BASE = common/sbuf.c common/log.c common/addr.c common/smtp_parse.c common/mime.c \
	common/envelope.c common/queue_rec.c common/addrlist.c \
	common/smtp_reply.c common/dkim.c common/tls_crypto.c common/config.c \
	common/spf_parse.c common/dkim_verify.c common/arc_verify.c common/dmarc.c \
	common/ratemap.c common/tracehdr.c common/authres.c common/mime_tree.c \
	common/mime_ctype.c common/dns_ttl.c \
	$(filter-out %_test.c %_fuzz.c,$(wildcard store/mime/store_mime*.c)) \
	store/imap/store_imap_parse.c store/imap/store_imap_seq.c store/imap/store_imap_utf7.c \
	store/pop3/store_pop3_parse.c \
	msa/msa_header.c spamd/spamd_mime.c spamd/spamd_html.c spamd/spamd_token.c \
	spamd/spamd_hdr.c spamd/spamd_lists.c spamd/spamd_shape.c common/senders.c \
	common/directory.c common/durable.c common/snapwatch.c common/keytab.c
# make fuzz: FUZZ_TIME seconds each from the seed corpus (make test runs
# it briefly); make fuzz-long: a resumable campaign of FUZZ_LONG_TIME
# seconds per target on every core, its corpus kept in tests/fuzz-corpus.
export FUZZ_TARGETS FUZZ_BASE
FUZZ_LONG_TIME ?= 3600
fuzz:
	@tests/fuzz.sh short $(FUZZ_TIME)

fuzz-long:
	@tests/fuzz.sh long $(FUZZ_LONG_TIME)

# Debian's places: /etc/sluice, /var/spool/sluice/<stage>, /var/lib/sluice
PREFIX ?= /usr/local
SBINDIR ?= $(PREFIX)/sbin
MANDIR ?= $(PREFIX)/share/man
UNITDIR ?= $(PREFIX)/lib/systemd/system
SYSCONFDIR ?= /etc
LOCALSTATEDIR ?= /var
install: all
	@B=build/rel DESTDIR="$(DESTDIR)" SBINDIR="$(SBINDIR)" \
	  MANDIR="$(MANDIR)" UNITDIR="$(UNITDIR)" SYSCONFDIR="$(SYSCONFDIR)" \
	  LOCALSTATEDIR="$(LOCALSTATEDIR)" etc/install.sh

chaos: all
	@SLUICE_BUILD=build/rel /usr/bin/python3 tests/chaos.py

# AUDIT_ARGS: more options, e.g. --require solved=9,mitigated=5
audit:
	@audit/run-audit.sh

bench: deps all
	@bench/deps.sh
	@bench/run.sh

bench-imap: all
	@bench/deps.sh
	@/usr/bin/python3 bench/imap_bench.py
	@/usr/bin/python3 bench/imap_mix.py

bench-avscan: all
	@bench/deps.sh
	@/usr/bin/python3 bench/avscan_mix.py

# BENCH_LOGIN_ARGS: e.g. --runs 9 --modes pinned (see bench/login_latency.py)
bench-login: all
	@/usr/bin/python3 bench/login_latency.py $(BENCH_LOGIN_ARGS)

clean:
	rm -rf build
