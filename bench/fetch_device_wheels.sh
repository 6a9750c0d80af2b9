#!/usr/bin/env bash
# Downloads (here, where PyPI is reachable) the wheels that the GPU machine's image lacks, for its
# Python 3.12 on x86-64, into .whl (ignored by git; name it in the device tool's `carry`).
# All three are pure Python; their own needs (absl-py, PyYAML, chex, numpy, packaging, protobuf)
# are in the image. bench/device_env.sh installs them there.
set -eu
cd "$(dirname "$0")/.."
python3 -m pip download --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
    --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 \
    --platform manylinux2014_x86_64 -d .whl \
    ml_collections==1.1.0 dm-pix==0.4.5 tensorboardX==2.6.5
ls -l .whl
