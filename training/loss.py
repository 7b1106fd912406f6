"""The official StyleGAN / ProGAN / StyleGAN2 loss functions.

Every loss takes the networks and its inputs explicitly (the random draws are the
caller's: ``latents [N, latent_size]``, ``labels [N, label_size]``, ``reals [N, C, r, r]``
NCHW in [-1, 1], WGAN-GP ``mixing_factors [N, 1, 1, 1]``) and returns
``(loss, stats)``: ``loss`` a float32 per-sample vector ``[N, 1]`` whose mean is what
the official training loop minimizes, ``stats`` the values the official code reports
to autosummary (``'Loss/scores/real'`` ...).

Official ``D_logistic_simplegp`` and ``D_wgan_gp`` return ``[N, N]``: their per-sample
penalty ``[N]`` broadcasts against the ``[N, 1]`` score terms. The mean is the same as
that of our ``[N, 1]`` vector (score term of sample i + penalty of sample i), which is
also correct to sum across replicas and divide by the global batch.

``G_kwargs`` / ``D_kwargs`` go to every call of G / D (e.g. ``lod``, ``resolution``,
``randomize_noise``, ``style_mixing_draws``, ``rng``); G is called with
``is_training=True``. ``loss_scale`` (mixed precision) scales the inner gradient of the
R1 / R2 / gradient / path-length penalties as official ``apply_loss_scaling`` does.

StyleGAN2's losses (``G_logistic_ns_pathreg``, ``D_logistic_r1``; ``REGULARIZED_G_LOSSES`` /
``REGULARIZED_D_LOSSES``) keep the regularizer apart, as official: they return ``(loss, reg,
stats)`` with ``loss [N, 1]`` and ``reg [M]`` (the official pair), for lazy regularization
(``mean(reg * interval)`` every ``interval`` minibatches). The regularizers also exist alone,
``G_pathreg`` and ``D_r1``, so that a step that only regularizes computes only that. The path
length's moving average ``pl_mean`` is a float32 variable of the caller's (official: one per
loss instance, initially 0), updated by every call.
"""
import numpy as np
import tensorflow as tf

from stylegan_tf.errors import InputError


def _fake_scores(G, D, latents, labels, G_kwargs, D_kwargs):  # noqa: N803 (official names)
    fakes = G(latents, labels, is_training=True, **(G_kwargs or {}))
    return fakes, tf.cast(D(fakes, labels, **(D_kwargs or {})), tf.float32)


def _input_gradient(D, images, labels, D_kwargs, loss_scale):  # noqa: N803
    """``(D(images) [N, 1] float32, d sum(D(images)) / d images [N, C, H, W] float32)``.

    Images below D's resolution ``R`` stand for their nearest-upscaled full-resolution
    version (what the official loop feeds D): the gradient is returned as the official one
    would be, per pixel of the small image times ``size / R`` (so that its norm and sum of
    squares equal those of the full-resolution gradient).
    """
    with tf.GradientTape() as tape:
        tape.watch(images)
        scores = tf.cast(D(images, labels, **(D_kwargs or {})), tf.float32)
        scaled = tf.reduce_sum(scores) * (1.0 if loss_scale is None else loss_scale)
    grads = tf.cast(tape.gradient(scaled, images), tf.float32)
    if loss_scale is not None:
        grads /= loss_scale
    size, full = int(images.shape[-1]), int(D.kwargs["resolution"])
    if size != full:
        grads *= size / full
    return scores, grads


def _sum_squares(grads):
    return tf.reduce_sum(tf.square(grads), axis=[1, 2, 3])


def G_wgan(G, D, latents, labels, G_kwargs=None, D_kwargs=None):  # noqa: N802,N803
    """WGAN generator loss ``-D(G(z))``."""
    _, fake_scores = _fake_scores(G, D, latents, labels, G_kwargs, D_kwargs)
    return -fake_scores, {}


def G_logistic_saturating(G, D, latents, labels, G_kwargs=None, D_kwargs=None):  # noqa: N802,N803
    """``log(1 - sigmoid(D(G(z))))`` = ``-softplus(D(G(z)))``."""
    _, fake_scores = _fake_scores(G, D, latents, labels, G_kwargs, D_kwargs)
    return -tf.nn.softplus(fake_scores), {}


def G_logistic_nonsaturating(G, D, latents, labels, G_kwargs=None, D_kwargs=None):  # noqa: N802,N803
    """``-log(sigmoid(D(G(z))))`` = ``softplus(-D(G(z)))`` (the StyleGAN default)."""
    _, fake_scores = _fake_scores(G, D, latents, labels, G_kwargs, D_kwargs)
    return tf.nn.softplus(-fake_scores), {}


def _real_fake(G, D, reals, labels, latents, G_kwargs, D_kwargs, loss_scale=None, real_grads=False):  # noqa: N803
    """Fakes, real and fake scores (official evaluation order: G, D(reals), D(fakes)),
    and optionally the gradient of ``sum(D(reals))`` with respect to the reals."""
    fakes = G(latents, labels, is_training=True, **(G_kwargs or {}))
    grads = None
    if real_grads:
        real_scores, grads = _input_gradient(D, reals, labels, D_kwargs, loss_scale)
    else:
        real_scores = tf.cast(D(reals, labels, **(D_kwargs or {})), tf.float32)
    fake_scores = tf.cast(D(fakes, labels, **(D_kwargs or {})), tf.float32)
    stats = {"Loss/scores/real": real_scores, "Loss/scores/fake": fake_scores}
    return fakes, real_scores, fake_scores, grads, stats


def _epsilon_penalty(real_scores, wgan_epsilon, stats):
    penalty = tf.square(real_scores)
    stats["Loss/epsilon_penalty"] = penalty
    return penalty * wgan_epsilon


def _gradient_penalty(D, reals, fakes, labels, mixing_factors, wgan_lambda, wgan_target, D_kwargs,  # noqa: N803
                      loss_scale, stats):
    """WGAN-GP term ``(|grad D(mix)| - target)^2 * lambda / target^2``, shape [N, 1]."""
    mixed = reals + (fakes - tf.cast(reals, fakes.dtype)) * tf.cast(mixing_factors, fakes.dtype)
    mixed_scores, grads = _input_gradient(D, mixed, labels, D_kwargs, loss_scale)
    norms = tf.sqrt(_sum_squares(grads))
    stats["Loss/scores/mixed"] = mixed_scores
    stats["Loss/mixed_norms"] = norms
    return (tf.square(norms - wgan_target) * (wgan_lambda / wgan_target ** 2))[:, None]


def D_wgan(G, D, reals, labels, latents, wgan_epsilon=0.001, G_kwargs=None, D_kwargs=None):  # noqa: N802,N803
    """WGAN critic loss ``D(fake) - D(real) + epsilon * D(real)^2``."""
    _, real, fake, _, stats = _real_fake(G, D, reals, labels, latents, G_kwargs, D_kwargs)
    return fake - real + _epsilon_penalty(real, wgan_epsilon, stats), stats


def D_wgan_gp(G, D, reals, labels, latents, mixing_factors, wgan_lambda=10.0, wgan_epsilon=0.001,  # noqa: N802,N803
              wgan_target=1.0, G_kwargs=None, D_kwargs=None, loss_scale=None):
    """WGAN-GP critic loss (ProGAN): WGAN + gradient penalty on ``lerp(real, fake, mixing_factors)``
    + epsilon drift penalty."""
    fakes, real, fake, _, stats = _real_fake(G, D, reals, labels, latents, G_kwargs, D_kwargs)
    loss = fake - real + _gradient_penalty(D, reals, fakes, labels, mixing_factors, wgan_lambda, wgan_target,
                                           D_kwargs, loss_scale, stats)
    return loss + _epsilon_penalty(real, wgan_epsilon, stats), stats


def D_logistic(G, D, reals, labels, latents, G_kwargs=None, D_kwargs=None):  # noqa: N802,N803
    """``softplus(D(fake)) + softplus(-D(real))``."""
    _, real, fake, _, stats = _real_fake(G, D, reals, labels, latents, G_kwargs, D_kwargs)
    return tf.nn.softplus(fake) + tf.nn.softplus(-real), stats


def D_logistic_simplegp(G, D, reals, labels, latents, r1_gamma=10.0, r2_gamma=0.0, G_kwargs=None,  # noqa: N802,N803
                        D_kwargs=None, loss_scale=None):
    """Logistic loss + ``r1_gamma / 2 * |grad D(real)|^2`` (R1, on reals) and
    ``r2_gamma / 2 * |grad D(fake)|^2`` (R2, on fakes). StyleGAN's default D loss."""
    fakes, real, fake, real_grads, stats = _real_fake(G, D, reals, labels, latents, G_kwargs, D_kwargs,
                                                      loss_scale, real_grads=r1_gamma != 0)
    loss = tf.nn.softplus(fake) + tf.nn.softplus(-real)
    if r1_gamma != 0:
        r1 = _sum_squares(real_grads)
        stats["Loss/r1_penalty"] = r1
        loss += (r1 * (r1_gamma * 0.5))[:, None]
    if r2_gamma != 0:
        _, fake_grads = _input_gradient(D, fakes, labels, D_kwargs, loss_scale)
        r2 = _sum_squares(fake_grads)
        stats["Loss/r2_penalty"] = r2
        loss += (r2 * (r2_gamma * 0.5))[:, None]
    return loss, stats


def D_hinge(G, D, reals, labels, latents, G_kwargs=None, D_kwargs=None):  # noqa: N802,N803
    """``max(0, 1 + D(fake)) + max(0, 1 - D(real))``."""
    _, real, fake, _, stats = _real_fake(G, D, reals, labels, latents, G_kwargs, D_kwargs)
    return tf.maximum(0.0, 1.0 + fake) + tf.maximum(0.0, 1.0 - real), stats


def D_hinge_gp(G, D, reals, labels, latents, mixing_factors, wgan_lambda=10.0, wgan_target=1.0,  # noqa: N802,N803
               G_kwargs=None, D_kwargs=None, loss_scale=None):
    """Hinge loss + the WGAN-GP gradient penalty."""
    fakes, real, fake, _, stats = _real_fake(G, D, reals, labels, latents, G_kwargs, D_kwargs)
    loss = tf.maximum(0.0, 1.0 + fake) + tf.maximum(0.0, 1.0 - real)
    return loss + _gradient_penalty(D, reals, fakes, labels, mixing_factors, wgan_lambda, wgan_target,
                                    D_kwargs, loss_scale, stats), stats


def D_r1(D, reals, labels, gamma=10.0, D_kwargs=None, loss_scale=None):  # noqa: N802,N803
    """StyleGAN2's R1 regularizer alone: ``reg = gamma / 2 * |grad D(reals)|^2`` ``[N]``; ``(reg, stats)``."""
    real_scores, grads = _input_gradient(D, reals, labels, D_kwargs, loss_scale)
    penalty = _sum_squares(grads)
    return penalty * (gamma * 0.5), {"Loss/scores/real": real_scores, "Loss/gradient_penalty": penalty}


def D_logistic_r1(G, D, reals, labels, latents, gamma=10.0, G_kwargs=None, D_kwargs=None,  # noqa: N802,N803
                  loss_scale=None):
    """StyleGAN2's D loss: ``loss = softplus(D(fake)) + softplus(-D(real))`` ``[N, 1]`` and the R1 regularizer
    ``reg = gamma / 2 * |grad D(real)|^2`` ``[N]`` (kept apart, as official); ``(loss, reg, stats)``."""
    _, real, fake, real_grads, stats = _real_fake(G, D, reals, labels, latents, G_kwargs, D_kwargs, loss_scale,
                                                  real_grads=True)
    penalty = _sum_squares(real_grads)
    stats["Loss/gradient_penalty"] = penalty
    return tf.nn.softplus(fake) + tf.nn.softplus(-real), penalty * (gamma * 0.5), stats


def _path_lengths(G, latents, labels, pl_noise, G_kwargs, loss_scale):  # noqa: N803
    """``(images [N, C, H, W], pl_lengths [N] float32)``: G's images in training mode and the official
    ``|J^T y|`` of each, ``sqrt(mean_layers(sum_dims(grad^2)))`` with ``grad`` the gradient of
    ``sum(images * pl_noise / sqrt(H * W))`` with respect to the dlatents the synthesis ran on
    ``[N, num_layers, D]`` (``pl_noise``: standard normal, the images' shape)."""
    with tf.GradientTape() as tape:
        tape.watch(latents)
        images, dlatents = G(latents, labels, is_training=True, return_dlatents=True, **(G_kwargs or {}))
        height, width = G.official_output_shape[2:]
        noise = tf.cast(pl_noise, tf.float32) / np.sqrt(height * width)
        target = tf.reduce_sum(tf.cast(images, tf.float32) * noise) * (1.0 if loss_scale is None else loss_scale)
    grads = tf.cast(tape.gradient(target, dlatents), tf.float32)
    if loss_scale is not None:
        grads /= loss_scale
    return images, tf.sqrt(tf.reduce_mean(tf.reduce_sum(tf.square(grads), axis=2), axis=1))


def _path_length_penalty(pl_lengths, pl_mean, pl_decay, pl_weight):
    """Official: ``pl_mean += pl_decay * (mean(pl_lengths) - pl_mean)`` (the variable is updated), then
    ``reg = (pl_lengths - pl_mean)^2 * pl_weight`` with the updated value; ``(reg [N], stats)``."""
    mean = pl_mean + pl_decay * (tf.reduce_mean(pl_lengths) - pl_mean)
    pl_mean.assign(mean)
    penalty = tf.square(pl_lengths - mean)
    return penalty * pl_weight, {"Loss/pl_lengths": pl_lengths, "Loss/pl_penalty": penalty}


def G_pathreg(G, pl_latents, pl_labels, pl_noise, pl_mean, pl_decay=0.01, pl_weight=2.0,  # noqa: N802,N803
              G_kwargs=None, loss_scale=None):
    """StyleGAN2's path length regularizer alone, on its own minibatch ``pl_latents [M, latent_size]``,
    ``pl_labels [M, label_size]``, ``pl_noise [M, C, R, R]`` (standard normal): ``(reg [M], stats)``; updates
    ``pl_mean``."""
    _, lengths = _path_lengths(G, pl_latents, pl_labels, pl_noise, G_kwargs, loss_scale)
    return _path_length_penalty(lengths, pl_mean, pl_decay, pl_weight)


def G_logistic_ns_pathreg(G, D, latents, labels, pl_noise, pl_mean, pl_latents=None, pl_labels=None,  # noqa: N802,N803
                          pl_minibatch_shrink=2, pl_decay=0.01, pl_weight=2.0, G_kwargs=None, D_kwargs=None,
                          loss_scale=None):
    """StyleGAN2's G loss: ``loss = softplus(-D(G(z)))`` ``[N, 1]`` and the path length regularizer ``reg``
    ``[N / pl_minibatch_shrink]`` (kept apart, as official); ``(loss, reg, stats)``; updates ``pl_mean``.

    With ``pl_minibatch_shrink`` > 1 the regularizer runs G again on its own minibatch ``pl_latents``,
    ``pl_labels`` (``N // pl_minibatch_shrink`` each); with 1, on the loss's own fakes (one G call).
    ``pl_noise``: standard normal, the shape of the regularizer's images."""
    if pl_minibatch_shrink > 1:
        if pl_latents is None or pl_labels is None:
            raise InputError("pl_minibatch_shrink > 1 needs the regularizer's own pl_latents and pl_labels")
        fakes = G(latents, labels, is_training=True, **(G_kwargs or {}))
        _, lengths = _path_lengths(G, pl_latents, pl_labels, pl_noise, G_kwargs, loss_scale)
    else:
        fakes, lengths = _path_lengths(G, latents, labels, pl_noise, G_kwargs, loss_scale)
    fake_scores = tf.cast(D(fakes, labels, **(D_kwargs or {})), tf.float32)
    reg, stats = _path_length_penalty(lengths, pl_mean, pl_decay, pl_weight)
    return tf.nn.softplus(-fake_scores), reg, stats


G_LOSSES = {f.__name__: f for f in (G_wgan, G_logistic_saturating, G_logistic_nonsaturating)}
D_LOSSES = {f.__name__: f for f in (D_wgan, D_wgan_gp, D_logistic, D_logistic_simplegp, D_hinge, D_hinge_gp)}
#: StyleGAN2's losses, returning ``(loss, reg, stats)``, and their regularizers alone
REGULARIZED_G_LOSSES = {G_logistic_ns_pathreg.__name__: (G_logistic_ns_pathreg, G_pathreg)}
REGULARIZED_D_LOSSES = {D_logistic_r1.__name__: (D_logistic_r1, D_r1)}
