"""Exact pixel blits and the filtered affine resampling of StyleGAN2-ADA's geometric augmentations.

Both functions take and return float32 images ``[N, C, H, W]`` (the public NCHW layout), whatever layout the
networks run in: they use only gathers, transposes and NHWC convolutions, which every device runs (CPU kernels,
GPUs, XLA). Both are linear in the images and differentiable with
respect to them to any order, and every shape is static, so they compile under XLA.

Coordinates are *centered pixel coordinates*: pixel ``(x, y)`` of a ``W x H`` image is at
``(x - (W-1)/2, y - (H-1)/2)``; a per-sample matrix ``G_inv`` maps an output pixel to the input point it shows.

**Reflection.** Outside the image, pixels are the reflect extension of the image (``x[-j] = x[j]``,
``x[W-1+j] = x[W-1-j]``), continued as often as needed: it is periodic with period ``2W-2``.
"""
import numpy as np
import tensorflow as tf

# Daubechies' symlet-6 low-pass filter (the official geometric resampling filter), normalized to unit DC gain.
SYM6 = np.array([
    0.015404109327027373, 0.0034907120842174702, -0.11799011114819057, -0.048311742585633,
    0.4910559419267466, 0.787641141030194, 0.3379294217276218, -0.07263752278646252,
    -0.021060292512300564, 0.04472490177066578, 0.0017677118642428036, -0.007800708325034148])
SYM6 = SYM6 / SYM6.sum()


def reflect_indices(positions, size):
    """Indices into ``[0, size)`` of the reflect extension at integer ``positions`` (numpy, any range)."""
    positions = np.asarray(positions)
    if size == 1:
        return np.zeros_like(positions)
    period = 2 * size - 2
    wrapped = np.mod(positions, period)
    return np.where(wrapped < size, wrapped, period - wrapped)


def reflect_extend(x, axis, before, length):
    """``x`` extended by reflection along ``axis`` to positions ``[-before, length - before)`` (a gather)."""
    return tf.gather(x, reflect_indices(np.arange(-before, length - before), x.shape[axis]), axis=axis)


def dihedral(images, xflip, rotate90):
    """Exact x-flip and 90-degree rotations: ``out(p) = in(F R^k p)`` with ``R^k`` the rotation by ``k * 90``
    degrees (``[[cos, -sin], [sin, cos]]``), then ``F = diag(1 - 2 * xflip, 1)``, per sample (``xflip [N]`` in
    {0, 1}, ``rotate90 [N]`` in {0, 1, 2, 3}). ``k = 1`` is ``np.rot90(image, 1)`` of an ``[H, W]`` array;
    rotations need square images. A gather of the input pixels: no interpolation."""
    _, c, h, w = images.shape
    k = tf.cast(rotate90, tf.int32)
    cos = tf.gather([1, 0, -1, 0], k)[:, None, None]
    sin = tf.gather([0, 1, 0, -1], k)[:, None, None]
    sign = (1 - 2 * tf.cast(xflip, tf.int32))[:, None, None]
    x2 = tf.constant(2 * np.arange(w) - (w - 1), tf.int32)[None, None, :]  # doubled centered coordinates
    y2 = tf.constant(2 * np.arange(h) - (h - 1), tf.int32)[None, :, None]
    src_x = (sign * (cos * x2 - sin * y2) + (w - 1)) // 2
    src_y = (sin * x2 + cos * y2 + (h - 1)) // 2
    index = tf.reshape(src_y * w + src_x, [-1, h * w])
    out = tf.gather(tf.reshape(images, [-1, c, h * w]), index, axis=2, batch_dims=1)
    return tf.reshape(out, [-1, c, h, w])


# ----------------------------------------------------------------------------
# Filtered resampling: 2x upsampling with SYM6, bilinear sampling, 2x downsampling with the flipped SYM6.

def _upsample_taps():
    """Polyphase taps ``[2, 7]`` of the 2x upsampling with SYM6 (gain 2, official ``upsample2d`` alignment):
    ``U[k] = 2 sum_j x[j] SYM6[k + 5 - 2j]``, so ``U[2i + phase] = sum_m taps[phase, m] x[i - 3 + m]``."""
    taps = np.zeros([2, 7])
    for phase in range(2):
        for m in range(7):
            tap = 11 - 2 * m + phase
            taps[phase, m] = 2 * SYM6[tap] if 0 <= tap < 12 else 0.0
    return taps


def _channelwise_conv(x, taps, axis, stride=1):
    """VALID correlation of every channel of ``x [N, H, W, C]`` along ``axis`` (1 or 2) with each row of
    ``taps [K, T]``: ``[..., K * C]``, output channel ``k * C + c``. A plain convolution with a block-diagonal
    kernel: faster than a depthwise one here, on CPUs with and without XLA."""
    channels = x.shape[3]
    kernel = np.einsum("kt,cd->tckd", np.asarray(taps, np.float64), np.eye(channels))  # [T, C, K, C]
    kernel = kernel.reshape(kernel.shape[0], 1, channels, -1)
    if axis == 2:
        kernel = kernel.transpose(1, 0, 2, 3)
    strides = [1, stride, 1, 1] if axis == 1 else [1, 1, stride, 1]
    return tf.nn.conv2d(x, tf.constant(kernel, tf.float32), strides, "VALID")


def _polyphase_upsample(x, axis):
    """2x upsampling along ``axis`` (1 or 2) of ``x [N, H, W, C]``, VALID: ``size - 6`` input positions give
    twice as many outputs (``[..., 2, C]`` phases, interleaved)."""
    _, h, w, c = x.shape
    y = _channelwise_conv(x, _upsample_taps(), axis)                    # [N, H', W', 2 * C]
    if axis == 2:
        return tf.reshape(y, [-1, h, 2 * (w - 6), c])
    y = tf.transpose(tf.reshape(y, [-1, h - 6, w, 2, c]), [0, 1, 3, 2, 4])
    return tf.reshape(y, [-1, 2 * (h - 6), w, c])


def _upsampled_period(x):
    """One period ``[N, 4H-4, 4W-4, C]`` of the 2x upsampled reflect extension of ``x [N, H, W, C]``:
    ``U[k]`` at index ``k``, ``U`` repeating with that period along both axes."""
    _, h, w, _ = x.shape
    x = reflect_extend(reflect_extend(x, 1, 3, 2 * h + 4), 2, 3, 2 * w + 4)  # extended on the small image
    return _polyphase_upsample(_polyphase_upsample(x, 1), 2)


def _sample_positions(G_inv, h, w):  # noqa: N803
    """Positions ``(ky, kx) [N, 2H+10, 2W+10]`` in the upsampled image ``U`` of the output samples that the
    2x downsampling needs (official grid of ``2 (size + 6)`` upsampled pixels, less the one at each end that its
    crop drops): output-grid index ``o`` is the centered point ``(o - size - 5) / 2`` of the input image, sent
    through ``G_inv``, then ``k = 2 g + size - 1``."""
    qx = tf.constant((np.arange(1, 2 * w + 11) - w - 5) / 2.0, tf.float32)[None, None, :]
    qy = tf.constant((np.arange(1, 2 * h + 11) - h - 5) / 2.0, tf.float32)[None, :, None]
    gx = G_inv[:, 0, 0, None, None] * qx + G_inv[:, 0, 1, None, None] * qy + G_inv[:, 0, 2, None, None]
    gy = G_inv[:, 1, 0, None, None] * qx + G_inv[:, 1, 1, None, None] * qy + G_inv[:, 1, 2, None, None]
    return 2.0 * gy + (h - 1), 2.0 * gx + (w - 1)


def _bilinear(upsampled, ky, kx):
    """Bilinear samples ``[N, Ho, Wo, C]`` of the periodic ``upsampled [N, Ly, Lx, C]`` at ``ky, kx [N, Ho, Wo]``:
    the four taps of every sample, all channels at once, in one gather."""
    _, ly, lx, c = upsampled.shape
    y0, x0 = tf.floor(ky), tf.floor(kx)
    wy, wx = ky - y0, kx - x0
    y0 = tf.math.floormod(tf.cast(y0, tf.int32), ly)
    x0 = tf.math.floormod(tf.cast(x0, tf.int32), lx)
    y1, x1 = tf.where(y0 == ly - 1, 0, y0 + 1), tf.where(x0 == lx - 1, 0, x0 + 1)
    index = tf.stack([y0 * lx + x0, y0 * lx + x1, y1 * lx + x0, y1 * lx + x1], axis=1)   # [N, 4, Ho, Wo]
    taps = tf.gather(tf.reshape(upsampled, [-1, ly * lx, c]), index, axis=1, batch_dims=1)  # [N, 4, Ho, Wo, C]
    weights = tf.stack([(1 - wy) * (1 - wx), (1 - wy) * wx, wy * (1 - wx), wy * wx], axis=1)[..., None]
    return tf.reduce_sum(taps * weights, axis=1)


def filtered_resample(images, G_inv):  # noqa: N803
    """``out(p) = in(G_inv p)`` for float32 ``images [N, C, H, W]`` and ``G_inv [N, 3, 3]`` (centered pixel
    coordinates), by the official filtered resampling: upsample 2x with SYM6, sample bilinearly, filter with the
    flipped SYM6 and keep every second pixel. The official code reflect-pads by as much as the batch needs (at
    most ``size - 1``) and reads zeros beyond; here the reflect extension is unbounded, computed once over its
    period, so shapes are static. The two agree wherever the official padding suffices.

    Internally channels-last: the upsampled period is ``[N, 4H-4, 4W-4, C]``, so a bilinear tap is one row of C
    values."""
    _, _, h, w = images.shape
    upsampled = _upsampled_period(tf.transpose(images, [0, 2, 3, 1]))
    samples = _bilinear(upsampled, *_sample_positions(G_inv, h, w))     # [N, 2H+10, 2W+10, C]
    out = _channelwise_conv(_channelwise_conv(samples, [SYM6], axis=2, stride=2), [SYM6], axis=1, stride=2)
    return tf.transpose(out, [0, 3, 1, 2])
