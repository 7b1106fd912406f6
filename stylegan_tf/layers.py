"""Keras layers of the official networks, one per official variable scope.

A layer is named after the official scope it stands for (``Conv0_up``, ``Dense3``, ``ToRGB_lod2``,
``Const``, ``Noise``, ``StyleMod`` ...) and holds that scope's variables under their official names
(``weight``, ``bias``, ``const``) and its child scopes, in the official creation order
(``official_variables()``, see ``stylegan_tf.scopes``).

- ``Dense``, ``Conv2D``, ``ConstInput`` and ``ModulatedConv2D`` own a ``weight`` (``const``) followed by
  the official layer epilogue (``EpilogueLayer``), whose steps each family picks as options: StyleGAN's
  per-channel noise, instance norm and style modulation, StyleGAN2's scalar noise strength and gain after
  the activation, ProGAN's pixel norm, every family's bias and activation. ``Conv2D`` resamples the v1
  way (nearest / box with a blur) or StyleGAN2's (FIR ``fir_kernel``); ``ModulatedConv2D`` is StyleGAN2's
  modulated (and demodulated) convolution, styled by ``dlatents[:, layer_index]``.
- ``NoiseInput`` (``Noise/weight``) and ``LabelConcat`` (``LabelConcat/weight``).
- Without variables: ``MinibatchStddev``, ``Downscale2D`` and ``Truncation``.

Layers compute with ``stylegan_tf.ops`` in the ``data_format`` they are built with ('NCHW':
activations ``[N, C, H, W]``, 'NHWC': ``[N, H, W, C]``), under a float32, float64 or mixed dtype
policy (variables stay float32 and are cast when read, as official; normalization statistics are
float32), and are twice differentiable.
"""
import numpy as np
import keras
import tensorflow as tf

from stylegan_tf import fir, modulation, ops
from stylegan_tf.errors import InputError
from stylegan_tf.scopes import OfficialScope

NONLINEARITIES = ("linear", "lrelu", "relu")


def check_nonlinearity(nonlinearity, allowed=NONLINEARITIES):
    if nonlinearity not in allowed:
        raise InputError(f"nonlinearity must be one of {allowed}, got {nonlinearity!r}")
    return nonlinearity


def activation(x, nonlinearity):
    """'linear' (identity), 'lrelu' (leaky ReLU, alpha 0.2) or 'relu'; the official sqrt(2) gain of
    the two is in the weights of the layer before."""
    if nonlinearity == "lrelu":
        return ops.leaky_relu(x, 0.2)
    if nonlinearity == "relu":
        return tf.nn.relu(x)
    return x


def check_kernel(kernel):
    if kernel < 1 or kernel % 2 != 1:
        raise InputError(f"kernel must be a positive odd integer, got {kernel}")
    return int(kernel)


def check_resample(resample):
    if resample not in (None, "up", "down"):
        raise InputError(f"resample must be None, 'up' or 'down', got {resample!r}")
    return resample


def check_fir_kernel(fir_kernel):
    """None, or a non-empty 1-D list of finite numbers with a non-zero sum (a StyleGAN2 resampling filter)."""
    if fir_kernel is None:
        return None
    k = np.asarray(fir_kernel, np.float64)
    if k.ndim != 1 or k.size == 0 or not np.all(np.isfinite(k)) or k.sum() == 0:
        raise InputError(f"fir_kernel must be a 1-D filter with a non-zero sum, like [1, 3, 3, 1]; got {fir_kernel!r}")
    return k.tolist()


def check_fused_modconv(fused_modconv):
    if fused_modconv not in (True, False, "auto"):
        raise InputError(f"fused_modconv must be True, False or 'auto', got {fused_modconv!r}")
    return fused_modconv


def check_fused_scale(fused_scale):
    if fused_scale not in (True, False, "auto"):
        raise InputError(f"fused_scale must be True, False or 'auto', got {fused_scale!r}")
    return fused_scale


def _cast_scaled(var, coef, dtype):
    """Official read of an equalized-LR variable: ``cast(var * coef, dtype)``."""
    v = tf.convert_to_tensor(var)
    if coef != 1:
        v = v * coef
    return tf.cast(v, dtype)


class OfficialLayer(OfficialScope, keras.layers.Layer):
    """Base of the layers: a ``data_format`` and one official scope (the layer's name)."""

    def __init__(self, data_format="NCHW", **kwargs):
        super().__init__(**kwargs)
        self.data_format = ops.check_data_format(data_format)
        self._official = []

    def add_equalized_weight(self, name, shape, gain, use_wscale, lrmul):
        """Official ``get_weight``: ``(variable, coef)``, the variable drawn from N(0, init_std) and
        its float32 run-time coefficient (see ``ops.weight_scale``)."""
        init_std, coef = ops.weight_scale(shape, gain, use_wscale, lrmul)
        return self.add_official_weight(name, shape, keras.initializers.RandomNormal(0.0, init_std)), coef

    def get_config(self):
        return {**super().get_config(), "data_format": self.data_format}


class EpilogueLayer(OfficialLayer):
    """Base of the layers with a weight: a linear part (the subclass's ``build_linear`` and
    ``linear``) giving ``fmaps`` channels, then the official layer epilogue, each step an option:

    noise (``Noise/weight [fmaps]`` times a single-channel noise image; with ``scalar_noise``, StyleGAN2's
    one ``noise_strength []`` for all channels) -> bias (``bias [fmaps]`` times ``lrmul``) -> activation
    (``nonlinearity``) times ``activation_gain`` (StyleGAN2's sqrt(2) after lrelu; 1 in StyleGAN and
    ProGAN, whose gain is in the weights) -> pixel norm (``pixel_norm_epsilon``) -> instance norm -> style
    modulation (``StyleMod``: a gain-1 dense of ``dlatents[:, layer_index]`` giving ``[s0, s1]``, then
    ``x * (s0 + 1) + s1``; on when ``dlatent_size`` is set).

    Official variables in creation order: the linear part's, ``Noise/weight`` (or ``noise_strength``),
    ``bias``, ``StyleMod/weight``, ``StyleMod/bias``. ``layer_index`` selects the layer's dlatent and noise
    image. Call ``(x, dlatents=None, noise=None, fused_scale=None, fused_modconv=None)``: ``dlatents
    [N, L, D]`` for the style; ``noise`` a function ``(layer_index, x) -> [N or 1, 1, H, W]`` (NCHW) /
    ``[N or 1, H, W, 1]`` (NHWC) noise image, called after the linear part; ``fused_scale`` overrides the
    resampling choice of ``Conv2D``, ``fused_modconv`` the implementation of ``ModulatedConv2D``.
    """

    def __init__(self, fmaps, *, use_wscale=True, lrmul=1.0, use_bias=True, nonlinearity="linear",
                 activation_gain=1.0, use_noise=False, scalar_noise=False, use_pixel_norm=False,
                 pixel_norm_epsilon=1e-8, use_instance_norm=False, dlatent_size=None, layer_index=None, **kwargs):
        super().__init__(**kwargs)
        self.fmaps, self.use_wscale, self.lrmul = int(fmaps), bool(use_wscale), float(lrmul)
        self.use_bias = bool(use_bias)
        self.nonlinearity = check_nonlinearity(nonlinearity)
        self.activation_gain = float(activation_gain)
        self.use_noise, self.scalar_noise = bool(use_noise), bool(scalar_noise)
        self.use_pixel_norm, self.use_instance_norm = bool(use_pixel_norm), bool(use_instance_norm)
        self.pixel_norm_epsilon = float(pixel_norm_epsilon)
        self.dlatent_size = None if dlatent_size is None else int(dlatent_size)
        self.layer_index = None if layer_index is None else int(layer_index)
        if (self.use_noise or self.dlatent_size) and self.layer_index is None:
            raise InputError(f"layer '{self.name}': noise and style inputs need a layer_index")
        common = dict(data_format=self.data_format, dtype=self.dtype_policy)
        self.noise_input = NoiseInput(name="Noise", **common) if self.use_noise and not self.scalar_noise else None
        self.style_mod = (Dense(2 * self.fmaps, gain=1.0, use_wscale=self.use_wscale, name="StyleMod", **common)
                          if self.dlatent_size else None)

    def build_linear(self, input_shape):
        """Create the linear part's variables."""
        raise NotImplementedError

    def linear(self, x, dlatents=None, fused_scale=None, fused_modconv=None):
        """The linear part: ``x`` -> ``fmaps`` channels (internal layout)."""
        raise NotImplementedError

    def build(self, input_shape):
        self.build_linear(input_shape)
        if self.noise_input is not None:
            self.build_child(self.noise_input, self.compute_output_shape(input_shape))
        if self.use_noise and self.scalar_noise:
            self.noise_strength = self.add_official_weight("noise_strength", [], "zeros")
        if self.use_bias:
            self.bias = self.add_official_weight("bias", [self.fmaps], "zeros")
        if self.style_mod is not None:
            self.build_child(self.style_mod, [None, self.dlatent_size])

    def call(self, x, dlatents=None, noise=None, fused_scale=None, fused_modconv=None):
        x = self.linear(x, dlatents=dlatents, fused_scale=fused_scale, fused_modconv=fused_modconv)
        if self.noise_input is not None:
            x = self.noise_input(x, noise(self.layer_index, x))
        elif self.use_noise:
            x = modulation.add_noise(x, noise(self.layer_index, x), self.noise_strength)
        if self.use_bias:
            b = _cast_scaled(self.bias, np.float32(self.lrmul), x.dtype)
            x = x + (b if x.shape.rank == 2 else ops.per_channel(b, self.data_format))
        x = activation(x, self.nonlinearity)
        if self.activation_gain != 1:
            x = x * tf.constant(self.activation_gain, x.dtype)
        if self.use_pixel_norm:
            axis = 1 if x.shape.rank == 2 else ops.channel_axis(self.data_format)
            x = ops.pixel_norm(x, axis, self.pixel_norm_epsilon)
        if self.use_instance_norm:
            x = ops.instance_norm(x, self.data_format)
        if self.style_mod is not None:
            style = self.style_mod(tf.cast(dlatents[:, self.layer_index], x.dtype))
            scale = ops.per_channel(style[:, :self.fmaps], self.data_format)
            x = x * (scale + 1) + ops.per_channel(style[:, self.fmaps:], self.data_format)
        return x

    def get_config(self):
        return {**super().get_config(), "fmaps": self.fmaps, "use_wscale": self.use_wscale, "lrmul": self.lrmul,
                "use_bias": self.use_bias, "nonlinearity": self.nonlinearity, "activation_gain": self.activation_gain,
                "use_noise": self.use_noise, "scalar_noise": self.scalar_noise, "use_pixel_norm": self.use_pixel_norm,
                "pixel_norm_epsilon": self.pixel_norm_epsilon, "use_instance_norm": self.use_instance_norm,
                "dlatent_size": self.dlatent_size, "layer_index": self.layer_index}


class Dense(EpilogueLayer):
    """Equalized-learning-rate dense layer (official ``dense``) with the layer epilogue.

    Input ``[N, ...]`` (flattened in NCHW order when 4-D, whatever the layout). Weight
    ``[in, fmaps]``; output ``[N, fmaps]``. With ``map_resolution`` r the weight is
    ``[in, fmaps * r * r]`` and the output the feature map ``[N, fmaps, r, r]`` (reshaped NCHW,
    returned in the internal layout; bias per channel): the 4x4 ``Dense`` input of ProGAN's and
    StyleGAN's generators.
    """

    def __init__(self, fmaps, gain=np.sqrt(2), map_resolution=None, **kwargs):
        super().__init__(fmaps, **kwargs)
        self.gain = float(gain)
        self.map_resolution = None if map_resolution is None else int(map_resolution)

    def build_linear(self, input_shape):
        units = self.fmaps * (self.map_resolution or 1) ** 2
        self.weight, self.weight_coef = self.add_equalized_weight(
            "weight", [int(np.prod(input_shape[1:])), units], self.gain, self.use_wscale, self.lrmul)

    def compute_output_shape(self, input_shape):
        if self.map_resolution is None:
            return (input_shape[0], self.fmaps)
        r = self.map_resolution
        return (input_shape[0], self.fmaps, r, r) if self.data_format == "NCHW" else (input_shape[0], r, r, self.fmaps)

    def linear(self, x, dlatents=None, fused_scale=None, fused_modconv=None):
        if x.shape.rank == 4:
            x = ops.to_public(x, self.data_format)
        if x.shape.rank > 2:
            x = tf.reshape(x, [-1, int(np.prod(x.shape[1:]))])
        x = tf.matmul(x, _cast_scaled(self.weight, self.weight_coef, x.dtype))
        if self.map_resolution is not None:
            r = self.map_resolution
            x = ops.to_internal(tf.reshape(x, [-1, self.fmaps, r, r]), self.data_format)
        return x

    def get_config(self):
        return {**super().get_config(), "gain": self.gain, "map_resolution": self.map_resolution}


class Conv2D(EpilogueLayer):
    """Equalized-learning-rate ``kernel x kernel`` convolution, optionally resampling, with the
    layer epilogue.

    ``resample``: None, 'up' (official ``upscale2d_conv2d``: 2x upscale and conv, then the low-pass
    ``blur_filter``) or 'down' (the low-pass ``blur_filter``, then official ``conv2d_downscale2d``:
    conv and 2x box downscale). ``fused_scale`` True/False/'auto' ('auto' fuses when the larger of
    input and output is >= 128 px). With ``fir_kernel`` (StyleGAN2: a 1-D filter such as ``[1, 3, 3, 1]``,
    ``[1, 1]`` for the official ``resample_kernel=None``) the resampling is StyleGAN2's instead:
    ``fir.upsample_conv_2d`` / ``fir.conv_downsample_2d``, and ``blur_filter`` / ``fused_scale`` do not
    apply. Weight ``[k, k, in, fmaps]``. Input ``[N, in, H, W]`` (NCHW) / ``[N, H, W, in]``; output at 2H,
    H or H/2.
    """

    def __init__(self, fmaps, kernel, gain=np.sqrt(2), resample=None, fused_scale="auto", blur_filter=None,
                 fir_kernel=None, **kwargs):
        super().__init__(fmaps, **kwargs)
        self.kernel, self.gain, self.resample = check_kernel(kernel), float(gain), check_resample(resample)
        self.fused_scale = check_fused_scale(fused_scale)
        self.blur_filter = None if blur_filter is None else np.asarray(blur_filter, np.float32).tolist()
        self.fir_kernel = check_fir_kernel(fir_kernel)
        if self.fir_kernel is not None and self.blur_filter is not None:
            raise InputError(f"layer '{self.name}': blur_filter (StyleGAN) and fir_kernel (StyleGAN2) exclude "
                             f"each other")

    def build_linear(self, input_shape):
        shape = [self.kernel, self.kernel, int(input_shape[ops.channel_axis(self.data_format)]), self.fmaps]
        self.weight, self.weight_coef = self.add_equalized_weight("weight", shape, self.gain, self.use_wscale,
                                                                  self.lrmul)

    def compute_output_shape(self, input_shape):
        h, w = (input_shape[a] for a in ops.spatial_axes(self.data_format))
        factor = {None: 1, "up": 2, "down": 0.5}[self.resample]
        h, w = int(h * factor), int(w * factor)
        return (input_shape[0], self.fmaps, h, w) if self.data_format == "NCHW" else (input_shape[0], h, w, self.fmaps)

    def is_fused(self, x, fused_scale=None):
        """Whether a call on ``x`` uses the fused resampling path."""
        fused = self.fused_scale if fused_scale is None else check_fused_scale(fused_scale)
        if self.resample is None:
            return False
        if fused == "auto":
            size = min(ops.spatial_size(x, self.data_format))
            return size * 2 >= 128 if self.resample == "up" else size >= 128
        return bool(fused)

    def _blur(self, x):
        return x if self.blur_filter is None else ops.blur2d(x, self.blur_filter, True, self.data_format)

    def linear(self, x, dlatents=None, fused_scale=None, fused_modconv=None):
        w = _cast_scaled(self.weight, self.weight_coef, x.dtype)
        if self.resample is not None and self.fir_kernel is not None:
            resample = fir.upsample_conv_2d if self.resample == "up" else fir.conv_downsample_2d
            return resample(x, w, k=self.fir_kernel, data_format=self.data_format)
        if self.resample == "up":
            return self._blur(ops.upscale2d_conv2d(x, w, self.is_fused(x, fused_scale), self.data_format))
        if self.resample == "down":
            fused = self.is_fused(x, fused_scale)
            return ops.conv2d_downscale2d(self._blur(x), w, fused, self.data_format)
        return ops.conv2d(x, w, self.data_format)

    def get_config(self):
        return {**super().get_config(), "kernel": self.kernel, "gain": self.gain, "resample": self.resample,
                "fused_scale": self.fused_scale, "blur_filter": self.blur_filter, "fir_kernel": self.fir_kernel}


class ConstInput(EpilogueLayer):
    """The learned 4x4 input (official ``Const`` scope): ``const [1, fmaps, 4, 4]`` (initialized to
    1, or with ``initializer='normal'`` to N(0, 1) as in StyleGAN2), repeated over the batch of the input
    ``x [N, ...]`` (whose values are unused), then the layer epilogue. Output ``[N, fmaps, 4, 4]`` in the
    internal layout."""

    INITIALIZERS = ("ones", "normal")

    def __init__(self, fmaps, initializer="ones", **kwargs):
        super().__init__(fmaps, **kwargs)
        if initializer not in self.INITIALIZERS:
            raise InputError(f"initializer must be one of {self.INITIALIZERS}, got {initializer!r}")
        self.initializer = initializer

    def build_linear(self, input_shape):
        init = "ones" if self.initializer == "ones" else keras.initializers.RandomNormal(0.0, 1.0)
        self.const = self.add_official_weight("const", [1, self.fmaps, 4, 4], init)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.fmaps, 4, 4) if self.data_format == "NCHW" else (input_shape[0], 4, 4, self.fmaps)

    def get_config(self):
        return {**super().get_config(), "initializer": self.initializer}

    def linear(self, x, dlatents=None, fused_scale=None, fused_modconv=None):
        const = ops.to_internal(tf.cast(self.const, self.compute_dtype), self.data_format)
        return tf.tile(const, [tf.shape(x)[0], 1, 1, 1])


class ModulatedConv2D(EpilogueLayer):
    """StyleGAN2's modulated convolution (official ``modulated_conv2d_layer``) with the layer epilogue.

    Variables in creation order: ``weight [k, k, in, fmaps]`` (run-time scale ``gain / sqrt(k*k*in)``),
    ``mod_weight [dlatent_size, in]`` and ``mod_bias [in]`` (the style dense, gain 1), then the epilogue's.
    A call styles sample n with ``s = dlatents[n, layer_index] @ mod_weight / sqrt(dlatent_size) + mod_bias
    + 1``, scales the kernel's input channels by ``s`` and, with ``demodulate``, each output channel to unit
    norm (``modulation.modulated_conv2d``); ``resample`` None, 'up' or 'down' resamples by 2 with the FIR
    ``fir_kernel`` (``[1, 1]`` = the official ``resample_kernel=None``). ``fused_modconv``: True (one grouped
    convolution, the official default), False (activations scaled instead of weights) or 'auto' (fused with a
    GPU); the same numbers up to float rounding; a call may override it. ``dlatent_size`` sizes ``mod_weight``
    (unlike ``EpilogueLayer``'s, it adds no ``StyleMod``). Input ``[N, in, H, W]`` (NCHW) / ``[N, H, W, in]``;
    ``dlatents [N, L, dlatent_size]``.
    """

    def __init__(self, fmaps, kernel, dlatent_size, *, gain=1.0, demodulate=True, resample=None,
                 fir_kernel=(1, 3, 3, 1), fused_modconv=True, layer_index=None, **kwargs):
        super().__init__(fmaps, layer_index=layer_index, **kwargs)
        if self.layer_index is None:
            raise InputError(f"layer '{self.name}': a modulated convolution needs a layer_index (its dlatent)")
        self.dlatent_size = int(dlatent_size)
        self.kernel, self.gain, self.resample = check_kernel(kernel), float(gain), check_resample(resample)
        self.demodulate = bool(demodulate)
        self.fir_kernel = check_fir_kernel(fir_kernel)
        self.fused_modconv = check_fused_modconv(fused_modconv)

    def build_linear(self, input_shape):
        in_c = int(input_shape[ops.channel_axis(self.data_format)])
        self.weight, self.weight_coef = self.add_equalized_weight(
            "weight", [self.kernel, self.kernel, in_c, self.fmaps], self.gain, self.use_wscale, self.lrmul)
        self.mod_weight, self.mod_coef = self.add_equalized_weight("mod_weight", [self.dlatent_size, in_c], 1.0,
                                                                   self.use_wscale, 1.0)
        self.mod_bias = self.add_official_weight("mod_bias", [in_c], "zeros")

    compute_output_shape = Conv2D.compute_output_shape

    def styles(self, dlatents, dtype):
        """``s [N, in]`` of ``dlatents [N, L, D]``: the style dense of the layer's dlatent, plus ``mod_bias + 1``."""
        w = tf.cast(dlatents[:, self.layer_index], dtype)
        s = tf.matmul(w, _cast_scaled(self.mod_weight, self.mod_coef, dtype))
        return s + tf.cast(self.mod_bias, dtype) + 1

    def linear(self, x, dlatents=None, fused_scale=None, fused_modconv=None):
        fused = self.fused_modconv if fused_modconv is None else check_fused_modconv(fused_modconv)
        weight = _cast_scaled(self.weight, self.weight_coef, tf.float32)
        return modulation.modulated_conv2d(x, weight, self.styles(dlatents, x.dtype), self.demodulate,
                                           up=self.resample == "up", down=self.resample == "down", fused=fused,
                                           resample_kernel=self.fir_kernel, data_format=self.data_format)

    def get_config(self):
        return {**super().get_config(), "kernel": self.kernel, "gain": self.gain, "demodulate": self.demodulate,
                "resample": self.resample, "fir_kernel": self.fir_kernel, "fused_modconv": self.fused_modconv}


class NoiseInput(OfficialLayer):
    """Adds a single-channel noise image scaled per channel: ``x + noise * weight[C]``.

    Call ``(x, noise)``: ``noise`` is ``[N or 1, 1, H, W]`` (NCHW) / ``[N or 1, H, W, 1]``.
    Variable ``weight [C]`` (official ``Noise/weight``, initialized to 0).
    """

    def build(self, input_shape):
        self.weight = self.add_official_weight("weight", [input_shape[ops.channel_axis(self.data_format)]], "zeros")

    def call(self, x, noise):
        return x + tf.cast(noise, x.dtype) * ops.per_channel(tf.cast(self.weight, x.dtype), self.data_format)


class LabelConcat(OfficialLayer):
    """Label embedding of the mapping network: ``concat([latents, labels @ weight], axis=1)``.

    Call ``(latents [N, latent_size], labels [N, label_size])``; variable ``weight
    [label_size, latent_size]`` (official ``LabelConcat/weight``, N(0, 1), no equalized LR).
    """

    def build(self, latents_shape, labels_shape):
        self.weight = self.add_official_weight("weight", [labels_shape[1], latents_shape[1]],
                                               keras.initializers.RandomNormal(0.0, 1.0))

    def call(self, latents, labels):
        return tf.concat([latents, tf.matmul(labels, tf.cast(self.weight, latents.dtype))], axis=1)


class MinibatchStddev(OfficialLayer):
    """Appends ``num_new_features`` minibatch-stddev maps (see ``ops.minibatch_stddev``).

    ``[N, C, H, W] -> [N, C + num_new_features, H, W]`` (NCHW; NHWC alike). N must be a
    multiple of ``min(group_size, N)``.
    """

    def __init__(self, group_size=4, num_new_features=1, **kwargs):
        super().__init__(**kwargs)
        self.group_size, self.num_new_features = int(group_size), int(num_new_features)

    def compute_output_shape(self, input_shape):
        shape = list(input_shape)
        shape[ops.channel_axis(self.data_format)] += self.num_new_features
        return tuple(shape)

    def call(self, x):
        return ops.minibatch_stddev(x, self.group_size, self.num_new_features, self.data_format)

    def get_config(self):
        return {**super().get_config(), "group_size": self.group_size, "num_new_features": self.num_new_features}


class Downscale2D(OfficialLayer):
    """Box-filter downscaling by ``factor``: ``[.., H, W] -> [.., H/f, W/f]`` (ProGAN's pooling
    after an unfused discriminator block)."""

    def __init__(self, factor=2, **kwargs):
        super().__init__(**kwargs)
        self.factor = int(factor)

    def compute_output_shape(self, input_shape):
        shape = list(input_shape)
        for axis in ops.spatial_axes(self.data_format):
            shape[axis] //= self.factor
        return tuple(shape)

    def call(self, x):
        return ops.downscale2d(x, self.factor, self.data_format)

    def get_config(self):
        return {**super().get_config(), "factor": self.factor}


class Truncation(OfficialLayer):
    """Truncation trick: ``dlatent_avg + (w - dlatent_avg) * psi`` on layers ``< cutoff``.

    Call ``(dlatents [N, num_layers, D], dlatent_avg [D], psi, cutoff)``; ``psi`` and
    ``cutoff`` may be Python numbers or scalar tensors. Returns ``[N, num_layers, D]``.
    ``cutoff=None`` means what it means to the network: no layer (StyleGAN's ``G_style``, the
    default) or, with ``cutoff_none_is_all``, every layer (StyleGAN2's ``G_main``); see ``layers_below``.
    """

    def __init__(self, cutoff_none_is_all=False, **kwargs):
        super().__init__(**kwargs)
        self.cutoff_none_is_all = bool(cutoff_none_is_all)

    def layers_below(self, cutoff, num_layers):
        """``cutoff`` as a layer count: None -> ``num_layers`` (``cutoff_none_is_all``) or 0; else itself."""
        if cutoff is None:
            return int(num_layers) if self.cutoff_none_is_all else 0
        return cutoff

    def call(self, dlatents, dlatent_avg, psi, cutoff):
        num_layers = int(dlatents.shape[1])
        cutoff = self.layers_below(cutoff, num_layers)
        layer_idx = tf.range(num_layers)[None, :, None]
        psi = tf.cast(psi, dlatents.dtype)
        coefs = tf.where(layer_idx < tf.cast(cutoff, tf.int32), psi, tf.ones([], dlatents.dtype))
        return ops.lerp(tf.cast(dlatent_avg, dlatents.dtype), dlatents, coefs)

    def get_config(self):
        return {**super().get_config(), "cutoff_none_is_all": self.cutoff_none_is_all}


LAYERS = (Dense, Conv2D, ConstInput, ModulatedConv2D, NoiseInput, LabelConcat, MinibatchStddev, Downscale2D, Truncation)
for _layer in LAYERS:
    keras.saving.register_keras_serializable(package="stylegan_tf")(_layer)
