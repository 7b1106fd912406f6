"""Runs that stop early keep what can be kept: a new run is resumable from its start, Ctrl-C saves and prints the
`--resume` command, a damaged dataset is one clear line and leaves no run directory; small datasets and small
images are reported so that a person can act on them."""
import dataclasses
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from stylegan_tf import run_dir as run_files
from training.dataset import DEFAULT_DATASET
from training.launch import check_start
from training.options import Augment
from training.presets import resolve
from training.resume import resume_point
from training.snapshots import display_scale

ENV = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", CUDA_VISIBLE_DEVICES="")


def run_dirs(outdir):
    return [os.path.join(outdir, d) for d in os.listdir(outdir) if re.match(r"^\d{5}-", d)]


def wait_for(condition, proc, seconds=600):
    deadline = time.time() + seconds
    while not condition():
        assert proc.poll() is None, proc.stderr.read()[-3000:]
        assert time.time() < deadline, "timed out"
        time.sleep(0.5)


@pytest.mark.slow
def test_a_new_run_is_resumable_from_its_start_and_ctrl_c_saves_its_progress(tmp_path):
    """A long first tick (100 kimg): before it ends the run has its kimg-0 checkpoint (a kill -9 now loses nothing
    but the run's first seconds). Ctrl-C then stops it cleanly: exit 130, no traceback, a checkpoint of the
    progress since, and the --resume command."""
    outdir = str(tmp_path)
    proc = subprocess.Popen([sys.executable, "-m", "training.train", "--config=quickstart", "--minibatch=16",
                             "--lod_initial_resolution=8",
                             "--tick_kimg=100", "--total_kimg=200", f"--outdir={outdir}"], env=ENV, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        wait_for(lambda: run_dirs(outdir) and "Training for" in Path(run_dirs(outdir)[0], "log.txt").read_text(),
                 proc)
        (run_dir,) = run_dirs(outdir)
        assert resume_point(run_dir).nimg == 0
        time.sleep(10)  # train a few iterations
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=300)
    finally:
        proc.kill()
    assert proc.returncode == 130 and "Traceback" not in err, err[-3000:]
    assert f"To continue: stylegan-train --resume={run_dir}" in err, err[-3000:]
    assert re.search(r"stopped at kimg [\d.]+ \(saved\)", err), err
    point = resume_point(run_dir)
    assert point.nimg > 0 and point.nimg % 16 == 0


def test_a_damaged_dataset_is_one_clear_line_and_leaves_no_run_directory(tmp_path):
    """One flipped bit in the 32x32 level: its checksum fails when the reals are first read."""
    data = tmp_path / "data"
    shutil.copytree(DEFAULT_DATASET, data)
    path = data / "fashion_mnist_32-r05.tfrecords"
    content = bytearray(path.read_bytes())
    content[len(content) // 2 + 100] ^= 0x04
    path.write_bytes(bytes(content))
    outdir = tmp_path / "results"
    out = subprocess.run([sys.executable, "-m", "training.train", f"--data={data}", f"--outdir={outdir}"],
                         capture_output=True, text=True, timeout=300, env=ENV)
    errors = [line for line in out.stderr.splitlines() if line.startswith("error: ")]
    assert out.returncode == 2 and len(errors) == 1 and "Traceback" not in out.stderr, out.stderr[-3000:]
    assert "damaged" in errors[0] and "fashion_mnist_32" in errors[0]
    assert run_dirs(outdir) == []


def test_a_dataset_smaller_than_the_minibatch_warns():
    options = resolve("quickstart", minibatch=4096)
    (warning,) = check_start(options, replicas=1)
    assert "has 3000 images, fewer than the minibatch of 4096" in warning
    assert check_start(resolve("quickstart"), replicas=1) == []


def test_a_minibatch_the_replicas_cannot_share_is_refused():
    from stylegan_tf.errors import InputError
    with pytest.raises(InputError, match=r"the minibatch at 32x32 \(30\) must be a positive multiple of the 4 "):
        check_start(resolve("quickstart", minibatch=30), replicas=4)


@pytest.mark.parametrize("change,message", [
    (dict(data=None), "option data is not set"),
    (dict(G_func="G_nope"), "option G_func is 'G_nope', which is not one of"),
    (dict(D_loss="D_nope"), "option D_loss is 'D_nope', which is not one of"),
    (dict(augment=Augment(pipeline="nope")), "option augment.pipeline is 'nope', which is not one of blit, geom"),
    (dict(augment=Augment(pipeline="bgc", target=1.5)), "option augment.target is 1.5, outside [0, 1]"),
])
def test_options_the_loop_cannot_run_are_refused_before_anything_is_written(change, message):
    from stylegan_tf.errors import InputError
    with pytest.raises(InputError, match=re.escape(message)):
        check_start(dataclasses.replace(resolve("quickstart"), **change), replicas=1)


@pytest.mark.parametrize("resolution,columns,scale", [
    (32, 8, 4),  # the quickstart grid: 1024 px wide
    (32, 32, 4),  # the official grid at 32 px: 4096 px wide
    (64, 30, 2),
    (8, 32, 16),
    (128, 15, 1),  # large enough as it is
    (1024, 7, 1),
])
def test_small_images_are_enlarged_in_the_grids(resolution, columns, scale):
    assert display_scale(resolution, columns) == scale
    assert columns * resolution * scale <= max(4096, columns * resolution)


def test_checkpoints_are_found_from_their_files_newest_first(tmp_path):
    directory = Path(run_files.checkpoint_dir(tmp_path))
    directory.mkdir()
    for name in ("ckpt-64.index", "ckpt-1000.index", "ckpt-128.index", "ckpt-128.data-00000-of-00001",
                 "ckpt-7.data-00000-of-00001", "networks.json", "checkpoint"):
        (directory / name).write_bytes(b"")
    prefixes = run_files.checkpoint_prefixes(tmp_path)
    assert prefixes == [str(directory / f"ckpt-{n}") for n in (1000, 128, 64)]
    assert [run_files.checkpoint_nimg(p) for p in prefixes] == [1000, 128, 64]
