#!/usr/bin/env bash
# The README's test command: installs what the tests need on a fresh Debian machine (as root), then runs
# every test. Arguments go to `cargo test`; under CI (CI=true) the lock file must be used as it is.
#
# The tests use real parts, never skip, and fail when one is missing:
# - moto's S3 server (Python) for the off-site backup and point-in-time recovery tests;
# - openapi-spec-validator and schemathesis (Python) for the API document's checks (tests/it/api/fuzz.rs);
# - standardwebhooks (Python, the specification's reference library) to verify sink deliveries
#   (tests/it/sinks/standard.rs);
# - Debian's Chromium and chromedriver for the console's browser tests (axe-core, for the accessibility
#   test, is vendored in tests/vendor/);
# - systemd-analyze for the unit file check;
# - root, for the full-disk tests' real tmpfs.
# Building needs only the Rust toolchain and a C compiler (SQLite is compiled in, bindings declared by hand).
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
python3 -c "import moto.server" >/dev/null 2>&1 || missing+=(moto)
python3 -c "import schemathesis, openapi_spec_validator" >/dev/null 2>&1 || missing+=(api-checkers)
python3 -c "import standardwebhooks" >/dev/null 2>&1 || missing+=(standardwebhooks)
{ command -v chromium && command -v chromedriver; } >/dev/null 2>&1 || missing+=(chromium)
command -v systemd-analyze >/dev/null 2>&1 || missing+=(systemd)

apt_install() {
  if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "tests/run.sh: $* missing; install it as root (apt-get install -y $*)" >&2
    return 1
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null 2>&1 \
    || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null 2>&1; }
}

for need in "${missing[@]}"; do
  case "$need" in
    moto)
      echo "== installing moto's S3 server (pip)"
      python3 -m pip install --quiet 'moto[server]' \
        || python3 -m pip install --quiet --break-system-packages 'moto[server]'
      ;;
    api-checkers)
      echo "== installing openapi-spec-validator and schemathesis (pip)"
      pip_args=(--quiet 'openapi-spec-validator==0.9.0' 'schemathesis==4.32.5')
      python3 -m pip install "${pip_args[@]}" || python3 -m pip install --break-system-packages "${pip_args[@]}"
      ;;
    standardwebhooks)
      echo "== installing standardwebhooks, the Standard Webhooks reference verifier (pip)"
      python3 -m pip install --quiet 'standardwebhooks==1.3.0' \
        || python3 -m pip install --quiet --break-system-packages 'standardwebhooks==1.3.0'
      ;;
    chromium)
      echo "== installing Chromium and chromedriver (apt)"
      apt_install chromium chromium-driver || echo "the browser tests will fail" >&2
      ;;
    systemd)
      echo "== installing systemd-analyze (apt)"
      apt_install systemd || echo "the unit check will fail" >&2
      ;;
  esac
done
[ "$(id -u)" = 0 ] || echo "tests/run.sh: not root: the full-disk tests (a real tmpfs) will fail" >&2

[ "${CI:-}" = true ] && set -- --locked "$@"
echo "== cargo test --workspace $*"
exec cargo test --workspace "$@"
