#!/bin/sh
# deploy/runtime-root.sh BINARY ROOT: gathers under ROOT the whole root filesystem of the runtime
# image, on the Debian stage of deploy/Dockerfile that has the binary's libraries installed: the
# binary, each library `ldd` names (glibc, libstdc++, libgcc_s, libinotifytools, zlib, libyaml), the CA
# bundle, and the few files glibc and scanners read. Nothing else: no shell, no package manager.
set -eu
binary=$1 root=$2

mkdir -p "$root/usr/local/bin" "$root/etc/ssl/certs" "$root/var/lib/dpkg/status.d" "$root/usr/lib"
install -m 0755 "$binary" "$root/usr/local/bin/raybridge"

# Each library at the path the loader found it (`/lib/x86_64-linux-gnu/libc.so.6`, the loader
# itself at `/lib64/...`), as a file: no symlink to follow into a directory that is not there.
libraries=$(ldd "$binary" | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }')
if ldd "$binary" | grep -q 'not found'; then
  echo "runtime-root: ldd: a library is missing on this stage:" >&2
  ldd "$binary" >&2
  exit 1
fi
packages=""
for library in $libraries; do
  mkdir -p "$root$(dirname "$library")"
  cp -L "$library" "$root$library"
  # The package owning it (dpkg knows the merged-/usr path): its status entry goes in too.
  real=$(readlink -f "$library")
  owner=$(dpkg -S "$real" 2>/dev/null || dpkg -S "$library" 2>/dev/null || true)
  packages="$packages
${owner%%:*}"
done

# https to Ray and S3: the system roots, where NIOSSL looks first on Debian.
cp -L /etc/ssl/certs/ca-certificates.crt "$root/etc/ssl/certs/ca-certificates.crt"
packages="$packages
ca-certificates"

# What a vulnerability scanner reads to know the distribution and the packages these files come
# from (the layout distroless images use: one status file a package), and the packages' licences
# where the base kept them.
cp -L /etc/os-release "$root/usr/lib/os-release"
ln -s ../usr/lib/os-release "$root/etc/os-release"
printf '%s\n' "$packages" | sort -u | while read -r package; do
  [ -n "$package" ] || continue
  dpkg-query -s "$package" >"$root/var/lib/dpkg/status.d/$package"
  if [ -f "/usr/share/doc/$package/copyright" ]; then
    mkdir -p "$root/usr/share/doc/$package"
    cp "/usr/share/doc/$package/copyright" "$root/usr/share/doc/$package/copyright"
  fi
done

# glibc's lookups: /etc/hosts (which Kubernetes mounts) before DNS, as Debian has it; the image's
# user by name too.
printf 'passwd: files\ngroup: files\nhosts: files dns\n' >"$root/etc/nsswitch.conf"
printf 'root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/nonexistent:/sbin/nologin\n' >"$root/etc/passwd"
printf 'root:x:0:\nnonroot:x:65532:\n' >"$root/etc/group"
# The mount point of the /tmp emptyDir; on a read-only root without one, raybridge uses the status
# volume instead.
mkdir -m 1777 "$root/tmp"
