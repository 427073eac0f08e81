#!/usr/bin/env bash
# Offline checks of the operations files (ctest "ops_check", label ops):
#  1. docker/docker-compose.yml is valid (`docker-compose config -q`, no engine needed);
#  2. docker/Dockerfile passes dockerfilelint; its build stage installs exactly
#     the -dev/build packages of scripts/setup.sh and copies every source cmake
#     needs (configured in a temp dir), its runtime stage has every
#     Debian package the built foreshard binary links (ldd + dpkg -S), and
#     that binary accepts docker/foreshard.yaml (serve --check);
#  3. docker/alerts.yml passes `promtool check rules` and its unit tests
#     (tests/ops/alerts_test.yml); docker/prometheus.yml passes `promtool check config`;
#  4. the Grafana dashboard type-checks against @grafana/schema (tests/ops/dashboard);
#  5. every foreshard_* metric the dashboard and the alerts use is in docs/METRICS.md;
#  6. every config key of proxy/config.cc is in docs/CONFIG.md.
# Installs what it needs through scripts/setup.sh and scripts/setup-node.sh.
#   scripts/check-ops.sh            (FORESHARD_BIN: the binary for check 2, default build/app/foreshard)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
bash scripts/setup.sh
bash scripts/setup-node.sh
tmp=$(mktemp -d /tmp/foreshard-check-ops.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
fail=0
step() { echo "--- $*"; }
bad() { echo "FAIL: $*" >&2; fail=1; }

step "docker-compose config -q"
docker-compose -f docker/docker-compose.yml config -q || bad "docker/docker-compose.yml is invalid"

step "dockerfilelint docker/Dockerfile"
tests/ops/dashboard/node_modules/.bin/dockerfilelint docker/Dockerfile || bad "dockerfilelint"

# Package lists of the Dockerfile's two apt-get installs, one per stage.
stage_pkgs() {  # stage number (1 = build, 2 = runtime)
  awk -v want="$1" '/^FROM /{stage++} stage==want' docker/Dockerfile \
    | sed -n '/apt-get install/,/&& rm -rf/p' | tr ' \\' '\n\n' \
    | grep -E '^[a-z0-9][a-z0-9.+-]+$' | grep -vE '^(apt-get|install|rm|DEBIAN_FRONTEND.*)$' | sort -u
}
step "Dockerfile build stage = setup.sh's build packages"
sed -n '/^pkgs=(/,/^)/p' scripts/setup.sh | tr ' ' '\n' \
  | grep -E -- '-dev$|^(build-essential|cmake|pkg-config)$' | sort -u >"$tmp/setup"
stage_pkgs 1 >"$tmp/build"
diff "$tmp/setup" "$tmp/build" || bad "Dockerfile build stage and scripts/setup.sh differ (< setup.sh, > Dockerfile)"

step "the sources the Dockerfile's build stage copies configure with cmake"
mkdir -p "$tmp/ctx"
for src in $(awk '/^FROM /{stage++} stage==1 && /^COPY /{print $2}' docker/Dockerfile); do
  cp -r "$src" "$tmp/ctx/"
done
cmake -S "$tmp/ctx" -B "$tmp/ctx/build" -DFORESHARD_TESTS=OFF >"$tmp/cmake.log" 2>&1 \
  || { cat "$tmp/cmake.log"; bad "the build stage lacks sources cmake needs (a COPY missing?)"; }

step "Dockerfile runtime stage has every package the binary links"
bin=${FORESHARD_BIN:-build/app/foreshard}
if [ -x "$bin" ]; then
  stage_pkgs 2 >"$tmp/runtime"
  libs=$(ldd "$bin" | awk '$3 ~ /^\// {print $3}')
  # One dpkg -S for all (it is slow per call): a library is found under its
  # own path or, through a symlink, under its real path.
  # shellcheck disable=SC2046,SC2086  # word splitting wanted
  dpkg -S $libs $(realpath $libs) 2>/dev/null | sed 's/^\([^:,]*\)[^ ]* \(.*\)$/\2 \1/' >"$tmp/owners" || true
  for lib in $libs; do
    pkg=$(awk -v a="$lib" -v b="$(realpath "$lib")" '$1 == a || $1 == b {print $2; exit}' "$tmp/owners")
    case "$pkg" in
      libc6 | libstdc++6 | libgcc-s1 | zlib1g | "") continue ;;  # in debian:bookworm-slim
    esac
    grep -qx "$pkg" "$tmp/runtime" || bad "runtime stage lacks $pkg (for $lib)"
  done
  step "foreshard serve --check docker/foreshard.yaml"
  "$bin" serve -c docker/foreshard.yaml --check || bad "docker/foreshard.yaml is not a valid config"
else
  echo "skipped (and the config check): no binary at $bin"
fi

step "promtool check rules / test rules / check config"
promtool check rules docker/alerts.yml || bad "docker/alerts.yml"
promtool test rules tests/ops/alerts_test.yml || bad "alert unit tests"
cp docker/alerts.yml "$tmp/alerts.yml"
sed "s|/etc/prometheus/alerts.yml|$tmp/alerts.yml|" docker/prometheus.yml >"$tmp/prometheus.yml"
promtool check config "$tmp/prometheus.yml" || bad "docker/prometheus.yml"

step "dashboard type-check"
bash tests/ops/dashboard/check.sh || bad "dashboard type-check"

step "metric names used by the dashboard and alerts are documented"
used=$(grep -ohE 'foreshard_[a-z_]+' docker/grafana/foreshard-dashboard.json docker/alerts.yml \
  | sed -E 's/_(bucket|count|sum)$//' | sort -u)
for m in $used; do
  grep -q "\`$m\`" docs/METRICS.md || bad "$m is used but not in docs/METRICS.md"
done
echo "$(echo "$used" | wc -w) metric names checked"

step "every config key the loader knows is in docs/CONFIG.md"
# Keys are the {"name", handler} entries of proxy/config.cc's tables (units
# like "ms" and "kb" share the syntax; none is longer than two letters).
keys=$(grep -oE '\{"[a-zA-Z]{3,}",' proxy/config.cc | tr -d '{",' | sort -u)
for k in $keys; do
  grep -q "| \`$k\` |" docs/CONFIG.md || bad "config key $k is not in docs/CONFIG.md"
done
echo "$(echo "$keys" | wc -w) config keys checked"

if [ "$fail" -ne 0 ]; then
  echo "check-ops: FAILED" >&2
  exit 1
fi
echo "check-ops: all passed"
