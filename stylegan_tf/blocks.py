"""Blocks: the official per-resolution scopes (``4x4``, ``8x8``, ...) and the vocabulary of
blocks and RGB layers that every network family is built from.

A ``Block`` is a Keras layer named ``{res}x{res}`` holding the official layers of that scope in
creation order, which is also the order they run in. The builders below return blocks and
layers with the official names; StyleGAN (``networks_stylegan``) and ProGAN
(``networks_progan``) differ only in the options they pass:

- ``to_rgb`` / ``from_rgb``: ``ToRGB_lod{k}`` (1x1 conv, gain 1, linear) and ``FromRGB_lod{k}``
  (1x1 conv, activation);
- ``dense_input``: the 4x4 ``Dense`` layer of a generator without a constant input;
- ``generator_input_block``: the 4x4 input layer and ``Conv``;
- ``generator_block``: ``Conv0_up`` (2x up-conv) and ``Conv1``, each with the layer epilogue;
- ``discriminator_block``: ``Conv0`` and ``Conv1_down`` (or ProGAN's ``Conv1`` then pooling);
- ``discriminator_output_block``: the 4x4 minibatch stddev, ``Conv``, ``Dense0``, ``Dense1``.

StyleGAN2 (``networks_stylegan2``, ``networks_stylegan2_d``) uses the same base classes with its own
options: every weight has gain 1 and the activation's gain (sqrt(2) for lrelu) multiplies its output
(``sg2_activation``); synthesis layers are ``ModulatedConv2D`` with a scalar ``noise_strength``
(``sg2_synthesis_layer``, ``sg2_to_rgb``); resampling is FIR (``fir_kernel``). Its 'skip' and 'resnet'
architectures are two ``Block`` subclasses: ``SynthesisBlock`` (main layers, then a ``Skip`` 1x1 conv of
the block's input and/or a ``ToRGB`` added to the upsampled RGB image so far) and
``DiscriminatorStage`` (a ``FromRGB`` added to the features, the main layers, a ``Skip``, the images
downsampled for the next stage). ``Output`` is a top-level ``Dense``.
"""
import keras
import numpy as np

from stylegan_tf import fir, modulation
from stylegan_tf.errors import InputError
from stylegan_tf.layers import (Conv2D, Dense, Downscale2D, EpilogueLayer, MinibatchStddev, ModulatedConv2D,
                                OfficialLayer, check_fir_kernel, check_nonlinearity)


class Block(OfficialLayer):
    """The official scope ``{resolution}x{resolution}``: ``layers`` run in order.

    Call ``(x, dlatents=None, noise=None, fused_scale=None, fused_modconv=None)``: the keyword
    arguments go to every layer with a weight (``EpilogueLayer``); layers without variables take ``x``
    alone.
    """

    def __init__(self, resolution, layers, **kwargs):
        kwargs.setdefault("name", f"{resolution}x{resolution}")
        super().__init__(**kwargs)
        self.resolution = int(resolution)
        self.sublayers = list(layers)

    def build(self, input_shape):
        for layer in self.sublayers:
            self.build_child(layer, input_shape)
            input_shape = layer.compute_output_shape(input_shape)

    def compute_output_shape(self, input_shape):
        for layer in self.sublayers:
            input_shape = layer.compute_output_shape(input_shape)
        return input_shape

    def call(self, x, dlatents=None, noise=None, fused_scale=None, fused_modconv=None):
        return run_layers(self.sublayers, x, dlatents=dlatents, noise=noise, fused_scale=fused_scale,
                          fused_modconv=fused_modconv)

    def get_config(self):
        return {**super().get_config(), "resolution": self.resolution,
                "layers": [keras.saving.serialize_keras_object(layer) for layer in self.sublayers]}

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["layers"] = [keras.saving.deserialize_keras_object(layer) for layer in config["layers"]]
        return cls(**config)


def run_layers(layer_list, x, **epilogue_inputs):
    """Run ``layer_list`` in order on ``x``: ``EpilogueLayer``s get ``epilogue_inputs`` (dlatents, noise,
    fused_scale, fused_modconv), the others ``x`` alone."""
    for layer in layer_list:
        x = layer(x, **epilogue_inputs) if isinstance(layer, EpilogueLayer) else layer(x)
    return x


keras.saving.register_keras_serializable(package="stylegan_tf")(Block)


def to_rgb(lod, num_channels, **options):
    """``ToRGB_lod{lod}``: 1x1 conv to ``num_channels``, gain 1, bias, linear."""
    return Conv2D(num_channels, 1, gain=1, name=f"ToRGB_lod{lod}", **options)


def from_rgb(lod, fmaps, nonlinearity, **options):
    """``FromRGB_lod{lod}``: 1x1 conv to ``fmaps``, bias, ``nonlinearity``."""
    return Conv2D(fmaps, 1, nonlinearity=nonlinearity, name=f"FromRGB_lod{lod}", **options)


def dense_input(fmaps, **epilogue):
    """``Dense``: a dense layer to the 4x4 map ``[N, fmaps, 4, 4]`` with gain sqrt(2)/4 (the
    original ProGAN's), then the layer epilogue."""
    return Dense(fmaps, gain=np.sqrt(2) / 4, map_resolution=4, name="Dense", **epilogue)


def generator_input_block(first, fmaps, *, layer_indices=None, **epilogue):
    """``4x4``: the layer ``first`` (``Const`` or ``dense_input``) and ``Conv`` (3x3 to ``fmaps``
    with the layer epilogue; ``layer_index`` the next of ``layer_indices``, if given)."""
    index = None if layer_indices is None else next(layer_indices)
    return Block(4, [first, Conv2D(fmaps, 3, name="Conv", layer_index=index, **epilogue)])


def generator_block(resolution, fmaps, *, layer_indices=None, up_name="Conv0_up", fused_scale="auto",
                    blur_filter=None, **epilogue):
    """``{resolution}x{resolution}``: ``up_name`` (3x3 2x up-conv, then ``blur_filter``) and
    ``Conv1`` (3x3), both to ``fmaps`` channels followed by the layer epilogue. ``layer_indices``:
    an iterator giving each layer its ``layer_index`` (for noise and styles)."""
    def index():
        return None if layer_indices is None else next(layer_indices)

    return Block(resolution, [
        Conv2D(fmaps, 3, resample="up", fused_scale=fused_scale, blur_filter=blur_filter, name=up_name,
                      layer_index=index(), **epilogue),
        Conv2D(fmaps, 3, name="Conv1", layer_index=index(), **epilogue)])


def discriminator_block(resolution, fmaps0, fmaps1, nonlinearity, *, downscale="conv", fused_scale="auto",
                        blur_filter=None, **options):
    """``{resolution}x{resolution}``, from ``2**r`` to ``2**(r-1)`` px: ``Conv0`` (3x3 to
    ``fmaps0``, activation) then, with ``downscale='conv'``, ``Conv1_down`` (``blur_filter``,
    3x3 conv-down to ``fmaps1``, activation) or, with ``downscale='pool'`` (ProGAN without
    ``fused_scale``), ``Conv1`` (3x3 to ``fmaps1``, activation) then 2x2 average pooling."""
    conv0 = Conv2D(fmaps0, 3, nonlinearity=nonlinearity, name="Conv0", **options)
    if downscale == "conv":
        return Block(resolution, [conv0, Conv2D(
            fmaps1, 3, nonlinearity=nonlinearity, resample="down", fused_scale=fused_scale, blur_filter=blur_filter,
            name="Conv1_down", **options)])
    if downscale == "pool":
        common = dict(data_format=options["data_format"], dtype=options["dtype"])
        return Block(resolution, [conv0, Conv2D(fmaps1, 3, nonlinearity=nonlinearity, name="Conv1", **options),
                                  Downscale2D(2, name="Downscale2D", **common)])
    raise InputError(f"downscale must be 'conv' or 'pool', got {downscale!r}")


def discriminator_output_block(fmaps_conv, fmaps_dense, outputs, nonlinearity, *, mbstd_group_size=4,
                               mbstd_num_features=1, **options):
    """``4x4``: minibatch stddev (when ``mbstd_group_size`` > 1), ``Conv`` (3x3 to ``fmaps_conv``),
    ``Dense0`` (to ``fmaps_dense``), each with the activation, and ``Dense1`` (gain 1, linear) to
    ``outputs`` scores ``[N, outputs]``."""
    common = dict(data_format=options["data_format"], dtype=options["dtype"])
    mbstd = ([MinibatchStddev(mbstd_group_size, mbstd_num_features, name="MinibatchStddev", **common)]
             if mbstd_group_size > 1 else [])
    return Block(4, [*mbstd,
                     Conv2D(fmaps_conv, 3, nonlinearity=nonlinearity, name="Conv", **options),
                     Dense(fmaps_dense, nonlinearity=nonlinearity, name="Dense0", **options),
                     Dense(outputs, gain=1, name="Dense1", **options)])


# ----------------------------------------------------------------------------
# StyleGAN2.

def sg2_activation(nonlinearity):
    """StyleGAN2's activation options: ``nonlinearity`` ('lrelu' or 'relu') and its official gain (sqrt(2)),
    applied to the activation's output (``fused_bias_act``)."""
    check_nonlinearity(nonlinearity, ("lrelu", "relu"))
    return dict(nonlinearity=nonlinearity, activation_gain=modulation.ACTIVATIONS[nonlinearity][2])


def sg2_synthesis_layer(name, fmaps, layer_index, dlatent_size, nonlinearity, *, up=False, fir_kernel=None,
                        fused_modconv=True, **common):
    """A StyleGAN2 synthesis layer (``Conv``, ``Conv0_up``, ``Conv1``): 3x3 modulated conv (2x FIR
    up-conv when ``up``) styled by ``dlatents[:, layer_index]``, scalar-strength noise of that index, bias,
    activation times its gain."""
    return ModulatedConv2D(fmaps, 3, dlatent_size, resample="up" if up else None, fir_kernel=fir_kernel,
                           fused_modconv=fused_modconv, layer_index=layer_index, use_noise=True, scalar_noise=True,
                           name=name, **sg2_activation(nonlinearity), **common)


def sg2_to_rgb(name, num_channels, layer_index, dlatent_size, *, fused_modconv=True, **common):
    """StyleGAN2's ``ToRGB``: 1x1 modulated conv without demodulation, bias, linear."""
    return ModulatedConv2D(num_channels, 1, dlatent_size, demodulate=False, fir_kernel=None,
                           fused_modconv=fused_modconv, layer_index=layer_index, name=name, **common)


def sg2_conv(name, fmaps, kernel, nonlinearity="linear", *, resample=None, fir_kernel=None, use_bias=True,
             **common):
    """A StyleGAN2 discriminator (or ``Skip``) convolution: gain-1 weight, optional 2x FIR resampling,
    bias, activation times its gain (``nonlinearity='linear'``: none)."""
    act = sg2_activation(nonlinearity) if nonlinearity != "linear" else {}
    return Conv2D(fmaps, kernel, gain=1.0, resample=resample, fir_kernel=fir_kernel if resample else None,
                  use_bias=use_bias, name=name, **act, **common)


def sg2_dense(name, fmaps, nonlinearity="linear", **common):
    """A StyleGAN2 dense layer (``Dense0``, ``Output``; the mapping's with ``lrmul``): gain 1, bias,
    activation times its gain."""
    act = sg2_activation(nonlinearity) if nonlinearity != "linear" else {}
    return Dense(fmaps, gain=1.0, name=name, **act, **common)


class _ArchitectureBlock(Block):
    """A StyleGAN2 scope with a main path (``layers``) and optional ``rgb`` and ``skip`` layers beside it;
    ``sublayers`` holds them in official creation order: main, ``skip``, ``rgb`` (with ``rgb_first``:
    ``rgb``, main, ``skip``)."""

    rgb_first = False

    def __init__(self, resolution, layers, rgb=None, skip=None, fir_kernel=None, **kwargs):
        super().__init__(resolution, layers, **kwargs)
        self.main, self.rgb, self.skip = list(layers), rgb, skip
        self.fir_kernel = check_fir_kernel(fir_kernel)
        rgb_list, skip_list = [rgb] if rgb is not None else [], [skip] if skip is not None else []
        self.sublayers = (rgb_list + self.main + skip_list if self.rgb_first
                          else self.main + skip_list + rgb_list)

    def _build_main(self, input_shape):
        for layer in self.main:
            self.build_child(layer, input_shape)
            input_shape = layer.compute_output_shape(input_shape)
        return input_shape

    def compute_output_shape(self, input_shape):
        for layer in self.main:
            input_shape = layer.compute_output_shape(input_shape)
        return input_shape

    def _add_skip(self, x, t):
        """``(x + Skip(t)) / sqrt(2)`` (official resnet), or ``x`` without a ``Skip``."""
        return x if self.skip is None else (x + self.skip(t)) * (1 / np.sqrt(2))

    def get_config(self):
        config = super().get_config()
        config["layers"] = [keras.saving.serialize_keras_object(layer) for layer in self.main]
        for key in ("rgb", "skip"):
            layer = getattr(self, key)
            config[key] = None if layer is None else keras.saving.serialize_keras_object(layer)
        return {**config, "fir_kernel": self.fir_kernel}

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        for key in ("rgb", "skip"):
            if config.get(key) is not None:
                config[key] = keras.saving.deserialize_keras_object(config[key])
        return super().from_config(config)


class SynthesisBlock(_ArchitectureBlock):
    """A scope of StyleGAN2's synthesis network (official ``G_synthesis_stylegan2``).

    Main layers (``Const`` and ``Conv`` at 4x4, ``Conv0_up`` and ``Conv1`` above); then, 'resnet', ``skip``
    (``Skip``: 1x1 FIR up-conv of the block's input, no bias): ``x = (x + Skip(t)) / sqrt(2)``; then, 'skip'
    at every resolution or 'orig'/'resnet' at the last one, ``rgb`` (``ToRGB``):
    ``y = upsample_2d(y, fir_kernel) + ToRGB(x)`` (``y = ToRGB(x)`` for the first). Creation order: main,
    ``Skip``, ``ToRGB``. Call ``(x, y=None, dlatents=None, noise=None, fused_modconv=None)`` -> ``(x, y)``:
    features and the RGB image so far (internal layout; ``y`` None until the first ``ToRGB``).
    """

    def build(self, input_shape):
        shape = self._build_main(input_shape)
        if self.skip is not None:
            self.build_child(self.skip, input_shape)
        if self.rgb is not None:
            self.build_child(self.rgb, shape)

    def call(self, x, y=None, dlatents=None, noise=None, fused_modconv=None):
        t = x
        x = self._add_skip(run_layers(self.main, x, dlatents=dlatents, noise=noise, fused_modconv=fused_modconv), t)
        if self.rgb is not None:
            rgb = self.rgb(x, dlatents=dlatents, fused_modconv=fused_modconv)
            y = rgb if y is None else fir.upsample_2d(y, self.fir_kernel, data_format=self.data_format) + rgb
        return x, y


class DiscriminatorStage(_ArchitectureBlock):
    """A scope of StyleGAN2's discriminator (official ``D_stylegan2``).

    ``rgb`` (``FromRGB``, 'skip' at every resolution or 'orig'/'resnet' at the first): ``x = x + FromRGB(y)``
    (``FromRGB(y)`` for the first); main layers (``Conv0``, ``Conv1_down``; at 4x4 minibatch stddev,
    ``Conv``, ``Dense0``); 'resnet' ``skip`` (``Skip``: 1x1 FIR down-conv of the main path's input, no bias):
    ``x = (x + Skip(t)) / sqrt(2)``; with ``downsample_images`` ('skip' above 4x4) the images go on as
    ``downsample_2d(y, fir_kernel)``. Creation order: ``FromRGB``, main, ``Skip``. Call ``(y, x=None)`` ->
    ``(x, y)``: images and features (None before the first ``FromRGB``), internal layout. Built with
    ``(images_shape, features_shape=None)``.
    """

    rgb_first = True

    def __init__(self, resolution, layers, rgb=None, skip=None, fir_kernel=None, downsample_images=False, **kwargs):
        super().__init__(resolution, layers, rgb=rgb, skip=skip, fir_kernel=fir_kernel, **kwargs)
        self.downsample_images = bool(downsample_images)

    def build(self, images_shape, features_shape=None):
        if self.rgb is not None:
            self.build_child(self.rgb, images_shape)
            features_shape = features_shape or self.rgb.compute_output_shape(images_shape)
        self._build_main(features_shape)
        if self.skip is not None:
            self.build_child(self.skip, features_shape)

    def call(self, y, x=None):
        if self.rgb is not None:
            features = self.rgb(y)
            x = features if x is None else x + features
        x = self._add_skip(run_layers(self.main, x), x)
        if self.downsample_images:
            y = fir.downsample_2d(y, self.fir_kernel, data_format=self.data_format)
        return x, y

    def get_config(self):
        return {**super().get_config(), "downsample_images": self.downsample_images}


for _block in (SynthesisBlock, DiscriminatorStage):
    keras.saving.register_keras_serializable(package="stylegan_tf")(_block)
