#!/usr/bin/env bash
# Runs toy's generated programs against LLVM's own C++ Kaleidoscope (chapter 7, LLVM 14,
# built from Debian's llvm-14-examples sources) and compares what printd and putchard
# print. Not part of `cargo test`: it installs packages and takes minutes.
#
#   tools/cxx-reference/run.sh [CASES]        # default 500 programs
#
# The programs are the differential test's generator in its tutorial flavor (no
# forward references, no redefinitions, no fmax/fmin: see tests/common/programs.rs),
# each first checked across toy's engines. Differences the C++ is known to have are
# normalized: it prints a NaN as `-nan` or `nan` depending on whether LLVM folded it.
set -euo pipefail
cd "$(dirname "$0")/../.."
cases="${1:-500}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

examples=/usr/share/doc/llvm-14-examples/examples/Kaleidoscope
if [ ! -d "$examples/Chapter7" ] || ! command -v llvm-config-14 >/dev/null || ! command -v g++ >/dev/null; then
    apt-get update -qq
    apt-get install -y -qq llvm-14-examples llvm-14-dev g++ >/dev/null
fi

# The C++ tutorial writes program output to stderr among its prompts and IR dumps:
# send printd and putchard to stdout instead, nothing else changed.
mkdir -p "$work/cxx/Chapter7" "$work/cxx/include"
cp "$examples/include/KaleidoscopeJIT.h" "$work/cxx/include/"
zcat "$examples/Chapter7/toy.cpp.gz" \
    | sed -e 's/fputc((char)X, stderr);/fputc((char)X, stdout); fflush(stdout);/' \
          -e 's/fprintf(stderr, "%f\\n", X);/fprintf(stdout, "%f\\n", X); fflush(stdout);/' \
    > "$work/cxx/Chapter7/toy.cpp"
grep -q 'fputc((char)X, stdout)' "$work/cxx/Chapter7/toy.cpp"
grep -q 'fprintf(stdout, "%f\\n", X)' "$work/cxx/Chapter7/toy.cpp"
echo "building LLVM's chapter 7..."
# shellcheck disable=SC2046
g++ -O2 -std=c++17 "$work/cxx/Chapter7/toy.cpp" -o "$work/ch7" \
    $(llvm-config-14 --cxxflags) -fexceptions -rdynamic \
    $(llvm-config-14 --ldflags --system-libs --libs core orcjit native)

echo "generating $cases programs (each checked across toy's engines)..."
mkdir -p "$work/programs"
TOY_GENERATOR=tutorial TOY_DUMP_PROGRAMS="$work/programs" TOY_FUZZ_CASES="$cases" \
    cargo test --release --quiet --test differential engines_agree_on_generated_programs \
    >/dev/null
cargo build --release --quiet
toy="${CARGO_TARGET_DIR:-target}/release/toy"

normalize() { sed -e 's/-nan/nan/g'; }
same=0
differ=0
for program in "$work"/programs/*.ks; do
    # The C++ reads stdin to its end; a program that crashes it counts as differing.
    # (Output is flushed at each call, so a crash keeps what came before it.)
    cxx_out="$("$work/ch7" < "$program" 2>/dev/null | normalize || true)"
    toy_out="$(TOY_CACHE=off "$toy" --no-echo < "$program" 2>/dev/null | normalize || true)"
    if [ "$cxx_out" == "$toy_out" ]; then
        same=$((same + 1))
    else
        differ=$((differ + 1))
        if [ "$differ" -le 3 ]; then
            echo "--- differs: $program"
            cat "$program"
            diff <(echo "$cxx_out") <(echo "$toy_out") | head -20 || true
        fi
    fi
done
echo "$same same, $differ differ (of $((same + differ)) programs)"
[ "$differ" -eq 0 ]
