#!/usr/bin/env bash
# Builds the gateway image localhost/flotel-gateway:VERSION with podman, with no registry and no download
# (docs/deploy.md, "The gateway image"). The image starts FROM scratch; this script assembles its root filesystem
# from files already on this machine:
#   /app                     APP_DIR: a linux-x64 build of src/Flotel.Cli (pdb/xml files, other RIDs' native
#                            libraries and RID-specific build folders left out); /app/flotel is the entry point
#   /usr/lib/dotnet          only for a framework-dependent APP_DIR: hostfxr and the shared frameworks its
#                            flotel.runtimeconfig.json names (Microsoft.NETCore.App, Microsoft.AspNetCore.App), the
#                            highest installed patch of the same major version, from this machine's .NET install
#   /lib…, /usr/lib…         every shared library `ldd` finds for the ELF files above, at the same paths, plus
#                            libssl.so.3 and libcrypto.so.3 (.NET opens OpenSSL with dlopen, so ldd cannot see it)
#   /etc/ssl/certs/ca-certificates.crt, /etc/passwd, /etc/group (uid/gid 1654 "app"), /tmp
# then runs `podman build -f deploy/container/Containerfile` on it (one layer). No RUN step: nothing executes at build time.
#
# Usage: deploy/container/build.sh VERSION APP_DIR [--save FILE]
#   VERSION      the image tag, MAJOR.MINOR.PATCH[-PRERELEASE] (release.sh passes its version)
#   APP_DIR      self-contained (`dotnet publish src/Flotel.Cli -c Release -r linux-x64 --self-contained`, what
#                release.sh publishes) or framework-dependent (`dotnet build src/Flotel.Cli -c Release`: its
#                bin/Release/net10.0, which the test suite builds anyway)
#   --save FILE  also write the image as an OCI archive (podman save --format oci-archive), for `podman load` or
#                `ctr -n k8s.io images import` on a machine without a registry
# Needs: podman, ldd, ldconfig (Debian: apt-get install podman libc-bin), OpenSSL 3 (libssl3) and ca-certificates.
set -euo pipefail

die() { echo "build.sh: error: $*" >&2; exit 1; }
step() { echo "build.sh: [$(date -u +%H:%M:%S)] $*"; }

[ $# -eq 2 ] || [ $# -eq 4 ] || die "usage: deploy/container/build.sh VERSION APP_DIR [--save FILE]"
version=$1 app=$2 save=
if [ $# -eq 4 ]; then
  [ "$3" = --save ] || die "unknown option '$3' (usage: deploy/container/build.sh VERSION APP_DIR [--save FILE])"
  save=$4
fi
[[ $version =~ ^[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.]+)?$ ]] \
  || die "version '$version' is not MAJOR.MINOR.PATCH or MAJOR.MINOR.PATCH-PRERELEASE"
[ -d "$app" ] || die "APP_DIR '$app' is not a directory"
[ -x "$app/flotel" ] || die "APP_DIR '$app' has no executable 'flotel' (a linux-x64 build of src/Flotel.Cli)"
for tool in podman ldd ldconfig; do
  command -v "$tool" >/dev/null || die "$tool is missing (Debian: apt-get install podman libc-bin)"
done
here=$(cd "$(dirname "$0")" && pwd)
image=localhost/flotel-gateway:$version

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
root=$work/rootfs
mkdir -p "$root/app" "$root/etc/ssl/certs" "$root/tmp" "$work/data"
chmod 1777 "$root/tmp"

step "copying the application from $app"
cp -a "$app"/. "$root/app/"
find "$root/app" -type f \( -name '*.pdb' -o -name '*.dbg' -o -name '*.xml' \) -delete
# bin/Release/net10.0/linux-x64/ and the like: the output of a RID-specific build of the same project (release.sh's
# publish leaves one), not part of this build. Satellite resource folders (de, pt-BR, zh-Hans) stay.
find "$root/app" -mindepth 1 -maxdepth 1 -type d -regextype posix-extended \
  -regex '.*/[a-z]+(-musl)?-(x64|x86|arm|arm64|armel|armv6|riscv64|s390x|ppc64le|loongarch64|mips64|wasm)' -exec rm -rf {} +
if [ -d "$root/app/runtimes" ]; then
  find "$root/app/runtimes" -mindepth 1 -maxdepth 1 ! -name linux-x64 -exec rm -rf {} +
fi

runtimeconfig=$app/flotel.runtimeconfig.json
if [ -f "$runtimeconfig" ] && grep -q '"frameworks"' "$runtimeconfig"; then
  dotnet_root=${DOTNET_ROOT:-}
  if [ -z "$dotnet_root" ]; then
    command -v dotnet >/dev/null || die "APP_DIR is framework-dependent and no .NET install was found (set DOTNET_ROOT)"
    dotnet_root=$(dirname "$(readlink -f "$(command -v dotnet)")")
  fi
  step "framework-dependent build: copying the .NET runtime from $dotnet_root"
  # "name": "Microsoft.NETCore.App", "version": "10.0.0" pairs, in order.
  mapfile -t frameworks < <(sed -n 's/.*"name": *"\([^"]*\)".*/\1/p' "$runtimeconfig")
  mapfile -t versions < <(sed -n 's/.*"version": *"\([^"]*\)".*/\1/p' "$runtimeconfig")
  [ ${#frameworks[@]} -gt 0 ] && [ ${#frameworks[@]} -eq ${#versions[@]} ] || die "cannot read the frameworks of $runtimeconfig"
  for i in "${!frameworks[@]}"; do
    name=${frameworks[$i]} major=${versions[$i]%%.*}
    # The default roll-forward policy (Minor) accepts any installed version of the same major; take the newest.
    installed=$(ls "$dotnet_root/shared/$name" 2>/dev/null | grep -E "^$major\.[0-9]+\.[0-9]+$" | sort -V | tail -n 1 || true)
    [ -n "$installed" ] || die "$name $major.x is not installed under $dotnet_root/shared (the build needs ${versions[$i]})"
    mkdir -p "$root/usr/lib/dotnet/shared/$name"
    cp -a "$dotnet_root/shared/$name/$installed" "$root/usr/lib/dotnet/shared/$name/"
  done
  fxr=$(ls "$dotnet_root/host/fxr" | sort -V | tail -n 1)
  mkdir -p "$root/usr/lib/dotnet/host/fxr"
  cp -a "$dotnet_root/host/fxr/$fxr" "$root/usr/lib/dotnet/host/fxr/"
fi
# The runtime's LTTng trace provider needs liblttng-ust and is loaded only if present; the debugger libraries are not
# used. Both come with the shared runtime and with a self-contained build that is not a single file.
find "$root" -type f \( -name libcoreclrtraceptprovider.so -o -name libmscordbi.so -o -name libmscordaccore.so \) -delete

step "copying the shared libraries"
copy_file() { # copy_file PATH: the file at the same path in the image, symbolic links resolved
  [ -e "$root$1" ] && return 0
  mkdir -p "$root$(dirname "$1")"
  cp -L "$1" "$root$1"
}
for soname in libssl.so.3 libcrypto.so.3; do
  # awk reads to the end: an early exit would make ldconfig die of SIGPIPE, and pipefail end this script.
  path=$(ldconfig -p | awk -v n="$soname" '$1 == n && /x86-64/ {print $NF}')
  path=${path%%$'\n'*}
  [ -n "$path" ] || die "$soname is not installed (Debian: apt-get install libssl3); the gateway needs it for TLS"
  copy_file "$path"
done
mapfile -t elves < <(find "$root" -type f \( -perm -u+x -o -name '*.so' -o -name '*.so.*' \) -print)
for file in "${elves[@]}"; do
  [ "$(head -c 4 "$file" | od -An -tx1 | tr -d ' \n')" = 7f454c46 ] || continue
  listing=$(ldd "$file" 2>&1) || continue   # static executables and non-loadable files: nothing to add
  if grep -q 'not found' <<<"$listing"; then
    die "${file#"$root"} needs a library this machine does not have: $(grep 'not found' <<<"$listing" | tr -s ' \t' ' ')"
  fi
  # "libc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x…)" and the loader line "/lib64/ld-linux-x86-64.so.2 (0x…)"
  while read -r lib; do
    copy_file "$lib"
  done < <(awk '$2 == "=>" && $3 ~ /^\// {print $3} $1 ~ /^\// {print $1}' <<<"$listing")
done

certificates=
for bundle in /etc/ssl/certs/ca-certificates.crt /etc/pki/tls/certs/ca-bundle.crt; do
  [ -f "$bundle" ] && { certificates=$bundle; break; }
done
[ -n "$certificates" ] || die "no CA certificate bundle (Debian: apt-get install ca-certificates)"
cp -L "$certificates" "$root/etc/ssl/certs/ca-certificates.crt"
printf 'root:x:0:0:root:/root:/sbin/nologin\napp:x:1654:1654:flotel gateway:/var/lib/flotel:/sbin/nologin\n' > "$root/etc/passwd"
printf 'root:x:0:\napp:x:1654:\n' > "$root/etc/group"

step "podman build -t $image ($(du -sh "$root" | cut -f1) root filesystem)"
podman build --quiet --pull=never --layers=false -f "$here/Containerfile" -t "$image" \
  --label "org.opencontainers.image.version=$version" --label "org.opencontainers.image.title=flotel-gateway" \
  "$work" >/dev/null || die "podman build failed"

if [ -n "$save" ]; then
  step "podman save --format oci-archive -o $save"
  rm -f "$save"
  podman save --quiet --format oci-archive -o "$save" "$image" || die "podman save failed"
fi
step "done: $image"
