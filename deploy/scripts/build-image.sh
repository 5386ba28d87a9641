#!/bin/sh
# build-image.sh: the release build of the vpc-ipam image.
#
# Pins what it pulls: every base image must be given by digest (name@sha256:<64 hex>), read from
# deploy/images.env or the environment; a floating tag is refused unless VPC_IPAM_ALLOW_FLOATING=true
# (development builds only). Builds for every platform in PLATFORMS, with an SBOM and max-mode provenance
# attestation, and pushes to IMAGE (or loads locally with PUSH=false, single platform only).
#
# Variables (defaults in brackets):
#   IMAGE [ghcr.io/vpc-ipam/vpc-ipam:<package.json version>]
#   NODE_IMAGE, GO_IMAGE                 base images, name@sha256:... (no default: see deploy/images.env)
#   CNI_PLUGINS_VERSION [v1.6.2]         containernetworking/plugins release (a vX.Y.Z tag)
#   PLATFORMS [linux/amd64,linux/arm64]
#   PUSH [true]
#   VPC_IPAM_ALLOW_FLOATING [false]      true: accept tags without a digest (never for a release)
#   DRY_RUN [false]                      true: print the docker command instead of running it
set -eu
cd "$(dirname "$0")/../.."

die() { printf 'build-image: error: %s\n' "$*" >&2; exit 2; }

# Digests recorded by whoever cut the last release (after verifying them with `docker buildx imagetools
# inspect`); the environment overrides them. The file is optional and holds NAME=value lines only.
if [ -f deploy/images.env ]; then
  while IFS='=' read -r k v; do
    case "$k" in
      NODE_IMAGE | GO_IMAGE | CNI_PLUGINS_VERSION) eval "[ -n \"\${$k:-}\" ] || $k=\$v" ;;
      '' | \#*) ;;
      *) die "deploy/images.env: unexpected line '$k=...'" ;;
    esac
  done < deploy/images.env
fi

version=$(sed -n 's/^  "version": "\([^"]*\)",$/\1/p' package.json | head -n 1)
IMAGE=${IMAGE:-ghcr.io/vpc-ipam/vpc-ipam:$version}
CNI_PLUGINS_VERSION=${CNI_PLUGINS_VERSION:-v1.6.2}
PLATFORMS=${PLATFORMS:-linux/amd64,linux/arm64}
PUSH=${PUSH:-true}
ALLOW=${VPC_IPAM_ALLOW_FLOATING:-false}

pinned() {
  # $1: variable name, $2: value
  [ -n "$2" ] || die "$1 is not set (a base image as name@sha256:<digest>; see docs/install.md, Building the image)"
  case "$2" in
    *[!A-Za-z0-9._:/@-]*) die "$1='$2' has characters an image reference cannot have" ;;
  esac
  if ! printf '%s' "$2" | grep -Eq '@sha256:[0-9a-f]{64}$'; then
    [ "$ALLOW" = true ] || die "$1='$2' is a floating tag; pin it as name@sha256:<digest>" \
      "(or set VPC_IPAM_ALLOW_FLOATING=true for a development build)"
    printf 'build-image: warning: %s=%s is not pinned (VPC_IPAM_ALLOW_FLOATING=true)\n' "$1" "$2" >&2
  fi
}
pinned NODE_IMAGE "${NODE_IMAGE:-}"
pinned GO_IMAGE "${GO_IMAGE:-}"
printf '%s' "$CNI_PLUGINS_VERSION" | grep -Eq '^v[0-9]+\.[0-9]+\.[0-9]+$' \
  || die "CNI_PLUGINS_VERSION='$CNI_PLUGINS_VERSION' is not a vX.Y.Z release"
printf '%s' "$IMAGE" | grep -Eq '^[a-z0-9./:_-]+$' || die "IMAGE='$IMAGE' is not an image reference"

case "$PUSH" in
  true) out=--push ;;
  false)
    case "$PLATFORMS" in
      *,*) die "PUSH=false loads into the local engine, which takes one platform; set PLATFORMS" ;;
    esac
    out=--load ;;
  *) die "PUSH must be true or false" ;;
esac

set -- docker buildx build -f deploy/Dockerfile \
  --platform "$PLATFORMS" \
  --build-arg "NODE_IMAGE=$NODE_IMAGE" \
  --build-arg "GO_IMAGE=$GO_IMAGE" \
  --build-arg "CNI_PLUGINS_VERSION=$CNI_PLUGINS_VERSION" \
  --sbom=true --provenance=mode=max \
  --label "org.opencontainers.image.version=$version" \
  -t "$IMAGE" "$out" .
if [ "${DRY_RUN:-false}" = true ]; then
  printf '%s\n' "$*"
else
  exec "$@"
fi
