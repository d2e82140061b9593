# raybridge: `make demo` and `make test` work on a fresh Debian machine (root, apt and pip reachable).
SHELL := /bin/bash
SWIFT ?= swift
SWIFT_BUILD_FLAGS ?=

.PHONY: all deps build release order-file image image-test lint format test unit-test integration-test compat demo bench services-up services-down clean

all: build

## Installs what is missing: libinotifytools0-dev (apt) and a venv with Ray 2.60.0 and moto (pip).
deps:
	@scripts/install-deps.sh

build: deps
	$(SWIFT) build $(SWIFT_BUILD_FLAGS) --build-tests

## The style check (.swift-format; swift format ships with the toolchain): fails on any file
## `make format` would change.
SWIFT_FORMAT_PATHS := Sources Tests Package.swift
lint:
	$(SWIFT) format lint --strict --recursive --parallel $(SWIFT_FORMAT_PATHS)

## Rewrites the files in place the way `make lint` wants them.
format:
	$(SWIFT) format format --in-place --recursive --parallel $(SWIFT_FORMAT_PATHS)

## Lint and the debug build (the venv's Ray and moto installed meanwhile), then starts a local Ray
## head and S3 (moto), runs every test, and always stops them again; then the image test (make
## image-test), whose release build runs beside the suites (scripts/test.sh).
test:
	SWIFT="$(SWIFT)" MAKE="$(MAKE)" SWIFT_BUILD_FLAGS="$(SWIFT_BUILD_FLAGS)" scripts/test.sh

## Unit tests only: no services, no Ray or moto installed (botocore only, for the SigV4 oracle).
unit-test:
	RAYBRIDGE_DEPS=build scripts/install-deps.sh
	$(SWIFT) build $(SWIFT_BUILD_FLAGS) --build-tests
	$(SWIFT) test $(SWIFT_BUILD_FLAGS) --skip-build --filter RayBridgeTests

## Integration tests only (the real binary against Ray, moto and nginx, started and stopped here).
integration-test: build
	scripts/services.sh run $(SWIFT) test $(SWIFT_BUILD_FLAGS) --skip-build --filter IntegrationTests

## The Ray-facing integration suites against each Ray release in RAY_VERSIONS (own venv each,
## .venv-ray-VERSION/, installed on demand). CI runs the oldest; `make test` covers the newest.
RAY_VERSIONS ?= 2.9.3 2.40.0 2.47.1 2.52.1 2.60.0
compat: build
	RAY_VERSIONS="$(RAY_VERSIONS)" SWIFT="$(SWIFT)" scripts/compat.sh

## A guided tour: submit, edit, kill, status files, the log in S3.
demo: build
	scripts/services.sh run scripts/demo.sh

## The binary a container runs: release mode, Swift runtime linked in (no Swift libraries needed
## on the image, and ~5 MiB less resident memory than the dynamically linked one). An idle
## sidecar's memory is mostly its code paged in, so the link keeps that small (docs/performance.md):
## - lld (the toolchain's) for what gold cannot do: relative relocations packed (DT_RELR, glibc
##   >= 2.36), 2 MB of .rela.dyn that every start read, gone;
## - without the -export-dynamic the static-stdlib link adds (for dlsym of Swift symbols: full
##   Foundation's NSClassFromString, nothing here): 35,000 exported symbols, 3 MB of tables read;
## - each function in its own section, laid out as deploy/raybridge.order lists (the functions a
##   sidecar runs, `make order-file`): together, not spread over 20 MB of code of which the kernel
##   maps 64 KiB around every page touched.
## deploy/Dockerfile builds with the same flags. A changed order file relinks (the build does not
## see it).
RELEASE_FLAGS := -Xswiftc -use-ld=lld -Xswiftc -Xfrontend -Xswiftc -function-sections \
  -Xlinker --no-export-dynamic -Xlinker -z -Xlinker pack-relative-relocs \
  -Xlinker --symbol-ordering-file=$(CURDIR)/deploy/raybridge.order -Xlinker --no-warn-symbol-ordering
release: deps
	@if [ deploy/raybridge.order -nt .build-release/release/raybridge ]; then rm -f .build-release/release/raybridge; fi
	$(SWIFT) build -c release --scratch-path .build-release --product raybridge --static-swift-stdlib $(RELEASE_FLAGS)

## deploy/raybridge.order anew, from the functions the release binary runs under valgrind against
## the local Ray and S3 (scripts/order_file.py); then `make release` links by it.
order-file: release
	RAYBRIDGE_BIN=$(CURDIR)/.build-release/release/raybridge scripts/services.sh run scripts/order-file.sh

## The container image (deploy/Dockerfile), with docker if a Docker engine answers, else podman.
## IMAGE names it (push it with `docker push` / `podman push`). IMAGE_BINARY=build compiles in the
## Dockerfile's Swift stage (needs the swift:6.3-bookworm image); IMAGE_BINARY=release puts the
## binary of `make release` into the same runtime stage (where the Swift image cannot be pulled).
## BASE_IMAGE=local builds the runtime on a Debian base made here with debootstrap (no registry).
VERSION := $(shell sed -n 's/.*string = "\(.*\)".*/\1/p' Sources/RayBridgeCore/Observability/RayBridgeVersion.swift)
IMAGE ?= raybridge:$(VERSION)
IMAGE_BINARY ?= build
BASE_IMAGE ?= docker.io/library/debian:bookworm-slim
IMAGE_DEPS := $(if $(filter release,$(IMAGE_BINARY)),release,)
image: $(IMAGE_DEPS)
	IMAGE="$(IMAGE)" IMAGE_BINARY="$(IMAGE_BINARY)" BASE_IMAGE="$(BASE_IMAGE)" scripts/image.sh build

## The image run the way Kubernetes runs it (podman; scripts/image-test.sh): builds `make release`,
## a Debian base (debootstrap, cached in .cache/) and the image, then, holding the services lock,
## runs the sidecar and an app container against a local Ray and S3.
image-test: release
	scripts/image-test.sh

## Measures the release binary against the alternatives; writes docs/benchmarks.md.
## BENCH names sections to run alone (scripts/bench.py): `make bench BENCH=revisions`, RSS after
## 50 and after 500 revisions (about 40 minutes; BENCH_REVISIONS sets the count).
BENCH ?=
bench: release
	RAYBRIDGE_BIN=$(CURDIR)/.build-release/release/raybridge scripts/services.sh run scripts/bench.sh $(BENCH)

services-up: deps
	scripts/services.sh up

services-down:
	scripts/services.sh down

clean:
	rm -rf .build .build-release .run
