# Sourced by scripts/container-test.sh and scripts/systemd-test.sh: what
# running a container with Debian's podman takes on machines like ours.
# Sets `runtime` and `limits` (arrays for `podman run`); defines
# `apt_install`. Needs `log` defined by the caller.

apt_install() {
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "$@"
}
command -v podman >/dev/null || { log "installing Debian's podman"; apt_install podman; }

# Podman asks for 1,048,576 open files and processes, which a confined
# host may not grant ("setrlimit RLIMIT_NOFILE: Operation not permitted"):
# ask for this shell's open files and 4,096 processes (threads), which it
# may, and which Hale's tokio runtime never nears.
limits=(--ulimit "nofile=$(ulimit -Hn):$(ulimit -Hn)" --ulimit "nproc=4096:4096")
# crun refuses cgroups in hybrid mode with a controller on the v2 side
# ("cgroups in hybrid mode not supported"); runc takes them.
runtime=()
if awk '$2 == "/sys/fs/cgroup/unified" && $3 == "cgroup2"' /proc/mounts | grep -q . \
  && [ -n "$(cat /sys/fs/cgroup/unified/cgroup.controllers)" ]; then
  command -v runc >/dev/null || { log "installing Debian's runc"; apt_install --no-install-recommends runc; }
  runtime=(--runtime runc)
  log "hybrid cgroups with v2 controllers ($(cat /sys/fs/cgroup/unified/cgroup.controllers)): running with runc"
fi
