#!/usr/bin/env bash
# packaging/rpm/check-spec.sh — what can be checked of the EL9 RPM spec on Debian:
# rpmspec -P (the spec parses; EL's systemd and cmake macros, which Debian's rpm
# lacks, are defined as on EL9 so the expanded text is the one EL would build),
# rpmspec -q (name-version-release), rpmlint (with pgvigil.rpmlintrc's reasoned
# filters). Nothing is compiled and no EL dependency is resolved: the RPM itself
# is not built here. Exits 77 (skip) without rpmspec or rpmlint.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
SPEC=$HERE/pgvigil.spec
for t in rpmspec rpmlint; do command -v $t >/dev/null || { echo "SKIP: $t missing (Debian packages rpm, rpmlint)"; exit 77; }; done
el9=(--define '_unitdir /usr/lib/systemd/system' --define 'dist .el9'
     --define '__cmake_builddir redhat-linux-build'
     --define 'cmake cmake -S . -B %{__cmake_builddir} -DCMAKE_INSTALL_PREFIX=/usr'
     --define 'cmake_build cmake --build %{__cmake_builddir}'
     --define 'cmake_install DESTDIR=%{buildroot} cmake --install %{__cmake_builddir}'
     --define 'systemd_requires Requires(post): systemd'
     --define 'systemd_post() systemctl preset %* >/dev/null 2>&1 || :'
     --define 'systemd_preun() systemctl --no-reload disable --now %* >/dev/null 2>&1 || :'
     --define 'systemd_postun() systemctl daemon-reload >/dev/null 2>&1 || :')
out=$(mktemp)
trap 'rm -f "$out"' EXIT
rpmspec -P "${el9[@]}" "$SPEC" >"$out"
echo "rpmspec -P: parsed ($(wc -l <"$out") lines)"
# The expanded spec must name the version CMake builds and the unit directory.
want=$(sed -n 's/^project(pgvigil VERSION \([0-9.]*\).*/\1/p' "$HERE/../../CMakeLists.txt")
grep -q "^Version: *$want\$" "$out" || { echo "FAIL: spec Version is not the CMake project version $want"; exit 1; }
grep -q -- "-DPGVIGIL_UNITDIR=/usr/lib/systemd/system" "$out" || { echo "FAIL: unit dir not expanded"; exit 1; }
grep -q "^/usr/lib/systemd/system/pgvigil-sidecar.service\$" "$out" || { echo "FAIL: %files lacks the sidecar unit"; exit 1; }
nvr=$(rpmspec -q "${el9[@]}" --srpm "$SPEC")
echo "rpmspec -q: $nvr"
[[ $nvr == "pgvigil-$want-1.el9.src" ]] || { echo "FAIL: unexpected NVR $nvr"; exit 1; }
rpmlint -r "$HERE/pgvigil.rpmlintrc" "$SPEC" 2>&1 | tee "$out"
grep -q '0 errors, 0 warnings' "$out" || { echo "FAIL: rpmlint"; exit 1; }
echo "check-spec: OK (the RPM is not built on EL here)"
