"""Layout-aware tensor primitives of the official StyleGAN / ProGAN networks.

Every function takes ``data_format`` ('NCHW' or 'NHWC') for 4-D image tensors:
NCHW is ``[N, C, H, W]`` (the public layout, fast on GPUs and under XLA), NHWC is
``[N, H, W, C]`` (what TensorFlow's CPU kernels need outside XLA). Weights are
stored identically in both layouts: conv kernels ``[k, k, in, out]``, dense
``[in, out]``.

Resampling, blur and leaky ReLU carry hand-written first *and* second order
gradients, as the official code does, so the double backward pass of R1 / WGAN-GP
regularization stays as cheap as the forward pass.
"""
import numpy as np
import tensorflow as tf

DATA_FORMATS = ("NCHW", "NHWC")


def check_data_format(data_format):
    """Return ``data_format`` if it is 'NCHW' or 'NHWC', else raise ValueError."""
    if data_format not in DATA_FORMATS:
        raise ValueError(f"data_format must be 'NCHW' or 'NHWC', got {data_format!r}")
    return data_format


def channel_axis(data_format):
    return 1 if data_format == "NCHW" else 3


def spatial_axes(data_format):
    return (2, 3) if data_format == "NCHW" else (1, 2)


def spatial_size(x, data_format):
    """Static (H, W) of a 4-D tensor."""
    h, w = (x.shape[a] for a in spatial_axes(data_format))
    return int(h), int(w)


def num_channels(x, data_format):
    return int(x.shape[channel_axis(data_format)])


def to_internal(x, data_format):
    """Public NCHW tensor -> the network's internal layout."""
    return x if data_format == "NCHW" else tf.transpose(x, [0, 2, 3, 1])


def to_public(x, data_format):
    """Internal-layout tensor -> public NCHW."""
    return x if data_format == "NCHW" else tf.transpose(x, [0, 3, 1, 2])


def per_channel(v, data_format):
    """Reshape a ``[C]`` or ``[N, C]`` tensor to broadcast over a 4-D tensor."""
    if v.shape.rank == 1:
        return tf.reshape(v, [1, -1, 1, 1] if data_format == "NCHW" else [1, 1, 1, -1])
    return v[:, :, None, None] if data_format == "NCHW" else v[:, None, None, :]


# ----------------------------------------------------------------------------
# Equalized learning rate.

def weight_scale(shape, gain=np.sqrt(2), use_wscale=True, lrmul=1.0):
    """Official ``get_weight`` constants for a weight of ``shape``.

    Returns ``(init_std, runtime_coef)``: the variable is initialized from
    N(0, init_std) and multiplied by ``runtime_coef`` (a float32) at run time.
    fan_in is the product of all but the last dimension.
    """
    fan_in = float(np.prod(shape[:-1]))
    he_std = gain / np.sqrt(fan_in)
    if use_wscale:
        return 1.0 / lrmul, np.float32(he_std * lrmul)
    return he_std / lrmul, np.float32(lrmul)


# ----------------------------------------------------------------------------
# Elementwise ops.

def lerp(a, b, t):
    """``a + (b - a) * t``."""
    return a + (b - a) * t


def lerp_clip(a, b, t):
    """``lerp`` with ``t`` clipped to [0, 1]."""
    return a + (b - a) * tf.clip_by_value(t, 0.0, 1.0)


def leaky_relu(x, alpha=0.2):
    """``max(x, alpha * x)`` with a cheap, twice-differentiable custom gradient."""
    alpha = tf.constant(alpha, dtype=x.dtype)

    @tf.custom_gradient
    def func(x):
        y = tf.maximum(x, x * alpha)

        @tf.custom_gradient
        def grad(dy):
            positive = y >= 0
            dx = tf.where(positive, dy, dy * alpha)
            return dx, lambda ddx: tf.where(positive, ddx, ddx * alpha)

        return y, grad

    return func(x)


def pixel_norm(x, axis=1, epsilon=1e-8):
    """``x / sqrt(mean(x^2 over axis) + eps)``: PixelNorm (axis = channels, or latents)."""
    return x * tf.math.rsqrt(tf.reduce_mean(tf.square(x), axis=axis, keepdims=True) + epsilon)


def instance_norm(x, data_format, epsilon=1e-8):
    """Normalize each feature map to zero mean, unit variance; statistics in float32."""
    orig_dtype = x.dtype
    x = tf.cast(x, tf.float32)
    axes = list(spatial_axes(data_format))
    x -= tf.reduce_mean(x, axis=axes, keepdims=True)
    x *= tf.math.rsqrt(tf.reduce_mean(tf.square(x), axis=axes, keepdims=True) + epsilon)
    return tf.cast(x, orig_dtype)


# ----------------------------------------------------------------------------
# Resampling and blur.

def _upscale2d(x, factor, data_format, gain=1.0):
    """Nearest-neighbour upscaling by an integer ``factor`` (times ``gain``)."""
    if gain != 1:
        x = x * tf.constant(gain, x.dtype)
    if factor == 1:
        return x
    if data_format == "NCHW":
        _, c, h, w = x.shape
        x = tf.reshape(x, [-1, c, h, 1, w, 1])
        x = tf.tile(x, [1, 1, 1, factor, 1, factor])
        return tf.reshape(x, [-1, c, h * factor, w * factor])
    _, h, w, c = x.shape
    x = tf.reshape(x, [-1, h, 1, w, 1, c])
    x = tf.tile(x, [1, 1, factor, 1, factor, 1])
    return tf.reshape(x, [-1, h * factor, w * factor, c])


def _downscale2d(x, factor, data_format, gain=1.0):
    """``factor x factor`` box-filter downscaling (times ``gain``)."""
    if gain != 1:
        x = x * tf.constant(gain, x.dtype)
    if factor == 1:
        return x
    return tf.nn.avg_pool2d(x, factor, factor, "VALID", data_format=data_format)


def linear_with_adjoint(forward, adjoint):
    """Wrap a linear op ``forward`` whose gradient is ``adjoint`` (and whose gradient's
    gradient is ``forward`` again) so that every order of differentiation costs one
    forward-sized op, as the official custom gradients do."""

    @tf.custom_gradient
    def func(x):
        @tf.custom_gradient
        def grad(dy):
            return adjoint(dy), forward

        return forward(x), grad

    return func


def upscale2d(x, factor=2, data_format="NCHW"):
    """Nearest-neighbour upscaling; the gradient is a sum-pool (and vice versa)."""
    if factor == 1:
        return x
    return linear_with_adjoint(lambda t: _upscale2d(t, factor, data_format),
                               lambda t: _downscale2d(t, factor, data_format, gain=factor ** 2))(x)


def downscale2d(x, factor=2, data_format="NCHW"):
    """Box-filter downscaling; the gradient is a scaled nearest upscale (and vice versa)."""
    if factor == 1:
        return x
    return linear_with_adjoint(lambda t: _downscale2d(t, factor, data_format),
                               lambda t: _upscale2d(t, factor, data_format, gain=1.0 / factor ** 2))(x)


def blur_kernel(f, normalize=True, flip=False):
    """2-D float32 blur kernel from a 1-D (separable) or 2-D filter."""
    f = np.asarray(f, dtype=np.float32)
    if f.ndim == 1:
        f = f[:, None] * f[None, :]
    if normalize:
        f = f / np.sum(f)
    if flip:
        f = f[::-1, ::-1]
    return f


def _blur2d(x, kernel, data_format):
    """Depthwise 'SAME' filtering of every channel with a 2-D ``kernel``, in float32."""
    orig_dtype = x.dtype
    x = tf.cast(x, tf.float32)
    c = num_channels(x, data_format)
    f = np.tile(kernel[:, :, None, None], [1, 1, c, 1])
    strides = [1, 1, 1, 1]
    x = tf.nn.depthwise_conv2d(x, tf.constant(f), strides, "SAME", data_format=data_format)
    return tf.cast(x, orig_dtype)


def blur2d(x, f=(1, 2, 1), normalize=True, data_format="NCHW"):
    """Low-pass filter each channel; the gradient is the flipped filter (and vice versa)."""
    kernel = blur_kernel(f, normalize)
    if kernel.shape == (1, 1) and kernel[0, 0] == 1:
        return x
    flipped = np.ascontiguousarray(kernel[::-1, ::-1])
    return linear_with_adjoint(lambda t: _blur2d(t, kernel, data_format),
                               lambda t: _blur2d(t, flipped, data_format))(x)


# ----------------------------------------------------------------------------
# Convolutions. ``w`` is the effective (runtime-scaled) kernel [k, k, in, out].

def conv2d(x, w, data_format):
    """Stride-1 'SAME' convolution."""
    return tf.nn.conv2d(x, w, strides=1, padding="SAME", data_format=data_format)


def fused_up_kernel(w):
    """[k, k, in, out] -> the [k+1, k+1, out, in] kernel of the fused 2x up-conv."""
    w = tf.transpose(w, [0, 1, 3, 2])
    w = tf.pad(w, [[1, 1], [1, 1], [0, 0], [0, 0]])
    return w[1:, 1:] + w[:-1, 1:] + w[1:, :-1] + w[:-1, :-1]


def fused_down_kernel(w):
    """[k, k, in, out] -> the [k+1, k+1, in, out] kernel of the fused conv + 2x down."""
    w = tf.pad(w, [[1, 1], [1, 1], [0, 0], [0, 0]])
    return (w[1:, 1:] + w[:-1, 1:] + w[1:, :-1] + w[:-1, :-1]) * 0.25


def upscale2d_conv2d(x, w, fused, data_format):
    """2x upscale then convolve. The fused form (official ``conv2d_transpose``) equals
    nearest upscaling followed by the spatially *flipped* kernel, so it is a different
    function of the same weights; both are reproduced exactly."""
    if not fused:
        return conv2d(upscale2d(x, 2, data_format), w, data_format)
    h, wd = spatial_size(x, data_format)
    fmaps = int(w.shape[-1])
    batch = tf.shape(x)[0]
    if data_format == "NCHW":
        out_shape = [batch, fmaps, h * 2, wd * 2]
        strides = [1, 1, 2, 2]
    else:
        out_shape = [batch, h * 2, wd * 2, fmaps]
        strides = [1, 2, 2, 1]
    return tf.nn.conv2d_transpose(x, fused_up_kernel(w), tf.stack(out_shape), strides,
                                  padding="SAME", data_format=data_format)


def conv2d_downscale2d(x, w, fused, data_format):
    """Convolve then 2x box-downscale (fused: one stride-2 conv with the summed kernel)."""
    if not fused:
        return downscale2d(conv2d(x, w, data_format), 2, data_format)
    strides = [1, 1, 2, 2] if data_format == "NCHW" else [1, 2, 2, 1]
    return tf.nn.conv2d(x, fused_down_kernel(w), strides, padding="SAME", data_format=data_format)


# ----------------------------------------------------------------------------
# Discriminator statistics.

def minibatch_stddev(x, group_size=4, num_new_features=1, data_format="NCHW"):
    """Append ``num_new_features`` maps holding the minibatch standard deviation.

    The batch is split into ``G = min(group_size, N)`` groups *strided* over the batch
    (sample i belongs to group i mod N/G); per group the population std over its members
    (``sqrt(var + 1e-8)``, in float32) is averaged over channels (split into
    ``num_new_features`` slices) and pixels. Output has C + num_new_features channels.
    """
    n = x.shape[0]
    if n is not None and n % min(group_size, n) != 0:
        raise ValueError(f"minibatch size {n} must be divisible by the minibatch-stddev "
                         f"group size {min(group_size, n)} (mbstd_group_size={group_size})")
    group = tf.minimum(group_size, tf.shape(x)[0])
    nchw = data_format == "NCHW"
    if nchw:
        _, c, h, w = x.shape
        y = tf.reshape(x, [group, -1, num_new_features, c // num_new_features, h, w])
    else:
        _, h, w, c = x.shape
        y = tf.reshape(x, [group, -1, h, w, num_new_features, c // num_new_features])
    y = tf.cast(y, tf.float32)
    y -= tf.reduce_mean(y, axis=0, keepdims=True)
    y = tf.sqrt(tf.reduce_mean(tf.square(y), axis=0) + 1e-8)
    if nchw:  # [M, F, C/F, H, W] -> [M, F, 1, 1]
        y = tf.reduce_mean(y, axis=[2, 3, 4])[:, :, None, None]
        y = tf.tile(tf.cast(y, x.dtype), [group, 1, h, w])
    else:  # [M, H, W, F, C/F] -> [M, 1, 1, F]
        y = tf.reduce_mean(y, axis=[1, 2, 4])[:, None, None, :]
        y = tf.tile(tf.cast(y, x.dtype), [group, h, w, 1])
    return tf.concat([x, y], axis=channel_axis(data_format))
