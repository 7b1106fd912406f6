"""Keras layers of the official StyleGAN / ProGAN networks.

Every layer works in the ``data_format`` it is constructed with ('NCHW' or 'NHWC';
4-D activations are ``[N, C, H, W]`` or ``[N, H, W, C]``), under float32 or a
``mixed_float16`` dtype policy (variables stay float32; normalization statistics
are taken in float32, as in the official fp16 mode), and is twice differentiable.

Variables carry the official names (``weight``, ``bias``, ``Noise/weight``,
``StyleMod/weight`` ...): ``official_variables()`` lists ``(name, variable)`` pairs
in the official creation order, relative to the layer's own scope.
"""
import numpy as np
import keras
import tensorflow as tf

from stylegan_tf import ops

NONLINEARITIES = ("lrelu", "relu")


def activation(x, nonlinearity):
    """Official activations ('lrelu' with alpha 0.2, or 'relu'); both use gain sqrt(2)."""
    if nonlinearity == "lrelu":
        return ops.leaky_relu(x, 0.2)
    if nonlinearity == "relu":
        return tf.nn.relu(x)
    raise ValueError(f"nonlinearity must be one of {NONLINEARITIES}, got {nonlinearity!r}")


class OfficialLayer(keras.layers.Layer):
    """Base class: a ``data_format`` setting and ``official_variables()``."""

    def __init__(self, data_format="NCHW", **kwargs):
        super().__init__(**kwargs)
        self.data_format = ops.check_data_format(data_format)

    def official_variables(self):
        """``[(name, variable)]`` of this layer's variables, official names, creation order."""
        return [(v.name, v) for v in self.weights]

    def add_official_weight(self, name, shape, init_std=None, initializer=None, trainable=True):
        """A float32 variable named as in the official code, read without autocasting."""
        if initializer is None:
            initializer = keras.initializers.RandomNormal(0.0, init_std)
        return self.add_weight(name=name, shape=tuple(int(s) for s in shape), initializer=initializer,
                               trainable=trainable, dtype="float32", autocast=False)

    def get_config(self):
        return {**super().get_config(), "data_format": self.data_format}


def _cast_scaled(var, coef, dtype):
    """Official read of an equalized-LR variable: ``cast(var * coef, dtype)``."""
    v = tf.convert_to_tensor(var)
    if coef != 1:
        v = v * coef
    return tf.cast(v, dtype)


class Bias(OfficialLayer):
    """Per-channel bias ``[C]`` (initialized to 0), multiplied by ``lrmul`` at run time.

    Input: ``[N, C]`` or a 4-D activation; output: same shape.
    """

    def __init__(self, lrmul=1.0, **kwargs):
        super().__init__(**kwargs)
        self.lrmul = float(lrmul)

    def build(self, input_shape):
        axis = 1 if len(input_shape) == 2 else ops.channel_axis(self.data_format)
        self.bias = self.add_official_weight("bias", [input_shape[axis]], initializer="zeros")

    def call(self, x):
        b = _cast_scaled(self.bias, np.float32(self.lrmul), x.dtype)
        return x + (b if x.shape.rank == 2 else ops.per_channel(b, self.data_format))

    def get_config(self):
        return {**super().get_config(), "lrmul": self.lrmul}


class Dense(OfficialLayer):
    """Equalized-learning-rate dense layer (official ``dense`` + optional ``apply_bias``).

    Input ``[N, ...]`` (flattened in NCHW order when 4-D, whatever the layout);
    weight ``[in, fmaps]``; output ``[N, fmaps]``.
    """

    def __init__(self, fmaps, gain=np.sqrt(2), use_wscale=True, lrmul=1.0, use_bias=True, **kwargs):
        super().__init__(**kwargs)
        self.fmaps, self.gain, self.use_wscale, self.lrmul, self.use_bias = (
            int(fmaps), float(gain), bool(use_wscale), float(lrmul), bool(use_bias))

    def build(self, input_shape):
        shape = [int(np.prod(input_shape[1:])), self.fmaps]
        init_std, self.coef = ops.weight_scale(shape, self.gain, self.use_wscale, self.lrmul)
        self.weight = self.add_official_weight("weight", shape, init_std)
        if self.use_bias:
            self.bias = self.add_official_weight("bias", [self.fmaps], initializer="zeros")

    def call(self, x):
        if x.shape.rank == 4:
            x = ops.to_public(x, self.data_format)
        if x.shape.rank > 2:
            x = tf.reshape(x, [-1, int(np.prod(x.shape[1:]))])
        x = tf.matmul(x, _cast_scaled(self.weight, self.coef, x.dtype))
        if self.use_bias:
            x = x + _cast_scaled(self.bias, np.float32(self.lrmul), x.dtype)
        return x

    def get_config(self):
        return {**super().get_config(), "fmaps": self.fmaps, "gain": self.gain,
                "use_wscale": self.use_wscale, "lrmul": self.lrmul, "use_bias": self.use_bias}


class Conv2D(OfficialLayer):
    """Equalized-learning-rate ``kernel x kernel`` convolution, optionally resampling.

    ``resample``: None, 'up' (official ``upscale2d_conv2d``: 2x upscale then conv) or
    'down' (official ``conv2d_downscale2d``: conv then 2x box downscale). ``fused_scale``
    True/False/'auto' ('auto' fuses when the larger of input and output is >= 128 px).
    Weight ``[k, k, in, fmaps]``; optional bias added after resampling.
    Input ``[N, in, H, W]`` (NCHW) / ``[N, H, W, in]``; output at H*2, H or H/2.
    """

    def __init__(self, fmaps, kernel, gain=np.sqrt(2), use_wscale=True, lrmul=1.0, use_bias=True,
                 resample=None, fused_scale="auto", **kwargs):
        super().__init__(**kwargs)
        if resample not in (None, "up", "down"):
            raise ValueError(f"resample must be None, 'up' or 'down', got {resample!r}")
        if kernel < 1 or kernel % 2 != 1:
            raise ValueError(f"kernel must be a positive odd integer, got {kernel}")
        check_fused_scale(fused_scale)
        self.fmaps, self.kernel, self.gain, self.use_wscale, self.lrmul = (
            int(fmaps), int(kernel), float(gain), bool(use_wscale), float(lrmul))
        self.use_bias, self.resample, self.fused_scale = bool(use_bias), resample, fused_scale

    def build(self, input_shape):
        fmaps_in = input_shape[ops.channel_axis(self.data_format)]
        shape = [self.kernel, self.kernel, int(fmaps_in), self.fmaps]
        init_std, self.coef = ops.weight_scale(shape, self.gain, self.use_wscale, self.lrmul)
        self.weight = self.add_official_weight("weight", shape, init_std)
        if self.use_bias:
            self.bias = self.add_official_weight("bias", [self.fmaps], initializer="zeros")

    def is_fused(self, x, fused_scale=None):
        """Whether this call uses the fused resampling path."""
        fused = self.fused_scale if fused_scale is None else check_fused_scale(fused_scale)
        if self.resample is None:
            return False
        if fused == "auto":
            size = min(ops.spatial_size(x, self.data_format))
            return size * 2 >= 128 if self.resample == "up" else size >= 128
        return bool(fused)

    def call(self, x, fused_scale=None):
        w = _cast_scaled(self.weight, self.coef, x.dtype)
        fused = self.is_fused(x, fused_scale)
        if self.resample == "up":
            x = ops.upscale2d_conv2d(x, w, fused, self.data_format)
        elif self.resample == "down":
            x = ops.conv2d_downscale2d(x, w, fused, self.data_format)
        else:
            x = ops.conv2d(x, w, self.data_format)
        if self.use_bias:
            x = x + ops.per_channel(_cast_scaled(self.bias, np.float32(self.lrmul), x.dtype),
                                    self.data_format)
        return x

    def get_config(self):
        return {**super().get_config(), "fmaps": self.fmaps, "kernel": self.kernel, "gain": self.gain,
                "use_wscale": self.use_wscale, "lrmul": self.lrmul, "use_bias": self.use_bias,
                "resample": self.resample, "fused_scale": self.fused_scale}


def check_fused_scale(fused_scale):
    if fused_scale not in (True, False, "auto"):
        raise ValueError(f"fused_scale must be True, False or 'auto', got {fused_scale!r}")
    return fused_scale


class NoiseInput(OfficialLayer):
    """Adds a single-channel noise image scaled per channel: ``x + noise * weight[C]``.

    Call ``(x, noise)``: ``noise`` is ``[N or 1, 1, H, W]`` (NCHW) / ``[N or 1, H, W, 1]``.
    Variable ``Noise/weight [C]`` (initialized to 0).
    """

    def build(self, input_shape):
        self.weight = self.add_official_weight(
            "weight", [input_shape[ops.channel_axis(self.data_format)]], initializer="zeros")

    def official_variables(self):
        return [("Noise/weight", self.weight)]

    def call(self, x, noise):
        return x + tf.cast(noise, x.dtype) * ops.per_channel(tf.cast(self.weight, x.dtype), self.data_format)


class StyleMod(OfficialLayer):
    """Style modulation (AdaIN's affine part): ``x * (s0 + 1) + s1``.

    ``[s0, s1] = Dense(2C, gain=1)(dlatent) + bias``; call ``(x, dlatent [N, dlatent_size])``.
    Variables ``StyleMod/weight [dlatent_size, 2C]``, ``StyleMod/bias [2C]``.
    """

    def __init__(self, use_wscale=True, **kwargs):
        super().__init__(**kwargs)
        self.use_wscale = bool(use_wscale)

    def build(self, input_shape, dlatent_size):
        c = int(input_shape[ops.channel_axis(self.data_format)])
        self.dense = Dense(2 * c, gain=1.0, use_wscale=self.use_wscale, data_format=self.data_format,
                           dtype=self.dtype_policy, name="StyleMod")
        self.dense.build([None, dlatent_size])

    def official_variables(self):
        return [("StyleMod/" + n, v) for n, v in self.dense.official_variables()]

    def call(self, x, dlatent):
        c = ops.num_channels(x, self.data_format)
        style = self.dense(tf.cast(dlatent, x.dtype))
        scale = ops.per_channel(style[:, :c], self.data_format)
        shift = ops.per_channel(style[:, c:], self.data_format)
        return x * (scale + 1) + shift

    def get_config(self):
        return {**super().get_config(), "use_wscale": self.use_wscale}


class _Stateless(OfficialLayer):
    """A layer without variables."""

    def official_variables(self):
        return []


class LeakyReLU(_Stateless):
    """``max(x, alpha * x)`` with the official twice-differentiable custom gradient."""

    def __init__(self, alpha=0.2, **kwargs):
        super().__init__(**kwargs)
        self.alpha = float(alpha)

    def call(self, x):
        return ops.leaky_relu(x, self.alpha)

    def get_config(self):
        return {**super().get_config(), "alpha": self.alpha}


class PixelNorm(_Stateless):
    """Normalize each pixel's feature vector (or a ``[N, C]`` latent) to unit RMS, eps 1e-8."""

    def __init__(self, epsilon=1e-8, **kwargs):
        super().__init__(**kwargs)
        self.epsilon = float(epsilon)

    def call(self, x):
        axis = 1 if x.shape.rank == 2 else ops.channel_axis(self.data_format)
        return ops.pixel_norm(x, axis, self.epsilon)

    def get_config(self):
        return {**super().get_config(), "epsilon": self.epsilon}


class InstanceNorm(_Stateless):
    """Per-sample, per-channel normalization over H, W (float32 statistics, eps 1e-8)."""

    def __init__(self, epsilon=1e-8, **kwargs):
        super().__init__(**kwargs)
        self.epsilon = float(epsilon)

    def call(self, x):
        return ops.instance_norm(x, self.data_format, self.epsilon)

    def get_config(self):
        return {**super().get_config(), "epsilon": self.epsilon}


class Blur2D(_Stateless):
    """Depthwise low-pass filter (default [1,2,1] x [1,2,1] / 16), computed in float32."""

    def __init__(self, filter=(1, 2, 1), normalize=True, **kwargs):  # noqa: A002 (official name)
        super().__init__(**kwargs)
        self.filter, self.normalize = [float(v) for v in np.ravel(filter)], bool(normalize)
        self._shape = np.shape(filter)

    def call(self, x):
        return ops.blur2d(x, np.reshape(self.filter, self._shape), self.normalize, self.data_format)

    def get_config(self):
        return {**super().get_config(), "filter": np.reshape(self.filter, self._shape).tolist(),
                "normalize": self.normalize}


class Upscale2D(_Stateless):
    """Nearest-neighbour upscaling by ``factor``: ``[.., H, W] -> [.., H*f, W*f]``."""

    def __init__(self, factor=2, **kwargs):
        super().__init__(**kwargs)
        self.factor = int(factor)

    def call(self, x):
        return ops.upscale2d(x, self.factor, self.data_format)

    def get_config(self):
        return {**super().get_config(), "factor": self.factor}


class Downscale2D(_Stateless):
    """Box-filter downscaling by ``factor``: ``[.., H, W] -> [.., H/f, W/f]``."""

    def __init__(self, factor=2, **kwargs):
        super().__init__(**kwargs)
        self.factor = int(factor)

    def call(self, x):
        return ops.downscale2d(x, self.factor, self.data_format)

    def get_config(self):
        return {**super().get_config(), "factor": self.factor}


class MinibatchStddev(_Stateless):
    """Appends ``num_new_features`` minibatch-stddev maps (see ``ops.minibatch_stddev``).

    ``[N, C, H, W] -> [N, C + num_new_features, H, W]`` (NCHW; NHWC alike). N must be a
    multiple of ``min(group_size, N)``.
    """

    def __init__(self, group_size=4, num_new_features=1, **kwargs):
        super().__init__(**kwargs)
        self.group_size, self.num_new_features = int(group_size), int(num_new_features)

    def call(self, x):
        return ops.minibatch_stddev(x, self.group_size, self.num_new_features, self.data_format)

    def get_config(self):
        return {**super().get_config(), "group_size": self.group_size,
                "num_new_features": self.num_new_features}


class Truncation(_Stateless):
    """Truncation trick: ``dlatent_avg + (w - dlatent_avg) * psi`` on layers ``< cutoff``.

    Call ``(dlatents [N, num_layers, D], dlatent_avg [D], psi, cutoff)``; ``psi`` and
    ``cutoff`` may be Python numbers or scalar tensors. Returns ``[N, num_layers, D]``.
    """

    def call(self, dlatents, dlatent_avg, psi, cutoff):
        num_layers = int(dlatents.shape[1])
        layer_idx = tf.range(num_layers)[None, :, None]
        psi = tf.cast(psi, dlatents.dtype)
        coefs = tf.where(layer_idx < tf.cast(cutoff, tf.int32), psi, tf.ones([], dlatents.dtype))
        return ops.lerp(tf.cast(dlatent_avg, dlatents.dtype), dlatents, coefs)


class LayerEpilogue(OfficialLayer):
    """What follows every synthesis convolution: noise -> bias -> activation ->
    pixel norm -> instance norm -> style modulation (each optional as official).

    Call ``(x, dlatent [N, D] or None, noise or None)``; shape preserved.
    Variables (creation order): ``Noise/weight``, ``bias``, ``StyleMod/weight``, ``StyleMod/bias``.
    """

    def __init__(self, use_noise=True, use_pixel_norm=False, use_instance_norm=True, use_styles=True,
                 nonlinearity="lrelu", use_wscale=True, **kwargs):
        super().__init__(**kwargs)
        self.use_noise, self.use_pixel_norm, self.use_instance_norm, self.use_styles = (
            bool(use_noise), bool(use_pixel_norm), bool(use_instance_norm), bool(use_styles))
        self.nonlinearity, self.use_wscale = nonlinearity, bool(use_wscale)
        activation(tf.zeros([1]), nonlinearity)  # validates the name
        common = dict(data_format=self.data_format, dtype=self.dtype_policy)
        self.noise = NoiseInput(name="Noise", **common) if self.use_noise else None
        self.bias = Bias(name="bias", **common)
        self.style = StyleMod(use_wscale=self.use_wscale, name="StyleMod", **common) if self.use_styles else None

    def build(self, input_shape, dlatent_size=None):
        if self.noise is not None:
            self.noise.build(input_shape)
        self.bias.build(input_shape)
        if self.style is not None:
            self.style.build(input_shape, dlatent_size)

    def official_variables(self):
        parts = [self.noise, self.bias, self.style]
        return [item for p in parts if p is not None for item in p.official_variables()]

    def call(self, x, dlatent=None, noise=None):
        if self.noise is not None:
            x = self.noise(x, noise)
        x = activation(self.bias(x), self.nonlinearity)
        if self.use_pixel_norm:
            x = ops.pixel_norm(x, ops.channel_axis(self.data_format))
        if self.use_instance_norm:
            x = ops.instance_norm(x, self.data_format)
        if self.style is not None:
            x = self.style(x, dlatent)
        return x

    def get_config(self):
        return {**super().get_config(), "use_noise": self.use_noise, "use_pixel_norm": self.use_pixel_norm,
                "use_instance_norm": self.use_instance_norm, "use_styles": self.use_styles,
                "nonlinearity": self.nonlinearity, "use_wscale": self.use_wscale}


for _layer in (Bias, Dense, Conv2D, NoiseInput, StyleMod, LeakyReLU, PixelNorm, InstanceNorm, Blur2D, Upscale2D,
               Downscale2D, MinibatchStddev, Truncation, LayerEpilogue):
    keras.saving.register_keras_serializable(package="stylegan_tf")(_layer)
