"""One official training iteration as tf.functions under any tf.distribute strategy.

Order, as the official loop runs it: **D step** (D loss, with its own G forward; Adam on D)
-> **Gs update** (``Gs <- G + (Gs - G) * beta`` for trainables, copies of non-trainables)
-> **G step** (G loss; Adam on G).

Each step runs in replica context on the replica's share of the global batch: per-sample
losses are summed and divided by the *global* batch, gradients are all-reduced (summed), so
N replicas apply the gradient of the global mean loss, like one device on the whole batch.
As official, gradients of variables a loss does not reach are zeros (Adam still decays
their second moments), and an update with any non-finite gradient element is skipped
entirely (weights, moments and step count unchanged).

G and D run at the *current* resolution (one trace per resolution; ``lod`` is a tensor),
which equals the official full-resolution graph (``tests/test_networks.py``).
Every random draw comes from a ``tf.random.Generator`` (checkpointed with the run) unless the
caller passes the draws explicitly (``tests/test_train_step.py`` feeds the official ones).

With ``augment`` (a ``training.ada.AdaptiveAugment``) every D evaluation of the losses sees augmented images
(``training.ada.AugmentedD``), and after each D step the signs of D's real scores, summed over the replicas,
feed the ADA heuristic that tunes ``p``. Without it the step is the official StyleGAN one: nothing is augmented.
"""
import inspect

import numpy as np
import tensorflow as tf

from stylegan_tf import ops
from training.ada import AugmentedD

DRANGE_NET = (-1.0, 1.0)


def process_reals(x, lod, mirror_flips=None, drange_data=(0, 255), drange_net=DRANGE_NET):
    """Official ``process_reals`` at the current resolution: uint8 ``[N, C, r, r]`` (NCHW) ->
    float32 in ``drange_net``, mirrored where ``mirror_flips [N]`` is true, faded towards
    the 2x2 block mean by ``frac(lod)``. (Official then upscales to full resolution; our
    networks take the current resolution directly.)"""
    x = tf.cast(x, tf.float32)
    scale = np.float32(drange_net[1] - drange_net[0]) / np.float32(drange_data[1] - drange_data[0])
    x = x * scale + np.float32(drange_net[0] - drange_data[0] * scale)
    if mirror_flips is not None:
        x = tf.where(tf.reshape(mirror_flips, [-1, 1, 1, 1]), tf.reverse(x, axis=[3]), x)
    _, c, h, w = x.shape
    y = tf.reduce_mean(tf.reshape(x, [-1, c, h // 2, 2, w // 2, 2]), axis=[3, 5], keepdims=True)
    y = tf.reshape(tf.tile(y, [1, 1, 1, 2, 1, 2]), [-1, c, h, w])
    return ops.lerp(x, y, lod - tf.floor(lod))


def gs_beta(minibatch, G_smoothing_kimg, cur_nimg=0, G_smoothing_rampup=None):  # noqa: N803
    """Official float32 ``0.5 ** (minibatch / (G_smoothing_kimg * 1000))`` (0 disables smoothing). With
    ``G_smoothing_rampup`` (StyleGAN2-ADA's ``ema_rampup``) the half-life is at most ``G_smoothing_rampup * cur_nimg``
    images, so Gs follows G closely early in a run (beta 0 at ``cur_nimg`` 0)."""
    half_life_nimg = G_smoothing_kimg * 1000.0
    if G_smoothing_rampup is not None:
        half_life_nimg = min(half_life_nimg, G_smoothing_rampup * cur_nimg)
    if not half_life_nimg:
        return np.float32(0.0)
    return np.float32(0.5) ** (np.float32(minibatch) / np.float32(half_life_nimg))


def trainables(net):
    """Trainable variables of a network (components included) in official order."""
    return [v for _, v in net.all_official_variables() if v.trainable]


def reset_optimizer(optimizer):
    """Official ``reset_optimizer_state``: Adam moments and step count back to zero."""
    for var in optimizer.variables:
        if var is not optimizer._learning_rate:
            var.assign(tf.zeros_like(var))


class LossScale:
    """Dynamic loss scaling for mixed precision (official ``Optimizer`` with loss scaling):
    the scale is a power of two, halved after a step with non-finite gradients, doubled
    after ``growth_steps`` finite steps."""

    def __init__(self, initial=2.0 ** 15, growth_steps=2000):
        agg = tf.VariableAggregation.ONLY_FIRST_REPLICA
        self.scale = tf.Variable(np.float32(initial), trainable=False, aggregation=agg, name="loss_scale")
        self.good_steps = tf.Variable(0, dtype=tf.int64, trainable=False, aggregation=agg, name="good_steps")
        self.growth_steps = growth_steps

    def update(self, finite):
        """Cross-replica context: adjust the scale after a step."""
        grow = finite & (self.good_steps + 1 >= self.growth_steps)
        self.scale.assign(tf.where(finite, tf.where(grow, self.scale * 2.0, self.scale), self.scale * 0.5))
        self.good_steps.assign(tf.where(finite & ~grow, self.good_steps + 1, tf.zeros([], tf.int64)))


def apply_gradients(optimizer, grads, variables, loss_scale=None):
    """Replica context: apply this replica's ``grads`` (None -> zeros; unscaled by
    ``loss_scale``) with ``optimizer``, which sums them across replicas, unless any element
    on any replica is non-finite. Returns the L2 norm of each of this replica's gradients.

    Keras' optimizer must be called in replica context (it all-reduces there), but a
    ``tf.cond`` around it must live in cross-replica context (Keras' LossScaleOptimizer
    pattern): the decision is taken there, and the update re-enters the replicas.
    """
    grads = [tf.zeros_like(v) if g is None else tf.cast(g, tf.float32) for g, v in zip(grads, variables)]
    if loss_scale is not None:
        grads = [g / loss_scale.scale for g in grads]
    nonfinite = tf.add_n([tf.reduce_sum(tf.cast(~tf.math.is_finite(g), tf.float32)) for g in grads])
    ctx = tf.distribute.get_replica_context()
    finite = ctx.all_reduce(tf.distribute.ReduceOp.SUM, nonfinite) == 0

    def cross_replica(strategy, grads, finite):
        finite = strategy.experimental_local_results(finite)[0]

        def apply():
            strategy.extended.call_for_each_replica(
                lambda g: optimizer.apply_gradients(zip(g, variables)), args=(grads,))

        tf.cond(finite, apply, lambda: None)
        if loss_scale is not None:
            loss_scale.update(finite)

    ctx.merge_call(cross_replica, args=(grads, finite))
    return tf.stack([tf.norm(g) for g in grads])


class TrainStep:
    """The official iteration for ``G``, ``D``, ``Gs`` (our Keras networks) under ``strategy``.

    ``G_loss`` / ``D_loss``: functions of ``training.loss`` with ``G_loss_args`` /
    ``D_loss_args``. ``random_labels(rng, n)``: labels for the G loss (official: random rows
    of the dataset's labels); default zeros ``[n, label_size]``. ``style_mixing``: let G
    mix styles in training (its ``style_mixing_prob``). ``randomize_noise``: fresh noise
    images (official); False uses the stored noise variables. ``xla``: jit-compile the steps.
    ``augment``: a ``training.ada.AdaptiveAugment`` (discriminator augmentation), or None.
    """

    def __init__(self, G, D, Gs, G_opt, D_opt, G_loss, D_loss, strategy, G_loss_args=None,  # noqa: N803
                 D_loss_args=None, random_labels=None, mirror_augment=False, drange_data=(0, 255),
                 randomize_noise=True, style_mixing=True, xla=False, loss_scaling=False,
                 seed=0, augment=None):
        self.G, self.D, self.Gs = G, D, Gs
        self.G_opt, self.D_opt = G_opt, D_opt
        self.G_loss, self.D_loss = G_loss, D_loss
        self._D_loss_params = set(inspect.signature(D_loss).parameters)
        self.G_loss_args, self.D_loss_args = dict(G_loss_args or {}), dict(D_loss_args or {})
        self.strategy = strategy
        self.mirror_augment, self.drange_data = mirror_augment, tuple(drange_data)
        self.randomize_noise, self.style_mixing = randomize_noise, style_mixing
        self.xla = xla
        (_, self.latent_size), (_, self.label_size) = G.input_shapes
        self.random_labels = random_labels or (lambda rng, n: tf.zeros([n, self.label_size]))
        self.G_vars, self.D_vars = trainables(G), trainables(D)
        self.G_loss_scale = LossScale() if loss_scaling else None
        self.D_loss_scale = LossScale() if loss_scaling else None
        self.rng = tf.random.Generator.from_seed(seed)
        self.augment = augment
        G_opt.build(self.G_vars)
        D_opt.build(self.D_vars)
        self._functions = {}

    # -- random draws -------------------------------------------------------------
    def _G_kwargs(self, lod, resolution, draws):  # noqa: N802
        """Keyword arguments of every G call in a loss. G draws its noise and style mixing
        from ``self.rng`` unless ``draws`` carries explicit ``style_mixing_draws``."""
        kwargs = {"lod": lod, "resolution": resolution, "randomize_noise": self.randomize_noise, "rng": self.rng}
        if not self.style_mixing:
            kwargs["style_mixing_prob"] = None
        elif "style_mixing_draws" in draws:
            kwargs["style_mixing_draws"] = draws["style_mixing_draws"]
        return kwargs

    def _D_seen_by_losses(self, draws):  # noqa: N802
        """``D``, or with augmentation an ``AugmentedD`` drawing from ``self.rng`` (or fed ``draws['augment']``:
        one ``training.augment.apply`` parameter dict per D evaluation of the loss, in its order)."""
        if self.augment is None:
            return self.D
        return AugmentedD(self.D, self.augment.pipe, self.rng, fed=draws.get("augment"))

    # -- the three parts of an iteration (replica / cross-replica functions) --------
    def d_replica_step(self, reals_raw, labels, lod, global_batch, draws=None):
        """Replica context: one D step on this replica's reals. Returns stats (per replica), among them
        ``Loss/signs/real``, the signs of D's real scores (ADA's overfitting statistic)."""
        n = tf.shape(reals_raw)[0]
        draws = draws or {"latents": self.rng.normal([n, self.latent_size])}
        resolution = int(reals_raw.shape[-1])
        flips = self.rng.uniform([n]) >= 0.5 if self.mirror_augment else None
        reals = process_reals(reals_raw, lod, flips, self.drange_data)
        loss_args = dict(self.D_loss_args)
        if "mixing_factors" in self._D_loss_params:
            loss_args["mixing_factors"] = draws.get("mixing_factors", self.rng.uniform([n, 1, 1, 1]))
        if self.D_loss_scale is not None and "loss_scale" in self._D_loss_params:
            loss_args["loss_scale"] = self.D_loss_scale.scale
        D = self._D_seen_by_losses(draws)  # noqa: N806
        result = self._minimize(
            lambda: self.D_loss(self.G, D, reals, labels, draws["latents"],
                                G_kwargs=self._G_kwargs(lod, resolution, draws), D_kwargs={"lod": lod}, **loss_args),
            D, self.D_opt, self.D_vars, self.D_loss_scale, global_batch)
        result["Loss/signs/real"] = tf.sign(result["Loss/scores/real"])
        return {**result, "reals": reals}

    def g_replica_step(self, lod, resolution, n, global_batch, draws=None, labels=None):
        """Replica context: one G step on ``n`` samples. Returns stats (per replica)."""
        draws = draws or {"latents": self.rng.normal([n, self.latent_size])}
        labels = self.random_labels(self.rng, n) if labels is None else labels
        D = self._D_seen_by_losses(draws)  # noqa: N806
        return self._minimize(
            lambda: self.G_loss(self.G, D, draws["latents"], labels, G_kwargs=self._G_kwargs(lod, resolution, draws),
                                D_kwargs={"lod": lod}, **self.G_loss_args),
            D, self.G_opt, self.G_vars, self.G_loss_scale, global_batch)

    def _minimize(self, loss_and_stats, D, optimizer, variables, loss_scale, global_batch):  # noqa: N803
        """One optimizer step of a replica: ``loss_and_stats()`` (per-sample losses ``[n]``, stats) under a tape, the
        sum over the replica divided by the global minibatch (scaled by ``loss_scale``, if any) differentiated with
        respect to ``variables`` and applied (``apply_gradients``); ``D`` is the discriminator the loss saw (its fed
        augmentation must be used up). Returns ``{"loss", "loss_sum", "grad_norm", **stats}``."""
        with tf.GradientTape() as tape:
            loss, stats = loss_and_stats()
            total = tf.reduce_sum(loss) / global_batch
            scaled = total * loss_scale.scale if loss_scale is not None else total
        if D is not self.D:
            D.check_fed_used()
        grads = tape.gradient(scaled, variables)
        grad_norms = apply_gradients(optimizer, grads, variables, loss_scale)
        return {"loss": loss, "loss_sum": total, "grad_norm": grad_norms, **stats}

    def update_Gs(self, beta):  # noqa: N802
        """Cross-replica context: the official moving average of G into Gs."""
        source = dict(self.G.all_official_variables())
        for name, var in self.Gs.all_official_variables():
            src = tf.convert_to_tensor(source[name])
            var.assign(ops.lerp(src, tf.convert_to_tensor(var), beta) if var.trainable else src)

    def adapt_augment(self, d_stats, global_batch):
        """Cross-replica context, after a D step (``d_stats``: its per-replica stats): feed the signs of D's
        real scores, summed over all replicas, to the ADA heuristic (nothing without one)."""
        if self.augment is None or not self.augment.adaptive:
            return
        total = self.strategy.reduce(tf.distribute.ReduceOp.SUM, d_stats["Loss/signs/real"], axis=0)
        self.augment.accumulate(tf.reduce_sum(total), global_batch, global_batch)

    def set_lod(self, lod):
        """Cross-replica context: the official ``lod_assign_ops`` (G's and D's ``lod``)."""
        self.G.lod.assign(lod)
        self.D.lod.assign(lod)

    # -- compiled iteration ---------------------------------------------------------
    def iteration_function(self, resolution, global_batch):
        """A tf.function ``(reals_raw, labels, lod, G_lrate, D_lrate, beta) -> stats`` running
        one whole iteration at ``resolution`` on ``global_batch`` samples: for each of the
        ``D_repeats`` minibatches in ``reals_raw`` / ``labels`` (a tuple, or one minibatch;
        per replica, as a distributed dataset yields them) a D step and a Gs update, then one
        G step, as the official loop with ``D_repeats``. Cached per resolution and batch."""
        key = (resolution, global_batch)
        if key not in self._functions:
            strategy = self.strategy
            n = global_batch // strategy.num_replicas_in_sync
            total, mean = tf.distribute.ReduceOp.SUM, tf.distribute.ReduceOp.MEAN

            def iteration(reals_raw, labels, lod, G_lrate, D_lrate, beta):  # noqa: N803
                minibatches = zip(*((reals_raw, labels) if isinstance(reals_raw, (tuple, list))
                                    else ((reals_raw,), (labels,))))
                self.set_lod(lod)
                self.D_opt.learning_rate.assign(D_lrate)
                for reals_mb, labels_mb in minibatches:
                    d_stats = strategy.run(self.d_replica_step, args=(reals_mb, labels_mb, lod, global_batch))
                    self.update_Gs(beta)
                    self.adapt_augment(d_stats, global_batch)
                self.G_opt.learning_rate.assign(G_lrate)
                g_stats = strategy.run(self.g_replica_step, args=(lod, resolution, n, global_batch))
                return {
                    "Loss/D": strategy.reduce(total, d_stats["loss_sum"], axis=None),
                    "Loss/G": strategy.reduce(total, g_stats["loss_sum"], axis=None),
                    # per replica [n] or [n, 1] (equal n): the mean over replicas, then over samples
                    **{k: tf.reduce_mean(strategy.reduce(mean, v, axis=None))
                       for k, v in d_stats.items() if k.startswith("Loss/")},
                }

            self._functions[key] = tf.function(iteration, jit_compile=self.xla)
        return self._functions[key]
