"""Adaptive discriminator augmentation in training: every D evaluation of the losses sees augmented images (R1
through the augmentation), the ADA heuristic against its closed form (p rises above the target, falls below,
clamped at 0), the options and flags, the tick line, and p surviving kill -9 and --resume."""
import json
import os
import re
import subprocess
import sys

import keras
import numpy as np
import pytest
import tensorflow as tf

from helpers import kill_9_when
from stylegan_tf.errors import InputError
from stylegan_tf.networks_stylegan import D_basic, G_style
from training import loss as loss_lib
from training.ada import AdaptiveAugment, AugmentedD
from training.augment import AugmentPipe, apply
from training.options import Augment
from training.presets import augmented, resolve
from training.train_step import TrainStep, gs_beta, process_reals

SMALL = dict(resolution=16, num_channels=3, label_size=0, fmap_base=64, fmap_max=16)
G_ARGS = dict(SMALL, latent_size=16, dlatent_size=16, mapping_fmaps=16, mapping_layers=2)
D_ARGS = dict(SMALL, mbstd_group_size=0)
BATCH = 4


def _step(augment, seed=0):
    keras.utils.set_random_seed(seed)
    G = G_style(name="G", data_format="NHWC", **G_ARGS)  # noqa: N806
    D = D_basic(name="D", data_format="NHWC", **D_ARGS)  # noqa: N806
    Gs = G_style(name="Gs", data_format="NHWC", **G_ARGS)  # noqa: N806
    adam = dict(learning_rate=0.002, beta_1=0.0, beta_2=0.99, epsilon=1e-8)
    return TrainStep(G, D, Gs, keras.optimizers.Adam(**adam), keras.optimizers.Adam(**adam),
                     loss_lib.G_logistic_nonsaturating, loss_lib.D_logistic_simplegp, tf.distribute.get_strategy(),
                     D_loss_args={"r1_gamma": 10.0}, randomize_noise=False, style_mixing=False, augment=augment)


def _params(rng):
    """Per-sample augmentation parameters with geometric and color transforms, every sample a different one."""
    return {"rotate_pre": tf.constant(rng.uniform(-1, 1, BATCH), tf.float32),
            "xfrac": tf.constant(rng.normal(0, 1, [BATCH, 2]), tf.float32),
            "brightness": tf.constant(rng.normal(0, 0.2, BATCH), tf.float32),
            "contrast": tf.constant(2 ** rng.normal(0, 0.5, BATCH), tf.float32)}


def test_every_D_evaluation_sees_augmented_images_and_R1_differentiates_through_them():  # noqa: N802
    """D step and G step with fed augmentation parameters against D on `apply(images, params)` computed here: real
    and fake scores, the signs, R1 = |d sum D(augment(reals)) / d reals|^2 (official: with respect to the reals
    before augmentation, which differs from the gradient at the augmented images), and the G loss."""
    step = _step(AdaptiveAugment(AugmentPipe("bgc", p=1.0)))
    G, D = step.G, step.D  # noqa: N806
    rng = np.random.RandomState(1)
    reals_raw = tf.constant(rng.randint(0, 256, [BATCH, 3, 16, 16]).astype(np.uint8))
    labels, lod = tf.zeros([BATCH, 0]), tf.constant(0.0)
    latents_d, latents_g = (tf.constant(rng.randn(BATCH, 16).astype(np.float32)) for _ in range(2))
    real_params, fake_params, g_params = _params(rng), _params(rng), _params(rng)

    def fakes(latents):
        return G(latents, labels, is_training=True, lod=lod, resolution=16, randomize_noise=False,
                 style_mixing_prob=None)

    reals = process_reals(reals_raw, lod)
    with tf.GradientTape(persistent=True) as tape:
        tape.watch(reals)
        augmented_reals = apply(reals, real_params)
        tape.watch(augmented_reals)
        real_scores = D(augmented_reals, labels, lod=lod)
    r1 = tf.reduce_sum(tf.square(tape.gradient(real_scores, reals)), axis=[1, 2, 3]).numpy()
    r1_at_augmented = tf.reduce_sum(tf.square(tape.gradient(real_scores, augmented_reals)), axis=[1, 2, 3]).numpy()
    fake_scores = D(apply(fakes(latents_d), fake_params), labels, lod=lod)

    d_stats = tf.function(step.d_replica_step)(reals_raw, labels, lod, BATCH,
                                               {"latents": latents_d, "augment": (real_params, fake_params)})
    np.testing.assert_allclose(d_stats["Loss/scores/real"], real_scores, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(d_stats["Loss/scores/fake"], fake_scores, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(d_stats["Loss/signs/real"], np.sign(real_scores))
    np.testing.assert_allclose(d_stats["Loss/r1_penalty"], r1, rtol=1e-4)
    assert np.abs(r1 - r1_at_augmented).max() > 0.05 * np.abs(r1).max()  # the test tells the two apart

    expected_g_loss = tf.nn.softplus(-D(apply(fakes(latents_g), g_params), labels, lod=lod))  # D after its step
    g_stats = tf.function(step.g_replica_step)(lod, 16, BATCH, BATCH, {"latents": latents_g, "augment": (g_params,)},
                                               labels)
    np.testing.assert_allclose(g_stats["loss"], expected_g_loss, rtol=1e-5, atol=1e-6)


def test_fed_augmentation_must_match_the_D_evaluations():  # noqa: N802
    D = D_basic(name="D", data_format="NHWC", **D_ARGS)  # noqa: N806
    images, labels = tf.zeros([BATCH, 3, 16, 16]), tf.zeros([BATCH, 0])
    pipe = AugmentPipe("bgc", p=1.0)
    fed = AugmentedD(D, pipe, tf.random.Generator.from_seed(0), fed=[_params(np.random.RandomState(0))])
    assert fed.kwargs is D.kwargs
    fed(images, labels)
    fed.check_fed_used()
    with pytest.raises(InputError, match="beyond the fed augmentation"):
        fed(images, labels)
    left = AugmentedD(D, pipe, None, fed=[{}, {}])
    left(images, labels)
    with pytest.raises(InputError, match="1 fed augmentation parameter dict"):
        left.check_fed_used()


def test_heuristic_closed_form():
    """r_t over `interval` minibatches; p moves by sign(r_t - target) * batch * interval / (speed_kimg * 1000) at the
    interval-th minibatch only, never below 0; the accumulator restarts after each adjustment."""
    ada = AdaptiveAugment(AugmentPipe("bgc", p=0.01), target=0.6, interval=3, speed_kimg=0.5)
    step = 32 * 3 / 500
    history = []
    for signs_sum in (32, 20, 10,    # r_t = 62 / 96 = 0.646 > 0.6: up
                      32, -32, 30,   # r_t = 30 / 96 < 0.6: down
                      0, 0, 0,       # r_t = 0: down, clamped at 0
                      -32, 32, 19):  # r_t = 0.198 < 0.6: stays at 0
        ada.accumulate(tf.constant(float(signs_sum)), 32, 32)
        history.append([float(ada.p.numpy()), float(ada.signs.numpy()), int(ada.count.numpy())])
    p = [h[0] for h in history]
    np.testing.assert_allclose(p, [0.01] * 2 + [0.01 + step] * 3 + [0.01] * 3 + [0.0] * 4, rtol=1e-6)
    assert [h[1:] for h in history[:4]] == [[32, 32], [52, 64], [0, 0], [32, 32]]
    with pytest.raises(InputError):
        AdaptiveAugment(AugmentPipe("bgc"), target=0.6, interval=0)


def _iterate(step, iterations, bias):
    """`iterations` iterations of the compiled training iteration at full resolution, D's output bias held at
    `bias` before each (so that every real score has its sign); returns p after each."""
    fn = step.iteration_function(16, BATCH)
    reals = tf.constant(np.random.RandomState(0).randint(0, 256, [BATCH, 3, 16, 16]).astype(np.uint8))
    output_bias = dict(step.D.all_official_variables())["4x4/Dense1/bias"]
    history = []
    for _ in range(iterations):
        output_bias.assign([bias])
        fn(reals, tf.zeros([BATCH, 0]), tf.constant(0.0), tf.constant(0.002), tf.constant(0.002),
           tf.constant(gs_beta(BATCH, 1.0)))
        history.append(float(step.augment.p.numpy()))
    return history


def test_p_rises_when_reals_signs_are_above_target_and_falls_below():
    """The training iteration with ADA (target 0.6, interval 2): D's reals pushed to positive scores (r_t = 1) raise
    p by batch * interval / (speed_kimg * 1000) every second minibatch; pushed negative (r_t = -1), p falls to 0."""
    step = _step(AdaptiveAugment(AugmentPipe("bgc", p=0.0), target=0.6, interval=2, speed_kimg=0.04))
    up = BATCH * 2 / 40
    np.testing.assert_allclose(_iterate(step, 6, bias=1e4), [0, up, up, 2 * up, 2 * up, 3 * up], rtol=1e-6)
    np.testing.assert_allclose(_iterate(step, 8, bias=-1e4), [3 * up, 2 * up, 2 * up, up, up, 0, 0, 0], atol=1e-7)


def test_without_augmentation_the_step_has_no_augmentation_state():
    step = _step(None)
    assert step.augment is None and step._D_seen_by_losses({}) is step.D


def test_fixed_p_never_moves():
    step = _step(AdaptiveAugment(AugmentPipe("bgc", p=0.3)))
    assert _iterate(step, 4, bias=1e4) == pytest.approx([0.3] * 4)


# -- options, flags, report ----------------------------------------------------------------------------------------

def test_augment_flags_resolve_as_stylegan2_ada():
    assert resolve("quickstart").augment == Augment()  # the presets: none
    assert resolve("ffhq-1gpu", augment="ada").augment == Augment("bgc", p=0.0, target=0.6)
    ada = resolve("quickstart", augment="ada", augpipe="bgcfnc", target=0.7, ada_kimg=100).augment
    assert (ada.mode, ada.pipeline, ada.p, ada.target, ada.speed_kimg, ada.interval) == (
        "ada", "bgcfnc", 0.0, 0.7, 100.0, 4)
    fixed = resolve("quickstart", augment="fixed", augment_p=0.25).augment
    assert (fixed.mode, fixed.pipeline, fixed.p, fixed.target) == ("fixed", "bgc", 0.25, None)
    assert augmented(fixed, augpipe="blit") == Augment("blit", p=0.25)  # the preset's mode, its p
    assert augmented(ada, target=0.5).target == 0.5 and augmented(ada, "none") == Augment()
    for kwargs, message in ((dict(augment="fixed"), "needs augment_p"),
                            (dict(augment="ada", augment_p=0.2), "augment_p cannot be given with augment mode 'ada'"),
                            (dict(augment="fixed", augment_p=0.2, target=0.6), "target cannot be given"),
                            (dict(target=0.6), "target cannot be given with augment mode 'none'"),
                            (dict(augment="ada", augpipe="nope"), "unknown augmentation pipeline 'nope'"),
                            (dict(augment="sometimes"), "unknown augment mode")):
        with pytest.raises(InputError, match=message):
            resolve("quickstart", **kwargs)


def test_augment_options_round_trip_and_are_checked():
    from training.options import TrainingOptions
    from training.training_loop import check_augment
    options = resolve("quickstart", augment="ada", target=0.55)
    assert TrainingOptions.from_json(options.to_json()).augment == options.augment
    check_augment(options.augment)
    for bad, message in ((Augment("xyz"), "augment.pipeline is 'xyz'"), (Augment("bgc", p=1.5), "augment.p is 1.5"),
                         (Augment("bgc", target=-0.1), "augment.target is -0.1"),
                         (Augment("bgc", interval=0), "augment.interval must be >= 1")):
        with pytest.raises(InputError, match=re.escape(message)):
            check_augment(bad)


def test_tick_line_shows_augment_only_with_augmentation():
    from training.report import TickReport
    from training.schedule import SchedulePoint
    sched = SchedulePoint(kimg=2.0, lod=0.0, resolution=32, minibatch=32, G_lrate=0.002, D_lrate=0.002, tick_kimg=1)
    lines = []
    ticks = TickReport(total_nimg=4000, start_nimg=0, elapsed_sec=0.0, log=lines.append)
    ticks.tick(cur_tick=1, cur_nimg=2000, tick_start_nimg=1000, sched=sched, stats={"Progress/augment": 0.15234})
    ticks.tick(cur_tick=2, cur_nimg=3000, tick_start_nimg=2000, sched=sched, stats={})
    assert re.search(r" mem \S+ +augment 0\.152 +ETA ", lines[0]), lines[0]
    assert "augment" not in lines[1]


# -- end to end ----------------------------------------------------------------------------------------------------

FAST = ["--config=quickstart", "--lod_initial_resolution=8", "--tick_kimg=0.128", "--minibatch=16",
        "--image_snapshot_ticks=0", "--snapshot_ticks=0"]
ENV = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", CUDA_VISIBLE_DEVICES="")
P_KEY = "augment/pipe/p/.ATTRIBUTES/VARIABLE_VALUE"


def test_help_lists_the_augment_flags():
    out = subprocess.run([sys.executable, "-m", "training.train", "--help"], capture_output=True, text=True,
                         timeout=120, env=ENV)
    for flag in ("--augment=", "--augpipe=", "--augment_p=", "--target=", "--ada_kimg="):
        assert flag in out.stdout, flag


@pytest.mark.slow
def test_p_and_the_accumulator_survive_kill_9_and_resume(tmp_path):
    """ADA moving fast (target 0, 1-kimg speed: 0.064 per adjustment): kill -9 once a checkpoint holds p >= 0.3; the
    restored loop holds the checkpoint's p and accumulator, and --resume says and continues from that p."""
    from stylegan_tf import run_dir as run_files
    from training import options as options_lib
    from training.resume import checkpoint_damage, resume_point
    from training.training_loop import TrainingLoop

    def p_reached(prefix):
        return checkpoint_damage(prefix) is None and tf.train.load_variable(prefix, P_KEY) >= 0.3

    outdir = str(tmp_path)
    proc = subprocess.Popen([sys.executable, "-m", "training.train", *FAST, "--total_kimg=50", "--augment=ada",
                             "--target=0", "--ada_kimg=1", f"--outdir={outdir}"], stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, env=ENV)
    run_dir = kill_9_when(proc, outdir, lambda d: any(p_reached(p) for p in run_files.checkpoint_prefixes(d)))
    point = resume_point(run_dir)
    saved = {name: tf.train.load_variable(point.checkpoint, f"augment/{name}/.ATTRIBUTES/VARIABLE_VALUE")
             for name in ("pipe/p", "signs", "count", "minibatches")}
    assert point.augment_p == pytest.approx(float(saved["pipe/p"])) and point.augment_p >= 0.3
    loop = TrainingLoop(options_lib.load(run_dir), run_dir, log=lambda message: None)
    assert float(loop.augment.p.numpy()) == 0.0  # a fresh loop starts at the options' p
    loop.restore(point)
    restored = dict(zip(saved, (loop.augment.p, loop.augment.signs, loop.augment.count, loop.augment.minibatches)))
    for name, var in restored.items():
        assert var.numpy() == saved[name], name

    out = subprocess.run([sys.executable, "-m", "training.train", f"--resume={run_dir}",
                          f"--total_kimg={point.nimg / 1000 + 0.128}"], capture_output=True, text=True, timeout=600,
                         env=ENV)
    assert out.returncode == 0, out.stderr[-3000:]
    log = open(os.path.join(run_dir, "log.txt")).read()
    assert f"at kimg {point.nimg / 1000:g} (of {point.nimg / 1000 + 0.128:g}), augment p {point.augment_p:.4f}" in log
    resumed_tick = re.findall(r"^tick .* augment (\S+)", log[log.index("Resuming from"):], re.M)[0]
    # one tick of 8 minibatches: 2 adjustments of 0.064 from the restored p (from 0 it could not exceed 0.128)
    assert abs(float(resumed_tick) - point.augment_p) <= 2 * 0.064 + 1e-3, (resumed_tick, point.augment_p)
    options = json.load(open(os.path.join(run_dir, "training_options.json")))
    assert options["augment"]["target"] == 0.0 and options["augment"]["speed_kimg"] == 1.0
