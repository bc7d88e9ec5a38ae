#!/usr/bin/env bash
# packaging/build-deb.sh [BUILD_DIR] — makes the DEB from a built tree with CPack,
# into BUILD_DIR/package/, checks it with lintian (errors, warnings and info tags
# fail; the package's overrides in packaging/deb/lintian-overrides say why each
# remaining tag is accepted) and prints the .deb's path as the last line.
#   PGVIGIL_LINTIAN=no  skip lintian (e.g. while iterating)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${1:-${PGVIGIL_BUILD_DIR:-$ROOT/build}}
[[ $BUILD = /* ]] || BUILD=$ROOT/$BUILD
die() { echo "build-deb: ERROR: $*" >&2; exit 1; }
for b in pgvigil-sidecar pgvigil-controller vigilctl; do
  [[ -x $BUILD/bin/$b ]] || die "$BUILD/bin/$b missing: build first"
done
command -v cpack >/dev/null || die "cpack missing (cmake)"
command -v dpkg-shlibdeps >/dev/null || die "dpkg-shlibdeps missing (dpkg-dev)"
# The docs (changelog, man pages) are build outputs too.
cmake --build "$BUILD" --target pgvigil_package_docs >/dev/null
OUT=$BUILD/package
rm -rf "$OUT"
mkdir -p "$OUT"
# Only the install rules' targets: do not rebuild everything ("preinstall" -> all).
(cd "$OUT" && cpack -G DEB --config "$BUILD/CPackConfig.cmake" -B "$OUT" \
   -D CPACK_PACKAGE_DIRECTORY="$OUT" >"$OUT/cpack.log" 2>&1) \
  || { cat "$OUT/cpack.log" >&2; die "cpack failed"; }
deb=$(ls "$OUT"/pgvigil_*.deb 2>/dev/null | head -n1)
[[ -n $deb ]] || die "cpack made no .deb (see $OUT/cpack.log)"
if [[ ${PGVIGIL_LINTIAN:-yes} != no ]]; then
  command -v lintian >/dev/null || die "lintian missing (hack/install-deps.sh installs it)"
  echo "build-deb: lintian $(basename "$deb")" >&2
  # As root lintian warns that it prefers not to be; nothing else may appear.
  # spelling-error-in-binary (info) is not checked: it reads every string in the
  # stripped binaries, most of them from Boost, cpprestsdk and the standard library
  # headers, so its hits (e.g. 'lengH') come and go with unrelated code changes and an
  # override for one would fail as unused after the next.
  if ! lintian --fail-on error,warning,info --display-level '>=info' \
      --suppress-tags spelling-error-in-binary "$deb" >"$OUT/lintian.log" 2>&1; then
    cat "$OUT/lintian.log" >&2; die "lintian found problems"
  fi
  n=$(grep -c '^pgvigil:' "$ROOT/packaging/deb/lintian-overrides" || true)
  echo "build-deb: lintian clean ($n overrides, each with its reason in packaging/deb/lintian-overrides)" >&2
fi
echo "$deb"
