#!/usr/bin/env bash
# Fuzz smoke run for hmac-handshake: builds every cargo-fuzz target in fuzz/
# and runs each one, one after another, for FUZZ_SECONDS (default 30) on the
# installed nightly toolchain (FUZZ_TOOLCHAIN, default "nightly").
#
# Prints one line per target with libFuzzer's executed-unit count
# (stat::number_of_executed_units, from -print_final_stats=1) and its last
# coverage figure (cov:). Exits non-zero if any target crashed (a panic is
# an invariant violation: see fuzz/README.md); every target still runs, and
# the crashing inputs stay under fuzz/artifacts/<target>/.
#
# The committed seeds in fuzz/corpus/<target>/ are read but never written:
# new inputs go to a scratch directory that is removed afterwards.
set -euo pipefail
cd "$(dirname "$0")/.."

FUZZ_SECONDS="${FUZZ_SECONDS:-30}"
TOOLCHAIN="${FUZZ_TOOLCHAIN:-nightly}"

if ! rustup run "$TOOLCHAIN" rustc --version >/dev/null 2>&1; then
  echo "FATAL: the fuzz run needs the $TOOLCHAIN toolchain (rustup toolchain install $TOOLCHAIN)" >&2
  exit 1
fi
if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "cargo-fuzz not found: installing it"
  cargo install cargo-fuzz --locked
fi
cargo fuzz --version
rustup run "$TOOLCHAIN" rustc --version

cd fuzz
echo "=== cargo +$TOOLCHAIN fuzz build ==="
cargo +"$TOOLCHAIN" fuzz build

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT

failed=()
summary=()
for t in $(cargo +"$TOOLCHAIN" fuzz list); do
  mkdir -p "$scratch/corpus-$t" "corpus/$t"
  log="$scratch/$t.log"
  echo "=== fuzz $t for ${FUZZ_SECONDS}s ==="
  rc=0
  cargo +"$TOOLCHAIN" fuzz run "$t" "$scratch/corpus-$t" "corpus/$t" -- \
    -max_total_time="$FUZZ_SECONDS" -print_final_stats=1 -timeout=20 \
    >"$log" 2>&1 || rc=$?
  execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | tail -n 1 | grep -o '[0-9]*$' || true)
  cov=$(grep -oE 'cov: [0-9]+' "$log" | tail -n 1 | grep -oE '[0-9]+' || true)
  line=$(printf '%-14s execs=%-10s cov=%-6s %s' "$t" "${execs:-?}" "${cov:-?}" \
    "$([ "$rc" -eq 0 ] && echo ok || echo "CRASH (exit $rc)")")
  echo "$line"
  summary+=("$line")
  if [ "$rc" -ne 0 ]; then
    failed+=("$t")
    echo "--- last lines of the $t log ---"
    tail -n 80 "$log"
    ls -1 "artifacts/$t" 2>/dev/null | sed "s|^|artifact: fuzz/artifacts/$t/|" || true
    echo "reproduce: cd fuzz && cargo +$TOOLCHAIN fuzz run $t artifacts/$t/<file>;" \
      "show the input: cargo +$TOOLCHAIN fuzz fmt $t artifacts/$t/<file>"
  fi
done

echo
echo "=== fuzz summary (${FUZZ_SECONDS}s per target) ==="
printf '%s\n' "${summary[@]}"
if [ "${#failed[@]}" -ne 0 ]; then
  echo "FUZZ FAILED: ${failed[*]}" >&2
  exit 1
fi
echo "fuzz: every target ran clean"
