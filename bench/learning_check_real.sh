#!/usr/bin/env bash
# Real-data learning check: train on real GOPRO_Large frames for M minutes, export, and measure
# blurry vs deblurred PSNR/SSIM on the test pairs (other scenes) and on the training frames.
#
#   bash bench/learning_check_real.sh --data ROOT --out DIR [--minutes M] [--config C]
#        [--init-from CKPT] [--at-minutes "10 20"] [--test-only] [-- --config.FIELD=VALUE ...]
#
# --data        a GOPRO_Large folder or any subset of it in the same layout:
#               ROOT/train/<SEQ>/{blur,sharp}/*.png and ROOT/test/<SEQ>/{blur,sharp}/*.png.
# --out         results folder (emptied first; an existing folder must be empty or an earlier
#               run of this script): train.log, summary.txt, *.json from
#               tools/evaluate.py, the run in OUT/run, exports in OUT/export*, the final model's
#               test outputs in OUT/test_outputs (bench/real_crops.py turns them into
#               blur | output | sharp crops).
# --minutes     wall-clock training time (default 40), start-up and compilation included;
#               SIGTERM then stops training, which saves a checkpoint (config.num_train_steps
#               also ends it if reached first).
# --config      training config (default configs/real_cpu.py); --init-from sets
#               config.init_from (an inference checkpoint from tools/export.py or
#               tools/convert_pytorch.py); arguments after `--` go to deepdeblur_jax.main.
# --at-minutes  earlier points of the same run: for each M', the last checkpoint saved before
#               M' minutes after the start of training is exported and evaluated on the test
#               pairs (needs config.checkpoint_every_steps small and keep_checkpoints=0).
# --test-only   skip the (slow) evaluation on the training frames (quick recipe probes).
# Every evaluation uses the linear `blur` frames (--blur-key blur). PYTHON names the interpreter
# (default python3).
set -eu
MINUTES=40
CONFIG=configs/real_cpu.py
INIT_FROM=""
AT_MINUTES=""
DATA=""
OUT=""
TEST_ONLY=0
EXTRA=()
while [ $# -gt 0 ]; do
  case "$1" in
    --data) DATA="$2"; shift 2 ;;
    --out) OUT="$2"; shift 2 ;;
    --minutes) MINUTES="$2"; shift 2 ;;
    --config) CONFIG="$2"; shift 2 ;;
    --init-from) INIT_FROM="$2"; shift 2 ;;
    --at-minutes) AT_MINUTES="$2"; shift 2 ;;
    --test-only) TEST_ONLY=1; shift ;;
    --) shift; EXTRA=("$@"); break ;;
    *) echo "unknown argument $1 (see the header of $0)" >&2; exit 2 ;;
  esac
done
if [ -z "$DATA" ] || [ -z "$OUT" ]; then
  echo "usage: bash $0 --data ROOT --out DIR [--minutes M] [--config C] ... (see its header)" >&2
  exit 2
fi
PY="${PYTHON:-python3}"
export PYTHONUNBUFFERED=1
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
DATA="$(cd "$DATA" && pwd)" || { echo "data folder not found" >&2; exit 2; }
for split in train test; do
  ls "$DATA/$split"/*/blur/*.png >/dev/null 2>&1 || \
      { echo "no $split/<SEQ>/blur/*.png in $DATA" >&2; exit 2; }
done
# OUT is emptied: refuse a folder that holds anything but an earlier run of this script.
if [ -d "$OUT" ] && [ -n "$(ls -A "$OUT")" ] && [ ! -f "$OUT/summary.txt" ]; then
  echo "$OUT is not empty and holds no earlier learning check (summary.txt):" \
       "choose another --out" >&2
  exit 2
fi
rm -rf "$OUT"
mkdir -p "$OUT"

WORK="$OUT/run"
CFG=(--config="$CONFIG" --config.data.dataset=gopro_large --config.data.root="$DATA"
     --config.data.blur_key=blur)
[ -n "$INIT_FROM" ] && CFG+=(--config.init_from="$(cd "$(dirname "$INIT_FROM")" && pwd)/$(basename "$INIT_FROM")")
CFG+=("${EXTRA[@]+"${EXTRA[@]}"}")
SECONDS_LIMIT=$("$PY" -c "print(max(1, round(float('$MINUTES') * 60)))")
echo "data: $DATA" | tee "$OUT/summary.txt"
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg) ($(nproc) CPUs)" | tee -a "$OUT/summary.txt"
START=$(date +%s)
echo "train start $(date -u +%T), $CONFIG for at most $MINUTES min ${EXTRA[*]+${EXTRA[*]}}" | tee -a "$OUT/summary.txt"
set +e
timeout -s TERM "$SECONDS_LIMIT" "$PY" -m deepdeblur_jax.main "${CFG[@]}" --workdir="$WORK" \
    > "$OUT/train.log" 2>&1
rc=$?
set -e
grep -E "step [0-9]+/|init_from|error|Error|interrupted" "$OUT/train.log" | tail -n 8
echo "train end $(date -u +%T) after $(( $(date +%s) - START )) s, exit status $rc" \
     "(124: stopped by the time limit after saving); load average $(cut -d' ' -f1-3 /proc/loadavg)" \
     | tee -a "$OUT/summary.txt"
[ "$rc" = 0 ] || [ "$rc" = 124 ] || { echo "training failed, see $OUT/train.log" >&2; exit 1; }

evaluate() {  # NAME SPLIT CHECKPOINT|--baseline [tools/evaluate.py arguments]
  local name=$1 split=$2 source=(--checkpoint "$3")
  [ "$3" = --baseline ] && source=(--baseline)
  "$PY" tools/evaluate.py --data "$DATA" --split "$split" --blur-key blur "${source[@]}" \
      --output "$OUT/$name.json" "${@:4}" 2>>"$OUT/evaluate.log" >/dev/null
}
compare() {  # LABEL BLUR_JSON MODEL_JSON: per-image and mean PSNR/SSIM, blurry -> deblurred
  "$PY" - "$@" <<'EOF' | tee -a "$OUT/summary.txt"
import json, sys
label, blur, model = sys.argv[1], json.load(open(sys.argv[2])), json.load(open(sys.argv[3]))
print(f'{label}: {model["num_images"]} images, blurry -> deblurred')
for b, m in zip(blur['per_image'], model['per_image']):
  print(f'  {m["path"]}: PSNR {b["psnr"]:.2f} -> {m["psnr"]:.2f} dB ({m["psnr"] - b["psnr"]:+.2f}),'
        f' SSIM {b["ssim"]:.4f} -> {m["ssim"]:.4f}')
print(f'  mean: PSNR {blur["psnr"]:.3f} -> {model["psnr"]:.3f} dB (gain {model["psnr"] - blur["psnr"]:+.3f}),'
      f' SSIM {blur["ssim"]:.4f} -> {model["ssim"]:.4f} ({model["ssim"] - blur["ssim"]:+.4f})')
EOF
}

evaluate test_blur test --baseline
[ "$TEST_ONLY" = 1 ] || evaluate train_blur train --baseline
# Earlier points: the last checkpoint whose folder was written before START + M' minutes.
for at in $AT_MINUTES; do
  limit=$("$PY" -c "print($START + float('$at') * 60)")
  step=$("$PY" - "$WORK/checkpoints" "$limit" <<'EOF'
import os, sys
folder, limit = sys.argv[1], float(sys.argv[2])
steps = [int(d) for d in os.listdir(folder) if d.isdigit()
         and os.path.getmtime(os.path.join(folder, d)) <= limit]
print(max(steps) if steps else '')
EOF
)
  if [ -z "$step" ]; then echo "no checkpoint saved within $at min" | tee -a "$OUT/summary.txt"; continue; fi
  "$PY" tools/export.py --workdir "$WORK" --step "$step" --output "$OUT/export_${at}min" >/dev/null
  evaluate "test_model_${at}min" test "$OUT/export_${at}min"
  compare "test pairs, ${at} min (step $step)" "$OUT/test_blur.json" "$OUT/test_model_${at}min.json"
done
"$PY" tools/export.py --workdir "$WORK" --output "$OUT/export" >/dev/null
final_step=$("$PY" -c "import json; print(json.load(open('$OUT/export/config.json'))['provenance']['step'])")
evaluate test_model test "$OUT/export" --save-images "$OUT/test_outputs"
compare "test pairs, end (step $final_step)" "$OUT/test_blur.json" "$OUT/test_model.json"
if [ "$TEST_ONLY" = 0 ]; then
  evaluate train_model train "$OUT/export"
  compare "training frames, end (step $final_step)" "$OUT/train_blur.json" "$OUT/train_model.json"
fi
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$OUT/summary.txt"
