#!/usr/bin/env bash
# The GPU check: the accelerator suite of stylegan-bench and the GPU-relevant tests, in about 8 minutes, results in
# $OUT (default ./gpu_check_out). Run from the repository root on the machine with the accelerator:
#
#   bash benchmarks/gpu_check.sh                      # official networks at 256 and 1024 px
#   SCALE=tiny OUT=/tmp/dry bash benchmarks/gpu_check.sh   # a CPU dry run: small networks, same rows and tests
#
# What it needs: Python with TensorFlow 2.21 (GPU build: `pip install "tensorflow[and-cuda]==2.21.*"`) and this
# package's other requirements. On a machine without network access, put the wheels in ./.whl (see
# benchmarks/README.md) and they are installed from there first. Files written to $OUT: suite.jsonl (one JSON line
# per row), suite.md (the table), tests.log, profile.txt (time per op type in three training steps, from
# tf.profiler) and step.xplane.pb (the raw trace, for TensorBoard's profile plugin), env.txt.
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-gpu_check_out}
SCALE=${SCALE:-official}
SUITE_SECONDS=${SUITE_SECONDS:-300}
mkdir -p "$OUT"
export PYTHONUNBUFFERED=1 TF_CPP_MIN_LOG_LEVEL=${TF_CPP_MIN_LOG_LEVEL:-2}
start=$(date +%s)

if ! python3 -c "import tensorflow" 2>/dev/null; then
  if ls .whl/*.whl >/dev/null 2>&1; then
    python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .whl/*.whl \
      && export PYTHONPATH=/tmp/site:${PYTHONPATH:-}
  fi
fi
if ! python3 -c "import tensorflow" 2>/dev/null; then
  echo "error: TensorFlow is not installed here and no wheels were found in .whl/; install" \
       "\"tensorflow[and-cuda]==2.21.*\" (see benchmarks/README.md)" | tee "$OUT/env.txt"
  exit 2
fi
export PYTHONPATH=$PWD:${PYTHONPATH:-}

{ date -u; nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv 2>/dev/null || echo "no nvidia-smi";
  python3 -c "import tensorflow as tf; print('tensorflow', tf.__version__, tf.config.list_physical_devices())"; } \
  > "$OUT/env.txt" 2>&1
cat "$OUT/env.txt"

# 1. The accelerator suite (hard time limit).
python3 -m cli.bench --suite=accelerator --suite_scale="$SCALE" --time_limit="$SUITE_SECONDS" --seconds=3 \
  --out="$OUT/suite" 2>&1 | tee "$OUT/suite.log"
cp "$OUT/suite/results.jsonl" "$OUT/suite.jsonl" 2>/dev/null; cp "$OUT/suite/results.md" "$OUT/suite.md" 2>/dev/null
rm -rf "$OUT/suite"

# 2. The GPU-relevant tests: layouts (NCHW parity under XLA), XLA and mixed-precision training steps, distribution.
left=$(( 480 - ($(date +%s) - start) ))
if [ "$left" -gt 60 ]; then
  timeout "$left" python3 -m pytest -q -x -p no:cacheprovider \
    tests/test_official_stylegan.py tests/test_train_step.py tests/test_distributed.py \
    -k "NCHW or xla or mixed or replica or official_training" 2>&1 | tee "$OUT/tests.log" | tail -5
else
  echo "tests skipped: the suite used the time" | tee "$OUT/tests.log"
fi

# 3. A profile of one training step at the largest resolution (what is slow), if time is left.
left=$(( 540 - ($(date +%s) - start) ))
if [ "$left" -gt 30 ]; then
  timeout "$left" python3 - "$OUT/profile" "$SCALE" <<'EOF' 2>&1 | tail -3
import sys
import tensorflow as tf
from cli.bench_suite import SCALES
from training.benchmark import training_iteration
spec = SCALES[sys.argv[2]]
res = spec["resolutions"][-1]
gpu = bool(tf.config.list_logical_devices("GPU"))
G = dict(num_channels=3, resolution=res, label_size=0, **spec["G"])
D = dict(num_channels=3, resolution=res, label_size=0, **spec["D"])
call, _ = training_iteration(G, D, "NCHW" if gpu else "NHWC", spec["minibatch"][res], xla=gpu,
                             dtype="float16" if gpu else "float32")
call(); call()
tf.profiler.experimental.start(sys.argv[1])
for _ in range(3):
    call()
tf.profiler.experimental.stop()
print("profile written to", sys.argv[1])
EOF
  python3 benchmarks/profile_summary.py "$OUT/profile" > "$OUT/profile.txt" 2>&1 && head -25 "$OUT/profile.txt"
  find "$OUT/profile" -name "*.xplane.pb" -exec cp {} "$OUT/step.xplane.pb" \; ; rm -rf "$OUT/profile"
fi
echo "gpu_check done in $(( $(date +%s) - start )) s; results in $OUT"
