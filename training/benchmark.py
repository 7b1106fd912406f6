"""Timing the training step: one whole official iteration (D step with R1, Gs update, G step) on a fixed minibatch.

The networks are the benchmark workload's (`stylegan_tf.benchmark.WORKLOAD_G` / `WORKLOAD_D`), the quickstart
preset's, or any keyword arguments (the accelerator suite uses the official networks at 256 and 1024 px).
"""
import keras
import numpy as np
import tensorflow as tf

from stylegan_tf import flops
from stylegan_tf.benchmark import WORKLOAD_D, WORKLOAD_G
from stylegan_tf.networks_stylegan import D_basic, G_style
from training import loss
from training.ada import AdaptiveAugment
from training.precision import Precision
from training.presets import PRESETS
from training.train_step import TrainStep, gs_beta


def training_networks(train_config):
    """`(G_kwargs, D_kwargs)` of a training benchmark configuration: 'workload' or 'quickstart' (the preset's
    networks on the bundled 32x32 grayscale data)."""
    if train_config == "workload":
        return WORKLOAD_G, WORKLOAD_D
    options = PRESETS[train_config]()
    shape = dict(num_channels=1, resolution=32, label_size=0)
    return {**shape, **options.G_args}, {**shape, **options.D_args}


def training_iteration(G_kwargs, D_kwargs, data_format, batch, xla, dtype="float32",  # noqa: N803
                       strategy=None):
    """`(call, flops_per_image)`: a callable running one whole official iteration (D step with R1 gamma 10, Gs
    update, G step; style mixing off; Adam(0.001, 0, 0.99, 1e-8); G and D in `dtype`, 'float32', 'bfloat16' or
    'float16' (with loss scaling), Gs as `training.precision.Precision.of`) at full resolution on a fixed uint8
    minibatch of `batch` images (global, split over `strategy`'s replicas) and returning its stats as NumPy, and
    the useful work of one trained image (`stylegan_tf.flops.training_flops`)."""
    strategy = strategy or tf.distribute.get_strategy()
    precision = Precision.of(dtype)
    with strategy.scope():
        G = G_style(name="G", data_format=data_format, dtype=precision.train, **G_kwargs)  # noqa: N806
        D = D_basic(name="D", data_format=data_format, dtype=precision.train, **D_kwargs)  # noqa: N806
        Gs = G_style(name="Gs", data_format=data_format, dtype=precision.Gs, **G_kwargs)  # noqa: N806
        adam = dict(learning_rate=0.001, beta_1=0.0, beta_2=0.99, epsilon=1e-8)
        step = TrainStep(G, D, Gs, keras.optimizers.Adam(**adam), keras.optimizers.Adam(**adam),
                         loss.G_logistic_nonsaturating, loss.D_logistic_simplegp, strategy,
                         D_loss_args={"r1_gamma": 10.0}, style_mixing=False, xla=xla,
                         loss_scaling=precision.loss_scaling)
    res = D_kwargs["resolution"]
    iteration = step.iteration_function(res, batch)
    per_replica = batch // strategy.num_replicas_in_sync
    images = np.random.RandomState(0).randint(0, 256, [batch, D_kwargs["num_channels"], res, res]).astype(np.uint8)
    reals = strategy.experimental_distribute_values_from_function(
        lambda ctx: tf.constant(images[ctx.replica_id_in_sync_group * per_replica:
                                       (ctx.replica_id_in_sync_group + 1) * per_replica]))
    labels = strategy.experimental_distribute_values_from_function(lambda ctx: tf.zeros([per_replica, 0]))
    args = (reals, labels, tf.constant(0.0), tf.constant(0.001), tf.constant(0.001),
            tf.constant(gs_beta(batch, 10.0)))
    return (lambda: {k: v.numpy() for k, v in iteration(*args).items()}), flops.training_flops(G, D)[2]


def replica_check(G_kwargs, D_kwargs, data_format, batch, strategy, iterations=3, lod=0.0, seed=0,  # noqa: N803
                  augment=None):
    """`{variable: value}` of G, D and Gs after `iterations` official iterations (D step, Gs update, G step) under
    `strategy`, from seeded weights, with every random draw fed in (latents, reals; no noise randomization, no style
    mixing), each replica getting its slice of the same global batch of `batch`. Run it under one device and under
    several replicas: the results must agree to float32 rounding (minibatch stddev must be off, its groups stay within
    a replica by design). `lod` (and the image size `2**floor` below full resolution) as in training.

    `augment`: discriminator augmentation settings (`training.options.Augment`), or None. Then every D evaluation
    sees augmented images, each one's parameters drawn for the global batch (at the current `p`) and fed to the
    replicas in slices, the ADA heuristic (with a `target`) runs after each D step, and the result also holds
    `augment/p`, `augment/signs`, `augment/count` `[iterations]`: `p` and the heuristic's accumulator after each
    iteration."""
    n = batch // strategy.num_replicas_in_sync
    size = D_kwargs["resolution"] >> int(np.floor(lod))
    with strategy.scope():
        G = G_style(name="G", data_format=data_format, **G_kwargs)  # noqa: N806
        D = D_basic(name="D", data_format=data_format, **D_kwargs)  # noqa: N806
        Gs = G_style(name="Gs", data_format=data_format, **G_kwargs)  # noqa: N806
        rng = np.random.RandomState(seed)
        for net in (G, D, Gs):
            for name, var in net.all_official_variables():
                if not name.endswith("lod"):
                    var.assign(rng.randn(*var.shape).astype(np.float32) * 0.5)
        ada = None if augment is None else AdaptiveAugment.from_options(augment)
        adam = dict(learning_rate=0.002, beta_1=0.0, beta_2=0.99, epsilon=1e-8)
        step = TrainStep(G, D, Gs, keras.optimizers.Adam(**adam), keras.optimizers.Adam(**adam),
                         loss.G_logistic_nonsaturating, loss.D_logistic_simplegp, strategy,
                         D_loss_args={"r1_gamma": 10.0}, randomize_noise=False, style_mixing=False, augment=ada)

    def split(array):
        return strategy.experimental_distribute_values_from_function(
            lambda ctx: tf.constant(array[ctx.replica_id_in_sync_group * n:(ctx.replica_id_in_sync_group + 1) * n]))

    @tf.function
    def iteration(reals, labels, latents_d, latents_g, lod, augment_d, augment_g):
        step.set_lod(lod)
        d_stats = strategy.run(step.d_replica_step, args=(reals, labels, lod, batch,
                                                          {"latents": latents_d, "augment": augment_d}))
        step.update_Gs(gs_beta(batch, 1.0))
        step.adapt_augment(d_stats, batch)
        strategy.run(step.g_replica_step, args=(lod, size, n, batch, {"latents": latents_g, "augment": augment_g},
                                                labels))

    data = np.random.RandomState(seed + 1)
    augment_rng = tf.random.Generator.from_seed(seed + 2)
    latent_size = G.input_shapes[0][1]
    shape = (batch, D_kwargs["num_channels"], size, size)

    def augment_draws(count):
        """`count` parameter dicts for the global batch at the current p, split over the replicas (None: off)."""
        if ada is None:
            return None
        return tuple({k: split(v.numpy()) for k, v in ada.pipe.draw_params(shape, augment_rng).items()}
                     for _ in range(count))

    trajectory = []
    for _ in range(iterations):
        reals = data.randint(0, 256, shape).astype(np.uint8)
        iteration(split(reals), split(np.zeros([batch, 0], np.float32)),
                  split(data.randn(batch, latent_size).astype(np.float32)),
                  split(data.randn(batch, latent_size).astype(np.float32)), tf.constant(lod, tf.float32),
                  augment_draws(2), augment_draws(1))  # D step: D(reals), D(fakes); G step: D(fakes)
        if ada is not None:
            trajectory.append([ada.p.numpy(), ada.signs.numpy(), ada.count.numpy()])
    result = {f"{net.name}/{k}": v.numpy() for net in (G, D, Gs) for k, v in net.all_official_variables()}
    if trajectory:
        result.update(zip(("augment/p", "augment/signs", "augment/count"), np.array(trajectory, np.float64).T))
    return result
