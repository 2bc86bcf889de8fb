# Sluice top-level Makefile.
#   make deps   install missing Debian packages (needs root)
#   make all    build release binaries into build/rel
#   make run    start the whole pipeline on 127.0.0.1 (state under ./var)
#   make test   build with ASan+UBSan into build/asan and run every test
#   make bench  benchmarks against Postfix (bench/)
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
LIBS = -lssl -lcrypto -lsqlite3

MODE ?= rel
ifeq ($(MODE),asan)
CFLAGS_USE = $(ASAN_CFLAGS)
LDFLAGS_USE = $(LDHARDEN) -fsanitize=address,undefined
else
CFLAGS_USE = $(REL_CFLAGS)
LDFLAGS_USE = $(LDHARDEN)
endif
B = build/$(MODE)

COMMON_SRC = $(filter-out %_test.c %_fuzz.c common/queue_tool.c, $(wildcard common/*.c))
COMMON_OBJ = $(COMMON_SRC:%.c=$(B)/%.o)
TEST_SRC = $(wildcard common/*_test.c mx/*_test.c store/*_test.c)
TEST_BIN = $(TEST_SRC:%.c=$(B)/%)

MX_OBJ = $(patsubst %.c,$(B)/%.o,$(filter-out %_test.c,$(wildcard mx/*.c)))
STORE_OBJ = $(patsubst %.c,$(B)/%.o,$(filter-out %_test.c,$(wildcard store/*.c)))

BINS = $(B)/sluice-mx $(B)/sluice-store $(B)/sluice-queue

.PHONY: all build deps run test unit bench clean fuzz
all:
	@$(MAKE) --no-print-directory MODE=rel build

build: $(BINS) $(TEST_BIN)

$(B)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_USE) -Icommon -MMD -MP -c $< -o $@

$(B)/libsluice.a: $(COMMON_OBJ)
	rm -f $@ && ar rcs $@ $^

$(B)/sluice-mx: $(MX_OBJ) $(B)/libsluice.a
	$(CC) $(LDFLAGS_USE) -o $@ $^ $(LIBS)

$(B)/sluice-store: $(STORE_OBJ) $(B)/libsluice.a
	$(CC) $(LDFLAGS_USE) -o $@ $^ $(LIBS)

$(B)/sluice-queue: $(B)/common/queue_tool.o $(B)/libsluice.a
	$(CC) $(LDFLAGS_USE) -o $@ $^ $(LIBS)

$(B)/%_test: $(B)/%_test.o $(B)/libsluice.a
	$(CC) $(LDFLAGS_USE) -o $@ $^ $(LIBS)

-include $(shell find build -name '*.d' 2>/dev/null)

deps:
	@tests/deps.sh

run: deps all
	@tests/run.sh

test: deps
	@$(MAKE) --no-print-directory MODE=asan build
	@$(MAKE) --no-print-directory MODE=rel build
	@tests/run-tests.sh

bench: deps all
	@bench/run.sh

clean:
	rm -rf build
