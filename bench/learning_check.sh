#!/usr/bin/env bash
# Real learning check (issue 8): train the FULL default generator on the synthetic dataset for a
# fixed number of steps on one GPU, export it, and measure PSNR/SSIM on the real GOPRO pairs in
# shared/samples/gopro_test (the issue gives the blurry baseline on `blur` as 24.05 and 25.11 dB,
# one per pair) and on the synthetic test split; see docs/PERFORMANCE.md.
#
#   bash bench/learning_check.sh OUT_DIR [STEPS] [SAMPLES_DIR]
#
# STEPS defaults to 600 (batch 16, bf16, no adversarial term). Without TensorFlow the device
# machine trains from the NumPy source (threaded: 87 patches/s on our 2 CPU cores, so likely
# several times that on the device's 16), and the input may set the pace there: 600 steps is
# at most about 6-7 minutes. Raise STEPS only after train.log shows the real rate. SMOKE=1 runs the same pipeline with configs/tiny.py for a few steps on a CPU.
# Needs no TensorFlow (the training loop falls back to the NumPy data source without it), but
# needs ml_collections (carry its wheel in .whl, see docs/PERFORMANCE.md).
set -eu
OUT_DIR="${1:-${OUT:-/tmp/learning_check}}"
STEPS="${2:-600}"
SAMPLES="${3:-shared/samples/gopro_test}"
PY="${PYTHON:-python3}"
export PYTHONUNBUFFERED=1
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
export DEEPDEBLUR_CACHE="${DEEPDEBLUR_CACHE:-/tmp/deepdeblur_cache}"
mkdir -p "$OUT_DIR"
if ! "$PY" -c 'import ml_collections' 2>/dev/null && ls .whl/*.whl >/dev/null 2>&1; then
  "$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
      --target /tmp/site .whl/*.whl && export PYTHONPATH="/tmp/site:$PYTHONPATH"
fi

WORK=/tmp/learning_check_run
rm -rf "$WORK"
if [ "${SMOKE:-0}" = 1 ]; then
  CFG=(--config=configs/tiny.py --config.num_train_steps="$STEPS")
else
  # Full model (3 scales, 19 ResBlocks, 64 features, 5x5), bf16 compute, batch 16 of 256x256,
  # MSE content loss, no adversarial term; more synthetic data than the default 64 pairs.
  CFG=(--config=configs/default.py --config.data.dataset=synthetic --config.data.cache=True
       --config.data.synthetic_train_sequences=32 --config.data.synthetic_pairs_per_sequence=8
       --config.data.synthetic_test_sequences=4 --config.data.synthetic_size='(320, 320)'
       --config.dtype=bfloat16 --config.batch_size=16 --config.patch_size=256
       --config.adversarial_weight=0.0 --config.learning_rate=1e-4
       --config.num_train_steps="$STEPS" --config.lr_boundaries="($((STEPS * 3 / 4)),)"
       --config.checkpoint_every_steps="$STEPS" --config.eval_every_steps="$STEPS"
       --config.log_every_steps=100)
fi
echo "train start $(date -u +%T)"
"$PY" -m deepdeblur_jax.main "${CFG[@]}" --workdir="$WORK" 2>&1 | tee "$OUT_DIR/train.log" | \
    grep -E "step|psnr|PSNR|error|Error" | tail -n 20
echo "train end $(date -u +%T)"
"$PY" tools/export.py --workdir "$WORK" --output "$WORK/export"

# The real pairs are flat files NAME_{blur,sharp}.png: stage them as a GOPRO_Large test split.
REAL=/tmp/learning_check_gopro
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
SYN=$(ls -d "$DEEPDEBLUR_CACHE"/synthetic/*/ | head -n 1)
"$PY" tools/evaluate.py --data "$SYN" --baseline --output "$OUT_DIR/synthetic_blur.json"
"$PY" tools/evaluate.py --data "$SYN" --checkpoint "$WORK/export" \
    --output "$OUT_DIR/synthetic_model.json"
for f in "$OUT_DIR"/*.json; do echo "$f"; head -c 600 "$f"; echo; done
