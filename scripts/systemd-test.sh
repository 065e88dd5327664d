#!/usr/bin/env bash
# Follows the README's systemd install as written, under a real systemd:
# this machine has none as PID 1, so a Debian bookworm made with
# debootstrap (from Debian's packages, once; kept as the podman image
# localhost/hale-systemd-host) boots systemd in a container, and the
# README's "### systemd" commands run in it word for word, with the
# release binary, deploy/hale.service and a config from `hale init`.
# Then it checks what the README promises: Hale runs as a user systemd
# made for it, its database is in /var/lib/hale, it answers and probes,
# `systemctl reload hale` rereads the config, a restart keeps the history,
# the journal says "hale is running", and HALE_ADMIN_PASSWORD in
# /etc/hale/hale.env makes the first admin.
#
# Usage: scripts/systemd-test.sh   (after scripts/release.sh)
#   HALE_BINARY=path   the binary to install (default target/dist/hale)
#   KEEP=1             leave the container running (its name is printed)
set -euo pipefail
cd "$(dirname "$0")/.."
started=$SECONDS
log() { printf '\033[1;34m[systemd-test]\033[0m %s (%ss)\n' "$*" "$((SECONDS - started))" >&2; }
# apt_install, podman, and the `runtime` and `limits` this machine needs.
. scripts/lib/podman.sh

binary=${HALE_BINARY:-target/dist/hale}
[ -x "$binary" ] || { echo "systemd-test: no $binary (scripts/release.sh builds it)" >&2; exit 1; }
host_image=localhost/hale-systemd-host:bookworm

if ! podman image exists "$host_image"; then
  command -v debootstrap >/dev/null || { log "installing Debian's debootstrap"; apt_install debootstrap; }
  root=$(mktemp -d)
  log "debootstrap: Debian bookworm with systemd into $root (once)"
  debootstrap --variant=minbase --include=systemd,systemd-sysv,dbus,libnss-systemd,ca-certificates,curl,procps \
    bookworm "$root" http://deb.debian.org/debian >/dev/null
  tar -C "$root" -c . | podman import --quiet - "$host_image" >/dev/null
  rm -rf "$root"
fi

name=hale-systemd-$$
walk=$(mktemp -d)
cleanup() {
  if [ "${KEEP:-}" != 1 ]; then podman rm -f "$name" >/dev/null 2>&1 || true; fi
  rm -rf "$walk"
}
trap cleanup EXIT
fail() {
  echo "systemd-test: $*" >&2
  podman exec "$name" journalctl -u hale --no-pager 2>&1 | tail -20 >&2 || true
  exit 1
}
in_host() { podman exec "$name" bash -euo pipefail -c "$1"; }

# Privileged: it stands in for a machine, whose systemd has every
# capability; the unit's sandbox (mount namespaces, ProtectSystem=…)
# needs CAP_SYS_ADMIN to be set up (without it: status=226/NAMESPACE).
podman run -d --name "$name" --privileged --systemd=always "${runtime[@]}" "${limits[@]}" \
  "$host_image" /sbin/init >/dev/null
for _ in $(seq 60); do
  state=$(podman exec "$name" systemctl is-system-running 2>/dev/null || true)
  case "$state" in running | degraded) break ;; esac
  sleep 0.5
done
log "systemd in $name: ${state:-not running}"
case "$state" in running | degraded) ;; *) fail "systemd did not come up" ;; esac

# A checkout's worth of what the README's commands name, in /walk.
mkdir -p "$walk/target/dist" "$walk/deploy"
cp "$binary" "$walk/target/dist/hale"
cp deploy/hale.service "$walk/deploy/"
podman cp "$walk/." "$name:/walk"
in_host 'cd /walk && target/dist/hale init --config hale.yaml >/dev/null'

# The README's commands, as written; following the journal (-f) would
# never end, so the journal is read below instead.
commands=$(awk '/^### systemd/ {s=1; next} s && /^```sh/ {b=1; next} b && /^```/ {exit} b' README.md \
  | grep -v 'journalctl -u hale -f')
[ -n "$commands" ] || fail "README.md has no systemd block"
while IFS= read -r line; do
  log "README: $(sed 's/ *#.*//' <<<"$line")"
  in_host "cd /walk && $line" || fail "the README's command failed: $line"
done <<<"$commands"

for _ in $(seq 60); do
  in_host 'curl -fsS http://127.0.0.1:3000/api/health' >/dev/null 2>&1 && break
  sleep 0.5
done
health=$(in_host 'curl -fsS http://127.0.0.1:3000/api/health') || fail "no answer on :3000"
log "GET /api/health: $health"

user=$(in_host 'ps -o user=,uid= -C hale' | xargs)
uid=${user##* }
[ "${user%% *}" = hale ] && [ "$uid" -ge 61184 ] && [ "$uid" -le 65519 ] \
  || fail "Hale runs as '$user', not as the dynamic user hale (uid 61184-65519)"
log "runs as the dynamic user: $user"
in_host 'test -s /var/lib/hale/hale.db && readlink -f /var/lib/hale' | grep -q /var/lib/private/hale \
  || fail "no database in /var/lib/hale (a DynamicUser state directory)"
log "state: $(in_host 'ls -l /var/lib/private/hale | tail -n +2 | awk "{print \$1, \$3, \$9}" | paste -sd" "')"
in_host 'journalctl -u hale --no-pager -o cat' | grep -q 'hale is running' || fail "the journal lacks \"hale is running\""
log "journal: hale is running"

for _ in $(seq 60); do
  in_host 'curl -fsS http://127.0.0.1:3000/metrics' | grep -q '^hale_service_up{service="Hale"} 1' && break
  sleep 0.5
done
in_host 'curl -fsS http://127.0.0.1:3000/metrics' | grep -q '^hale_service_up{service="Hale"} 1' \
  || fail "the starter service (Hale's own health) is not up in /metrics"
log "the starter service is up"

in_host "sed -i 's/^title: .*/title: Reloaded by systemctl/' /etc/hale/hale.yaml && systemctl reload hale"
for _ in $(seq 60); do
  in_host 'curl -fsS http://127.0.0.1:3000/' | grep -q 'Reloaded by systemctl' && break
  sleep 0.5
done
in_host 'curl -fsS http://127.0.0.1:3000/' | grep -q 'Reloaded by systemctl' || fail "systemctl reload did not reread the config"
log "systemctl reload hale: the new title is on the page"

# Results checked today, as the service's bar counts them (in the store).
today() {
  in_host 'curl -fsS http://127.0.0.1:3000/api/services/Hale/days' \
    | python3 -c 'import json, sys; print(json.load(sys.stdin)["days"][-1][0])'
}
for _ in $(seq 60); do
  [ "$(today 2>/dev/null || echo 0)" -ge 1 ] && break
  sleep 0.5
done
before=$(today)
in_host 'systemctl restart hale'
for _ in $(seq 60); do
  in_host 'curl -fsS http://127.0.0.1:3000/api/health' >/dev/null 2>&1 && break
  sleep 0.5
done
after=$(today) || fail "no answer after a restart"
[ "$before" -ge 1 ] && [ "$after" -ge "$before" ] || fail "today's results went from $before to $after across a restart"
log "systemctl restart hale: healthy again; today's results $before before, $after after"

# The first admin, the README's way: the password in hale.env, read by
# systemd as root (the file is 600), taken at a start with no account.
in_host "echo 'HALE_ADMIN_PASSWORD=walk-the-readme-42' >> /etc/hale/hale.env && systemctl restart hale"
for _ in $(seq 60); do
  in_host 'curl -fsS http://127.0.0.1:3000/api/health' >/dev/null 2>&1 && break
  sleep 0.5
done
session=$(in_host "curl -fsS -H 'content-type: application/json' -d '{\"name\":\"admin\",\"password\":\"walk-the-readme-42\"}' http://127.0.0.1:3000/api/session") \
  || fail "signing in as the admin from HALE_ADMIN_PASSWORD failed"
grep -q '"role":"admin"' <<<"$session" || fail "signed in, but not as an admin: $session"
log "HALE_ADMIN_PASSWORD in /etc/hale/hale.env: signed in as admin"

log "systemd-analyze security: $(in_host 'systemd-analyze security hale --no-pager' | tail -1)"
[ "${KEEP:-}" = 1 ] && log "left running: $name"
echo "systemd-test: 1 passed, 0 failed"
