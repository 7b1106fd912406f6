"""The training loop and CLI end to end on the bundled data: run directory, resume (also
after kill -9), optimizer resets, NaN stop, bad flags, multi-worker on localhost (also when a worker dies)."""
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time

import numpy as np
import pytest
import tensorflow as tf

import stylegan_tf
from helpers import kill_9_when
from stylegan_tf import run_dir as run_files
from training.schedule import training_schedule

# A small, fast configuration: the quickstart's networks from 8x8 (its 8-kimg phases), tick every 0.128 kimg.
FAST = ["--config=quickstart", "--lod_initial_resolution=8", "--tick_kimg=0.128", "--minibatch=16",
        "--image_snapshot_ticks=0", "--snapshot_ticks=0"]
ENV = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", CUDA_VISIBLE_DEVICES="")


def train(*args, check=True, timeout=900, env=None):
    out = subprocess.run([sys.executable, "-m", "training.train", *args], capture_output=True, text=True,
                         timeout=timeout, env=env or ENV)
    if check:
        assert out.returncode == 0, out.stderr[-3000:]
    return out


def the_run_dir(outdir):
    runs = [d for d in os.listdir(outdir) if re.match(r"^\d{5}-", d)]
    assert len(runs) == 1, runs
    return os.path.join(outdir, runs[0])


def checkpoint_value(run_dir, name):
    path = tf.train.latest_checkpoint(os.path.join(run_dir, "checkpoints"))
    return tf.train.load_variable(path, name)


def nimg_of_checkpoint(run_dir):
    return int(checkpoint_value(run_dir, "progress/cur_nimg/.ATTRIBUTES/VARIABLE_VALUE"))


def test_tick_stats_skip_or_stop_at_the_first_non_finite_iteration():
    from training.training_loop import NonFiniteLoss, sum_stats
    pending = [(16, {"Loss/D": tf.constant(1.0), "Loss/G": tf.constant(2.0)}),
               (32, {"Loss/D": tf.constant(np.nan), "Loss/G": tf.constant(2.0)}),
               (48, {"Loss/D": tf.constant(3.0), "Loss/G": tf.constant(np.inf)}),
               (64, {"Loss/D": tf.constant(5.0), "Loss/G": tf.constant(4.0)})]
    assert sum_stats(pending, skip_nonfinite=True) == ({"Loss/D": 6.0, "Loss/G": 6.0}, 2)
    with pytest.raises(NonFiniteLoss) as bad:
        sum_stats(pending)
    assert bad.value.nimg == 32 and bad.value.stats_text == "Loss/D nan, Loss/G 2"


@pytest.mark.slow
def test_mixed_precision_run_trains_in_float16(tmp_path):
    """A float16 run trains end to end. From the all-ones constant G's first steps overflow float16
    (official fp16 alike): they are skipped while G's loss scale comes down, and the run goes on.
    (Overflows that make a *loss* non-finite are covered by sum_stats' test and the train-step test.)"""
    train(*FAST, "--total_kimg=0.4", "--mixed_precision", f"--outdir={tmp_path}")
    run_dir = the_run_dir(str(tmp_path))
    G, D, Gs = stylegan_tf.load_network_pkl(os.path.join(run_dir, "network-final.pkl"))  # noqa: N806
    assert G.static_kwargs["dtype"] == "float16" and Gs.static_kwargs["dtype"] == "float16"
    assert 1.0 <= checkpoint_value(run_dir, "G_loss_scale/.ATTRIBUTES/VARIABLE_VALUE") < 2.0 ** 15  # came down


def test_bfloat16_run_trains_G_and_D_in_bfloat16_and_keeps_Gs_float32(tmp_path):
    train(*FAST, "--total_kimg=0.256", "--bfloat16=on", f"--outdir={tmp_path}")
    run_dir = the_run_dir(str(tmp_path))
    G, D, Gs = stylegan_tf.load_network_pkl(os.path.join(run_dir, "network-final.pkl"))  # noqa: N806
    assert (G.static_kwargs["dtype"], D.static_kwargs["dtype"]) == ("bfloat16", "bfloat16")
    assert Gs.static_kwargs.get("dtype", "float32") == "float32"
    assert "G and D in bfloat16 (--bfloat16=on" in open(os.path.join(run_dir, "log.txt")).read()
    assert nimg_of_checkpoint(run_dir) == 256
    images = Gs(tf.random.normal([2, Gs.input_shapes[0][1]]), tf.zeros([2, 0]))
    assert images.dtype == tf.float32 and np.all(np.isfinite(images.numpy()))


@pytest.mark.slow
def test_G_smoothing_rampup_keeps_Gs_with_G_early_in_a_run(tmp_path):
    """With a half-life of 1000 kimg Gs barely leaves its start; ramped up (at most 1e-6 x the images shown, so
    beta 0 here) Gs is G one G step ago. Same seed: the G trajectories match, so only Gs's distance to G differs."""
    distances = []
    for rampup in ("0", "1e-6"):
        outdir = tmp_path / rampup
        train(*FAST, "--total_kimg=0.128", "--G_smoothing_kimg=1000", f"--G_smoothing_rampup={rampup}",
              f"--outdir={outdir}")
        G, _, Gs = stylegan_tf.load_network_pkl(os.path.join(the_run_dir(str(outdir)), "network-final.pkl"))  # noqa
        theirs = dict(G.all_official_variables())
        distances.append(np.mean([np.mean(np.abs(v.numpy() - theirs[name].numpy()))
                                  for name, v in Gs.all_official_variables() if v.trainable]))
    assert distances[1] < distances[0] / 2, distances  # 8 G steps vs 1: Gs follows G only with the ramp-up


@pytest.mark.parametrize("args,message", [
    (["--config=nope"], "--config"),
    (["--data=/nonexistent/dataset"], "/nonexistent/dataset"),
    (["--outdir=/proc/forbidden"], "not writable"),
    (["--loss=wgan-gp", "--r1_gamma=5"], "r1_gamma applies to the logistic loss only"),
    (["--resume=/tmp"], "not a run directory"),
    (["--gpus=2"], "gpus=2, but 0 GPU(s) are visible"),
    (["--resume=/tmp", "--lrate=0.1"], "--lrate cannot change a resumed run"),
    (["--bfloat16=on", "--mixed_precision"], "bfloat16 and mixed_precision (float16) exclude each other"),
    (["--G_smoothing_rampup=-0.05"], "--G_smoothing_rampup"),
])
def test_bad_flags_give_one_clear_line(tmp_path, args, message):
    out = train(f"--outdir={tmp_path}", *args, check=False, timeout=120)
    errors = [line for line in out.stderr.splitlines() if line.startswith("error: ")]
    assert out.returncode == 2 and len(errors) == 1 and message in errors[0], out.stderr[-2000:]
    assert "Traceback" not in out.stderr


def test_help_lists_every_flag_and_exits_0():
    out = train("--help", timeout=120)
    assert out.stdout.startswith("usage: stylegan-train") and "Try --helpfull" not in out.stdout
    for flag in ("--config=", "--resume=TEXT", "--total_kimg=X", "--[no]dry_run", "--gpus=N", "--metrics="):
        assert flag in out.stdout, flag


def test_empty_dataset_directory(tmp_path):
    (tmp_path / "empty").mkdir()
    out = train(f"--data={tmp_path / 'empty'}", f"--outdir={tmp_path / 'out'}", check=False, timeout=120)
    errors = [line for line in out.stderr.splitlines() if line.startswith("error: ")]
    assert out.returncode == 2 and len(errors) == 1 and "no *.tfrecords" in errors[0]
    assert "Traceback" not in out.stderr


def test_dry_run_prints_the_resolved_options(tmp_path):
    out = train("--config=ffhq-4gpu", "--total_kimg=10", "--mirror=false", "--G_smoothing_rampup=0.05", "--dry_run",
                f"--outdir={tmp_path}")
    options = json.loads(out.stdout)
    assert options["total_kimg"] == 10 and options["mirror_augment"] is False
    assert (options["G_smoothing_kimg"], options["G_smoothing_rampup"]) == (10.0, 0.05)
    assert options["sched_args"]["minibatch_base"] == 16 and not os.listdir(tmp_path)


@pytest.mark.slow
def test_run_then_resume_continues_where_it_stopped(tmp_path):
    outdir = str(tmp_path)
    train(*FAST, "--total_kimg=0.25", "--metrics=swd1k", f"--outdir={outdir}")
    run_dir = the_run_dir(outdir)
    names = set(os.listdir(run_dir))
    result = open(os.path.join(run_dir, "metric-swd1k.txt")).read()  # metrics at the (final) snapshot
    assert re.match(r"network-final +time \S+ +swd1k", result), result
    assert {"log.txt", "training_options.json", "reals.png", "fakes_init.png", "network-final.pkl",
            "checkpoints"} <= names
    assert any(n.startswith("events.out.tfevents") for n in names)
    log = open(os.path.join(run_dir, "log.txt")).read()
    assert re.search(r"tick 1 +kimg 0\.128/0\.25 \(51%\) +lod 2\.00 +minibatch 16 +time \S+ +sec/tick .* ETA \S+", log)
    first_nimg = nimg_of_checkpoint(run_dir)
    assert first_nimg == 256
    d_iters = checkpoint_value(run_dir, "D_opt/_iterations/.ATTRIBUTES/VARIABLE_VALUE")
    elapsed = checkpoint_value(run_dir, "progress/elapsed_sec/.ATTRIBUTES/VARIABLE_VALUE")
    cpu = checkpoint_value(run_dir, "progress/cpu_sec/.ATTRIBUTES/VARIABLE_VALUE")
    assert elapsed > 0 and cpu > 0

    train(f"--resume={run_dir}", "--total_kimg=0.5")
    log = open(os.path.join(run_dir, "log.txt")).read()
    assert f"at kimg {first_nimg / 1000:g}" in log and "kimg 0.512/0.5 (100%)" in log
    assert nimg_of_checkpoint(run_dir) == 512
    # the time field continues from the checkpoint: the resumed run's first tick is past the first run's time
    resumed = log[log.index("Resuming from"):]
    first_time = re.search(r"tick 3 .* time (\d+)s ", resumed)
    assert first_time and int(first_time.group(1)) >= int(elapsed), resumed
    # so does the CPU time that snapshots.jsonl logs (stylegan-quality's CPU-time axis)
    assert run_files.read_snapshot_log(run_dir)[-1]["cpu_sec"] > cpu
    # same lod phase: Adam continued (no reset), one step per minibatch
    assert checkpoint_value(run_dir, "D_opt/_iterations/.ATTRIBUTES/VARIABLE_VALUE") == d_iters + 16
    G, D, Gs = stylegan_tf.load_network_pkl(os.path.join(run_dir, "network-final.pkl"))  # noqa: N806
    assert G.synthesis.kwargs["resolution"] == 32 and G.synthesis.kwargs["num_channels"] == 1


@pytest.mark.slow
def test_kill_9_then_resume_restores_progress_and_optimizer(tmp_path):
    outdir = str(tmp_path)
    proc = subprocess.Popen([sys.executable, "-m", "training.train", *FAST, "--total_kimg=50",
                             f"--outdir={outdir}"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=ENV)
    # past the kimg-0 checkpoint of the start, and 2 s of training on past that checkpoint
    run_dir = kill_9_when(proc, outdir, lambda d: any(run_files.checkpoint_nimg(p) > 0
                                                      for p in run_files.checkpoint_prefixes(d)), run_on=2)
    nimg = nimg_of_checkpoint(run_dir)

    from training import options as options_lib
    from training.resume import resume_point
    from training.training_loop import TrainingLoop
    loop = TrainingLoop(options_lib.load(run_dir), run_dir, log=lambda message: None)
    loop.restore(resume_point(run_dir))
    assert int(loop.progress.cur_nimg.numpy()) == nimg > 0
    moments = loop.D_opt.variables[2:]  # after the step count and the learning rate
    for i, var in enumerate(moments, start=2):
        np.testing.assert_array_equal(var.numpy(), checkpoint_value(
            run_dir, f"D_opt/_variables/{i}/.ATTRIBUTES/VARIABLE_VALUE"))
    assert sum(np.abs(v.numpy()).max() > 0 for v in moments) >= 10  # real moments (idle blocks stay 0)
    fresh = TrainingLoop(options_lib.load(run_dir), run_dir, log=lambda message: None)
    name = "G_synthesis/4x4/Conv/weight"
    initial = dict(fresh.G.all_official_variables())[name].numpy()
    fresh.restore(resume_point(run_dir))
    restored = dict(loop.G.all_official_variables())[name].numpy()
    np.testing.assert_array_equal(dict(fresh.G.all_official_variables())[name].numpy(), restored)
    assert np.abs(restored - initial).max() > 0  # trained weights, not a fresh initialization

    train(f"--resume={run_dir}", f"--total_kimg={nimg / 1000 + 0.1}")
    assert f"at kimg {nimg / 1000:g}" in open(os.path.join(run_dir, "log.txt")).read()
    assert nimg_of_checkpoint(run_dir) > nimg


@pytest.mark.slow
def test_nan_stops_the_run_and_keeps_the_last_good_checkpoint(tmp_path):
    outdir = str(tmp_path)
    train(*FAST, "--total_kimg=0.1", f"--outdir={outdir}")
    run_dir = the_run_dir(outdir)
    good = tf.train.latest_checkpoint(os.path.join(run_dir, "checkpoints"))
    options_path = os.path.join(run_dir, "training_options.json")
    options = json.load(open(options_path))
    options["sched_args"].update(G_lrate_base=1e30, D_lrate_base=1e30)  # blows the weights up
    json.dump(options, open(options_path, "w"))
    out = train(f"--resume={run_dir}", "--total_kimg=1", check=False)
    assert out.returncode == 2, out.stderr[-2000:]
    assert "non-finite" in out.stderr and good in out.stderr and "Traceback" not in out.stderr
    assert tf.train.latest_checkpoint(os.path.join(run_dir, "checkpoints")) == good
    assert nimg_of_checkpoint(run_dir) == 128  # two groups of 4 minibatches of 16


@pytest.mark.slow
def test_lod_schedule_and_optimizer_resets_happen_at_the_right_kimg(tmp_path):
    """Phases of 0.1 kimg: the log's lod per tick follows the schedule, and Adam's step count
    at the end equals the steps since the last change of floor(lod) or ceil(lod)."""
    import dataclasses

    from training.presets import resolve
    from training.training_loop import TrainingLoop
    options = dataclasses.replace(resolve("quickstart", total_kimg=0.512, image_snapshot_ticks=0, snapshot_ticks=0,
                                          minibatch=16, tick_kimg=0.064, lod_initial_resolution=8), grid_size=(2, 2))
    options.sched_args.lod_training_kimg = options.sched_args.lod_transition_kimg = 0.1
    lines = []
    loop = TrainingLoop(options, str(tmp_path), log=lines.append)
    loop.run()
    group = 16 * options.minibatch_repeats
    starts = list(range(0, 512, group))
    lods = [training_schedule(n, 5, sched=options.sched_args).lod for n in starts]
    phases = [(np.floor(lod), np.ceil(lod)) for lod in lods]
    last_reset = max(i for i in range(len(phases)) if i == 0 or phases[i] != phases[i - 1])
    expected_steps = (len(starts) - last_reset) * options.minibatch_repeats
    assert int(loop.G_opt.iterations.numpy()) == int(loop.D_opt.iterations.numpy()) == expected_steps
    ticks = [line for line in lines if line.startswith("tick")]
    logged = [float(re.search(r"lod (\S+)", line).group(1)) for line in ticks]
    assert logged == pytest.approx([round(lod, 2) for lod in lods], abs=0.006)
    assert len(set(logged)) > 3


def _free_ports(n):
    socks = [socket.socket() for _ in range(n)]
    for s in socks:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()
    return ports


def _start_workers(outdir, total_kimg):
    """Two `training.train` processes on localhost, workers 0 and 1 of one TF_CONFIG cluster (output piped):
    `(processes, worker addresses)`."""
    workers = [f"127.0.0.1:{p}" for p in _free_ports(2)]
    procs = []
    for index in range(2):
        env = dict(ENV, TF_CONFIG=json.dumps({"cluster": {"worker": workers}, "task": {"type": "worker",
                                                                                        "index": index}}))
        procs.append(subprocess.Popen([sys.executable, "-m", "training.train", *FAST, f"--total_kimg={total_kimg}",
                                       f"--outdir={outdir}"], env=env, stdout=subprocess.PIPE,
                                      stderr=subprocess.PIPE, text=True))
    return procs, workers


@pytest.mark.slow
def test_two_worker_multi_worker_mirrored_run_on_localhost(tmp_path):
    """Two processes, TF_CONFIG, MultiWorkerMirroredStrategy: both finish, only the chief
    writes the run directory, and both end with the same weights."""
    procs, _ = _start_workers(tmp_path, 0.128)
    outputs = [p.communicate(timeout=900) for p in procs]
    for p, (_, err) in zip(procs, outputs):
        assert p.returncode == 0, err[-3000:]
    run_dir = the_run_dir(str(tmp_path))
    assert "2replica" in run_dir and os.path.exists(os.path.join(run_dir, "log.txt"))
    chief = stylegan_tf.load_network_pkl(os.path.join(run_dir, "network-final.pkl"))
    other = stylegan_tf.load_network_pkl(os.path.join(tmp_path, ".worker1", "network-final.pkl"))
    for a, b in zip(chief, other):
        for (name, va), (_, vb) in zip(a.all_official_variables(), b.all_official_variables()):
            np.testing.assert_allclose(va.numpy(), vb.numpy(), atol=1e-6, err_msg=name)


@pytest.mark.slow
def test_a_dead_worker_stops_the_other_with_one_line_and_the_resume_command(tmp_path):
    """kill -9 of worker 1 of two: worker 0 stops with one line naming worker 1 and the --resume command."""
    procs, workers = _start_workers(tmp_path, 100)
    try:
        deadline = time.time() + 600
        while not any(run_files.checkpoint_nimg(prefix) > 0 for d in os.listdir(tmp_path) if re.match(r"^\d{5}-", d)
                      for prefix in run_files.checkpoint_prefixes(os.path.join(tmp_path, d))):
            assert all(p.poll() is None for p in procs) and time.time() < deadline
            time.sleep(0.5)
        procs[1].send_signal(signal.SIGKILL)
        _, err = procs[0].communicate(timeout=300)
    finally:
        for p in procs:
            p.kill()
    run_dir = the_run_dir(str(tmp_path))
    errors = [line for line in err.splitlines() if line.startswith("error: ")]
    assert procs[0].returncode == 2 and len(errors) == 1 and "Traceback" not in err, err[-3000:]
    assert f"worker 1 ({workers[1]}) stopped responding" in errors[0]
    assert errors[0].endswith(f"(to continue: stylegan-train --resume={run_dir})")


@pytest.mark.slow
def test_learning_sliced_wasserstein_distance_falls(tmp_path):
    """A short quickstart run (6 kimg, at 8x8) on the bundled Fashion-MNIST: the SWD (ProGAN's
    multi-scale sliced Wasserstein distance, 1024 images) between Gs's images and the reals
    falls clearly compared with the untrained Gs."""
    import dataclasses

    from metrics.evaluate import evaluate
    from training.presets import resolve
    from training.training_loop import TrainingLoop
    options = dataclasses.replace(resolve("quickstart", total_kimg=6, image_snapshot_ticks=0, snapshot_ticks=0,
                                          lod_initial_resolution=8),
                                  grid_size=(2, 2))
    loop = TrainingLoop(options, str(tmp_path), log=lambda message: None)

    def swd():
        results = evaluate(["swd"], loop.Gs, loop.dataset, num_images=1024)
        return next(v for k, v in results.items() if k.endswith("avg"))

    before = swd()
    loop.run()
    after = swd()
    assert after < 0.7 * before, (before, after)  # measured: 155 -> 81


@pytest.mark.slow
def test_generate_and_convert_read_the_run_checkpoints(tmp_path):
    """A run's checkpoints/ carry networks.json: the networks rebuilt from the newest checkpoint equal
    those of network-final.pkl (written at the same kimg), and a run directory whose checkpoint is
    newer than its pickles generates from the checkpoint."""
    from stylegan_tf import checkpoints, network_files, sampling
    train(*FAST, "--total_kimg=0.1", f"--outdir={tmp_path}")
    run_dir = the_run_dir(str(tmp_path))
    final = os.path.join(run_dir, "network-final.pkl")

    def values(networks):
        return [(name, v.numpy()) for net in networks for name, v in net.all_official_variables()]

    expected = values(stylegan_tf.load_network_pkl(final))
    restored = values(checkpoints.load_checkpoint(os.path.join(run_dir, "checkpoints")))
    assert [n for n, _ in restored] == [n for n, _ in expected]
    for (name, got), (_, want) in zip(restored, expected):
        np.testing.assert_array_equal(got, want, err_msg=name)

    images = sampling.Sampler(network_files.load_Gs(final), batch_size=4).images_for_seeds(range(4), 0.7)
    assert network_files.resolve_network(run_dir) == final  # written after the last checkpoint
    os.utime(final, (time.time() - 3600,) * 2)  # as if the run went on after it
    assert network_files.resolve_network(run_dir) == tf.train.latest_checkpoint(os.path.join(run_dir, "checkpoints"))
    from_run = sampling.Sampler(network_files.load_Gs(run_dir), batch_size=4).images_for_seeds(range(4), 0.7)
    np.testing.assert_array_equal(from_run, images)

    out_pkl = str(tmp_path / "from_checkpoint.pkl")
    converted = checkpoints.checkpoint_to_pkl(network_files.checkpoint_directory(run_dir), out_pkl)
    assert len(values(converted)) == len(expected)
    for (name, got), (_, want) in zip(values(stylegan_tf.load_network_pkl(out_pkl)), expected):
        np.testing.assert_array_equal(got, want, err_msg=name)
