#!/usr/bin/env bash
# One device call that fits a 15-minute GPU session (machine start ~1-2 min + this <= 10 min):
# the target rows of bench/gpu_suite.sh, then the full generator trained on real GOPRO frames for
# the time left, then the adversarial and float32 rows if time still remains. Every phase is bounded by what is
# left of BUDGET seconds, so the call ends inside the device tool's 600 s cap whatever the speeds.
#
#   bash bench/gpu_session.sh [OUT_DIR] [BUDGET_S]          # default /tmp/gpu_session, 570 s
#
# Through the device tool (repository root), after bench/fetch_device_wheels.sh and
#   mkdir -p .samples && cp -r ../shared/samples/{gopro_test,gopro_train_mini} .samples/  (49 MB):
#   run(command="bash bench/gpu_session.sh $OUT 570", carry=[".whl", ".samples"], timeout_s=600)
#
# Phases (each skipped when too little time is left for it):
#  1. bench/train_step.py, bf16, batch 16 x 256x256, no adversarial term, JAX and the PyTorch
#     AMP model of bench/ in the same process (the training target row);
#  2. bench/inference.py, 720p bf16 at batch 1 and 8 (the inference target row);
#  3. bench/learning_check_real.sh with configs/real_gpu.py (3 scales x 19 ResBlocks x 64, bf16,
#     L1, batch 16 of 256x256, identity start) on .samples/gopro_train_mini for the time left
#     minus EVAL_RESERVE_S, then export and tools/evaluate.py on .samples/gopro_test;
#  4. the bf16 row with the adversarial term, then float32 training and 720p inference rows,
#     while at least 90 s remain.
# Writes OUT_DIR/gpu_suite.jsonl (one JSON line per finished benchmark row), OUT_DIR/logs.tgz
# (every log, the learning check's summary.txt, train.log and evaluation JSON; rewritten after
# each phase, so a cut-off call still returns what finished) and OUT_DIR/test_outputs/ (the
# deblurred test frames, for bench/real_crops.py). SMOKE=1: tiny model and sizes (CPU rehearsal).
set -u
OUT_DIR="${1:-${OUT:-/tmp/gpu_session}}"
BUDGET="${2:-570}"
EVAL_RESERVE_S="${EVAL_RESERVE_S:-120}"  # export + 2 evaluations of the full model at 720p
START=$(date +%s)
PY="${PYTHON:-python3}"
export PYTHONUNBUFFERED=1
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
export XLA_PYTHON_CLIENT_MEM_FRACTION="${XLA_PYTHON_CLIENT_MEM_FRACTION:-0.6}"
SCRATCH="${GPU_SESSION_SCRATCH:-/tmp/gpu_session_scratch}"
rm -rf "$SCRATCH"; mkdir -p "$OUT_DIR" "$SCRATCH"
JSONL="$OUT_DIR/gpu_suite.jsonl"

source bench/device_env.sh  # ml_collections, dm-pix, tensorboardX from .whl if missing

left() { echo $(( START + BUDGET - $(date +%s) )); }
pack() { tar -czf "$OUT_DIR/logs.tgz" -C "$SCRATCH" . 2>/dev/null || true; }
step() {  # step NAME MAX_S ARGS...: a benchmark bounded by MAX_S and by the time left
  local name="$1" limit="$2"; shift 2
  local avail=$(( $(left) - 5 ))
  [ "$avail" -lt "$limit" ] && limit=$avail
  if [ "$limit" -lt 30 ]; then echo "=== $name skipped: $(left) s left"; return; fi
  echo "=== $name (at most $limit s; $(date -u +%T))"
  timeout "$limit" "$PY" "$@" --json-out "$JSONL" > "$SCRATCH/$name.log" 2>&1
  echo "exit status $?"; tail -n 12 "$SCRATCH/$name.log"
  pack
}

{
  echo "date: $(date -u +%FT%TZ)"
  nvidia-smi --query-gpu=name,driver_version,clocks.max.sm,memory.total --format=csv || true
  "$PY" -c 'import jax, flax, torch; print("jax", jax.__version__, "flax", flax.__version__, jax.devices()); print("torch", torch.__version__, torch.cuda.get_device_name() if torch.cuda.is_available() else "no CUDA")'
  echo "$(nproc) CPUs"
} 2>&1 | tee "$SCRATCH/env.log"

if [ "${SMOKE:-0}" = 1 ]; then
  T=(--config configs/tiny.py --batch 2 --patch 32); I=(--config configs/tiny.py --sizes 32x64)
  ADV=off  # the discriminator needs >= 193 px
  R=(-- --config.model.n_resblocks=1 --config.model.n_feats=8 --config.batch_size=2
     --config.patch_size=64 --config.checkpoint_every_steps=20)
else
  T=(--batch 16 --patch 256); I=(--sizes 720x1280); ADV=on; R=()
fi

# 1-2. The target rows.
step train_bf16_b16 130 bench/train_step.py "${T[@]}" --dtypes bfloat16 --adversarial off \
    --repeats 5 --warmup 2 --steps 20
step infer_720p_bf16 100 bench/inference.py "${I[@]}" --dtypes bfloat16 --batches 1,8 \
    --repeats 10 --warmup 3

# 3. The full generator on real frames for the time left.
train_s=$(( $(left) - EVAL_RESERVE_S ))
if [ "$train_s" -ge 60 ]; then
  minutes=$("$PY" -c "print(round($train_s / 60, 2))")
  echo "=== real learning check: $minutes min of training ($(date -u +%T))"
  LCR=/tmp/learning_check_real
  bash bench/learning_check_real.sh --minutes "$minutes" --config configs/real_gpu.py \
      --samples .samples --out "$LCR" --test-only "${R[@]+"${R[@]}"}" 2>&1 | tail -n 30
  mkdir -p "$SCRATCH/real"
  cp "$LCR"/summary.txt "$LCR"/train.log "$LCR"/*.json "$SCRATCH/real/" 2>/dev/null
  cp "$LCR"/evaluate.log "$SCRATCH/real/" 2>/dev/null
  [ -d "$LCR/test_outputs" ] && cp -r "$LCR/test_outputs" "$OUT_DIR/"
  pack
else
  echo "=== real learning check skipped: $(left) s left"
fi

# 4. The adversarial and float32 rows with what remains.
if [ "$(left)" -ge 90 ]; then
  [ "$ADV" = on ] && step train_bf16_b16_adv 130 bench/train_step.py "${T[@]}" \
      --dtypes bfloat16 --adversarial on --repeats 5 --warmup 2 --steps 20
  step train_fp32_b16 150 bench/train_step.py "${T[@]}" --dtypes float32 --adversarial off \
      --repeats 3 --warmup 2 --steps 10
  step infer_720p_fp32 100 bench/inference.py "${I[@]}" --dtypes float32 --batches 1,8 \
      --repeats 10 --warmup 3
fi
pack
echo "done $(date -u +%T) after $(( $(date +%s) - START )) s; results in $JSONL and $OUT_DIR/logs.tgz"
