#!/usr/bin/env bash
# Downloads, on a connected machine, the wheels the offline GPU machine lacks for the
# conformance suite (its image has pytest, hypothesis, numpy, pyyaml and jinja2, but not cffi
# or jsonschema, nor gguf, which writes the test models; see .library/device/KINDS.md), into bench/gpu/wheels/ (ignored by git).
# run_gpu.sh installs them there with pip --no-index into a scratch directory. Carry the
# folder to the GPU machine with the working tree (it is an ignored path).
#
#     bash bench/gpu/fetch_wheels.sh [PYTHON_VERSION]     # default 3.12, the GPU image's
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
version=${1:-3.12}
python3 -m pip download --quiet --no-deps --dest wheels --only-binary=:all: --python-version "$version" \
  --implementation cp --platform manylinux2014_x86_64 --platform manylinux_2_17_x86_64 \
  cffi pycparser jsonschema fastjsonschema jsonschema-specifications referencing rpds-py attrs typing-extensions \
  gguf tqdm requests urllib3 idna certifi charset-normalizer
ls -1 wheels
