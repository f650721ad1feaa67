#!/usr/bin/env bash
# Installs Atlas as a systemd service under /opt/atlas (the design documents' layout). Safe to run again:
# it upgrades the binary and units, never overwrites an existing config or secrets file, and keeps data.
#
#   sudo systemd/install.sh                      # build (if needed), install, enable and (re)start
#   sudo systemd/install.sh --binary ./atlas     # install a binary built elsewhere
#   systemd/install.sh --root /tmp/stage --no-start   # lay everything out under a staging root (no user,
#                                                     # no chown, no systemctl): used by the tests
set -euo pipefail

repo="$(cd "$(dirname "$0")/.." && pwd)"
root=""
binary=""
start=1
while [ $# -gt 0 ]; do
  case "$1" in
    --root) root="${2%/}"; shift 2 ;;
    --binary) binary="$2"; shift 2 ;;
    --no-start) start=0; shift ;;
    -h|--help) sed -n '2,9p' "$0"; exit 0 ;;
    *) echo "install.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done

staging=0
[ -n "$root" ] && staging=1
if [ "$staging" = 0 ] && [ "$(id -u)" != 0 ]; then
  echo "install.sh: run as root (sudo), or use --root DIR to stage without installing" >&2
  exit 1
fi

if [ -z "$binary" ]; then
  binary="$repo/target/release/atlas"
  if [ ! -x "$binary" ]; then
    echo "== building the release binary"
    (cd "$repo" && cargo build --release --locked --bin atlas)
  fi
fi
[ -x "$binary" ] || { echo "install.sh: $binary is not an executable" >&2; exit 1; }

opt="$root/opt/atlas"
etc="$root/etc"

if [ "$staging" = 0 ] && ! id atlas >/dev/null 2>&1; then
  echo "== creating the atlas system user"
  if command -v systemd-sysusers >/dev/null 2>&1; then
    install -D -m 0644 "$repo/systemd/atlas.sysusers" "$etc/sysusers.d/atlas.conf"
    systemd-sysusers "$etc/sysusers.d/atlas.conf"
  else
    useradd --system --home-dir /opt/atlas --no-create-home --shell /usr/sbin/nologin atlas
  fi
fi

# owner MODE DIR...: directories with their mode, owned as given when installing for real.
make_dirs() {
  local owner="$1" mode="$2"; shift 2
  for dir in "$@"; do
    install -d -m "$mode" "$dir"
    [ "$staging" = 1 ] || chown "$owner" "$dir"
  done
}
echo "== laying out $opt"
make_dirs root:root 0755 "$opt" "$opt/bin"
make_dirs root:atlas 0750 "$opt/config"
make_dirs atlas:atlas 0750 "$opt/data" "$opt/backups" "$opt/logs"

echo "== installing the binary"
install -m 0755 "$binary" "$opt/bin/atlas.new"
mv -f "$opt/bin/atlas.new" "$opt/bin/atlas"   # atomic: a running service keeps its old inode
install -m 0644 "$repo/README.md" "$opt/README.md"
make_dirs root:root 0755 "$opt/docs"
install -m 0644 "$repo"/docs/*.md "$opt/docs/"   # the runbook (operations.md) lives on the VM it runs

echo "== configuration"
# The production config (paths under /opt/atlas, fsync on commit, JSON logs); a staged tree is relocated.
relocate() { if [ "$staging" = 1 ]; then sed "s#/opt/atlas#$opt#g"; else cat; fi; }
relocate < "$repo/config/atlas.production.toml" > "$opt/config/atlas.toml.dist"
install -m 0640 "$repo/config/atlas.toml" "$opt/config/atlas.reference.toml"   # every key, documented
chmod 0640 "$opt/config/atlas.toml.dist"
if [ ! -e "$opt/config/atlas.toml" ]; then
  install -m 0640 "$opt/config/atlas.toml.dist" "$opt/config/atlas.toml"
  echo "   wrote $opt/config/atlas.toml (edit it, then: systemctl restart atlas)"
else
  echo "   kept $opt/config/atlas.toml; the new defaults are in atlas.toml.dist"
fi
if [ ! -e "$opt/config/atlas.env" ]; then
  umask 077
  cat > "$opt/config/atlas.env" <<'ENV'
# Secrets for Atlas as KEY=value lines (read by systemd; mode 0600). For example:
# ATLAS_OFFSITE__ACCESS_KEY_ID=...
# ATLAS_OFFSITE__SECRET_ACCESS_KEY=...
# ATLAS_ALERTS__SMTP_PASSWORD=...
# ATLAS_ALERTS__TELEGRAM_BOT_TOKEN=...
ENV
  umask 022
fi
if [ "$staging" = 0 ]; then
  chown root:atlas "$opt/config/atlas.toml" "$opt/config/atlas.toml.dist" "$opt/config/atlas.reference.toml"
  chown root:root "$opt/config/atlas.env"
fi

echo "== checking the configuration"
(cd "$opt" && "$opt/bin/atlas" --config "$opt/config/atlas.toml" config check >/dev/null)

echo "== installing the units"
install -D -m 0644 "$repo/systemd/atlas.service" "$etc/systemd/system/atlas.service"
install -D -m 0644 "$repo/systemd/atlas.sysusers" "$etc/sysusers.d/atlas.conf"
install -D -m 0644 "$repo/systemd/atlas.tmpfiles" "$etc/tmpfiles.d/atlas.conf"

if [ "$staging" = 1 ]; then
  echo "staged under $root (no user, no systemctl)"
  exit 0
fi
if command -v systemd-tmpfiles >/dev/null 2>&1; then
  systemd-tmpfiles --create "$etc/tmpfiles.d/atlas.conf"
fi
systemctl daemon-reload
systemctl enable atlas.service
if [ "$start" = 1 ]; then
  systemctl restart atlas.service
  systemctl is-active --quiet atlas.service && echo "atlas is running: journalctl -u atlas -f"
  echo "first admin token (created on the first start): sudo cat /opt/atlas/data/admin.token"
fi
