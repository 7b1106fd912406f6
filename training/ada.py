"""Discriminator augmentation in training (StyleGAN2-ADA): the discriminator as the losses see it, and the
heuristic that tunes the augmentation probability ``p``.

``AugmentedD(D, pipe, rng)`` stands for ``D`` in the losses (``training.loss``): every evaluation
``D(images, labels)`` is ``D(pipe.augment(images, rng), labels)`` with fresh draws, so reals and fakes are
augmented in the D loss, the G loss and R1 alike, and nowhere else (Gs, the image grids and the metrics see
plain images). The images are augmented inside the evaluation, so R1's gradient is taken with respect to the
un-augmented reals, through the augmentation (official ``run_D``).

``AdaptiveAugment(pipe, target, interval, speed_kimg)`` holds the run's augmentation state and, when ``target``
is set, the official ADA heuristic: the overfitting statistic ``r_t = E[sign(D(augmented reals))]`` is gathered
over every replica's reals of ``interval`` minibatches, then ``p <- max(p + sign(r_t - target) * batch *
interval / (speed_kimg * 1000), 0)``, ``batch`` the global minibatch. Without ``target``, ``p`` stays fixed.
"""
import numpy as np
import tensorflow as tf

from stylegan_tf.errors import InputError
from training.augment import AugmentPipe, apply


class AugmentedD:
    """``D`` under augmentation, called as the losses call ``D``: ``(images [N, C, H, W], labels, **D_kwargs)
    -> D(augment(images), labels, **D_kwargs)``.

    Each call draws its augmentation from ``rng`` (a ``tf.random.Generator``), unless ``fed`` is given: a sequence
    of ``training.augment.apply`` parameter dicts, one per D evaluation in the order the loss makes them (the
    logistic D losses: reals, then fakes; the G losses: fakes), each for this replica's images. ``kwargs`` are
    ``D``'s (the losses read its resolution).
    """

    def __init__(self, D, pipe, rng, fed=None):  # noqa: N803
        self.D, self.pipe, self.rng = D, pipe, rng
        self._fed = None if fed is None else list(fed)

    @property
    def kwargs(self):
        return self.D.kwargs

    def __call__(self, images, labels, **D_kwargs):  # noqa: N803
        if self._fed is None:
            images = self.pipe.augment(images, self.rng)
        elif not self._fed:
            raise InputError("a D evaluation beyond the fed augmentation parameters: feed one dict per evaluation")
        else:
            images = apply(images, self._fed.pop(0))
        return self.D(images, labels, **D_kwargs)

    def check_fed_used(self):
        """``InputError`` if fed parameters are left over (the loss evaluated D fewer times than they were fed)."""
        if self._fed:
            raise InputError(f"{len(self._fed)} fed augmentation parameter dict(s) left unused by the loss")


class AdaptiveAugment(tf.Module):
    """The augmentation of D's inputs in a run: ``pipe`` (a ``training.augment.AugmentPipe``, whose ``p`` this
    tunes) and the ADA heuristic when ``target`` is not None (official ``ada_target``; ``interval``: minibatches
    between two adjustments, official ``ada_interval``; ``speed_kimg``: kimg for ``p`` to move by 1 at most,
    official ``ada_kimg``).

    Its variables are checkpointed with the run (``tf.train.Checkpoint`` tracks them): ``pipe.p``, and the
    heuristic's accumulator since the last adjustment: ``signs`` (float32 sum of ``sign(D(reals))`` over every
    replica), ``count`` (int64, how many reals) and ``minibatches`` (int64). All are non-trainable scalars with
    ``ONLY_FIRST_REPLICA`` aggregation: created in a strategy's scope they are mirrored, and ``accumulate``
    updates them in cross-replica context.
    """

    def __init__(self, pipe, target=None, interval=4, speed_kimg=500.0, name="augment"):
        super().__init__(name=name)
        if interval < 1 or speed_kimg <= 0:
            raise InputError(f"ADA needs interval >= 1 and speed_kimg > 0, got {interval} and {speed_kimg}")
        self.pipe, self.target = pipe, target
        self.interval, self.speed_kimg = int(interval), float(speed_kimg)
        agg = tf.VariableAggregation.ONLY_FIRST_REPLICA
        self.signs = tf.Variable(np.float32(0), trainable=False, aggregation=agg, name="signs")
        self.count = tf.Variable(np.int64(0), trainable=False, aggregation=agg, name="count")
        self.minibatches = tf.Variable(np.int64(0), trainable=False, aggregation=agg, name="minibatches")

    @classmethod
    def from_options(cls, augment):
        """The augmentation of `training.options.Augment` settings, or None when they augment nothing."""
        if augment.pipeline is None:
            return None
        return cls(AugmentPipe(augment.pipeline, p=augment.p), target=augment.target, interval=augment.interval,
                   speed_kimg=augment.speed_kimg)

    @property
    def p(self):
        """The augmentation probability (the pipeline's variable)."""
        return self.pipe.p

    @property
    def adaptive(self):
        """Whether the heuristic tunes ``p`` (a target is set)."""
        return self.target is not None

    def accumulate(self, signs_sum, count, batch_size):
        """Cross-replica context, after one minibatch's D step: add ``signs_sum`` (the sum of ``sign(D(reals))``
        over all ``count`` reals of every replica) and, every ``interval`` minibatches, adjust ``p`` for the
        global minibatch ``batch_size`` and restart the accumulator."""
        signs = self.signs.assign_add(tf.cast(signs_sum, tf.float32))
        count = self.count.assign_add(tf.cast(count, tf.int64))
        due = self.minibatches.assign_add(1) >= self.interval
        r_t = signs / tf.cast(tf.maximum(count, 1), tf.float32)
        step = np.float32(batch_size * self.interval / (self.speed_kimg * 1000))
        adjusted = tf.maximum(self.p + tf.sign(r_t - np.float32(self.target)) * step, 0.0)
        self.p.assign(tf.where(due, adjusted, self.p))
        for var in (self.signs, self.count, self.minibatches):
            var.assign(tf.where(due, tf.zeros_like(var), var))
