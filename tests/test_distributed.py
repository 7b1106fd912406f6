"""Training under tf.distribute: N replicas on logical CPU devices equal one device on the
same global batch. Logical devices must be configured before TensorFlow starts, so each
check runs in its own Python process."""
import json
import subprocess
import sys
import textwrap

REPLICA_EQUIVALENCE = textwrap.dedent(r"""
    import json
    import numpy as np
    import tensorflow as tf
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    from training.benchmark import replica_check, training_iteration
    from training.options import Augment

    SMALL = dict(resolution=32, num_channels=3, fmap_base=64, fmap_max=16)
    G_ARGS = dict(SMALL, latent_size=16, dlatent_size=16, mapping_fmaps=16, mapping_layers=2)
    D_ARGS = dict(SMALL, mbstd_group_size=0)
    mirrored = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])  # one per process: collectives share keys
    one = replica_check(G_ARGS, D_ARGS, "NHWC", 8, tf.distribute.OneDeviceStrategy("/cpu:0"), lod=1.5)
    two = replica_check(G_ARGS, D_ARGS, "NHWC", 8, mirrored, lod=1.5)
    # discriminator augmentation (bgc from p = 0.5) with the ADA heuristic adjusting p every 2 minibatches by 0.2
    ada = Augment("bgc", p=0.5, target=0.6, interval=2, speed_kimg=0.08)
    one_ada = replica_check(G_ARGS, D_ARGS, "NHWC", 8, tf.distribute.OneDeviceStrategy("/cpu:0"), iterations=8,
                            lod=1.5, seed=2, augment=ada)
    two_ada = replica_check(G_ARGS, D_ARGS, "NHWC", 8, mirrored, iterations=8, lod=1.5, seed=2, augment=ada)
    # the compiled iteration of the training loop (iteration_function) runs on two replicas, stats reduced
    call, _ = training_iteration(G_ARGS, dict(SMALL), "NHWC", 8, False, strategy=mirrored)
    stats = call()
    assert sorted(stats) == ["Loss/D", "Loss/G", "Loss/r1_penalty", "Loss/scores/fake", "Loss/scores/real",
                             "Loss/signs/real"], stats
    assert all(np.isfinite(v) and np.ndim(v) == 0 for v in stats.values()), stats
    def diffs(a, b):
        return {k: [float(np.max(np.abs(a[k] - b[k]))), float(np.max(np.abs(a[k])))] for k in a}

    trajectory = {k: one_ada[k].tolist() for k in ("augment/p", "augment/signs", "augment/count")}
    print(json.dumps({"plain": diffs(one, two), "ada": diffs(one_ada, two_ada), "trajectory": trajectory}))
""")


def test_two_replicas_equal_one_device_on_the_same_global_batch():
    """3 iterations (D step, Gs update, G step) at lod 1.5 (`training.benchmark.replica_check`). Tolerance: 1e-4 of
    each variable's scale; float sums over 2 replicas differ from one sum only by rounding, which Adam's sign-like
    first steps can amplify only near zero gradients. (Minibatch stddev is off here: its groups stay within a replica
    by design.) Also: the training loop's compiled iteration runs on two replicas and reduces its stats.

    With discriminator augmentation (every D evaluation's parameters drawn for the global batch and fed in slices)
    and the ADA heuristic, 8 iterations: the same weights, and the same trajectory of p and of the heuristic's
    accumulator (its sums of signs of D's reals, gathered over both replicas: summing one replica's signs twice
    instead gives 8 and 0 where they are 6 and 2 here, though the same p). p goes up and down (seed 2: the
    minibatches' reals signs fall on both sides of the target)."""
    out = subprocess.run([sys.executable, "-c", REPLICA_EQUIVALENCE], capture_output=True, text=True, timeout=900)
    assert out.returncode == 0, out.stderr[-3000:]
    result = json.loads(out.stdout.strip().splitlines()[-1])
    for name in ("plain", "ada"):
        diffs = result[name]
        assert len(diffs) > 100
        bad = {k: d for k, (d, scale) in diffs.items() if d > 1e-4 * max(scale, 1.0)}
        assert not bad, (name, bad)
    trajectory = result["trajectory"]
    assert trajectory["augment/count"] == [8, 0] * 4  # the global batch, restarted every 2 minibatches
    p = trajectory["augment/p"]
    moves = {round(b - a, 6) for a, b in zip(p, p[1:])}
    assert {0.2, -0.2} <= moves, p  # up and down (0.2 = batch 8 * interval 2 / (0.08 * 1000))
