#!/usr/bin/env bash
# The CUDA backend on a GPU machine, in one command, from the repository root:
#
#     bash bench/gpu/run_gpu.sh
#
# Builds native/build/cuda and native/build/host, then: the scenario of every device path
# and bad input; the host-vs-cuda differential of token streams; benchmarks whose baselines
# are measured in the same run (context creation, load throughput, tokens/s);
# compute-sanitizer memcheck and racecheck over the scenario; the native tests; the
# conformance suite with --backend cuda. Results go to $OUT (else ./gpu-results): run.log,
# one file per step, summary.json and summary.txt. Nothing is downloaded (the machine is
# offline): Python packages missing there are taken from bench/gpu/wheels/ if present
# (fill it with bench/gpu/fetch_wheels.sh on a connected machine), else the steps that
# need them are skipped and say so. Budget: about 8 minutes on 16 cores.
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT"
RESULTS=${OUT:-$ROOT/gpu-results}
WORK=${WORKER_FFI_GPU_WORK:-${TMPDIR:-/tmp}/worker_ffi_gpu}  # models: big, never under $OUT
JOBS=$(nproc)
PY=${PYTHON:-python3}
mkdir -p "$RESULTS" "$WORK"
exec > >(tee "$RESULTS/run.log") 2>&1
START=$SECONDS
: > "$RESULTS/steps.tsv"

# step NAME TIMEOUT CMD...: runs CMD (a program or a function of this script) with its
# output in $RESULTS/NAME.log and records NAME, status and seconds in steps.tsv. Status:
# pass, FAIL(rc), TIMEOUT or skip.
step() {
  local name=$1 limit=$2; shift 2
  local t0=$SECONDS rc
  echo "=== $name (limit ${limit}s)"
  if declare -F "$1" > /dev/null; then
    export -f "$1"  # timeout runs programs, so a function runs in a child bash
    timeout --kill-after=10 "$limit" bash -c "$*" > "$RESULTS/$name.log" 2>&1
  else
    timeout --kill-after=10 "$limit" "$@" > "$RESULTS/$name.log" 2>&1
  fi
  rc=$?
  tail -n 25 "$RESULTS/$name.log"
  local status=pass
  if [ $rc -eq 124 ] || [ $rc -eq 137 ]; then status=TIMEOUT; elif [ $rc -ne 0 ]; then status="FAIL($rc)"; fi
  printf '%s\t%s\t%s\n' "$name" "$status" "$((SECONDS - t0))" >> "$RESULTS/steps.tsv"
  echo "--- $name: $status in $((SECONDS - t0))s"
  return $rc
}
skip() {
  printf '%s\tskip\t0\t%s\n' "$1" "$2" >> "$RESULTS/steps.tsv"
  echo "=== $1: skipped: $2"
}

# ------------------------------------------------------------------ the machine
{
  nvidia-smi --query-gpu=name,memory.total,driver_version,pcie.link.gen.current,pcie.link.width.current --format=csv
  nvcc --version | tail -n 2
  echo "cores: $JOBS"; free -g | head -n 2; uname -r
  "$PY" --version
} > "$RESULTS/machine.txt" 2>&1
cat "$RESULTS/machine.txt"

# ------------------------------------------------------------------ Python packages
# The conformance suite needs cffi, pytest, hypothesis, numpy, yaml, jsonschema, jinja2.
PYDEPS="$WORK/pydeps"
missing=$("$PY" - <<'EOF'
import importlib.util
print(" ".join(m for m in ["cffi", "pycparser", "pytest", "hypothesis", "numpy", "yaml", "jsonschema", "fastjsonschema", "jinja2", "gguf"]
               if importlib.util.find_spec(m) is None))
EOF
)
if [ -n "$missing" ] && compgen -G "bench/gpu/wheels/*.whl" > /dev/null; then
  echo "installing vendored wheels for: $missing"
  "$PY" -m pip install --quiet --no-index --no-deps --target "$PYDEPS" bench/gpu/wheels/*.whl \
    && export PYTHONPATH="$PYDEPS${PYTHONPATH:+:$PYTHONPATH}"
  missing=$("$PY" -c 'import importlib.util as u; print(" ".join(m for m in ["cffi","pycparser","pytest","hypothesis","numpy","yaml","jsonschema","fastjsonschema","jinja2","gguf"] if u.find_spec(m) is None))')
fi
# The gguf package (carried as a wheel, see fetch_wheels.sh) writes the test models.
if ! "$PY" -c 'import gguf' 2> /dev/null; then
  missing="${missing:+$missing }gguf"
fi
echo "python packages missing: ${missing:-none}"

# ------------------------------------------------------------------ builds
# The default generator, so a build directory left by an earlier run is reused as it is.
step build_cuda 300 bash -c "cmake -S native -B native/build/cuda -DWORKER_FFI_BACKEND=cuda -DCMAKE_BUILD_TYPE=Release \
  && cmake --build native/build/cuda -j $JOBS"
step build_host 300 bash -c "cmake -S native -B native/build/host -DWORKER_FFI_BACKEND=host -DCMAKE_BUILD_TYPE=Release \
  && cmake --build native/build/host -j $JOBS"
export CUDA_LIB=$ROOT/native/build/cuda/libworker_ffi.so
export HOST_LIB=$ROOT/native/build/host/libworker_ffi.so
export DRIVER=$WORK/gpu_driver
step build_driver 120 nvcc -O2 -std=c++20 -Xcompiler -Wall,-Wextra,-pthread bench/gpu/gpu_driver.cpp -I native/include -ldl -o "$DRIVER"
if [ ! -f "$CUDA_LIB" ] || [ ! -x "$DRIVER" ]; then
  echo "no CUDA library or driver: stopping"; exit 1
fi
command -v cuobjdump > /dev/null && cuobjdump --list-elf --list-ptx "$CUDA_LIB" > "$RESULTS/cuda_targets.txt" 2>&1

# ------------------------------------------------------------------ models
step models 180 "$PY" bench/gpu/make_models.py "$WORK/models"
export M=$WORK/models WORK JOBS RESULTS

# ------------------------------------------------------------------ scenario (bad input too)
step scenario 120 "$DRIVER" scenario "$CUDA_LIB" "$M"

# ------------------------------------------------------------------ differential host vs cuda
# Cases: "TEMPERATURE SEED MAX_TOKENS PROMPT". Every temperature class (greedy, sharp, flat),
# seeds at both ends of uint64, prompts with multi-byte characters. Fewer and shorter cases
# for the wide models, whose host steps are slow.
cases=$WORK/cases.txt
: > "$cases"
for prompt in "Hello" "Hello world, café" "The" "日本語" "x"; do
  for t in 0 0.25 0.7 1 1.5 2; do
    for seed in 0 1 12345 18446744073709551615; do echo "$t $seed 200 $prompt" >> "$cases"; done
  done
done
wide_cases=$WORK/wide_cases.txt
: > "$wide_cases"
for t in 0 0.7 1.5; do for seed in 3 18446744073709551615; do echo "$t $seed 48 Hello" >> "$wide_cases"; done; done
big_cases=$WORK/big_cases.txt
printf '0 0 24 Hello\n1 7 24 Hello\n' > "$big_cases"
export cases wide_cases big_cases
differential() {
  local rc=0 model c n same
  for model in rand odd tiny medium bench1g; do
    case $model in medium) c=$wide_cases ;; bench1g) c=$big_cases ;; *) c=$cases ;; esac
    "$DRIVER" streams "$HOST_LIB" "$M/$model.gguf" "$c" > "$WORK/diff_host_$model.txt" || return 1
    "$DRIVER" streams "$CUDA_LIB" "$M/$model.gguf" "$c" > "$WORK/diff_cuda_$model.txt" || return 1
    n=$(wc -l < "$WORK/diff_host_$model.txt")
    same=$(paste "$WORK/diff_host_$model.txt" "$WORK/diff_cuda_$model.txt" | awk -F'\t' '$1 == $2' | wc -l)
    echo "$model: $same of $n streams identical, $(awk '{ n += length($2) / 2 } END { print n }' "$WORK/diff_host_$model.txt") bytes"
    if [ "$n" -eq 0 ] || [ "$same" -ne "$n" ]; then
      rc=1
      diff "$WORK/diff_host_$model.txt" "$WORK/diff_cuda_$model.txt" | head -n 6 | cut -c 1-200
    fi
  done
  return $rc
}
step differential 180 differential

# ------------------------------------------------------------------ benchmarks
cat "$M/bench1g.gguf" > /dev/null  # in the page cache, as the target says
# probe TAG CMD...: prints "TAG <CMD's JSON line>"; a failing CMD fails the probe (the
# benchmark functions go on with their other probes and fail at the end).
probe() {
  local out
  if out=$("${@:2}"); then echo "$1 $out"; else echo "$1 FAILED"; return 1; fi
}
export -f probe
bench_init() {
  local k rc=0
  for k in 1 2 3 4 5 6 7; do  # fresh processes, interleaved so drift hits both alike
    probe bare "$DRIVER" init-bare || rc=1
    probe ffi "$DRIVER" init-ffi "$CUDA_LIB" || rc=1
    WORKER_FFI_CUDA_PREWARM=after-open probe ffi_after_open "$DRIVER" init-ffi "$CUDA_LIB" || rc=1
  done
  return $rc
}
step bench_init 120 bench_init
bench_load() {
  local threads rc=0
  for threads in 1 4 8 16 "$JOBS"; do probe ceiling "$DRIVER" ceiling "$M/bench1g.gguf" "$threads" 3 || rc=1; done
  probe pageable "$DRIVER" pageable "$M/bench1g.gguf" 3 || rc=1
  probe h2d "$DRIVER" h2d 1073741824 5 || rc=1
  probe pin "$DRIVER" pin 67108864 || rc=1
  # The first load of a process is one sample, so it is taken in 5 fresh processes (the
  # summary reports medians), interleaved with the A/B variant whose page-locking starts
  # after cuda_init instead of beside it, so drift hits both alike.
  local k
  for k in 1 2 3 4 5; do
    probe load "$DRIVER" load "$CUDA_LIB" "$M/bench1g.gguf" 6 || rc=1
    WORKER_FFI_CUDA_PREWARM=after-open probe load_after_open "$DRIVER" load "$CUDA_LIB" "$M/bench1g.gguf" 6 || rc=1
  done
  # A/B of the first load: after a pause (nothing left to wait for), with 8 lanes; and one
  # traced load (where time goes).
  probe load_idle "$DRIVER" load "$CUDA_LIB" "$M/bench1g.gguf" 6 300 || rc=1
  WORKER_FFI_CUDA_UPLOAD_THREADS=8 probe load_lanes8 "$DRIVER" load "$CUDA_LIB" "$M/bench1g.gguf" 6 || rc=1
  WORKER_FFI_TRACE=1 "$DRIVER" load "$CUDA_LIB" "$M/bench1g.gguf" 2 > /dev/null 2> "$RESULTS/trace_load.txt" || rc=1
  # The same with the staging block from cudaHostAlloc instead of registered huge pages (A/B).
  WORKER_FFI_CUDA_STAGING_ALLOC=hostalloc probe load_hostalloc "$DRIVER" load "$CUDA_LIB" "$M/bench1g.gguf" 6 || rc=1
  probe load_host "$DRIVER" load "$HOST_LIB" "$M/bench1g.gguf" 2 || rc=1
  return $rc
}
step bench_load 240 bench_load
bench_tokens() {
  local rc=0
  probe cuda_rand "$DRIVER" tokens "$CUDA_LIB" "$M/rand.gguf" 2048 3 || rc=1
  probe host_rand "$DRIVER" tokens "$HOST_LIB" "$M/rand.gguf" 2048 3 || rc=1
  probe cuda_bench1g "$DRIVER" tokens "$CUDA_LIB" "$M/bench1g.gguf" 256 3 || rc=1
  probe cuda_bench1g_t0 "$DRIVER" tokens "$CUDA_LIB" "$M/bench1g.gguf" 256 3 0 || rc=1
  probe d2d "$DRIVER" d2d 536870912 10 || rc=1
  probe host_bench1g "$DRIVER" tokens "$HOST_LIB" "$M/bench1g.gguf" 16 1 || rc=1
  return $rc
}
step bench_tokens 180 bench_tokens

# WORKER_FFI_GPU_QUICK=1: builds, scenario, differential and benchmarks only (minutes of
# device time saved while iterating on speed); the sanitizers, the conformance suite and
# the native tests are recorded as skipped.
if [ "${WORKER_FFI_GPU_QUICK:-0}" = 1 ]; then
  for s in memcheck racecheck conformance info_ctest_cuda; do skip "$s" "WORKER_FFI_GPU_QUICK=1"; done
  "$PY" bench/gpu/summarize.py "$RESULTS" | tee "$RESULTS/summary.txt"
  echo "total: $((SECONDS - START))s (quick run); results in $RESULTS"
  ! awk -F'\t' '$2 != "pass" && $2 != "skip" && $1 !~ /^info_/ { bad = 1 } END { exit !bad }' "$RESULTS/steps.tsv"
  exit $?
fi

# ------------------------------------------------------------------ compute-sanitizer
# API errors are not counted: the scenario provokes them on purpose (out of memory, bad
# device ids) and checks every result itself; kernel memory errors, leaks and races are.
if command -v compute-sanitizer > /dev/null; then
  step memcheck 240 compute-sanitizer --tool memcheck --leak-check full --report-api-errors no --error-exitcode 1 \
    "$DRIVER" scenario "$CUDA_LIB" "$M"
  step racecheck 240 compute-sanitizer --tool racecheck --report-api-errors no --error-exitcode 1 \
    "$DRIVER" scenario "$CUDA_LIB" "$M"
else
  skip memcheck "compute-sanitizer not on PATH"
  skip racecheck "compute-sanitizer not on PATH"
fi

# ------------------------------------------------------------------ conformance, native tests
# The suite's files run as parallel shards (each a pytest process forking its own children),
# with the differential beside them: the same tests and examples as one sequential run, in
# the time of the longest shard. Each shard writes its own report directory and log.
conformance_parallel() {
  local rc=0 name pids=() names=()
  local shards k
  for f in conformance/test_*.py; do
    name=$(basename "$f" .py)
    [ "$name" = test_differential ] && continue
    # The negative tests (a forked child per rule and function, most of the suite's time) run
    # as interleaved slices (--shard K/N; every test is in one slice), the others as one
    # process each.
    # More slices do not help: 24 processes took 138 s where these 16 take ~131 s (every test
    # forks a child that creates a CUDA context and loads models; the GPU and its driver are
    # shared by all of them).
    case $name in
      test_negative) shards=${CONFORMANCE_NEGATIVE_SHARDS:-8} ;;
      *) shards=1 ;;
    esac
    for k in $(seq 1 "$shards"); do
      "$PY" -m pytest "conformance/$name.py" --lib "$CUDA_LIB" --backend cuda -q -p no:cacheprovider \
        --shard "$k/$shards" --report-dir "$RESULTS/conformance/$name-$k" > "$RESULTS/conformance_$name-$k.log" 2>&1 &
      pids+=($!); names+=("$name-$k")
    done
  done
  # The differential tests of the core and of the plug-in (its token streams), host vs cuda,
  # in two slices (one process took 128 s, the longest of the run).
  for k in 1 2; do
    "$PY" -m pytest conformance/test_differential.py conformance/test_plugin.py -m differential \
      --lib "$HOST_LIB" --lib "$CUDA_LIB" --backend cuda -q -p no:cacheprovider --shard "$k/2" \
      --report-dir "$RESULTS/conformance/differential-$k" > "$RESULTS/conformance_differential-$k.log" 2>&1 &
    pids+=($!); names+=("differential-$k")
  done
  for k in "${!pids[@]}"; do
    if wait "${pids[$k]}"; then echo "${names[$k]}: $(tail -n 1 "$RESULTS/conformance_${names[$k]}.log")"
    else rc=1; echo "${names[$k]}: FAILED"; tail -n 20 "$RESULTS/conformance_${names[$k]}.log"; fi
  done
  # Every test file of the suite ran in some shard (a new file must be added above).
  for f in conformance/test_*.py; do
    name=$(basename "$f" .py)
    [ "$name" = test_differential ] || [[ " ${names[*]} " == *" $name-1 "* ]] || { echo "not run: $f"; rc=1; }
  done
  return $rc
}
export -f conformance_parallel
export PY RESULTS
if [ -z "$missing" ] && [ -d conformance ]; then
  step conformance 300 conformance_parallel
else
  why="python packages missing: ${missing:-none}; conformance/ present: $([ -d conformance ] && echo yes || echo no)"
  skip conformance "$why"
fi
# Informational: the native tests were written against the host backend (its virtual device
# count, its exact inference-state size), so some of their cases do not apply to cuda.
step info_ctest_cuda 120 ctest --test-dir native/build/cuda --output-on-failure

"$PY" bench/gpu/summarize.py "$RESULTS" | tee "$RESULTS/summary.txt"
echo "total: $((SECONDS - START))s; results in $RESULTS"
# Exit status: 1 when a step failed (info_ steps and skips excepted); targets are reported.
! awk -F'\t' '$2 != "pass" && $2 != "skip" && $1 !~ /^info_/ { bad = 1 } END { exit !bad }' "$RESULTS/steps.tsv"
