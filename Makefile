# ocspd — one pkg-config-driven Makefile. See README.md.
PREFIX  ?= /usr/local
include pkgs.mk
CC      ?= cc
CFLAGS  ?= -O2 -g
WARN     = -Wall -Wextra -Werror -Wshadow
CPPFLAGS += -D_GNU_SOURCE -iquote src
ALLCFLAGS = -std=c11 $(WARN) $(CFLAGS) $(shell pkg-config --cflags $(PKGS))
LDLIBS  += $(shell pkg-config --libs $(PKGS)) -lev -lpthread -lm
SAN      = -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined

SRC      = $(wildcard src/*.c)
LIBSRC   = $(filter-out src/main.c,$(SRC))
UNITSRC  = $(wildcard tests/unit/*.c)
HDR      = $(wildcard src/*.h)

.PHONY: all deps check unit it demo bench fuzz install clean
all: ocspd

deps:
	@scripts/deps.sh build

build/%.o: src/%.c $(HDR) | build
	$(CC) $(CPPFLAGS) $(ALLCFLAGS) -c -o $@ $<
build-san/%.o: src/%.c $(HDR) | build-san
	$(CC) $(CPPFLAGS) $(ALLCFLAGS) $(SAN) -c -o $@ $<
build build-san:
	mkdir -p $@

ocspd: $(SRC:src/%.c=build/%.o)
	$(CC) $(ALLCFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)
ocspd-san: $(SRC:src/%.c=build-san/%.o)
	$(CC) $(ALLCFLAGS) $(SAN) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# Unit tests (cmocka): one program per tests/unit/*.c, linked with the modules.
# Their shared helpers are headers in tests/unit (testpki.h): prerequisites, not inputs.
build/unit-%: tests/unit/%.c $(LIBSRC:src/%.c=build-san/%.o) $(wildcard tests/unit/*.h) | build
	$(CC) $(CPPFLAGS) $(ALLCFLAGS) $(SAN) -o $@ $(filter-out %.h,$^) $(LDLIBS) -lcmocka
UNITBIN = $(UNITSRC:tests/unit/%.c=build/unit-%)

# Test helpers written in C (fault-injecting responder and the like).
build/tests/%: tests/%.c | build
	@mkdir -p build/tests
	$(CC) $(CPPFLAGS) $(ALLCFLAGS) -o $@ $< $(LDLIBS)
TESTBIN = $(patsubst tests/%.c,build/tests/%,$(wildcard tests/*.c))

unit: $(UNITBIN)
	@for t in $(UNITBIN); do echo "== $$t"; ./$$t || exit 1; done

# Integration tests against real openssl/haproxy/nginx: once with the
# ASan+UBSan build, then again with the optimised build operators run
# (timing differs; fuzz-smoke builds its own sanitized targets and pkg-deb
# builds its own package, so once is enough).
it: ocspd ocspd-san $(TESTBIN)
	@echo "== integration tests, ASan+UBSan build (ocspd-san)"
	@OCSPD=$(CURDIR)/ocspd-san tests/run.sh
	@echo "== integration tests, optimised build (ocspd)"
	@OCSPD=$(CURDIR)/ocspd SKIP="fuzz-smoke pkg-deb" tests/run.sh

check:
	@scripts/deps.sh check
	@$(MAKE) --no-print-directory ocspd ocspd-san
	@$(MAKE) --no-print-directory unit
	@$(MAKE) --no-print-directory it

demo:
	@scripts/deps.sh check
	@$(MAKE) --no-print-directory ocspd
	@scripts/demo.sh

bench:
	@scripts/deps.sh check
	@$(MAKE) --no-print-directory ocspd
	@$(MAKE) -C bench --no-print-directory run

fuzz:
	@scripts/deps.sh check
	@$(MAKE) -C fuzz --no-print-directory run

# The unit's ExecStart follows PREFIX; an operator's ocspd.conf is never overwritten.
install: ocspd
	install -D -m 755 ocspd $(DESTDIR)$(PREFIX)/sbin/ocspd
	install -D -m 644 man/ocspd.8 $(DESTDIR)$(PREFIX)/share/man/man8/ocspd.8
	install -D -m 644 man/ocspd.conf.5 $(DESTDIR)$(PREFIX)/share/man/man5/ocspd.conf.5
	install -D -m 755 contrib/ocspd-stapling-switch $(DESTDIR)$(PREFIX)/share/ocspd/ocspd-stapling-switch
	install -d $(DESTDIR)$(PREFIX)/lib/systemd/system $(DESTDIR)/etc/ocspd
	sed 's|/usr/local/sbin/ocspd|$(PREFIX)/sbin/ocspd|' contrib/ocspd.service \
		>$(DESTDIR)$(PREFIX)/lib/systemd/system/ocspd.service
	chmod 644 $(DESTDIR)$(PREFIX)/lib/systemd/system/ocspd.service
	[ -e $(DESTDIR)/etc/ocspd/ocspd.conf ] || install -m 644 contrib/ocspd.conf $(DESTDIR)/etc/ocspd/ocspd.conf

clean:
	rm -rf build build-san ocspd ocspd-san
	-$(MAKE) -C bench clean
	-$(MAKE) -C fuzz clean
