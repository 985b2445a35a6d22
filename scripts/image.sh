#!/usr/bin/env bash
# Builds the runtime image of one variant from a prebuilt linux binary, with
# docker when a docker engine answers, else podman (CONTAINER_ENGINE=podman
# or docker forces one). No base image is pulled (see Dockerfile).
#
#   scripts/image.sh engine      print the engine that would be used
#   scripts/image.sh build VARIANT BINARY ARCH VERSION REVISION TAG...
#   scripts/image.sh release DIST IMAGE VERSION REVISION
#
# release builds every variant for linux amd64 and arm64 from goreleaser's
# binaries in DIST, tagged IMAGE:VERSION-<variant>-<arch>, and
# IMAGE:VERSION-<variant> (the host arch's image).
#
# ARCH is amd64 or arm64 and must be the binary's; VERSION goes in the
# labels as given. Every TAG names the one image built.
set -euo pipefail
caller=$PWD # relative BINARY and DIST arguments are relative to it
cd "$(dirname "$0")/.."
# The toolchain of go.mod's go line, as the Makefile sets it (cmd/variants
# needs it; a plain shell's go may be older and say GOTOOLCHAIN=local).
GOTOOLCHAIN=go$(sed -n 's/^go \([0-9][0-9.]*\)$/\1/p' go.mod)
[ "$GOTOOLCHAIN" != go ] || { echo "image: cannot read the go version from go.mod" >&2; exit 1; }
export GOTOOLCHAIN

abs() { case $1 in /*) echo "$1" ;; *) echo "$caller/$1" ;; esac; }

engine() {
  if [ -n "${CONTAINER_ENGINE:-}" ]; then
    echo "$CONTAINER_ENGINE"
  elif command -v docker >/dev/null 2>&1 && docker info >/dev/null 2>&1; then
    echo docker
  elif command -v podman >/dev/null 2>&1; then
    echo podman
  else
    echo "image: no docker engine answers and podman is not installed (scripts/test-deps.sh installs podman)" >&2
    return 1
  fi
}

# The ELF machine field of the binary (bytes 18-19, little-endian).
elf_arch() {
  case "$(od -An -tx1 -j18 -N2 "$1" | tr -d ' \n')" in
    3e00) echo amd64 ;;
    b700) echo arm64 ;;
    *) echo unknown ;;
  esac
}

ca_bundle() {
  for f in "${SSL_CERT_FILE:-}" /etc/ssl/certs/ca-certificates.crt /etc/pki/tls/certs/ca-bundle.crt /etc/ssl/cert.pem; do
    if [ -n "$f" ] && [ -s "$f" ]; then echo "$f"; return; fi
  done
  echo "image: no CA bundle found (install ca-certificates or set SSL_CERT_FILE)" >&2
  return 1
}

build() {
  if [ $# -lt 6 ]; then
    echo "usage: scripts/image.sh build VARIANT BINARY ARCH VERSION REVISION TAG..." >&2
    return 2
  fi
  local variant=$1 bin arch=$3 version=$4 revision=$5
  bin=$(abs "$2")
  shift 5
  local groups eng ca ctx
  groups=$(go run ./cmd/variants groups "$variant") # fails on an unknown variant
  [ "$(head -c 4 "$bin" | od -An -c | tr -d ' ')" = '177ELF' ] || { echo "image: $bin is not a linux (ELF) binary" >&2; return 1; }
  [ "$(elf_arch "$bin")" = "$arch" ] || { echo "image: $bin is $(elf_arch "$bin"), not $arch" >&2; return 1; }
  eng=$(engine)
  ca=$(ca_bundle)
  ctx=$(mktemp -d)
  trap 'rm -rf "$ctx"; trap - RETURN' RETURN
  mkdir "$ctx/data"
  cp Dockerfile "$ctx/Dockerfile"
  cp "$bin" "$ctx/advanced-backend"
  chmod 0755 "$ctx/advanced-backend"
  cp "$ca" "$ctx/ca-certificates.crt"
  chmod 0644 "$ctx/ca-certificates.crt"
  printf 'root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/data:/sbin/nologin\n' >"$ctx/passwd"
  printf 'root:x:0:\nnonroot:x:65532:\n' >"$ctx/group"
  local args=(build --platform "linux/$arch"
    --build-arg "VARIANT=$variant" --build-arg "GROUPS=$groups"
    --build-arg "VERSION=$version" --build-arg "REVISION=$revision")
  # podman writes OCI images by default, and OCI has no HEALTHCHECK; without
  # --layers=false it keeps an intermediate image per instruction.
  [ "$eng" = podman ] && args+=(--format docker --layers=false)
  for t in "$@"; do args+=(-t "$t"); done
  echo "image: $eng build $variant ($arch) from $bin -> $*"
  "$eng" "${args[@]}" "$ctx"
  local got
  got=$("$eng" image inspect --format '{{.Os}}/{{.Architecture}}' "$1")
  [ "$got" = "linux/$arch" ] || { echo "image: $1 is $got, not linux/$arch" >&2; return 1; }
}

release() {
  if [ $# -ne 4 ]; then
    echo "usage: scripts/image.sh release DIST IMAGE VERSION REVISION" >&2
    return 2
  fi
  local dist image=$2 version=$3 revision=$4 variant arch bins ref host eng
  dist=$(abs "$1")
  eng=$(engine)
  host=$(go env GOARCH)
  for variant in $(go run ./cmd/variants list); do
    ref="$image:$version-$variant"
    for arch in amd64 arm64; do
      bins=("$dist/${variant}_linux_${arch}"_*/advanced-backend)
      if [ ${#bins[@]} -ne 1 ] || [ ! -f "${bins[0]}" ]; then
        echo "image: want one linux/$arch binary of $variant in $dist, found ${bins[*]} (make release-snapshot first)" >&2
        return 1
      fi
      build "$variant" "${bins[0]}" "$arch" "v$version" "$revision" "$ref-$arch"
    done
    # The host arch's image. Not a manifest list: docker's need a registry,
    # and podman 4.3's local ones break `podman images`; push the two
    # images and make the list in the registry.
    "$eng" tag "$ref-$host" "$ref"
    echo "image: $ref -> $ref-$host"
  done
}

case "${1:-}" in
  engine) engine ;;
  build) shift; build "$@" ;;
  release) shift; release "$@" ;;
  *) echo "usage: scripts/image.sh engine | build VARIANT BINARY ARCH VERSION REVISION TAG... | release DIST IMAGE VERSION REVISION" >&2; exit 2 ;;
esac
