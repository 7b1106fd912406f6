"""The ``progan`` preset end to end on the bundled data: ``training.train --config=progan``
(with smaller feature maps, test only), snapshots, TensorBoard, resume, a loadable pickle."""
import json
import os
import re
import subprocess
import sys

import numpy as np
import pytest

import stylegan_tf
from training.options import Adam
from training.presets import PRESETS

ENV = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", CUDA_VISIBLE_DEVICES="")
# The CLI with the preset's feature maps shrunk (everything else as the preset says).
SMALL_PROGAN = """
from cli import train
from training import presets
preset = presets.PRESETS["progan"]

def small():
    options = preset()
    options.G_args = options.D_args = dict(fmap_base=128, fmap_max=32)
    return options

presets.PRESETS["progan"] = small
train.run_main()
"""


def train(*args, small=False):
    command = [sys.executable, "-c", SMALL_PROGAN] if small else [sys.executable, "-m", "training.train"]
    out = subprocess.run([*command, *args], capture_output=True, text=True, timeout=900, env=ENV)
    assert out.returncode == 0, out.stderr[-3000:]
    return out


def test_preset_is_the_official_progan_configuration():
    o = PRESETS["progan"]()
    assert (o.G_func, o.D_func, o.G_loss, o.D_loss) == ("G_paper", "D_paper", "G_wgan", "D_wgan_gp")
    assert o.D_loss_args == {"wgan_lambda": 10.0, "wgan_target": 1.0, "wgan_epsilon": 0.001}
    assert o.G_opt_args == o.D_opt_args == Adam(beta1=0.0, beta2=0.99, epsilon=1e-8)
    s = o.sched_args
    assert (s.lod_initial_resolution, s.lod_training_kimg, s.lod_transition_kimg) == (4, 600, 600)
    assert s.minibatch_dict == {4: 128, 8: 128, 16: 128, 32: 64, 64: 32, 128: 16, 256: 8, 512: 4}
    assert (s.G_lrate_base, s.D_lrate_base) == (0.001, 0.001) and not o.style_mixing


@pytest.mark.slow
def test_short_run_snapshots_tensorboard_and_resume(tmp_path):
    common = ["--minibatch=16", "--tick_kimg=0.064", "--snapshot_ticks=1", "--image_snapshot_ticks=1"]
    train("--config=progan", "--total_kimg=0.128", f"--outdir={tmp_path}", *common, small=True)
    (run_name,) = [d for d in os.listdir(tmp_path) if re.match(r"^\d{5}-progan-", d)]
    run_dir = os.path.join(tmp_path, run_name)
    names = set(os.listdir(run_dir))
    # two ticks within the first kimg: their grids and snapshots have their own names
    assert {"log.txt", "training_options.json", "reals.png", "fakes_init.png", "fakes000000.064.png",
            "fakes000000.128.png", "network-snapshot-000000.064.pkl", "network-snapshot-000000.128.pkl",
            "network-final.pkl", "checkpoints"} <= names
    assert any(n.startswith("events.out.tfevents") for n in names)
    assert json.load(open(os.path.join(run_dir, "training_options.json")))["G_func"] == "G_paper"
    log = open(os.path.join(run_dir, "log.txt")).read()
    assert re.search(r"tick 2 +kimg 0\.128/0\.128 \(100%\) +lod 3\.00 +minibatch 16 ", log)

    train(f"--resume={run_dir}", "--total_kimg=0.192")
    assert "at kimg 0.128" in open(os.path.join(run_dir, "log.txt")).read()
    final = os.path.join(run_dir, "network-final.pkl")
    G, D, Gs = stylegan_tf.load_network_pkl(final, data_format="NHWC")  # noqa: N806
    assert (G.build_func_name, D.build_func_name, Gs.build_func_name) == ("G_paper", "D_paper", "G_paper")
    assert Gs.kwargs["resolution"] == 32 and Gs.kwargs["num_channels"] == 1
    latents = np.random.RandomState(0).randn(4, Gs.input_shapes[0][1]).astype(np.float32)
    labels = np.zeros([4, Gs.input_shapes[1][1]], np.float32)
    images = Gs(latents, labels).numpy()
    assert images.shape == (4, 1, 32, 32) and np.isfinite(images).all()
    assert not np.array_equal(G.official_variables()[1][1].numpy(), Gs.official_variables()[1][1].numpy())
