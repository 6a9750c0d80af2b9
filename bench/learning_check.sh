#!/usr/bin/env bash
# Real learning check (issue 8): train the FULL default generator on the synthetic dataset for a
# bounded number of steps and seconds on one GPU, export it, and measure PSNR/SSIM on the real
# GOPRO pairs of shared/samples/gopro_test (the issue gives the blurry baseline on `blur` as 24.05 and 25.11 dB,
# one per pair) and on the synthetic test split; see docs/PERFORMANCE.md.
#
#   bash bench/learning_check.sh OUT_DIR [STEPS] [SAMPLES_DIR]
#
# STEPS (default 2000; batch 16, bf16, no adversarial term, learning rate x0.1 at 3/4) is an upper
# bound: training is also stopped by SIGTERM after TRAIN_SECONDS (default 360, data generation
# and compilation included), which saves a checkpoint, so a slower rate than expected still
# leaves a model to evaluate; train.log says which ended it. SAMPLES_DIR defaults to
# .samples/gopro_test: the device machine does not get ../shared, so copy the pairs there first
# (docs/PERFORMANCE.md). Needs no TensorFlow (the training loop falls back to the threaded NumPy
# data source without it); ml_collections, dm-pix and tensorboardX come from .whl
# (bench/fetch_device_wheels.sh, bench/device_env.sh). SMOKE=1 runs the same pipeline with
# configs/tiny.py for a few steps on a CPU. RESUME=1: see below.
set -eu
OUT_DIR="${1:-${OUT:-/tmp/learning_check}}"
STEPS="${2:-2000}"
SAMPLES="${3:-.samples/gopro_test}"
TRAIN_SECONDS="${TRAIN_SECONDS:-360}"
# Camera and object speeds x MOTION_SCALE (data.synthetic_motion_scale; 1 = the dataset as
# shipped, whose camera moves a median 2.9 px during one blurry frame at 256x256; 4 gives 11.6 px,
# closer to GOPRO's blur lengths, but on CPU it made the quickstart model worse on the real
# pairs: docs/PERFORMANCE.md).
MOTION_SCALE="${MOTION_SCALE:-1}"
PY="${PYTHON:-python3}"
export PYTHONUNBUFFERED=1
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
# Scratch space (checkpoints, the staged pairs, the synthetic dataset): not under OUT_DIR, whose
# files the device tool brings back (at most 8).
SCRATCH="${LC_SCRATCH:-/tmp/learning_check}"
mkdir -p "$OUT_DIR"
ls "$SAMPLES"/*_blur.png >/dev/null || { echo "no *_blur.png pairs in $SAMPLES" >&2; exit 2; }
source bench/device_env.sh  # ml_collections, dm-pix, tensorboardX from .whl if missing

WORK="$SCRATCH/run"
# RESUME=1 continues the previous call's run on the same machine (its checkpoint) for another
# TRAIN_SECONDS; otherwise training starts afresh.
[ "${RESUME:-0}" = 1 ] || rm -rf "$WORK"
if [ "${SMOKE:-0}" = 1 ]; then
  SYN="$SCRATCH/synthetic_tiny"
  CFG=(--config=configs/tiny.py --config.num_train_steps="$STEPS" --config.data.root="$SYN")
else
  # Full model (3 scales, 19 ResBlocks, 64 features, 5x5), bf16 compute, batch 16 of 256x256,
  # MSE content loss, no adversarial term; more synthetic data than the default 64 pairs.
  SYN="$SCRATCH/synthetic_full_motion$MOTION_SCALE"
  CFG=(--config=configs/default.py --config.data.dataset=synthetic --config.data.cache=True
       --config.data.root="$SYN" --config.data.synthetic_motion_scale="$MOTION_SCALE"
       --config.data.synthetic_train_sequences=32 --config.data.synthetic_pairs_per_sequence=8
       --config.data.synthetic_test_sequences=4 --config.data.synthetic_size='(320, 320)'
       --config.dtype=bfloat16 --config.batch_size=16 --config.patch_size=256
       --config.adversarial_weight=0.0 --config.learning_rate=1e-4
       --config.num_train_steps="$STEPS" --config.lr_boundaries="($((STEPS * 3 / 4)),)"
       --config.checkpoint_every_steps="$STEPS" --config.eval_every_steps="$STEPS"
       --config.log_every_steps=100)
fi
# The input's rate on this machine's cores (NumPy rows only where TensorFlow is missing), to set
# against the GPU step rate of bench/gpu_suite.sh.
if [ "${SMOKE:-0}" = 1 ]; then
  IB=(--steps 3 --batch-size 4 --sequences 1 --pairs-per-sequence 4)
else
  IB=(--steps 30 --batch-size 16)
fi
timeout 300 "$PY" bench/input_pipeline.py "${IB[@]}" > "$OUT_DIR/input_pipeline.log" 2>&1 || \
    echo "bench/input_pipeline.py failed or timed out, see input_pipeline.log" >&2
grep -E "CPUs|patches/s|pairs/s" "$OUT_DIR/input_pipeline.log" || true
echo "train start $(date -u +%T), at most $STEPS steps or $TRAIN_SECONDS s"
set +e
timeout -s TERM "$TRAIN_SECONDS" "$PY" -m deepdeblur_jax.main "${CFG[@]}" --workdir="$WORK" \
    > "$OUT_DIR/train.log" 2>&1
rc=$?
set -e
grep -E "step|psnr|PSNR|error|Error|interrupted" "$OUT_DIR/train.log" | tail -n 20
echo "train end $(date -u +%T), exit status $rc (124: stopped by the time limit after saving)"
[ "$rc" = 0 ] || [ "$rc" = 124 ] || { echo "training failed, see train.log" >&2; exit "$rc"; }
"$PY" tools/export.py --workdir "$WORK" --output "$WORK/export" --overwrite

# The real pairs are flat files NAME_{blur,sharp}.png: stage them as a GOPRO_Large test split.
REAL="$SCRATCH/gopro"
rm -rf "$REAL"
for blur in "$SAMPLES"/*_blur.png; do
  name=$(basename "$blur" _blur.png); seq=${name%_*}; frame=${name##*_}
  mkdir -p "$REAL/test/$seq/blur" "$REAL/test/$seq/sharp"
  cp "$blur" "$REAL/test/$seq/blur/$frame.png"
  cp "$SAMPLES/${name}_sharp.png" "$REAL/test/$seq/sharp/$frame.png"
done
"$PY" tools/evaluate.py --data "$REAL" --blur-key blur --baseline --output "$OUT_DIR/real_blur.json"
"$PY" tools/evaluate.py --data "$REAL" --blur-key blur --checkpoint "$WORK/export" \
    --output "$OUT_DIR/real_model.json"
"$PY" tools/evaluate.py --data "$SYN" --baseline --output "$OUT_DIR/synthetic_blur.json"
"$PY" tools/evaluate.py --data "$SYN" --checkpoint "$WORK/export" \
    --output "$OUT_DIR/synthetic_model.json"
for f in "$OUT_DIR"/*.json; do echo "$f"; head -c 600 "$f"; echo; done
