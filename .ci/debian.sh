#!/usr/bin/env bash
# CI (root, Debian 12, CI=true, no input): the Debian source package in debian/. Builds it with
# `dpkg-buildpackage -us -uc -b` from a clean export of the working tree (tracked and untracked
# files that git does not ignore, so no build output leaks in), runs lintian on the .changes
# (no error, no warning), installs libswin0, libswin-dev, swin-tools and python3-libswin, uses
# them (swin, pkg-config, python3), purges them and checks nothing of them is left.
set -euo pipefail
cd "$(dirname "$0")/.."
export DEBIAN_FRONTEND=noninteractive
t0=$SECONDS
step() { printf '\n== %s  [%ds]\n' "$*" $((SECONDS - t0)); }
fail() { echo "debian.sh: FAILED: $*" >&2; exit 1; }
apt() { apt-get -o DPkg::Lock::Timeout=300 -y -qq "$@"; }

pkgs=(libswin0 libswin-dev swin-tools python3-libswin)
status() { dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null || true; }
installed() { [ "$(status "$1")" = installed ]; }
present() { # the ones dpkg knows (installed, or removed with their configuration left)
  for p in "${pkgs[@]}"; do
    case "$(status "$p")" in "" | not-installed) ;; *) echo "$p" ;; esac
  done
  return 0
}
purge_all() {
  local p
  mapfile -t p < <(present)
  if [ ${#p[@]} -gt 0 ]; then apt purge "${p[@]}" >/dev/null; fi
}
work="$(mktemp -d)"
ours=0
cleanup() {
  # Leaves no package behind when a check fails after the install.
  if [ "$ours" = 1 ]; then purge_all >/dev/null 2>&1 || true; fi
  rm -rf "$work"
}
trap cleanup EXIT
# The checks below must see the system copy, not one in a prefix named by the environment.
unset PKG_CONFIG_PATH CMAKE_PREFIX_PATH SWIN_LIBRARY SWIN_CLI PYTHONPATH LD_LIBRARY_PATH

step "apt: build dependencies (debian/control), dpkg-dev, lintian"
apt-get -o DPkg::Lock::Timeout=300 update -qq
apt install --no-install-recommends build-essential dpkg-dev lintian >/dev/null
apt build-dep --no-install-recommends ./ >/dev/null

step "packages of an earlier job (CPack's .deb files, same names): purged first"
mapfile -t earlier < <(present)
echo "${earlier[*]:-none}"
purge_all

step "clean export of the working tree"
src="$work/libswin"
mkdir "$src"
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  # tracked files as they are on disk (not those deleted there), and untracked ones git keeps
  { git ls-files -z --cached; git ls-files -z --others --exclude-standard; } |
    while IFS= read -r -d '' f; do [ -e "$f" ] || [ -L "$f" ] && printf '%s\0' "$f"; done |
    xargs -0 cp -a --parents -t "$src"
else
  tar -C . --exclude='./build*' --exclude='./obj-*' --exclude=./.git -cf - . | tar -C "$src" -xf -
fi
[ -x "$src/debian/rules" ] || fail "no debian/rules in the export"
echo "$(find "$src" -type f | wc -l) files"

step "dpkg-buildpackage -us -uc -b"
export DEB_BUILD_OPTIONS="${DEB_BUILD_OPTIONS:-} parallel=$(nproc)"
if ! (cd "$src" && dpkg-buildpackage -us -uc -b) >"$work/build.log" 2>&1; then
  tail -n 80 "$work/build.log"
  fail "dpkg-buildpackage"
fi
grep -E '^[0-9]+% tests passed' "$work/build.log" || echo "(tests not run: nocheck)"
# libswin.so exports a swin_* function that debian/libswin0.symbols lacks (or lost one: that
# fails the build): add it there with the version that first has it.
grep -A12 'new symbols appeared' "$work/build.log" || true
changes=("$work"/libswin_*.changes)
[ -f "${changes[0]}" ] || fail "no .changes file"
debs=()
for p in "${pkgs[@]}"; do
  d=("$work/${p}"_*.deb)
  [ -f "${d[0]}" ] || fail "$p was not built"
  debs+=("${d[0]}")
  printf '%s\n' "$(basename "${d[0]}")"
  dpkg-deb -f "${d[0]}" Architecture Depends | sed 's/^/    /'
done

step "lintian --fail-on error,warning $(basename "${changes[0]}")"
# (lintian says once that it runs as root; that is not a finding)
rc=0
lintian -I --fail-on error,warning "${changes[0]}" >"$work/lintian" 2>&1 || rc=$?
grep -v 'running with root privileges' "$work/lintian" || true
[ "$rc" = 0 ] || fail "lintian reports errors or warnings (exit status $rc)"
echo "lintian: $(grep -c '^E:' "$work/lintian" || true) errors, \
$(grep -c '^W:' "$work/lintian" || true) warnings, $(grep -c '^I:' "$work/lintian" || true) info"

step "apt-get install the four packages"
ours=1
apt install --no-install-recommends "${debs[@]}" >/dev/null
for p in "${pkgs[@]}"; do installed "$p" || fail "$p is not installed"; done
dpkg -l "${pkgs[@]}" | tail -n +6

step "smoke tests of the installed packages"
cd "$work" # nothing of the source tree on the paths below
ex="$src/examples"
swin --help >/dev/null || fail "swin --help"
swin --version
swin info "$ex/swin_micro.safetensors" >"$work/info" || fail "swin info"
sed -n 's/^/    /; 1,4p' "$work/info"
[ "$(command -v swin)" = /usr/bin/swin ] || fail "swin is not /usr/bin/swin"
man -w swin >/dev/null 2>&1 || [ -f /usr/share/man/man1/swin.1.gz ] || fail "no man page"
pc_prefix="$(pkg-config --variable=prefix libswin || true)"
[ "$pc_prefix" = /usr ] || fail "pkg-config finds libswin.pc with prefix '$pc_prefix', not /usr's \
(a copy installed into /usr/local comes first on its path)"
echo "pkg-config libswin $(pkg-config --modversion libswin): $(pkg-config --cflags --libs libswin)"
cc "$ex/run_model.c" $(pkg-config --cflags --libs libswin) -o "$work/run_model"
ldd "$work/run_model" | grep -E 'libswin\.so\.0 => /(usr/)?lib/' >/dev/null ||
  { ldd "$work/run_model"; fail "run_model does not use /usr's libswin"; }
"$work/run_model" "$ex/swin_micro.safetensors" "$ex/input.npy" | sed 's/^/    /' ||
  fail "examples/run_model.c against the installed package"
PYTHONDONTWRITEBYTECODE=1 /usr/bin/python3 -c 'import libswin
print("libswin", libswin.__file__, "on",
      [l.split()[-1] for l in open("/proc/self/maps") if "libswin.so" in l][0],
      libswin.library_version())' | tee "$work/py" || fail "python3 -c 'import libswin'"
grep '^libswin /usr/lib/python3/dist-packages/libswin/__init__.py on /usr/lib/' "$work/py" \
  >/dev/null || fail "python3 does not import the packaged module on the system library"
# the byte code python3 writes now must go with the package
/usr/bin/python3 -W ignore::DeprecationWarning -c 'import swin, libswin' || fail "import swin"

step "apt-get purge the four packages: nothing of them left"
dpkg -L "${pkgs[@]}" | sort -u >"$work/listed"
# their files and links, and their own directories (shared ones like /usr/lib stay)
while IFS= read -r f; do
  if [ -L "$f" ] || [ -f "$f" ] || { [ -d "$f" ] && [[ "$f" == *swin* ]]; }; then echo "$f"; fi
done <"$work/listed" >"$work/owned"
apt purge "${pkgs[@]}" >/dev/null
ours=0
for p in "${pkgs[@]}"; do
  ! dpkg -s "$p" >/dev/null 2>&1 || fail "$p is still known to dpkg"
done
left="$(while IFS= read -r f; do [ ! -e "$f" ] && [ ! -L "$f" ] || echo "$f"; done <"$work/owned")"
left+="$(find /usr/bin /usr/include /usr/lib /usr/share/doc /usr/share/man /usr/share/lintian \
  /var/lib/dpkg/info \( -name '*libswin*' -o -name 'swin' -o -name 'swin.1*' -o \
  -name 'swin-tools*' \) 2>/dev/null)"
[ -z "$left" ] || fail "left on disk after the purge: $left"
! ldconfig -p | grep libswin >/dev/null || fail "libswin is still in the ld.so cache"
echo "purged ${pkgs[*]}: none of their $(wc -l <"$work/owned") paths is left"

step "done"
