"""The ops of a StyleGAN2 layer: modulated convolution with demodulation, noise, and bias + activation with gain.

Mirrors the official ``modulated_conv2d_layer`` of ``training/networks_stylegan2.py``, the noise of its synthesis
layers and ``dnnlib/tflib/ops/fused_bias_act.py``. A synthesis layer is
``fused_bias_act(add_noise(modulated_conv2d(x, weight, styles), noise, noise_strength), bias, 'lrelu', axis=C)``
with ``styles = fused_bias_act(dense(dlatent), mod_bias) + 1`` and ``noise`` a ``random_noise`` draw or the
stored ``noise%d`` variable; ToRGB is ``modulated_conv2d(..., demodulate=False)`` then a linear ``fused_bias_act``.

4-D activations are ``[N, C, H, W]`` ('NCHW') or ``[N, H, W, C]`` ('NHWC'); conv kernels are ``[k, k, in, out]``
in both. Everything is built from plain TensorFlow ops (leaky ReLU from ``ops.leaky_relu``), so first and second
order gradients (R1, path-length regularization) are exact.
"""
import numpy as np
import tensorflow as tf

from stylegan_tf import fir, ops

# name: (function of (x, alpha), default alpha, default gain) -- the official ``activation_funcs``.
ACTIVATIONS = {
    "linear": (lambda x, alpha: x, None, 1.0),
    "relu": (lambda x, alpha: tf.nn.relu(x), None, np.sqrt(2)),
    "lrelu": (lambda x, alpha: ops.leaky_relu(x, alpha), 0.2, np.sqrt(2)),
    "tanh": (lambda x, alpha: tf.nn.tanh(x), None, 1.0),
    "sigmoid": (lambda x, alpha: tf.nn.sigmoid(x), None, 1.0),
    "elu": (lambda x, alpha: tf.nn.elu(x), None, 1.0),
    "selu": (lambda x, alpha: tf.nn.selu(x), None, 1.0),
    "softplus": (lambda x, alpha: tf.nn.softplus(x), None, 1.0),
    "swish": (lambda x, alpha: tf.nn.sigmoid(x) * x, None, np.sqrt(2)),
}


def fused_bias_act(x, b=None, act="linear", alpha=None, gain=None, axis=1):
    """Official ``fused_bias_act``: ``act(x + b, alpha) * gain``.

    ``x``: any shape; ``b``: ``[x.shape[axis]]`` or None (cast to ``x.dtype``); ``act``: a name in ``ACTIVATIONS``;
    ``alpha`` / ``gain`` None = the activation's official default (``lrelu``: alpha 0.2, gain sqrt(2); ``relu``,
    ``swish``: gain sqrt(2); the others, ``linear`` included: gain 1). The gain multiplies the activation's
    *output*. ``axis``: the channel axis of ``x`` (1 for NCHW and ``[N, C]``, 3 or -1 for NHWC). Same shape out.
    """
    if act not in ACTIVATIONS:
        raise ValueError(f"act must be one of {sorted(ACTIVATIONS)}, got {act!r}")
    func, default_alpha, default_gain = ACTIVATIONS[act]
    alpha = default_alpha if alpha is None else alpha
    gain = default_gain if gain is None else gain
    if act == "lrelu" and not 0 <= alpha <= 1:
        raise ValueError(f"lrelu needs 0 <= alpha <= 1, got {alpha}")
    if b is not None:
        rank = x.shape.rank
        axis = axis % rank
        x = x + tf.reshape(tf.cast(b, x.dtype), [-1 if i == axis else 1 for i in range(rank)])
    x = func(x, alpha)
    if gain != 1:
        x = x * tf.constant(gain, x.dtype)
    return x


# ----------------------------------------------------------------------------
# Modulated convolution.

def demodulation_coefficients(weight, styles):
    """``d[n, o] = rsqrt(sum_{kh, kw, i} (weight[kh, kw, i, o] * styles[n, i])^2 + 1e-8)``: ``[N, O]``.

    ``weight``: runtime-scaled ``[k, k, I, O]``; ``styles``: ``[N, I]``. Computed as
    ``styles^2 @ sum_{kh, kw} weight^2``, which is the official sum over the modulated weight regrouped (equal up
    to float rounding) without materializing ``[N, k, k, I, O]``.
    """
    styles = tf.cast(styles, weight.dtype)
    return tf.math.rsqrt(tf.matmul(tf.square(styles), tf.reduce_sum(tf.square(weight), axis=[0, 1])) + 1e-8)


def modulated_weights(weight, styles, demodulate=True):
    """Per-sample weights ``weight[kh, kw, i, o] * styles[n, i] (* d[n, o])``: ``[N, k, k, I, O]``.

    With ``demodulate`` each ``[:, :, :, o]`` slice of a sample has unit L2 norm (up to the 1e-8)."""
    styles = tf.cast(styles, weight.dtype)
    ww = weight[None] * styles[:, None, None, :, None]
    if demodulate:
        ww *= demodulation_coefficients(weight, styles)[:, None, None, None, :]
    return ww


def _resampling_conv(x, w, up, down, resample_kernel, data_format):
    """Stride-1 SAME conv, ``upsample_conv_2d`` or ``conv_downsample_2d`` (factor 2) with ``w [k, k, in, out]``;
    grouped when x has ``groups * in`` channels."""
    if up:
        return fir.upsample_conv_2d(x, w, k=resample_kernel, data_format=data_format)
    if down:
        return fir.conv_downsample_2d(x, w, k=resample_kernel, data_format=data_format)
    return tf.nn.conv2d(x, w, strides=1, padding="SAME", data_format=data_format)


def _batch_to_groups(x, data_format):
    """``[N, C, H, W] -> [1, N*C, H, W]`` (a reshape) or ``[N, H, W, C] -> [1, H, W, N*C]`` (a transpose)."""
    h, w = ops.spatial_size(x, data_format)
    if data_format == "NCHW":
        return tf.reshape(x, [1, -1, h, w])
    return tf.reshape(tf.transpose(x, [1, 2, 0, 3]), [1, h, w, -1])


def _groups_to_batch(x, channels, data_format):
    """Inverse of ``_batch_to_groups`` for ``channels`` per sample."""
    h, w = ops.spatial_size(x, data_format)
    if data_format == "NCHW":
        return tf.reshape(x, [-1, channels, h, w])
    return tf.transpose(tf.reshape(x, [h, w, -1, channels]), [2, 0, 1, 3])


def fused_modconv_default():
    """What ``fused='auto'`` resolves to: the fused (grouped) form where a GPU is visible (the official default;
    not measured here) and the unfused form on CPUs. Measured on a 2-core x86 CPU (TF 2.21, oneDNN), layers of
    4-16 samples, 64-256 channels, 8-32 px, plain/up/down: without XLA the unfused form was 1.0-2.4x faster forward
    and 1.0-11x faster for first and second order gradients (two first-order cases within 6% the other way); under
    XLA its gradients were 2-30x faster (XLA's grouped-convolution gradients are slow on CPUs)."""
    return bool(tf.config.list_logical_devices("GPU"))


def modulated_conv2d(x, weight, styles, demodulate=True, up=False, down=False, fused="auto",
                     resample_kernel=(1, 3, 3, 1), data_format="NCHW"):
    """Official modulated convolution: per sample, scale the kernel's input channels by the styles, optionally
    demodulate, and convolve (optionally with 2x FIR up- or downsampling).

    ``x``: ``[N, I, H, W]`` / ``[N, H, W, I]``; ``weight``: the runtime-scaled kernel ``[k, k, I, O]`` (raw variable
    times ``1/sqrt(k*k*I)``); ``styles``: ``[N, I]``, the official ``s = dense(dlatent) + mod_bias + 1``.
    ``up`` / ``down``: ``fir.upsample_conv_2d`` / ``fir.conv_downsample_2d`` with ``resample_kernel`` (None =
    ``[1, 1]``), else a stride-1 SAME conv. Output ``[N, O, H', W']`` / ``[N, H', W', O]``, ``H' = 2H``, ``H/2``
    or ``H``. The kernel math is done in ``weight.dtype``, the convolution in ``x.dtype``.

    ``fused``: True = the per-sample kernels ``modulated_weights`` as one grouped convolution with the batch folded
    into the groups (on CPUs without XLA this needs TensorFlow's oneDNN kernels, the x86 default: the plain CPU
    kernels have no gradient for grouped convolutions); False = ``conv(x * styles, weight) * d`` (activations
    scaled instead of weights; any device); 'auto' = ``fused_modconv_default()``. Both give the same numbers up to
    float rounding.
    """
    if up and down:
        raise ValueError("modulated_conv2d: up and down are exclusive")
    if fused == "auto":
        fused = fused_modconv_default()
    if fused not in (True, False):
        raise ValueError(f"fused must be True, False or 'auto', got {fused!r}")
    weight = tf.convert_to_tensor(weight)
    if fused:
        ww = modulated_weights(weight, styles, demodulate)  # [N, k, k, I, O]
        k, in_c, out_c = int(weight.shape[0]), int(weight.shape[2]), int(weight.shape[3])
        w = tf.reshape(tf.transpose(ww, [1, 2, 3, 0, 4]), [k, k, in_c, -1])  # [k, k, I, N*O]
        x = _batch_to_groups(x, data_format)
        x = _resampling_conv(x, tf.cast(w, x.dtype), up, down, resample_kernel, data_format)
        return _groups_to_batch(x, out_c, data_format)
    x = x * ops.per_channel(tf.cast(styles, x.dtype), data_format)
    x = _resampling_conv(x, tf.cast(weight, x.dtype), up, down, resample_kernel, data_format)
    if demodulate:
        d = demodulation_coefficients(weight, styles)
        x = x * ops.per_channel(tf.cast(d, x.dtype), data_format)
    return x


# ----------------------------------------------------------------------------
# Noise.

def random_noise(x, data_format, rng=None):
    """A fresh standard-normal noise image per sample for ``x``: ``[N, 1, H, W]`` (NCHW) / ``[N, H, W, 1]`` (NHWC),
    in ``x.dtype`` -- the official ``tf.random_normal([N, 1, H, W])``, whose values in NHWC are the same array.
    ``rng``: a ``tf.random.Generator``, or None for ``tf.random.normal``."""
    h, w = ops.spatial_size(x, data_format)
    shape = [tf.shape(x)[0], 1, h, w] if data_format == "NCHW" else [tf.shape(x)[0], h, w, 1]
    if rng is not None:
        return rng.normal(shape, dtype=x.dtype)
    return tf.random.normal(shape, dtype=x.dtype)


def add_noise(x, noise, noise_strength):
    """Official StyleGAN2 noise: ``x + noise * noise_strength`` with one scalar strength for all channels.

    ``noise``: ``[N or 1, 1, H, W]`` (NCHW) / ``[N or 1, H, W, 1]`` (NHWC) -- a ``random_noise`` draw, or the stored
    ``noise%d`` variable ``[1, 1, H, W]`` brought to the layout with ``ops.to_internal``; broadcast over channels
    (and the batch). Added after the convolution, before bias and activation."""
    return x + tf.cast(noise, x.dtype) * tf.cast(noise_strength, x.dtype)
