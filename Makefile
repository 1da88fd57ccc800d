# Thin wrapper over CMake. The two commands a new user needs:
#   make demo   build, then run the demo end to end
#   make test   build normally and under ASan+UBSan, run unit, integration and SDK tests
#   make bench  the benchmarks of docs/performance.md
#   make fuzz   each libFuzzer target for FUZZ_SECONDS (docs/reliability.md)
#   make install  install the build under PREFIX (default /usr/local), DESTDIR honoured
#   make package  a .deb in build-package/ (Release build, CPack; docs/deploy.md)
# Both install missing Debian packages first (scripts/install-deps.sh).

BUILD      ?= build
ASAN_BUILD ?= build-asan
JOBS       ?= $(shell nproc)
PYTEST     ?= /usr/bin/python3 -m pytest

.PHONY: all deps deps-test deps-bench build build-tests build-asan build-fuzz demo test unit unit-asan integration integration-asan sdk bench fuzz format clean
.PHONY: install package deps-package
FUZZ_BUILD ?= build-fuzz
FUZZ_SECONDS ?= 60

all: build

deps:
	@scripts/install-deps.sh build

deps-test:
	@scripts/install-deps.sh test

deps-bench:
	@scripts/install-deps.sh bench

# Configure only when the build folder has no generated Makefile: a configure that failed
# or was interrupted leaves a CMakeCache.txt but no Makefile, and is simply run again.
$(BUILD)/Makefile:
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSY_WERROR=ON

$(ASAN_BUILD)/Makefile:
	cmake -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DSY_WERROR=ON -DSY_SANITIZE=ON -DSY_TESTS=ON

# The demo needs no test tools: its build has the tests when cmocka is there (SY_TESTS
# AUTO). Every test target first makes sure the build has them (SY_TESTS=ON).
build: deps $(BUILD)/Makefile
	cmake --build $(BUILD) -j $(JOBS)

build-tests: deps-test $(BUILD)/Makefile
	cmake -S . -B $(BUILD) -DSY_TESTS=ON >/dev/null
	cmake --build $(BUILD) -j $(JOBS)

build-asan: deps-test $(ASAN_BUILD)/Makefile
	cmake --build $(ASAN_BUILD) -j $(JOBS)

demo: build
	scripts/demo.sh $(BUILD)/switchyard

unit: build-tests
	ctest --test-dir $(BUILD) --output-on-failure -j $(JOBS)

unit-asan: build-asan
	ctest --test-dir $(ASAN_BUILD) --output-on-failure -j $(JOBS)

integration: build-tests
	SWITCHYARD_BIN=$(abspath $(BUILD))/switchyard $(PYTEST) -q tests/integration

integration-asan: build-asan
	SWITCHYARD_BIN=$(abspath $(ASAN_BUILD))/switchyard SWITCHYARD_SANITIZED=1 \
	  $(PYTEST) -q tests/integration

sdk: build-tests
	SWITCHYARD_BIN=$(abspath $(BUILD))/switchyard tests/sdk/run.sh

test: unit integration sdk unit-asan integration-asan

# libFuzzer targets (tests/fuzz), FUZZ_SECONDS each; `make test` replays their corpora.
$(FUZZ_BUILD)/Makefile:
	CC=clang CXX=clang++ cmake -S . -B $(FUZZ_BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSY_FUZZ=ON -DSY_TESTS=ON

build-fuzz: deps-test $(FUZZ_BUILD)/Makefile
	cmake --build $(FUZZ_BUILD) -j $(JOBS)

fuzz: build-fuzz
	scripts/fuzz.sh $(FUZZ_BUILD) $(FUZZ_SECONDS)

# Benchmarks (docs/performance.md): policy decisions, the store thread, gateway overhead.
bench: deps-bench build-tests
	bench/run.sh $(BUILD)

# Packaging (packaging/CMakeLists.txt, docs/deploy.md). `make install` re-runs configure
# with PREFIX (the config goes to $(PREFIX)/etc/switchyard, or /etc/switchyard when
# PREFIX=/usr) and never overwrites a configuration already installed.
PREFIX        ?= /usr/local
DESTDIR       ?=
PACKAGE_BUILD ?= build-package

install: build
	cmake -S . -B $(BUILD) -DCMAKE_INSTALL_PREFIX=$(PREFIX) >/dev/null
	cmake --build $(BUILD) -j $(JOBS)
	DESTDIR="$(DESTDIR)" cmake --install $(BUILD)

deps-package:
	@scripts/install-deps.sh package

# The .deb: a Release build of its own, without the tests, installed under /usr.
$(PACKAGE_BUILD)/Makefile:
	cmake -S . -B $(PACKAGE_BUILD) -DCMAKE_BUILD_TYPE=Release -DSY_WERROR=ON -DSY_TESTS=OFF \
	  -DCMAKE_INSTALL_PREFIX=/usr

package: deps-package $(PACKAGE_BUILD)/Makefile
	cmake --build $(PACKAGE_BUILD) -j $(JOBS)
	rm -f $(PACKAGE_BUILD)/switchyard_*.deb
	cd $(PACKAGE_BUILD) && cpack -G DEB
	@ls -l $(PACKAGE_BUILD)/switchyard_*.deb

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

clean:
	rm -rf $(BUILD) $(ASAN_BUILD)
