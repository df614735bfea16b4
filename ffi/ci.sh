#!/usr/bin/env bash
# The C ABI's checks: what CI (.ci/run) runs, runnable by hand.
#
#   bash ffi/ci.sh header   regenerate ffi/include/hmac_handshake.h (cbindgen)
#   bash ffi/ci.sh check    the header is current; the Rust tests; the C
#                           example, the README's loop and the hostile test
#                           built with the system C
#                           compiler (-Werror), the hostile test under
#                           AddressSanitizer, UBSan and LeakSanitizer; the
#                           C example authenticating against our serve and
#                           connect, passing the conformance tester's client
#                           cases, and against CPython 3.13's and 2.7's Listener
#                           and Client, each profile they speak, and failing
#                           with a wrong key
#   bash ffi/ci.sh miri     the hostile-input tests under Miri (about 2 min;
#                           the other tests reach the same pointer code)
#
# Needs cbindgen 0.29.4 (cargo install cbindgen --locked --version 0.29.4) and, for the interop,
# CPython 3.13 and 2.7 under $PYENV_ROOT/versions (default /root/.pyenv):
# without them it stops with an error.
set -euo pipefail
cd "$(dirname "$0")/.."

HEADER=ffi/include/hmac_handshake.h
OUT=target/ffi
CFLAGS=(-std=c99 -Wall -Wextra -Werror -pedantic -g -Iffi/include)
LIBS=(target/debug/libhmac_handshake_ffi.a -lpthread -ldl -lm)

generate() { # $1: where to write the header
  (cd ffi && cbindgen --quiet --config cbindgen.toml --output "$1")
}

ci_port() { # waits for the first line of $1 and prints the number at its end
  for _ in $(seq 100); do
    line=$(head -n 1 "$1" 2>/dev/null || true)
    case "$line" in *[0-9]) echo "${line##*[!0-9]}"; return 0;; esac
    sleep 0.1
  done
  echo "FATAL: no port in $1" >&2; return 1
}

python_of() { # $1: version prefix, e.g. 3.13
  local py
  py=$(ls -d "${PYENV_ROOT:-/root/.pyenv}"/versions/"$1".*/bin/python 2>/dev/null | head -n 1 || true)
  if [ -z "$py" ]; then echo "FATAL: no CPython $1 under ${PYENV_ROOT:-/root/.pyenv}/versions" >&2; exit 1; fi
  echo "$py"
}

expect() { # $1: wanted exit status, $2: what, rest: command
  local want=$1 what=$2 got=0
  shift 2
  timeout 60 "$@" || got=$?
  if [ "$got" != "$want" ]; then
    echo "FAIL: $what: exit $got, want $want" >&2
    exit 1
  fi
  echo "ok: $what (exit $got)"
}

expect_exit() { # $1: wanted exit status, $2: what, $3: a background job's pid
  local got=0
  wait "$3" || got=$?
  if [ "$got" != "$1" ]; then
    echo "FAIL: $2: exit $got, want $1" >&2
    exit 1
  fi
  echo "ok: $2 (exit $got)"
}

check_header() {
  local fresh
  fresh=$(mktemp)
  generate "$fresh"
  if ! diff -u "$HEADER" "$fresh"; then
    echo "FAIL: $HEADER is not what cbindgen makes of ffi/src: run 'bash ffi/ci.sh header' and commit it" >&2
    exit 1
  fi
  echo "ok: $HEADER is current"
}

build_c() {
  cargo build -p hmac-handshake-ffi
  mkdir -p "$OUT"
  cc "${CFLAGS[@]}" ffi/examples/hh_peer.c "${LIBS[@]}" -o "$OUT/hh_peer"
  cc "${CFLAGS[@]}" -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer \
    ffi/tests/hostile.c "${LIBS[@]}" -o "$OUT/hostile"
  # The README's loop as it stands (its first ```c block).
  awk '/^```c$/{f=1;next} /^```$/{if(f)exit} f' ffi/README.md | grep -v '#include "hmac_handshake.h"' > "$OUT/readme_body.c"
  cc "${CFLAGS[@]}" -I"$OUT" ffi/tests/readme_loop.c "${LIBS[@]}" -o "$OUT/readme_loop"
  echo "ok: C example and hostile test built with $(cc --version | head -n 1)"
}

interop() {
  local hh=target/debug/hmac-handshake peer=$OUT/hh_peer py313 py27 out pid port
  cargo build --features cli --bin hmac-handshake
  py313=$(python_of 3.13)
  py27=$(python_of 2.7)
  HMAC_HANDSHAKE_KEY="hex:$("$hh" keygen)"
  export HMAC_HANDSHAKE_KEY
  for profile in recipe multiprocessing native; do
    out=$(mktemp)
    "$hh" serve --profile "$profile" --listen 127.0.0.1:0 > "$out" &
    pid=$!
    port=$(ci_port "$out")
    expect 0 "C client -> hmac-handshake serve, $profile" "$peer" connect "$profile" "127.0.0.1:$port" "hello from C"
    # The recipe's client learns of a reject when the server closes: no echo (3).
    if [ "$profile" = recipe ]; then want=3; else want=1; fi
    HMAC_HANDSHAKE_KEY=another-key-of-16-bytes-or-more expect "$want" "C client with a wrong key -> serve, $profile" \
      "$peer" connect "$profile" "127.0.0.1:$port" "hello"
    kill "$pid"; wait "$pid" 2>/dev/null || true
    out=$(mktemp)
    "$peer" accept "$profile" > "$out" &
    pid=$!
    port=$(ci_port "$out")
    expect 0 "hmac-handshake connect -> C server, $profile" "$hh" connect --profile "$profile" "127.0.0.1:$port" --message "hello C"
    expect_exit 0 "C server exit, $profile" "$pid"
    # The conformance tester as the server, the C example as its client.
    expect 0 "hmac-handshake conformance client -> C client, $profile" \
      "$hh" conformance client --profile "$profile" --timeout 3 -- "$peer" connect "$profile" '{addr}' '{message}'
  done
  out=$(mktemp)
  HMAC_HANDSHAKE_KEY=readme-key "$py313" tests/peers/conformance_peer.py --role listener --deadline 60 > "$out" &
  pid=$!
  port=$(ci_port "$out")
  expect 0 "the README's loop -> CPython 3.13 Listener" "$OUT/readme_loop" "$port" readme-key
  expect 1 "the README's loop with a wrong key -> CPython 3.13 Listener" "$OUT/readme_loop" "$port" wrong-key
  kill "$pid"; wait "$pid" 2>/dev/null || true
  for py in "$py313" "$py27"; do
    local v
    v=$("$py" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
    for profile in multiprocessing recipe; do
      out=$(mktemp)
      "$py" tests/peers/conformance_peer.py --role listener --profile "$profile" --deadline 120 > "$out" &
      pid=$!
      port=$(ci_port "$out")
      HH_PEER_ALLOW_MD5=1 expect 0 "C client -> CPython $v Listener, $profile" "$peer" connect "$profile" "127.0.0.1:$port" "hello CPython"
      if [ "$profile" = multiprocessing ]; then
        HMAC_HANDSHAKE_KEY=wrong HH_PEER_ALLOW_MD5=1 expect 1 "C client with a wrong key -> CPython $v Listener" \
          "$peer" connect "$profile" "127.0.0.1:$port" "hello"
      fi
      kill "$pid"; wait "$pid" 2>/dev/null || true
      out=$(mktemp)
      HH_PEER_ALLOW_MD5=1 "$peer" accept "$profile" > "$out" &
      pid=$!
      port=$(ci_port "$out")
      HMAC_HANDSHAKE_ADDR="127.0.0.1:$port" HMAC_HANDSHAKE_MESSAGE="hello C server" \
        expect 0 "CPython $v Client -> C server, $profile" "$py" tests/peers/conformance_peer.py --role client --profile "$profile"
      expect_exit 0 "C server exit, CPython $v $profile" "$pid"
    done
    # Without HH_PEER_ALLOW_MD5 a legacy Listener is refused: md5_not_allowed.
    if [ "$v" = 2.7 ]; then
      out=$(mktemp)
      "$py" tests/peers/conformance_peer.py --role listener --deadline 120 > "$out" &
      pid=$!
      port=$(ci_port "$out")
      expect 1 "C client without MD5 -> CPython 2.7 Listener" "$peer" connect multiprocessing "127.0.0.1:$port" "hello"
      kill "$pid"; wait "$pid" 2>/dev/null || true
    fi
  done
  unset HMAC_HANDSHAKE_KEY
}

case "${1:-check}" in
  header)
    generate "$PWD/$HEADER"
    echo "wrote $HEADER"
    ;;
  check)
    command -v cbindgen >/dev/null || { echo "FATAL: cbindgen not found (cargo install cbindgen --locked --version 0.29.4)" >&2; exit 1; }
    check_header
    cargo test -p hmac-handshake-ffi
    build_c
    ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 "$OUT/hostile"
    interop
    echo "ffi: all checks passed"
    ;;
  miri)
    cargo +nightly miri test -p hmac-handshake-ffi --test hostile
    ;;
  *)
    echo "usage: bash ffi/ci.sh [header|check|miri]" >&2
    exit 2
    ;;
esac
