"""Resuming runs: a run written before the options were typed (`tests/data/legacy_run`) resumes and trains on;
damaged checkpoints fall back to the newest intact one; a locked run, damaged options and a finished run are each
one clear line; `--dry_run --resume` names the checkpoint."""
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import PIL.Image
import pytest
import tensorflow as tf

import stylegan_tf
from stylegan_tf import run_dir as run_files
from stylegan_tf.errors import InputError
from training import launch
from training import options as options_lib
from training.dataset import DEFAULT_DATASET
from training.errors import TrainingError
from training.resume import checkpoint_damage, resume_point

LEGACY_RUN = Path(__file__).parent / "data" / "legacy_run" / "00000-legacy-1replica"
ENV = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", CUDA_VISIBLE_DEVICES="")


@pytest.fixture
def legacy_run(tmp_path):
    """A copy of the legacy run directory, its dataset path pointed at the bundled data."""
    run_dir = tmp_path / LEGACY_RUN.name
    shutil.copytree(LEGACY_RUN, run_dir)
    path = run_dir / "training_options.json"
    options = json.loads(path.read_text())
    options["data"] = str(DEFAULT_DATASET)
    path.write_text(json.dumps(options))
    return str(run_dir)


def train(*args):
    return subprocess.run([sys.executable, "-m", "training.train", *args], capture_output=True, text=True,
                          timeout=300, env=ENV)


def one_error_line(out):
    errors = [line for line in out.stderr.splitlines() if line.startswith("error: ")]
    assert out.returncode == 2 and len(errors) == 1 and "Traceback" not in out.stderr, out.stderr[-3000:]
    return errors[0]


def truncate(path):
    data = Path(path).read_bytes()
    Path(path).write_bytes(data[:len(data) // 2])


def newest(run_dir):
    return os.path.basename(tf.train.latest_checkpoint(run_files.checkpoint_dir(run_dir)))


def test_a_legacy_run_resumes_trains_on_and_writes_snapshots(legacy_run):
    """Resumed to 0.192 kimg (one more 0.064-kimg tick): a checkpoint, a network snapshot (with the user's umask)
    and an image grid (enlarged 4x: 4x2 images of 32 px) at 0.192 kimg, and the new total in the options."""
    launch.resume(legacy_run, total_kimg=0.192)
    log = Path(legacy_run, "log.txt").read_text()
    assert "Resuming from" in log and "ckpt-128 at kimg 0.128 (of 0.192)" in log
    assert "kimg 0.192/0.192 (100%)" in log
    assert newest(legacy_run) == "ckpt-192"
    assert options_lib.load(legacy_run).total_kimg == 0.192
    snapshot = os.path.join(legacy_run, "network-snapshot-000000.192.pkl")
    mask = os.umask(0)
    os.umask(mask)
    assert os.stat(snapshot).st_mode & 0o777 == 0o666 & ~mask
    G, D, Gs = stylegan_tf.load_network_pkl(snapshot)  # noqa: N806
    assert Gs.synthesis.kwargs["resolution"] == 32
    assert PIL.Image.open(os.path.join(legacy_run, "fakes000000.192.png")).size == (4 * 32 * 4, 2 * 32 * 4)
    events = [os.path.join(legacy_run, n) for n in os.listdir(legacy_run) if n.startswith("events.out")]
    shapes = [tf.image.decode_png(value.tensor.string_val[2]).shape
              for path in events for event in tf.compat.v1.train.summary_iterator(path)
              for value in event.summary.value if value.tag == "fakes"]
    assert shapes and all(tuple(s) == (2 * 32 * 4, 4 * 32 * 4, 1) for s in shapes)


def test_a_damaged_newest_checkpoint_falls_back_to_the_newest_intact_one(legacy_run):
    """ckpt-128 truncated and TensorFlow's state file garbage: the run resumes from ckpt-64, says so, trains the
    tick to 0.128 again, and its state file names the new, intact ckpt-128."""
    ckpt_dir = run_files.checkpoint_dir(legacy_run)
    truncate(os.path.join(ckpt_dir, "ckpt-128.data-00000-of-00001"))
    Path(ckpt_dir, "checkpoint").write_bytes(b"\x00garbage{{")
    point = resume_point(legacy_run)
    assert (os.path.basename(point.checkpoint), point.nimg, point.finished) == ("ckpt-64", 64, False)
    assert [os.path.basename(p) for p, _ in point.damaged] == ["ckpt-128"]
    launch.resume(legacy_run)
    log = Path(legacy_run, "log.txt").read_text()
    assert "ckpt-128 is damaged (" in log and "ckpt-64 at kimg 0.064 (of 0.128)" in log
    assert newest(legacy_run) == "ckpt-128"
    assert checkpoint_damage(os.path.join(ckpt_dir, "ckpt-128")) is None


def test_a_garbage_state_file_does_not_hide_the_checkpoints(legacy_run):
    Path(run_files.checkpoint_dir(legacy_run), "checkpoint").write_text("not a checkpoint state")
    point = resume_point(legacy_run)
    assert (os.path.basename(point.checkpoint), point.nimg, point.damaged) == ("ckpt-128", 128, [])


def test_no_intact_checkpoint_is_one_clear_error(legacy_run):
    """ckpt-128 truncated, one byte of ckpt-64 flipped (its checksum fails)."""
    ckpt_dir = run_files.checkpoint_dir(legacy_run)
    truncate(os.path.join(ckpt_dir, "ckpt-128.data-00000-of-00001"))
    data = bytearray(Path(ckpt_dir, "ckpt-64.data-00000-of-00001").read_bytes())
    data[len(data) // 2] ^= 0x10
    Path(ckpt_dir, "ckpt-64.data-00000-of-00001").write_bytes(bytes(data))
    with pytest.raises(TrainingError, match="no intact checkpoint") as error:
        resume_point(legacy_run)
    assert "ckpt-128: " in str(error.value) and "ckpt-64: " in str(error.value)
    line = one_error_line(train(f"--resume={legacy_run}"))
    assert "no intact checkpoint" in line


def test_a_run_without_checkpoints_says_why(legacy_run):
    shutil.rmtree(run_files.checkpoint_dir(legacy_run))
    with pytest.raises(TrainingError, match="holds no checkpoint: the run stopped before its first one"):
        resume_point(legacy_run)


def test_a_run_directory_in_use_is_refused(legacy_run):
    with run_files.RunLock(legacy_run):
        line = one_error_line(train(f"--resume={legacy_run}", "--total_kimg=0.192"))
    assert f"{legacy_run} is in use: process {os.getpid()} is training in it" in line
    assert newest(legacy_run) == "ckpt-128"


def test_damaged_training_options_are_one_clear_line(legacy_run):
    Path(legacy_run, "training_options.json").write_text('{"total_kimg": 1, "sched_args": ')
    line = one_error_line(train(f"--resume={legacy_run}"))
    assert "training_options.json is not valid JSON" in line


def test_resuming_a_finished_run_says_so_and_trains_nothing(legacy_run, capsys):
    before = sorted(os.listdir(legacy_run))
    launch.resume(legacy_run)
    assert "already reached its total_kimg" in capsys.readouterr().out
    assert sorted(os.listdir(legacy_run)) == sorted(before + [run_files.LOCK]) and newest(legacy_run) == "ckpt-128"


def test_dry_run_resume_names_the_checkpoint(legacy_run):
    truncate(os.path.join(run_files.checkpoint_dir(legacy_run), "ckpt-128.data-00000-of-00001"))
    out = train(f"--resume={legacy_run}", "--total_kimg=1", "--dry_run")
    assert out.returncode == 0, out.stderr[-2000:]
    text, *lines = out.stdout.rsplit("}\n", 1)
    assert json.loads(text + "}")["total_kimg"] == 1
    assert "ckpt-128 is damaged" in lines[0] and "Resuming from" in lines[0] and "ckpt-64 at kimg 0.064 (of 1)" \
        in lines[0]
    assert options_lib.load(legacy_run).total_kimg == 0.128  # a dry run changes nothing


def test_unknown_resume_directory(tmp_path):
    with pytest.raises(InputError, match="does not exist"):
        launch.resume(str(tmp_path / "nope"))
