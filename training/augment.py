"""The adaptive discriminator augmentation (ADA) pipeline of StyleGAN2-ADA ("Training Generative Adversarial
Networks with Limited Data", Karras et al. 2020), after the official ``augment.py``.

``AugmentPipe(pipeline, p)`` augments every image the discriminator sees (reals and fakes alike):
``pipe.augment(images, rng)`` takes float images ``[N, C, H, W]`` (public NCHW, [-1, 1], float32 or float16;
computed in float32, returned in the input dtype) and a ``tf.random.Generator``. Each transform fires
*per sample* with probability ``p * multiplier``; ``p`` is the non-trainable scalar variable ``pipe.p`` that the
training loop tunes and checkpoints. With ``p = 0`` the output is the input, exactly; a sample no transform
fired on comes back unchanged, exactly. Every stage is linear (color: affine) in the images, so gradients
reach the generator through it. One trace per image shape; ``p`` is a variable, so changing it never retraces.

Pipelines (the official ``augpipe`` names; each named transform has multiplier 1):

| name | transforms |
| --- | --- |
| ``blit`` | xflip, rotate90, xint |
| ``geom`` | scale, rotate, aniso, xfrac |
| ``color`` | brightness, contrast, lumaflip, hue, saturation |
| ``filter`` / ``noise`` / ``cutout`` | imgfilter / noise / cutout |
| ``bg``, ``bgc``, ``bgcf``, ``bgcfn``, ``bgcfnc`` | blit + geom, + color, + filter, + noise, + cutout |

Transforms, in the order they act on an image (coordinates ``p`` are centered pixel coordinates, see
``training.augment_resample``; a geometric transform is an inverse map ``G_inv``: ``out(p) = in(G_inv p)``):

- **xflip**: ``G_inv = diag(1 - 2i, 1)``, ``i ~ U{0, 1}``. **rotate90**: rotation by ``k * 90`` degrees,
  ``k ~ U{0..3}``. Both are applied as an exact pixel gather, first. (Official composes them into the
  resampling matrix below, which makes them slightly lossy: the SYM6 path is exact only for the identity and
  translations; an official flip deviates from the true flip by up to 0.3 on noise images.)
- Then one filtered resampling (``training.augment_resample.filtered_resample``; reflect extension, 2x SYM6
  upsampling, bilinear sampling, 2x SYM6 downsampling) with ``G_inv = T(-t_int) S(1/s) R(a) S(1/r, r) R(b)
  T(-t_frac)``: **xint** ``t_int = round(U(-xint_max, xint_max) * (W, H))`` pixels; **scale**
  ``s = 2^N(0, scale_std)``; **rotate** pre/post rotations ``a, b ~ U(-pi, pi) * rotate_max``, each with
  probability ``1 - sqrt(1 - rotate * p)`` so that one or both fire with probability ``rotate * p``;
  **aniso** ``r = 2^N(0, aniso_std)``; **xfrac** ``t_frac = N(0, xfrac_std) * (W, H)`` pixels.
- Color, one affine map per sample on RGB ``x`` (luma axis ``v = (1, 1, 1) / sqrt(3)``), composed in this order:
  **brightness** ``x + b``, ``b ~ N(0, brightness_std)``; **contrast** ``c x``, ``c = 2^N(0, contrast_std)``;
  **lumaflip** ``(I - 2 v v^T) x`` with probability 1/2 when fired; **hue** rotation about ``v`` by
  ``U(-pi, pi) * hue_max``; **saturation** ``(v v^T + s (I - v v^T)) x``, ``s = 2^N(0, saturation_std)``.
  Grayscale images skip hue and saturation and use the mean row of the RGB map: ``x' = x * sum(m[:3]) + m[3]``.
- **imgfilter**: four frequency bands (SYM2 filter bank: band 0 lowest, band 3 the upper half-band; they sum
  to the identity); band ``i`` is amplified by ``a_i = 2^N(0, imgfilter_std)`` with probability
  ``p * imgfilter * imgfilter_bands[i]``; gains ``g = a / prod_i sqrt(1 - e_i + e_i a_i^2)`` keep the expected
  power (``e = (10, 1, 1, 1) / 13``) constant; the separable filter ``sum_i g_i band_i`` is applied along x and
  along y, with reflection at the borders.
- **noise**: ``x + sigma * N(0, 1)`` per pixel and channel, ``sigma = |N(0, noise_std)|``.
- **cutout**: zero a ``cutout_size * (W, H)`` rectangle centered at ``U(0, 1) * (W, H)``.

``draw_params(shape, rng)`` draws the per-sample parameters as above (identity where a transform did not
fire) and ``apply(images, params)`` applies them deterministically; ``augment`` is the two in sequence.

Differences from the official code, none in distribution: x-flips and 90-degree rotations are exact (above);
beyond one reflection the official padding reads zeros, here the reflection continues (0.9% of samples at 32 px,
0.2% at 256 px need that when all geometric transforms fire); samples no transform fired on skip the stage
(official resamples them too, an identity up to float rounding). Matched to the official PyTorch code with equal
parameters: geometric transforms to 3e-5, color, filter and cutout to 2e-6.

Wiring (as official; ``training.ada`` does it in training): D sees ``augment(reals)`` and ``augment(fakes)`` in the
D step and ``augment(fakes)`` in the G step; the R1 penalty differentiates through the augmentation (second-order
gradients exist).
"""
import numpy as np
import tensorflow as tf

from stylegan_tf.errors import InputError
from training.augment_resample import dihedral, filtered_resample, reflect_extend

PIPELINES = {
    "blit": dict(xflip=1, rotate90=1, xint=1),
    "geom": dict(scale=1, rotate=1, aniso=1, xfrac=1),
    "color": dict(brightness=1, contrast=1, lumaflip=1, hue=1, saturation=1),
    "filter": dict(imgfilter=1),
    "noise": dict(noise=1),
    "cutout": dict(cutout=1),
}
PIPELINES["bg"] = dict(PIPELINES["blit"], **PIPELINES["geom"])
PIPELINES["bgc"] = dict(PIPELINES["bg"], **PIPELINES["color"])
PIPELINES["bgcf"] = dict(PIPELINES["bgc"], imgfilter=1)
PIPELINES["bgcfn"] = dict(PIPELINES["bgcf"], noise=1)
PIPELINES["bgcfnc"] = dict(PIPELINES["bgcfn"], cutout=1)

MULTIPLIERS = ("xflip", "rotate90", "xint", "scale", "rotate", "aniso", "xfrac", "brightness", "contrast",
               "lumaflip", "hue", "saturation", "imgfilter", "noise", "cutout")
STRENGTHS = dict(xint_max=0.125, scale_std=0.2, rotate_max=1.0, aniso_std=0.2, xfrac_std=0.125,
                 brightness_std=0.2, contrast_std=0.5, hue_max=1.0, saturation_std=1.0,
                 imgfilter_bands=(1.0, 1.0, 1.0, 1.0), imgfilter_std=1.0, noise_std=0.1, cutout_size=0.5)

# Parameters of ``apply`` and their identity values (``[N]``; ``xint``, ``xfrac``: ``[N, 2]`` pixels).
GEOMETRIC_PARAMS = dict(xint=0.0, scale=1.0, rotate_pre=0.0, aniso=1.0, rotate_post=0.0, xfrac=0.0)
COLOR_PARAMS = dict(brightness=0.0, contrast=1.0, lumaflip=0.0, hue=0.0, saturation=1.0)

# SYM2 (Daubechies 2) low-pass filter, the prototype of the image-space filter bank.
SYM2 = np.array([-0.12940952255092145, 0.22414386804185735, 0.836516303737469, 0.48296291314469025])
BAND_POWER = np.array([10, 1, 1, 1], np.float32) / 13  # expected power per band (1/f spectrum)


def filter_bank():
    """The official four-band filter bank ``[4, 43]`` (float64): with ``L(z) = H(z) H(1/z) / 2`` and
    ``Hi(z) = H(-z) H(-1/z) / 2`` for the SYM2 filter ``H``: ``L(z) L(z^2) L(z^4)``, ``L(z) L(z^2) Hi(z^4)``,
    ``L(z) Hi(z^2)``, ``Hi(z)``, centered. The bands sum to the unit impulse."""
    highpass = SYM2 * (-1.0) ** np.arange(SYM2.size)
    low2 = np.convolve(SYM2, SYM2[::-1]) / 2
    high2 = np.convolve(highpass, highpass[::-1]) / 2
    bank = np.ones([4, 1]) * np.eye(4, 1)
    for band in range(1, 4):
        upsampled = np.zeros([4, bank.shape[1] * 2 - 1])
        upsampled[:, ::2] = bank
        bank = np.stack([np.convolve(row, low2) for row in upsampled])
        start = (bank.shape[1] - high2.size) // 2
        bank[band, start:start + high2.size] += high2
    return bank


def _matrices(rows, like):
    """``[N, R, K]`` matrices from ``rows`` of python numbers and ``[N]`` tensors (``like``: a ``[N]`` tensor)."""
    def entry(e):
        return tf.broadcast_to(tf.cast(e, tf.float32), tf.shape(like))
    return tf.stack([tf.stack([entry(e) for e in row], axis=-1) for row in rows], axis=-2)


def _translate(tx, ty):
    return _matrices([[1, 0, tx], [0, 1, ty], [0, 0, 1]], tx)


def _scale(sx, sy):
    return _matrices([[sx, 0, 0], [0, sy, 0], [0, 0, 1]], sx)


def _rotate(theta):
    c, s = tf.cos(theta), tf.sin(theta)
    return _matrices([[c, -s, 0], [s, c, 0], [0, 0, 1]], theta)


def geometric_matrix(params, batch_size):
    """``G_inv [N, 3, 3] = T(-t_int) S(1/s) R(a) S(1/r, r) R(b) T(-t_frac)`` from ``params`` (missing: identity)."""
    G_inv = tf.eye(3, batch_shape=[batch_size])  # noqa: N806
    if "xint" in params:
        G_inv @= _translate(-params["xint"][:, 0], -params["xint"][:, 1])
    if "scale" in params:
        G_inv @= _scale(1 / params["scale"], 1 / params["scale"])
    if "rotate_pre" in params:
        G_inv @= _rotate(params["rotate_pre"])
    if "aniso" in params:
        G_inv @= _scale(1 / params["aniso"], params["aniso"])
    if "rotate_post" in params:
        G_inv @= _rotate(params["rotate_post"])
    if "xfrac" in params:
        G_inv @= _translate(-params["xfrac"][:, 0], -params["xfrac"][:, 1])
    return G_inv


LUMA = np.array([1.0, 1.0, 1.0, 0.0]) / np.sqrt(3)             # the luma axis v (homogeneous)
_I4 = np.eye(4, dtype=np.float32)
_HOMOGENEOUS = np.diag([0.0, 0.0, 0.0, 1.0]).astype(np.float32)  # I_4 less its 3x3 part
_LUMA_OUTER = np.outer(LUMA, LUMA).astype(np.float32)            # v v^T
_OFFSET = np.array([[0, 0, 0, 1]] * 3 + [[0] * 4], np.float32)   # the translation column
_CROSS = (np.array([[0, -1, 1, 0], [1, 0, -1, 0], [-1, 1, 0, 0], [0, 0, 0, 0]]) / np.sqrt(3)).astype(np.float32)


def color_matrix(params, batch_size):
    """``C [N, 4, 4]``, homogeneous RGB map ``C @ (r, g, b, 1)``, composed from ``params`` (missing: identity):
    brightness, then contrast, luma flip, hue rotation (Rodrigues about the luma axis), saturation."""
    def per_sample(x):
        return tf.cast(x, tf.float32)[:, None, None]

    rgb = _I4 - _HOMOGENEOUS
    C = tf.eye(4, batch_shape=[batch_size])  # noqa: N806
    if "brightness" in params:
        C = (_I4 + per_sample(params["brightness"]) * _OFFSET) @ C  # noqa: N806
    if "contrast" in params:
        C = (per_sample(params["contrast"]) * rgb + _HOMOGENEOUS) @ C  # noqa: N806
    if "lumaflip" in params:
        C = (_I4 - 2 * per_sample(params["lumaflip"]) * _LUMA_OUTER) @ C  # noqa: N806
    if "hue" in params:
        theta = per_sample(params["hue"])  # Rodrigues: cos (I - v v^T) + sin [v]_x + v v^T
        rotation = tf.cos(theta) * (rgb - _LUMA_OUTER) + tf.sin(theta) * _CROSS + _LUMA_OUTER + _HOMOGENEOUS
        C = rotation @ C  # noqa: N806
    if "saturation" in params:
        C = (per_sample(params["saturation"]) * (rgb - _LUMA_OUTER) + _LUMA_OUTER + _HOMOGENEOUS) @ C  # noqa: N806
    return C


def _fired(params, identities, batch_size):
    """``[N]`` bool: some parameter in ``identities`` is present and differs from its identity value."""
    differs = [tf.reduce_any(tf.reshape(tf.cast(params[k], tf.float32), [batch_size, -1]) != v, axis=1)
               for k, v in identities.items() if k in params]
    return tf.reduce_any(tf.stack(differs), axis=0)


def _where_fired(fired, new, old):
    return tf.where(fired[:, None, None, None], new, old)


def _skip_unless_any(fired, transform, images):
    """``transform(images)`` where ``fired`` (per sample), ``images`` elsewhere; not computed if none fired."""
    return tf.cond(tf.reduce_any(fired), lambda: _where_fired(fired, transform(images), images), lambda: images)


def _apply_color(images, params):
    n = tf.shape(images)[0]
    C = color_matrix(params, n)  # noqa: N806
    flat = tf.reshape(images, [n, images.shape[1], -1])
    if images.shape[1] == 3:
        out = C[:, :3, :3] @ flat + C[:, :3, 3:]
    else:
        gray = tf.reduce_mean(C[:, :3, :], axis=1)
        out = flat * tf.reduce_sum(gray[:, :3], axis=1)[:, None, None] + gray[:, 3, None, None]
    return tf.reshape(out, tf.shape(images))


def _apply_filter(images, gains):
    """Separable filtering of ``images [N, C, H, W]`` by ``sum_i gains[n, i] * band_i`` along x, then y."""
    _, c, h, w = images.shape
    bank = filter_bank()
    half = bank.shape[1] // 2
    kernel = tf.constant(bank.T[:, None, :], tf.float32)               # [taps, 1, 4]
    gains = tf.reshape(tf.repeat(gains, c, axis=0), [-1, 1, 1, 4])    # [N*C, 1, 1, 4]
    planes = tf.reshape(images, [-1, h, w])
    planes = reflect_extend(planes, 2, half, w + 2 * half)[..., None]
    planes = tf.reduce_sum(tf.nn.conv2d(planes, kernel[None], 1, "VALID") * gains, axis=3)
    planes = reflect_extend(planes, 1, half, h + 2 * half)[..., None]
    planes = tf.reduce_sum(tf.nn.conv2d(planes, kernel[:, None], 1, "VALID") * gains, axis=3)
    return tf.reshape(planes, [-1, c, h, w])


def _cutout_mask(size, center, h, w):
    """``[N, 1, H, W]``: 0 inside the rectangle of relative ``size [N]`` around relative ``center [N, 2]``."""
    x = (tf.range(w, dtype=tf.float32) + 0.5) / w
    y = (tf.range(h, dtype=tf.float32) + 0.5) / h
    outside_x = tf.abs(x[None, :] - center[:, 0, None]) >= size[:, None] / 2
    outside_y = tf.abs(y[None, :] - center[:, 1, None]) >= size[:, None] / 2
    return tf.cast(outside_x[:, None, None, :] | outside_y[:, None, :, None], tf.float32)


def apply(images, params):
    """Apply per-sample augmentation ``params`` (``draw_params``' dict; absent keys are identity) to float
    ``images [N, C, H, W]``; returns the same shape and dtype. Keys: ``xflip``, ``rotate90`` [N];
    ``GEOMETRIC_PARAMS``; ``COLOR_PARAMS``; ``imgfilter [N, 4]`` (band amplifications ``a``); ``noise [N]``
    (sigma) with ``noise_field [N, C, H, W]``; ``cutout [N]`` (relative size, 0 = none) with
    ``cutout_center [N, 2]``."""
    dtype = images.dtype
    x = tf.cast(images, tf.float32)
    n = tf.shape(x)[0]
    _, _, h, w = x.shape
    if "xflip" in params or "rotate90" in params:
        if "rotate90" in params and h != w:
            raise InputError(f"90-degree rotations need square images, got {h}x{w}")
        x = dihedral(x, params.get("xflip", tf.zeros([n])), params.get("rotate90", tf.zeros([n])))
    if any(k in params for k in GEOMETRIC_PARAMS):
        G_inv = geometric_matrix(params, n)  # noqa: N806
        x = _skip_unless_any(_fired(params, GEOMETRIC_PARAMS, n), lambda t: filtered_resample(t, G_inv), x)
    if any(k in params for k in COLOR_PARAMS):
        if x.shape[1] not in (1, 3):
            raise InputError(f"color augmentations need 1 or 3 channels, got {x.shape[1]}")
        x = _where_fired(_fired(params, COLOR_PARAMS, n), _apply_color(x, params), x)
    if "imgfilter" in params:
        amp = tf.cast(params["imgfilter"], tf.float32)
        gains = amp / tf.reduce_prod(tf.sqrt(1 - BAND_POWER + BAND_POWER * tf.square(amp)), axis=1, keepdims=True)
        x = _skip_unless_any(_fired(params, {"imgfilter": 1.0}, n), lambda t: _apply_filter(t, gains), x)
    if "noise" in params:
        x = x + params["noise_field"] * tf.reshape(params["noise"], [-1, 1, 1, 1])
    if "cutout" in params:
        x = x * _cutout_mask(params["cutout"], params["cutout_center"], h, w)
    return tf.cast(x, dtype)


class AugmentPipe(tf.Module):
    """The ADA augmentation pipeline: ``pipeline`` (a name of ``PIPELINES``, or None for all multipliers 0) with
    ``options`` overriding its multipliers (``MULTIPLIERS``, probability multipliers, 0 = off) and strengths
    (``STRENGTHS``, official defaults); ``p`` the initial augmentation probability.

    ``p`` is a float32 scalar ``tf.Variable`` (non-trainable, ``ONLY_FIRST_REPLICA`` aggregation: created in a
    strategy's scope it is mirrored, so every replica reads the value the loop assigns; tracked by
    ``tf.train.Checkpoint``). The image shape, channel count (grayscale skips hue and saturation) and dtype come
    from the images; every random draw comes from the ``tf.random.Generator`` passed to ``augment``.
    """

    def __init__(self, pipeline=None, p=0.0, name="augment_pipe", **options):
        super().__init__(name=name)
        if pipeline is not None and pipeline not in PIPELINES:
            raise InputError(f"unknown augmentation pipeline {pipeline!r}; choose one of {', '.join(PIPELINES)}")
        unknown = sorted(set(options) - set(MULTIPLIERS) - set(STRENGTHS))
        if unknown:
            raise InputError(f"unknown augmentation option(s) {', '.join(unknown)}")
        self.multipliers = {k: float(options.get(k, PIPELINES.get(pipeline, {}).get(k, 0.0))) for k in MULTIPLIERS}
        self.strengths = {k: options.get(k, v) for k, v in STRENGTHS.items()}
        if len(self.strengths["imgfilter_bands"]) != 4:
            raise InputError(f"imgfilter_bands needs 4 values, got {self.strengths['imgfilter_bands']}")
        self.p = tf.Variable(np.float32(p), trainable=False, name="p",
                             aggregation=tf.VariableAggregation.ONLY_FIRST_REPLICA)

    def draw_params(self, shape, rng):
        """Per-sample parameters for images of ``shape`` ``(N, C, H, W)`` (``N`` may be a tensor), drawn from
        ``rng`` as documented in the module, in the official order; only enabled transforms get a key."""
        n, c, h, w = shape
        m, s = self.multipliers, self.strengths
        p = tf.convert_to_tensor(self.p)
        params = {}

        def gate(probability, value, identity):
            fires = rng.uniform([n]) < probability
            return tf.where(tf.reshape(fires, [-1] + [1] * (value.shape.rank - 1)), value, identity)

        def log_normal(std, shape=(n,)):
            return tf.pow(2.0, rng.normal(shape) * std)

        def uniform_angle(max_turns):
            return rng.uniform([n], -np.pi * max_turns, np.pi * max_turns)

        size = tf.constant([w, h], tf.float32)
        rotate_probability = 1 - tf.sqrt(tf.clip_by_value(1 - m["rotate"] * p, 0.0, 1.0))
        draws = [  # (key, multiplier, probability, draw, identity)
            ("xflip", m["xflip"], None, lambda: tf.floor(rng.uniform([n]) * 2), 0.0),
            ("rotate90", m["rotate90"], None, lambda: tf.floor(rng.uniform([n]) * 4), 0.0),
            ("xint", m["xint"], None, lambda: tf.round(rng.uniform([n, 2], -s["xint_max"], s["xint_max"]) * size), 0.0),
            ("scale", m["scale"], None, lambda: log_normal(s["scale_std"]), 1.0),
            ("rotate_pre", m["rotate"], rotate_probability, lambda: uniform_angle(s["rotate_max"]), 0.0),
            ("aniso", m["aniso"], None, lambda: log_normal(s["aniso_std"]), 1.0),
            ("rotate_post", m["rotate"], rotate_probability, lambda: uniform_angle(s["rotate_max"]), 0.0),
            ("xfrac", m["xfrac"], None, lambda: rng.normal([n, 2]) * s["xfrac_std"] * size, 0.0),
            ("brightness", m["brightness"], None, lambda: rng.normal([n]) * s["brightness_std"], 0.0),
            ("contrast", m["contrast"], None, lambda: log_normal(s["contrast_std"]), 1.0),
            ("lumaflip", m["lumaflip"], None, lambda: tf.floor(rng.uniform([n]) * 2), 0.0),
            ("hue", m["hue"] if c > 1 else 0, None, lambda: uniform_angle(s["hue_max"]), 0.0),
            ("saturation", m["saturation"] if c > 1 else 0, None, lambda: log_normal(s["saturation_std"]), 1.0),
        ]
        for key, multiplier, probability, draw, identity in draws:
            if multiplier > 0:
                params[key] = gate(multiplier * p if probability is None else probability, draw(), identity)
        if m["imgfilter"] > 0:
            params["imgfilter"] = tf.stack([gate(m["imgfilter"] * p * band, log_normal(s["imgfilter_std"]), 1.0)
                                            for band in s["imgfilter_bands"]], axis=1)
        if m["noise"] > 0:
            params["noise"] = gate(m["noise"] * p, tf.abs(rng.normal([n]) * s["noise_std"]), 0.0)
            params["noise_field"] = rng.normal([n, c, h, w])
        if m["cutout"] > 0:
            params["cutout"] = gate(m["cutout"] * p, tf.fill([n], np.float32(s["cutout_size"])), 0.0)
            params["cutout_center"] = rng.uniform([n, 2])
        return params

    def augment(self, images, rng):
        """Augmented ``images [N, C, H, W]`` (same shape and dtype), parameters drawn from ``rng``."""
        n = images.shape[0] if images.shape[0] is not None else tf.shape(images)[0]
        return apply(images, self.draw_params((n,) + tuple(images.shape[1:]), rng))

    __call__ = augment
