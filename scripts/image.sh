#!/usr/bin/env bash
# Builds raybridge's image from deploy/Dockerfile with docker or podman (scripts/container.sh).
#
#   scripts/image.sh build   build IMAGE (default raybridge:VERSION)
#   scripts/image.sh base    make the local Debian base (debootstrap), for machines without a registry
#
# Env for build:
#   IMAGE         the tag (default raybridge:VERSION); `make image IMAGE=ghcr.io/you/raybridge:0.1.0`
#   IMAGE_BINARY  build   = the Dockerfile's Swift stage compiles the binary (needs the swift image);
#                 release = the runtime stage around `make release`'s binary (Dockerfile target
#                           `prebuilt`), for machines where the Swift image cannot be pulled
#   BASE_IMAGE    the runtime's base (default docker.io/library/debian:bookworm-slim); `local` = the debootstrap base
LOG_TAG=image
. "$(dirname "$0")/lib.sh"
. "$ROOT/scripts/container.sh"

# A Debian bookworm minbase made with debootstrap and imported into podman, for machines where no
# registry is reachable. The root filesystem is cached as a tarball under .cache/image/, so only the
# first run downloads it. Slimmed like debian:bookworm-slim: no apt lists or package cache, no
# docs, man pages or translations, and dpkg told to leave them out of later installs too.
base() {
  engine_pick
  if "${ENGINE[@]}" image inspect "$BASE_LOCAL" >/dev/null 2>&1; then
    log "base image $BASE_LOCAL present"
    return 0
  fi
  local tar="$CACHE/debian-bookworm-minbase.tar"
  if [ ! -s "$tar" ]; then
    command -v debootstrap >/dev/null || die "debootstrap is missing (apt-get install debootstrap; scripts/install-deps.sh does it)"
    [ "$(id -u)" -eq 0 ] || die "debootstrap needs root to make the base image"
    local dir="$CACHE/rootfs"
    rm -rf "$dir"
    mkdir -p "$CACHE"
    log "debootstrap --variant=minbase bookworm (once; cached in $tar)"
    local t0; t0=$(now_ms)
    debootstrap --variant=minbase bookworm "$dir" http://deb.debian.org/debian >"$CACHE/debootstrap.log" 2>&1 ||
      die "debootstrap failed; its log: $CACHE/debootstrap.log"
    rm -rf "$dir"/var/cache/apt/archives/*.deb "$dir"/var/cache/apt/*.bin "$dir"/var/lib/apt/lists/* \
      "$dir"/usr/share/doc/* "$dir"/usr/share/man/* "$dir"/usr/share/info/* "$dir"/usr/share/locale/*
    cat >"$dir/etc/dpkg/dpkg.cfg.d/raybridge-slim" <<'CFG'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
CFG
    printf 'APT::Install-Recommends "false";\nBinary::apt::APT::Keep-Downloaded-Packages "false";\n' \
      >"$dir/etc/apt/apt.conf.d/raybridge-slim"
    tar -C "$dir" --numeric-owner -cf "$tar.tmp" . && mv "$tar.tmp" "$tar"
    rm -rf "$dir"
    log "debootstrap took $((($(now_ms) - t0) / 1000)) s"
  fi
  log "importing $tar as $BASE_LOCAL"
  "${ENGINE[@]}" import "$tar" "$BASE_LOCAL" >/dev/null
}

build() {
  engine_pick
  local image=${IMAGE:-raybridge:$VERSION} binary=${IMAGE_BINARY:-build} base_image=${BASE_IMAGE:-docker.io/library/debian:bookworm-slim}
  local args=(build -f deploy/Dockerfile -t "$image" --build-arg "VERSION=$VERSION"
    --build-arg "REVISION=$(git rev-parse HEAD 2>/dev/null || echo unknown)")
  case $binary in
    build) args+=(--target image) ;;
    release)
      [ -x .build-release/release/raybridge ] || die "no .build-release/release/raybridge: run make release first"
      # As the Dockerfile's Swift stage does: without DWARF (a third of the file), symbols kept.
      mkdir -p .build-release/image
      if command -v strip >/dev/null; then
        strip --strip-debug -o .build-release/image/raybridge .build-release/release/raybridge
      else
        log "no strip (binutils) here: the image gets the binary with its debug info"
        cp .build-release/release/raybridge .build-release/image/raybridge
      fi
      args+=(--target prebuilt)
      ;;
    *) die "IMAGE_BINARY must be build or release, found '$binary'" ;;
  esac
  if [ "$base_image" = local ]; then
    base
    base_image=$BASE_LOCAL
  fi
  args+=(--build-arg "BASE_IMAGE=$base_image")
  # A locally made base exists in no registry: never try to pull it (podman would).
  if [ "${ENGINE[0]}" = podman ] && [ "$base_image" = "$BASE_LOCAL" ]; then args+=(--pull=never); fi
  log "${ENGINE[*]} ${args[*]} ."
  local t0 previous current
  t0=$(now_ms)
  previous=$("${ENGINE[@]}" image inspect --format '{{.Id}}' "$image" 2>/dev/null || true)
  "${ENGINE[@]}" "${args[@]}" .
  log "built $image in $((($(now_ms) - t0) / 1000)) s"
  # The image this tag named before would be left untagged (a quarter GB per rebuild); in use, it stays.
  current=$("${ENGINE[@]}" image inspect --format '{{.Id}}' "$image")
  if [ -n "$previous" ] && [ "$previous" != "$current" ]; then
    "${ENGINE[@]}" rmi "$previous" >/dev/null 2>&1 || true
  fi
}

case ${1:-} in
  build) build ;;
  base) base ;;
  *) echo "usage: $0 build | base" >&2; exit 2 ;;
esac
