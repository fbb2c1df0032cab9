# nestcloud: the two commands of the README, and the rest.
#
#   make run          install what is missing, build, start nestcloud and a demo VM
#   make check        install what is missing, build, run the default test suite
#   make check-slow   the slow tier (soak, many guests, the Nested Cloud VM)
#   make nested-image build the Nested Cloud VM image (debootstrap; cached)
#   make asan         unit tests under AddressSanitizer and UBSan
#   make bench        the benchmarks of docs/BENCHMARKS.md
#   make bench-nesting  the paper's nesting experiment, L0/L1/L2 (docs/NESTING.md)
#   make stop         stop the nestcloud started by `make run`

BUILD ?= build
STATE_DIR ?= /var/lib/nestcloud
PYTEST ?= /usr/bin/python3 -m pytest
NESTED_IMAGE ?= /var/tmp/nestcloud-nested/nested.qcow2

.PHONY: all build run stop check check-unit check-e2e check-slow asan bench bench-nesting clean

all: build

build:
	scripts/deps.sh build run
	@[ -f $(BUILD)/build.ninja ] || meson setup $(BUILD)
	ninja -C $(BUILD)

run: build
	scripts/libvirt.sh
	STATE_DIR=$(STATE_DIR) scripts/run-demo.sh

stop:
	@if [ -f $(STATE_DIR)/nestcloud.pid ] && kill $$(cat $(STATE_DIR)/nestcloud.pid) 2>/dev/null; then \
		echo "stopped nestcloud"; rm -f $(STATE_DIR)/nestcloud.pid; else echo "nestcloud was not running"; fi

check: build
	scripts/deps.sh test
	scripts/libvirt.sh
	meson test -C $(BUILD) --suite unit --print-errorlogs
	$(PYTEST) -q --durations=10 tests/e2e -m "not slow"

check-unit: build
	meson test -C $(BUILD) --suite unit --print-errorlogs

check-e2e: build
	scripts/libvirt.sh
	$(PYTEST) -q --durations=10 tests/e2e -m "not slow"

check-slow: build nested-image
	scripts/deps.sh test
	scripts/libvirt.sh
	NESTCLOUD_NESTED_IMAGE=$(NESTED_IMAGE) $(PYTEST) -q tests/e2e -m slow

# The Nested Cloud VM (docs/NESTED.md): not part of `make check`.
nested-image: build
	scripts/deps.sh nested
	images/nested/build.sh --build $(BUILD) --output $(NESTED_IMAGE)

asan:
	scripts/deps.sh build test
	@[ -f build-asan/build.ninja ] || meson setup build-asan -Db_sanitize=address,undefined \
		-Db_lundef=false -Dtest_image=false -Dbuildtype=debug
	ninja -C build-asan
	ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
		meson test -C build-asan --suite unit --print-errorlogs

bench: build
	scripts/deps.sh bench
	scripts/libvirt.sh
	bench/run.sh

bench-nesting: build
	NESTCLOUD_BUILD=$(BUILD) bench/nesting/run.sh

clean:
	rm -rf $(BUILD) build-asan
