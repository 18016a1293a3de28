#!/usr/bin/env bash
# Packages one architecture of a Flotel release into DIST (release.sh runs it once per architecture):
#   flotel-VERSION-linux-ARCH.tar.gz         the full CLI (the self-contained publish of src/Flotel.Cli, CLI_DIR)
#   flotel-agent-VERSION-linux-ARCH.tar.gz   the device build, its systemd unit and the example manifests
#   flotel-agent_DEBVERSION_DEBARCH.deb      the agent as a Debian package (dpkg-deb)
#   flotel-agent-RPMVERSION-1.RPMARCH.rpm    the agent as an RPM package (rpmbuild)
# and rewrites DIST/SHA256SUMS over every artifact in DIST (the gateway image's .oci.tar included, release.sh --image).
#
# Usage: deploy/packaging/package.sh VERSION ARCH DEVICE_BINARY CLI_DIR DIST
#   VERSION        the release version (as passed to the build with -p:FlotelVersion), e.g. 1.4.0 or 1.4.0-rc.1
#   ARCH           x64 or arm64
#   DEVICE_BINARY  the NativeAOT device build (dotnet publish src/Flotel.Device -r linux-ARCH), one file
#   CLI_DIR        the directory of the full CLI's publish for linux-ARCH
#   DIST           output directory
#
# Package layout: /usr/bin/flotel, /usr/lib/systemd/system/flotel-agent.service, a podman.socket drop-in that lets the
# flotel group use podman's rootful socket, /etc/flotel/agent.env and /etc/flotel/manifests/ (configuration: kept on
# upgrade, .deb conffiles / %config(noreplace)), data in /var/lib/flotel owned by the `flotel` system user that the
# install script creates. Upgrades and removal keep /var/lib/flotel; only `dpkg --purge` deletes it and the user.
set -euo pipefail

die() { echo "package.sh: $*" >&2; exit 1; }
[ $# -eq 5 ] || die "usage: package.sh VERSION ARCH DEVICE_BINARY CLI_DIR DIST"
version=$1 arch=$2 device=$3 cli=$4 dist=$5
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)

[[ $version =~ ^[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.]+)?$ ]] \
  || die "version '$version' is not MAJOR.MINOR.PATCH or MAJOR.MINOR.PATCH-PRERELEASE"
case $arch in
  x64) debarch=amd64 rpmarch=x86_64 ;;
  arm64) debarch=arm64 rpmarch=aarch64 ;;
  *) die "architecture '$arch' is not x64 or arm64" ;;
esac
[ -f "$device" ] || die "device build '$device' does not exist"
[ -d "$cli" ] || die "CLI directory '$cli' does not exist"
for tool in dpkg-deb rpmbuild sha256sum tar gzip readelf; do
  command -v "$tool" >/dev/null || die "$tool is missing (Debian: apt-get install dpkg rpm coreutils tar gzip binutils)"
done
mkdir -p "$dist"
dist=$(cd "$dist" && pwd)

# A pre-release sorts before its release in both formats only with '~' (1.4.0~rc.1 < 1.4.0).
pkgversion=${version//-/\~}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

echo "package.sh: linux-$arch: CLI tarball"
mkdir -p "$work/cli/flotel-$version-linux-$arch"
cp -a "$cli"/. "$work/cli/flotel-$version-linux-$arch/"
rm -f "$work/cli/flotel-$version-linux-$arch"/*.pdb "$work/cli/flotel-$version-linux-$arch"/*.dbg "$work/cli/flotel-$version-linux-$arch"/*.xml
tar -C "$work/cli" --owner=0 --group=0 -czf "$dist/flotel-$version-linux-$arch.tar.gz" "flotel-$version-linux-$arch"

echo "package.sh: linux-$arch: agent tarball"
agent=$work/agent/flotel-agent-$version-linux-$arch
mkdir -p "$agent/examples"
install -m 0755 "$device" "$agent/flotel"
install -m 0644 "$repo/deploy/systemd/flotel-agent.service" "$agent/flotel-agent.service"
cp -a "$repo/examples/blog" "$agent/examples/blog"
tar -C "$work/agent" --owner=0 --group=0 -czf "$dist/flotel-agent-$version-linux-$arch.tar.gz" "flotel-agent-$version-linux-$arch"

# The installed tree, shared by both packages.
root=$work/root
install -D -m 0755 "$device" "$root/usr/bin/flotel"
install -D -m 0644 "$here/flotel-agent.service" "$root/usr/lib/systemd/system/flotel-agent.service"
install -D -m 0644 "$here/podman-socket-flotel.conf" "$root/usr/lib/systemd/system/podman.socket.d/flotel.conf"
install -D -m 0600 "$here/agent.env" "$root/etc/flotel/agent.env"   # may hold an enrolment token
install -d -m 0755 "$root/etc/flotel/manifests" "$root/var/lib/flotel" "$root/usr/share/doc/flotel-agent/examples"
cp -a "$repo/examples/blog" "$root/usr/share/doc/flotel-agent/examples/blog"
# Dependencies (the same in both formats). Required: the C library, at least the newest symbol version the binary
# links (NativeAOT binaries need only libc, libm and the loader), and what the install script runs. Recommended,
# not required: podman (with catatonit for the pods' infra containers; podman brings its own OCI runtime) runs the
# EdgeWorkloads and node_exporter gives the system metrics, but an agent without workloads, or one scraping another
# node_exporter, runs without them. Debian and RPM (4.12+) both install recommendations by default.
glibc=$(readelf --version-info --wide "$device" | grep -o 'Name: GLIBC_[0-9][0-9.]*' | sed 's/Name: GLIBC_//' | sort -V | tail -n 1)
[ -n "$glibc" ] || die "cannot read the GLIBC symbol versions of '$device' (readelf, Debian package binutils)"
summary="Flotel agent: runs a device's EdgeWorkloads, forwards their logs and pushes metrics"
description="The device build of flotel (flotel agent, flotel check --manifests): runs the EdgeWorkloads of its
manifests with podman, forwards their logs over syslog and pushes node_exporter and workload metrics by
Prometheus remote write to a Flotel gateway."

echo "package.sh: linux-$arch: flotel-agent_${pkgversion}_$debarch.deb"
deb=$work/deb
cp -a "$root" "$deb"
mkdir -p "$deb/DEBIAN"
size=$(du -sk "$deb" | cut -f1)
cat > "$deb/DEBIAN/control" <<EOF
Package: flotel-agent
Version: $pkgversion
Architecture: $debarch
Maintainer: Flotel <flotel@users.noreply.github.com>
Installed-Size: $size
Depends: adduser, libc6 (>= $glibc)
Recommends: podman, catatonit, prometheus-node-exporter
Section: admin
Priority: optional
Homepage: https://github.com/flotel/flotel
Description: $summary
$(printf '%s\n' "$description" | sed 's/^/ /')
EOF
printf '/etc/flotel/agent.env\n' > "$deb/DEBIAN/conffiles"
cat > "$deb/DEBIAN/postinst" <<'EOF'
#!/bin/sh
set -e
if [ "$1" = configure ]; then
  if ! getent passwd flotel >/dev/null; then
    adduser --system --group --home /var/lib/flotel --no-create-home --gecos "Flotel agent" flotel >/dev/null
  fi
  # The data directory keeps its contents across upgrades; only its owner and mode are set here.
  chown flotel:flotel /var/lib/flotel
  chmod 0750 /var/lib/flotel
  if [ -d /run/systemd/system ]; then
    systemctl daemon-reload >/dev/null || true
    # A running agent (an upgrade) restarts on the new binary; a new install starts once the manifests are in place.
    if systemctl is-active --quiet flotel-agent; then systemctl restart flotel-agent || true; fi
  fi
fi
exit 0
EOF
cat > "$deb/DEBIAN/prerm" <<'EOF'
#!/bin/sh
set -e
if [ "$1" = remove ] && [ -d /run/systemd/system ]; then
  systemctl disable --now flotel-agent >/dev/null 2>&1 || true
fi
exit 0
EOF
cat > "$deb/DEBIAN/postrm" <<'EOF'
#!/bin/sh
set -e
if [ "$1" = purge ]; then
  rm -rf /var/lib/flotel
  if getent passwd flotel >/dev/null; then deluser --system flotel >/dev/null 2>&1 || true; fi
fi
if [ -d /run/systemd/system ]; then systemctl daemon-reload >/dev/null 2>&1 || true; fi
exit 0
EOF
chmod 0755 "$deb/DEBIAN/postinst" "$deb/DEBIAN/prerm" "$deb/DEBIAN/postrm"
dpkg-deb --root-owner-group -Zxz --build "$deb" "$dist/flotel-agent_${pkgversion}_$debarch.deb" >/dev/null

echo "package.sh: linux-$arch: flotel-agent-$pkgversion-1.$rpmarch.rpm"
rpmtop=$work/rpm
mkdir -p "$rpmtop/SPECS" "$rpmtop/RPMS"
cat > "$rpmtop/SPECS/flotel-agent.spec" <<EOF
Name: flotel-agent
Version: $pkgversion
Release: 1
Summary: $summary
License: Apache-2.0
URL: https://github.com/flotel/flotel
AutoReqProv: no
Requires: glibc >= $glibc
Requires(pre): shadow-utils
Recommends: podman, catatonit, golang-github-prometheus-node-exporter
%global debug_package %{nil}
%global __os_install_post %{nil}
%global _build_id_links none

%description
$description

%install
cp -a "$root"/. %{buildroot}/

%pre
getent group flotel >/dev/null || groupadd --system flotel
getent passwd flotel >/dev/null || useradd --system --gid flotel --home-dir /var/lib/flotel --no-create-home --shell /sbin/nologin --comment "Flotel agent" flotel
exit 0

%post
if [ -d /run/systemd/system ]; then systemctl daemon-reload >/dev/null 2>&1 || :; fi

%preun
if [ \$1 -eq 0 ] && [ -d /run/systemd/system ]; then systemctl disable --now flotel-agent >/dev/null 2>&1 || :; fi

%postun
if [ -d /run/systemd/system ]; then
  systemctl daemon-reload >/dev/null 2>&1 || :
  if [ \$1 -ge 1 ]; then systemctl try-restart flotel-agent >/dev/null 2>&1 || :; fi
fi

%files
%attr(0755,root,root) /usr/bin/flotel
/usr/lib/systemd/system/flotel-agent.service
/usr/lib/systemd/system/podman.socket.d/flotel.conf
%dir /etc/flotel
%config(noreplace) %attr(0600,root,root) /etc/flotel/agent.env
%dir /etc/flotel/manifests
%dir %attr(0750,flotel,flotel) /var/lib/flotel
%doc /usr/share/doc/flotel-agent/examples
EOF
rpmbuild --quiet -bb --target "$rpmarch-linux" \
  --define "_topdir $rpmtop" --define "_rpmdir $rpmtop/RPMS" --define "_build_name_fmt %%{NAME}-%%{VERSION}-%%{RELEASE}.%%{ARCH}.rpm" \
  "$rpmtop/SPECS/flotel-agent.spec" >"$work/rpmbuild.log" 2>&1 \
  || { cat "$work/rpmbuild.log" >&2; die "rpmbuild failed"; }
cp "$rpmtop/RPMS/flotel-agent-$pkgversion-1.$rpmarch.rpm" "$dist/"

echo "package.sh: SHA256SUMS"
(cd "$dist" && find . -maxdepth 1 -type f \( -name '*.tar.gz' -o -name '*.oci.tar' -o -name '*.deb' -o -name '*.rpm' \) -printf '%f\n' | LC_ALL=C sort \
  | xargs -r sha256sum > SHA256SUMS.tmp && mv SHA256SUMS.tmp SHA256SUMS)
