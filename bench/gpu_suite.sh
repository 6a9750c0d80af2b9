#!/usr/bin/env bash
# The key GPU rows of docs/PERFORMANCE.md in one short run (fits a 15-minute H100/H200 budget:
# roughly 6-9 minutes of compile + timing; each step below has its own timeout).
#
#   bash bench/gpu_suite.sh [OUT_DIR]        # writes OUT_DIR/gpu_suite.jsonl and OUT_DIR/*.log
#
# Through the device tool (repository root; the image has jax[cuda], flax, optax, torch but no
# TensorFlow, ml_collections, dm-pix or tensorboardX: run bench/fetch_device_wheels.sh once here
# and carry .whl, see docs/PERFORMANCE.md):
#   run(command="bash bench/gpu_suite.sh $OUT", carry=[".whl"], timeout_s=600)
#
# Needs no TensorFlow: the benchmarks use synthetic arrays only.
# SMOKE=1 runs the same steps on the tiny model at tiny sizes (checks the script on a CPU).
set -u
OUT_DIR="${1:-${OUT:-/tmp/gpu_suite}}"
mkdir -p "$OUT_DIR"
JSONL="$OUT_DIR/gpu_suite.jsonl"
PY="${PYTHON:-python3}"
export PYTHONUNBUFFERED=1
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
# Let XLA take most of the GPU memory up front (its default is 75%); do not preallocate twice
# with PyTorch in the same process: PyTorch's caching allocator takes what it needs after.
export XLA_PYTHON_CLIENT_MEM_FRACTION="${XLA_PYTHON_CLIENT_MEM_FRACTION:-0.6}"

source bench/device_env.sh  # ml_collections, dm-pix, tensorboardX from .whl if missing

{
  echo "date: $(date -u +%FT%TZ)"
  nvidia-smi --query-gpu=name,driver_version,clocks.max.sm,memory.total --format=csv || true
  "$PY" -c 'import jax, torch; print("jax", jax.__version__, jax.devices()); print("torch", torch.__version__, torch.cuda.get_device_name())'
} 2>&1 | tee "$OUT_DIR/env.log"

step() {  # step NAME TIMEOUT_S ARGS...
  local name="$1" limit="$2"; shift 2
  echo "=== $name ($(date -u +%T))"
  timeout "$limit" "$PY" "$@" --json-out "$JSONL" 2>&1 | tee "$OUT_DIR/$name.log" | tail -n 8
}

if [ "${SMOKE:-0}" = 1 ]; then
  T=(--config configs/tiny.py --batch 2 --patch 32); I=(--config configs/tiny.py --sizes 32x64)
else
  T=(--batch 16 --patch 256); I=(--sizes 720x1280)
fi

# 1. Training, the target row: bf16, batch 16 x 256x256, no adversarial term, then with it.
step train_bf16_b16 240 bench/train_step.py "${T[@]}" --dtypes bfloat16 \
    --adversarial "$([ "${SMOKE:-0}" = 1 ] && echo off || echo both)" --repeats 5 --warmup 2 --steps 20
# 2. Training in float32 at the same batch (each framework at its default conv precision: both
#    let cuDNN use TF32 for float32 convolutions unless told otherwise).
step train_fp32_b16 150 bench/train_step.py "${T[@]}" --dtypes float32 \
    --adversarial off --repeats 3 --warmup 2 --steps 10
# 3. Inference at 720p: latency at batch 1 (target <= 25 ms bf16) and throughput at batch 8.
step infer_720p 150 bench/inference.py "${I[@]}" --dtypes bfloat16,float32 \
    --batches 1,8 --repeats 10 --warmup 3
echo "done $(date -u +%T); results in $JSONL"
