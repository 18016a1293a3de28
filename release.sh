#!/usr/bin/env bash
# Builds a Flotel release into dist/ (docs/deploy.md, "Releases"):
#   flotel-VERSION-linux-{x64,arm64}.tar.gz        the full CLI, self-contained (no .NET needed on the machine)
#   flotel-agent-VERSION-linux-{x64,arm64}.tar.gz  the device build (NativeAOT), its systemd unit, example manifests
#   flotel-agent_VERSION_{amd64,arm64}.deb         the agent as Debian packages
#   flotel-agent-VERSION-1.{x86_64,aarch64}.rpm    the agent as RPM packages
#   flotel-gateway-VERSION-linux-x64.oci.tar       with --image: the gateway image localhost/flotel-gateway:VERSION
#                                                  (deploy/container/build.sh from the x64 CLI; podman save)
#   SHA256SUMS
# Every binary reports VERSION+COMMIT for --version (-p:FlotelVersion, Directory.Build.props).
# Needs: the .NET SDK, clang, llvm, gcc-aarch64-linux-gnu and libc6-dev-arm64-cross (NativeAOT for arm64 is
# cross-compiled here), dpkg-deb, rpmbuild (Debian package rpm); qemu-user-static to check the arm64 binary;
# with --image also podman (no registry is contacted).
#
# Usage: ./release.sh [--image] VERSION     e.g. ./release.sh 1.4.0  or  ./release.sh --image 1.4.0-rc.1
set -euo pipefail
cd "$(dirname "$0")"

die() { echo "release.sh: error: $*" >&2; exit 1; }
step() { echo "release.sh: [$(date -u +%H:%M:%S)] $*"; }

image=false
if [ "${1:-}" = --image ]; then image=true; shift; fi
[ $# -eq 1 ] || die "usage: ./release.sh [--image] VERSION (e.g. 1.4.0)"
version=$1
[[ $version =~ ^[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.]+)?$ ]] \
  || die "version '$version' is not MAJOR.MINOR.PATCH or MAJOR.MINOR.PATCH-PRERELEASE"

# command -> Debian package that provides it
missing=()
for need in dotnet:dotnet-sdk clang:clang llvm-objcopy:llvm aarch64-linux-gnu-gcc:gcc-aarch64-linux-gnu \
  /usr/aarch64-linux-gnu/lib/libc.so:libc6-dev-arm64-cross dpkg-deb:dpkg rpmbuild:rpm sha256sum:coreutils readelf:binutils \
  qemu-aarch64-static:qemu-user-static git:git $($image && echo podman:podman); do
  cmd=${need%%:*}
  if [ "${cmd#/}" != "$cmd" ]; then [ -e "$cmd" ] || missing+=("${need#*:}")
  else command -v "$cmd" >/dev/null || missing+=("${need#*:}"); fi
done
[ ${#missing[@]} -eq 0 ] || die "missing build tools; install them with: apt-get install ${missing[*]}"

commit=$(git rev-parse HEAD)
git diff --quiet HEAD -- || echo "release.sh: warning: the work tree has uncommitted changes; binaries report commit $commit"
build=obj/release
rm -rf dist "$build"
mkdir -p dist "$build"

for arch in x64 arm64; do
  step "linux-$arch: publishing the full CLI (self-contained, single file)"
  dotnet publish src/Flotel.Cli -c Release -r "linux-$arch" --self-contained -p:PublishSingleFile=true \
    -p:FlotelVersion="$version" -o "$build/cli-$arch" --nologo -v q \
    || die "dotnet publish src/Flotel.Cli -r linux-$arch failed"
  step "linux-$arch: publishing the device build (NativeAOT)"
  dotnet publish src/Flotel.Device -c Release -r "linux-$arch" -p:FlotelVersion="$version" -o "$build/device-$arch" --nologo -v q \
    || die "dotnet publish src/Flotel.Device -r linux-$arch failed (NativeAOT needs clang; for arm64 also gcc-aarch64-linux-gnu and libc6-dev-arm64-cross)"

  step "linux-$arch: checking --version"
  if [ "$arch" = x64 ]; then run=(); else run=(qemu-aarch64-static -L /usr/aarch64-linux-gnu); fi
  for binary in "$build/cli-$arch/flotel" "$build/device-$arch/flotel"; do
    reported=$("${run[@]}" "$binary" --version) || die "$binary --version failed"
    [ "$reported" = "$version+$commit" ] || die "$binary --version reports '$reported', expected '$version+$commit'"
  done

  if $image && [ "$arch" = x64 ]; then
    # Before packaging: package.sh's SHA256SUMS then covers the image archive too.
    step "linux-x64: the gateway image localhost/flotel-gateway:$version"
    deploy/container/build.sh "$version" "$build/cli-x64" --save "dist/flotel-gateway-$version-linux-x64.oci.tar" \
      || die "deploy/container/build.sh failed"
  fi

  step "linux-$arch: packaging"
  deploy/packaging/package.sh "$version" "$arch" "$build/device-$arch/flotel" "$build/cli-$arch" dist
done

# What a user downloads, checked as they would use it: every artifact's flotel, unpacked from the artifact itself,
# reports the release's VERSION+COMMIT (the full CLI and the device build alike), and SHA256SUMS verifies.
step "checking the artifacts in dist/"
check=$build/check
for arch in x64 arm64; do
  case $arch in x64) debarch=amd64 rpmarch=x86_64 run=() ;; arm64) debarch=arm64 rpmarch=aarch64 run=(qemu-aarch64-static -L /usr/aarch64-linux-gnu) ;; esac
  pkgversion=${version//-/\~}
  for artifact in "flotel-$version-linux-$arch.tar.gz" "flotel-agent-$version-linux-$arch.tar.gz" \
    "flotel-agent_${pkgversion}_$debarch.deb" "flotel-agent-$pkgversion-1.$rpmarch.rpm"; do
    [ -f "dist/$artifact" ] || die "dist/$artifact is missing"
    rm -rf "$check" && mkdir -p "$check"
    case $artifact in
      *.tar.gz) tar -xzf "dist/$artifact" -C "$check" && binary=$(echo "$check"/*/flotel) ;;
      *.deb) dpkg-deb -x "dist/$artifact" "$check" && binary=$check/usr/bin/flotel ;;
      *.rpm) rpm2archive - < "dist/$artifact" | tar -xz -C "$check" && binary=$check/usr/bin/flotel ;;
    esac
    [ -x "$binary" ] || die "dist/$artifact holds no executable flotel"
    reported=$("${run[@]}" "$binary" --version) || die "flotel --version from dist/$artifact failed"
    [ "$reported" = "$version+$commit" ] || die "flotel from dist/$artifact reports '$reported', expected '$version+$commit'"
    echo "release.sh: dist/$artifact: flotel --version = $reported"
  done
done
if $image; then [ -f "dist/flotel-gateway-$version-linux-x64.oci.tar" ] || die "dist/flotel-gateway-$version-linux-x64.oci.tar is missing"; fi
(cd dist && sha256sum --quiet -c SHA256SUMS) || die "dist/SHA256SUMS does not verify"
rm -rf "$check"

step "done: $(cd dist && ls | tr '\n' ' ')"
