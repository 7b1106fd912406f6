"""Small helpers shared by the network tests."""
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
