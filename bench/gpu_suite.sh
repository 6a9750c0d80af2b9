#!/usr/bin/env bash
# The GPU benchmark rows: the default generator's train step and 720p inference, each timed
# against the PyTorch reference in the same process (bench/train_step.py, bench/inference.py).
#
#   bash bench/gpu_suite.sh OUT_DIR [SECONDS]
#
# Rows, in this order (the bf16 targets first):
#   train_bf16_b16      train step, bf16, batch 16 of 256x256, no adversarial term
#   infer_720p_bf16     inference at 720x1280, bf16, batch 1 and 8
#   train_bf16_b16_adv  train step, bf16, batch 16 of 256x256, with the adversarial term
#   train_fp32_b16      train step, float32, batch 16 of 256x256, no adversarial term
#   infer_720p_fp32     inference at 720x1280, float32, batch 1 and 8
# SECONDS (default: no limit) bounds the whole run: a row starts only while at least MIN_ROW_S
# seconds (default 30) of it are left, and is stopped when they run out; the rows after it are
# then skipped. Writes OUT_DIR/gpu_suite.jsonl (one JSON line per finished row),
# OUT_DIR/<row>.log (each row's output) and OUT_DIR/env.log (date, GPU, jax and torch versions).
# Exit status 1 when a row failed or was stopped, 0 otherwise (skipped rows are reported).
#
# PYTHON names the interpreter (default python3). Needs no TensorFlow: the inputs are synthetic
# arrays. SMOKE=1 runs the same rows on configs/tiny.py at tiny sizes, without the adversarial
# row (the discriminator needs patches of at least 193 px): a check of the script on a CPU.
set -u
if [ $# -lt 1 ] || [ $# -gt 2 ]; then
  echo "usage: bash bench/gpu_suite.sh OUT_DIR [SECONDS]" >&2
  exit 2
fi
OUT_DIR="$1"
LIMIT_S="${2:-}"
if [ -n "$LIMIT_S" ] && [[ ! "$LIMIT_S" =~ ^[0-9]+$ ]]; then
  echo "SECONDS must be a whole number, got $LIMIT_S" >&2
  exit 2
fi
MIN_ROW_S="${MIN_ROW_S:-30}"
START=$(date +%s)
mkdir -p "$OUT_DIR"
JSONL="$OUT_DIR/gpu_suite.jsonl"
PY="${PYTHON:-python3}"
export PYTHONUNBUFFERED=1
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
# Let XLA take 60 % of the GPU memory up front (its default is 75 %), leaving room for PyTorch's
# caching allocator in the same process.
export XLA_PYTHON_CLIENT_MEM_FRACTION="${XLA_PYTHON_CLIENT_MEM_FRACTION:-0.6}"

{
  echo "date: $(date -u +%FT%TZ)"
  echo "load average: $(cut -d' ' -f1-3 /proc/loadavg) ($(nproc) CPUs)"
  nvidia-smi --query-gpu=name,driver_version,clocks.max.sm,memory.total --format=csv 2>/dev/null \
      || echo "nvidia-smi: not available"
  "$PY" -c 'import jax, torch; print("jax", jax.__version__, jax.devices())
print("torch", torch.__version__,
      torch.cuda.get_device_name() if torch.cuda.is_available() else "no CUDA")'
} 2>&1 | tee "$OUT_DIR/env.log"

FAILED=0
row() {  # row NAME SCRIPT ARGS...: one benchmark, within what is left of SECONDS
  local name="$1"; shift
  local limit=()
  if [ -n "$LIMIT_S" ]; then
    local left=$(( START + LIMIT_S - $(date +%s) ))
    if [ "$left" -lt "$MIN_ROW_S" ]; then
      echo "=== $name skipped: $(( left > 0 ? left : 0 )) s of $LIMIT_S s left"
      return
    fi
    limit=(timeout "$left")
  fi
  echo "=== $name ($(date -u +%T))"
  "${limit[@]+"${limit[@]}"}" "$PY" "$@" --json-out "$JSONL" > "$OUT_DIR/$name.log" 2>&1
  local rc=$?
  tail -n 8 "$OUT_DIR/$name.log"
  if [ "$rc" != 0 ]; then
    FAILED=1
    echo "=== $name: exit status $rc$([ "$rc" = 124 ] && echo ' (stopped: out of time)')"
  fi
}

if [ "${SMOKE:-0}" = 1 ]; then
  T=(--config configs/tiny.py --batch 2 --patch 32); I=(--config configs/tiny.py --sizes 32x64)
  ADVERSARIAL=0
else
  T=(--batch 16 --patch 256); I=(--sizes 720x1280); ADVERSARIAL=1
fi

row train_bf16_b16 bench/train_step.py "${T[@]}" --dtypes bfloat16 --adversarial off \
    --repeats 5 --warmup 2 --steps 20
row infer_720p_bf16 bench/inference.py "${I[@]}" --dtypes bfloat16 --batches 1,8 \
    --repeats 10 --warmup 3
if [ "$ADVERSARIAL" = 1 ]; then
  row train_bf16_b16_adv bench/train_step.py "${T[@]}" --dtypes bfloat16 --adversarial on \
      --repeats 5 --warmup 2 --steps 20
fi
# float32: each framework at its default convolution precision (both let cuDNN use TF32).
row train_fp32_b16 bench/train_step.py "${T[@]}" --dtypes float32 --adversarial off \
    --repeats 3 --warmup 2 --steps 10
row infer_720p_fp32 bench/inference.py "${I[@]}" --dtypes float32 --batches 1,8 \
    --repeats 10 --warmup 3
echo "done $(date -u +%T) after $(( $(date +%s) - START )) s; results in $JSONL"
exit "$FAILED"
