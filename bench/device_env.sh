# Sourced by bench/gpu_suite.sh and bench/learning_check.sh (needs PY set): makes the project's
# pure-Python needs importable on the GPU machine, whose image has jax, flax, optax, orbax,
# numpy, Pillow, scikit-image and torch but not ml_collections, dm-pix or tensorboardX (and no
# TensorFlow, which these scripts do not need). Their wheels travel in .whl
# (bench/fetch_device_wheels.sh) and are installed into /tmp/site, as the device README says.
# Stops the calling script, naming what is missing, rather than failing halfway through a run.
_device_missing() {
  local m out=""
  for m in ml_collections dm_pix tensorboardX; do
    "$PY" -c "import $m" 2>/dev/null || out="$out $m"
  done
  echo "$out"
}
if [ -n "$(_device_missing)" ] && ls .whl/*.whl >/dev/null 2>&1; then
  "$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
      --target /tmp/site .whl/*.whl && export PYTHONPATH="/tmp/site${PYTHONPATH:+:$PYTHONPATH}"
fi
_missing_now="$(_device_missing)"
if [ -n "$_missing_now" ]; then
  echo "missing Python modules:$_missing_now; run bench/fetch_device_wheels.sh here and carry .whl" >&2
  exit 2
fi
unset _missing_now
