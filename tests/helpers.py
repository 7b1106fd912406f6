"""Small helpers shared by the tests: network variables, and killing a training process at a chosen point."""
import os
import re
import signal
import time

import numpy as np


def randomize_variables(net, seed=0, bias_scale=0.5):
    """Non-trivial values in every variable but ``lod`` (biases, noise strengths and the
    constant input start at 0 or 1): N(0, 1), biases N(0, bias_scale)."""
    rng = np.random.RandomState(seed)
    for name, var in net.all_official_variables():
        if not name.endswith("lod"):
            var.assign(np.asarray(rng.randn(*var.shape), np.float32) * (bias_scale if name.endswith("bias") else 1.0))


def copy_variables(src, dst):
    """Copy every variable of ``src`` into ``dst`` by official name."""
    values = dict(src.all_official_variables())
    for name, var in dst.all_official_variables():
        var.assign(values[name])


def kill_9_when(proc, outdir, ready, run_on=0.0, timeout=600):
    """Wait until the run directory of the training process `proc` (the first `NNNNN-*` folder in `outdir`) meets
    `ready(run_dir)`, let it run on `run_on` seconds, then kill it with SIGKILL; returns the run directory. Fails
    with the process's stderr if it ends first."""
    deadline, run_dir = time.time() + timeout, None
    try:
        while time.time() < deadline:
            runs = sorted(d for d in os.listdir(outdir) if re.match(r"^\d{5}-", d)) if os.path.isdir(outdir) else []
            run_dir = os.path.join(outdir, runs[0]) if runs else None
            if run_dir and ready(run_dir):
                time.sleep(run_on)
                break
            assert proc.poll() is None, proc.stderr.read().decode()[-2000:]
            time.sleep(0.5)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    finally:
        proc.kill()
    return run_dir
