# shellcheck shell=bash
# Podman settings for this kind of machine (sourced by build-image.sh and the
# smoke test). crun refuses cgroup "hybrid" hosts (v1 controllers beside an
# empty v2 mount), runc runs there; podman's default rlimits are above what
# the sandbox lets a container set, so they are lowered. Override with
# PGVIGIL_PODMAN_RUNTIME (empty: podman's default) and PGVIGIL_PODMAN_ULIMITS.
PODMAN_GLOBAL=()
runtime=${PGVIGIL_PODMAN_RUNTIME-runc}
[ -n "$runtime" ] && PODMAN_GLOBAL+=(--runtime "$runtime")
PODMAN_RUN=()
for u in ${PGVIGIL_PODMAN_ULIMITS-nofile=1024:1024 nproc=4096:4096}; do
  PODMAN_RUN+=(--ulimit "$u")
done
