# Thin wrapper over CMake. The two commands a new user needs:
#   make demo   build, then run the demo end to end
#   make test   build normally and under ASan+UBSan, run unit, integration and SDK tests
#   make bench  the benchmarks of docs/performance.md
#   make fuzz   each libFuzzer target for FUZZ_SECONDS (docs/reliability.md)
# Both install missing Debian packages first (scripts/install-deps.sh).

BUILD      ?= build
ASAN_BUILD ?= build-asan
JOBS       ?= $(shell nproc)
PYTEST     ?= /usr/bin/python3 -m pytest

.PHONY: all deps deps-test deps-bench build build-asan build-fuzz demo test unit unit-asan integration integration-asan sdk bench fuzz format clean
FUZZ_BUILD ?= build-fuzz
FUZZ_SECONDS ?= 60

all: build

deps:
	@scripts/install-deps.sh build

deps-test:
	@scripts/install-deps.sh test

deps-bench:
	@scripts/install-deps.sh bench

$(BUILD)/CMakeCache.txt:
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSY_WERROR=ON

$(ASAN_BUILD)/CMakeCache.txt:
	cmake -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DSY_WERROR=ON -DSY_SANITIZE=ON

build: deps $(BUILD)/CMakeCache.txt
	cmake --build $(BUILD) -j $(JOBS)

build-asan: deps-test $(ASAN_BUILD)/CMakeCache.txt
	cmake --build $(ASAN_BUILD) -j $(JOBS)

demo: build
	scripts/demo.sh $(BUILD)/switchyard

unit: deps-test build
	ctest --test-dir $(BUILD) --output-on-failure -j $(JOBS)

unit-asan: build-asan
	ctest --test-dir $(ASAN_BUILD) --output-on-failure -j $(JOBS)

integration: deps-test build
	SWITCHYARD_BIN=$(abspath $(BUILD))/switchyard $(PYTEST) -q tests/integration

integration-asan: build-asan
	SWITCHYARD_BIN=$(abspath $(ASAN_BUILD))/switchyard SWITCHYARD_SANITIZED=1 \
	  $(PYTEST) -q tests/integration

sdk: deps-test build
	SWITCHYARD_BIN=$(abspath $(BUILD))/switchyard tests/sdk/run.sh

test: unit integration sdk unit-asan integration-asan

# libFuzzer targets (tests/fuzz), FUZZ_SECONDS each; `make test` replays their corpora.
$(FUZZ_BUILD)/CMakeCache.txt:
	CC=clang cmake -S . -B $(FUZZ_BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSY_FUZZ=ON

build-fuzz: deps-test $(FUZZ_BUILD)/CMakeCache.txt
	cmake --build $(FUZZ_BUILD) -j $(JOBS)

fuzz: build-fuzz
	scripts/fuzz.sh $(FUZZ_BUILD) $(FUZZ_SECONDS)

# Benchmarks (docs/performance.md): policy decisions, the store thread, gateway overhead.
bench: deps-bench build
	bench/run.sh $(BUILD)

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

clean:
	rm -rf $(BUILD) $(ASAN_BUILD)
