#!/usr/bin/env bash
# The whole test suite, as README.md gives it and .ci/run calls it: installs every package the
# build and the tests need (Debian 12, as root), then builds
# and tests twice (a normal build and an ASan+UBSan build). It never stops at the first failure:
# the last line is "N passed, N failed" over both runs, and the exit status is non-zero if any
# test failed or a build did not complete.
set -euo pipefail

cd "$(dirname "$0")/.."
export DEBIAN_FRONTEND=noninteractive
exec </dev/null

packages=(
  meson ninja-build pkg-config g++ clang-format
  libgtest-dev libgmock-dev
  libpixman-1-dev libx11-dev libxext-dev libxtst-dev libxdamage-dev libxfixes-dev libxrandr-dev
  zlib1g-dev libturbojpeg0-dev libgnutls28-dev libpam0g-dev
  xvfb x11-apps x11-utils x11-xserver-utils xdotool xterm xclip
  libvncserver-dev vncsnapshot tigervnc-viewer xtightvncviewer tigervnc-tools imagemagick python3 openssl
  python3-gi gir1.2-gtk-vnc-2.0  # gtk-vnc, driven from Python in the integration tests
  clang libclang-rt-14-dev  # libFuzzer, for the bounded fuzzing step
)

echo "=== installing packages"
if [ "$(id -u)" = 0 ]; then
  apt-get update -q
  apt-get install -y -q "${packages[@]}"
else
  echo "not root: skipping apt-get (assuming the packages are installed)"
fi

jobs=$(nproc 2>/dev/null || echo 2)
[ "$jobs" -gt 2 ] && jobs=2

# run_build DIR [MESON OPTIONS...]: configure, compile and test; never fails the script.
run_build() {
  local dir=$1
  shift
  echo "=== $dir: configure ($*)"
  if [ -d "$dir" ]; then
    meson setup --reconfigure "$dir" "$@" || meson setup --wipe "$dir" "$@" || return 0
  else
    meson setup "$dir" "$@" || return 0
  fi
  echo "=== $dir: compile"
  if ! meson compile -C "$dir" -j "$jobs"; then
    echo "=== $dir: compile FAILED"
    build_failed+=("$dir")
    # Still run the tests: those whose targets built give results; the rest show as failures.
  fi
  echo "=== $dir: test"
  rm -f "$dir/meson-logs/testlog.json"
  meson test -C "$dir" --num-processes 2 --print-errorlogs --no-rebuild || true
}

# count DIR: prints "passed failed" from meson's testlog.json (one JSON object per test).
count() {
  python3 - "$1/meson-logs/testlog.json" <<'PY'
import json, sys
passed = failed = 0
try:
    with open(sys.argv[1]) as f:
        for line in f:
            line = line.strip()
            if not line:
                continue
            result = json.loads(line).get("result")
            # The project has no skipped tests: a SKIP hides a test, so it counts as a failure,
            # as do FAIL, TIMEOUT, ERROR and UNEXPECTEDPASS.
            if result in ("OK", "EXPECTEDFAIL"):
                passed += 1
            else:
                failed += 1
except FileNotFoundError:
    pass
print(passed, failed)
PY
}

build_failed=()
# The benchmarks are built too (not run), so they cannot rot unnoticed.
run_build build-ci -Dsanitize=false -Dtests=true -Dbench=true
run_build build-ci-asan -Dsanitize=true -Dtests=true

total_passed=0
total_failed=0
for dir in build-ci build-ci-asan; do
  read -r p f < <(count "$dir")
  echo "=== $dir: $p passed, $f failed"
  total_passed=$((total_passed + p))
  total_failed=$((total_failed + f))
done
# A build that did not configure or compile counts as one failure, so it can never look green.
for dir in build-ci build-ci-asan; do
  if [ ! -f "$dir/build.ninja" ]; then
    total_failed=$((total_failed + 1))
  fi
done
total_failed=$((total_failed + ${#build_failed[@]}))

# ---- Bounded fuzzing (issue 5) --------------------------------------------------------------
# Every libFuzzer target (one per corpus in tests/fuzz/corpus/) runs for 30 s on a copy of its
# seed corpus; each run is one test result: a crash, a leak, a timeout or a target that did not
# build counts as failed. The libraries are built with -fsanitize=fuzzer-no-link so the fuzzers
# see coverage inside them, not just in the target file.
fuzz_dir=build-ci-fuzz
fuzz_seconds=30
fuzz_passed=0
fuzz_failed=0
fuzz_start=$(date +%s)
fuzz_options=(-Dfuzz=true -Dwerror=false -Dsanitize=true -Dcpp_args=-fsanitize=fuzzer-no-link)
fuzz_configure() {
  if [ -d "$fuzz_dir" ]; then
    # meson 1.0's --reconfigure ignores a changed cpp_args; `meson configure` applies it.
    meson configure "$fuzz_dir" "${fuzz_options[@]}" ||
      CXX=clang++ meson setup --wipe "$fuzz_dir" "${fuzz_options[@]}"
  else
    CXX=clang++ meson setup "$fuzz_dir" "${fuzz_options[@]}"
  fi
}
fuzz_names=()
for corpus in tests/fuzz/corpus/*/; do
  fuzz_names+=("$(basename "$corpus")")
done
if ! command -v clang++ >/dev/null; then
  echo "=== fuzz: clang++ is missing"
  fuzz_failed=$((fuzz_failed + 1))
elif ! fuzz_configure; then
  echo "=== fuzz: configure FAILED"
  fuzz_failed=$((fuzz_failed + 1))
else
  echo "=== fuzz: compile (${fuzz_names[*]})"
  fuzz_bins=()
  for name in "${fuzz_names[@]}"; do fuzz_bins+=("tests/fuzz/fuzz_$name"); done
  ninja -C "$fuzz_dir" -j "$jobs" -k 0 "${fuzz_bins[@]}" || echo "=== fuzz: compile FAILED (some targets)"
  mkdir -p "$fuzz_dir/artifacts"
  for name in "${fuzz_names[@]}"; do
    bin="$fuzz_dir/tests/fuzz/fuzz_$name"
    if [ ! -x "$bin" ]; then
      echo "=== fuzz $name: FAIL (not built)"
      fuzz_failed=$((fuzz_failed + 1))
      continue
    fi
    work=$(mktemp -d)
    cp -r "tests/fuzz/corpus/$name/." "$work/"
    if timeout $((fuzz_seconds * 3 + 60)) "$bin" -max_total_time="$fuzz_seconds" -max_len=8192 \
        -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
        -artifact_prefix="$fuzz_dir/artifacts/$name-" "$work" >"$fuzz_dir/fuzz-$name.log" 2>&1; then
      echo "=== fuzz $name: ok ($(grep -Eo 'stat::number_of_executed_units: *[0-9]+' \
        "$fuzz_dir/fuzz-$name.log" | grep -Eo '[0-9]+$') runs)"
      fuzz_passed=$((fuzz_passed + 1))
    else
      echo "=== fuzz $name: FAIL (log $fuzz_dir/fuzz-$name.log, inputs in $fuzz_dir/artifacts/)"
      tail -n 40 "$fuzz_dir/fuzz-$name.log"
      fuzz_failed=$((fuzz_failed + 1))
    fi
    rm -rf "$work"
  done
fi
echo "=== fuzz: $fuzz_passed passed, $fuzz_failed failed in $(($(date +%s) - fuzz_start)) s"
total_passed=$((total_passed + fuzz_passed))
total_failed=$((total_failed + fuzz_failed))

echo "$total_passed passed, $total_failed failed"
[ "$total_failed" -eq 0 ]
