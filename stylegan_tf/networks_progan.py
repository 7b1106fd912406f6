"""The official ProGAN networks (``networks_progan.py`` of NVlabs/stylegan) as Keras models:
``G_paper`` and ``D_paper``, with the official keyword arguments, defaults, variable names
and level-of-detail (``lod``) semantics.

Public tensors are NCHW: latents ``[N, latent_size]``, labels ``[N, label_size]``, images
``[N, C, R, R]`` (linear output, about [-1, 1]), scores ``[N, 1]``. Internally a network
runs in its ``data_format`` and converts once at its boundary.

Unlike the StyleGAN networks, ``fused_scale`` (default True) fuses every resampling layer
at every resolution, and it selects *different* variables (``Conv0_up`` / ``Conv1_down``
fused, ``Conv0`` / ``Conv1`` not). G's fused up-conv equals nearest upscaling followed by
the spatially flipped kernel; D's unfused block applies bias and activation *before*
pooling, so the two settings are different networks of the same shapes.

``lod`` works as in ``networks_stylegan``: at ``lod = k + f`` G outputs the ``R / 2^k``
image faded by ``f`` towards the upscaled ``R / 2^(k+1)`` one and D mirrors it; blocks
above the current resolution are skipped when it is known (concrete ``lod`` with the
'recursive' structure, G's ``resolution`` argument, images smaller than R given to D).
"""
import keras
import numpy as np
import tensorflow as tf

from stylegan_tf import layers, ops
from stylegan_tf.network_base import (UNSET, DiscriminatorBase, OfficialNetwork, grow_features, grow_images,
                                      nf_function, plan_resolutions, resolution_log2)

STRUCTURES = (None, "linear", "recursive")


class _ProGANNetwork(OfficialNetwork):
    """What G_paper and D_paper share: option checks and the official structure choice."""

    RUN_KWARGS = ("structure", "is_template_graph")

    def __init__(self, name, data_format="auto", **static_kwargs):
        super().__init__(name, data_format, **static_kwargs)
        k = self.kwargs
        if k["fused_scale"] not in (True, False):
            raise ValueError(f"fused_scale must be True or False (ProGAN has no 'auto'), got {k['fused_scale']!r}")
        self._check_structure(k["structure"])
        self.res_log2 = resolution_log2(k["resolution"])
        self.nf = nf_function(k["fmap_base"], k["fmap_decay"], k["fmap_max"], self.res_log2)
        self.lod = self._own_variable("lod", [], "zeros")

    @staticmethod
    def _check_structure(structure):
        if structure not in STRUCTURES:
            raise ValueError(f"structure must be one of {STRUCTURES}, got {structure!r}")
        return structure

    def _structure(self, structure, is_template_graph):
        """Official: None -> 'linear' for a template graph, else 'recursive'."""
        structure = self._check_structure(self._resolve("structure", structure))
        if structure is None:
            return "linear" if self._resolve("is_template_graph", is_template_graph) else "recursive"
        return structure

    def _conv(self, scope, fmaps, kernel, fmaps_in, res, gain=np.sqrt(2), **kwargs):
        """An equalized-LR conv with bias named ``scope`` for ``[N, fmaps_in, res, res]`` inputs."""
        layer = layers.Conv2D(fmaps, kernel, gain=gain, use_wscale=self.kwargs["use_wscale"],
                              name=scope.split("/")[-1], data_format=self.data_format, dtype=self.dtype_policy,
                              **kwargs)
        return self._unit(scope, layer, self.fmap_shape(fmaps_in, res))


class G_paper(_ProGANNetwork):  # noqa: N801 (official name)
    """ProGAN generator: ``latents [N, latent_size]``, ``labels [N, label_size]`` ->
    ``images [N, num_channels, R, R]`` (NCHW).

    ``pixel_norm(concat(latents, labels))`` -> 4x4: ``Dense`` (gain sqrt(2)/4, reshaped
    NCHW to ``[N, nf(1), 4, 4]``) and ``Conv``; 8x8 and up: ``Conv0_up`` (``Conv0`` after
    a nearest upscale when not fused) and ``Conv1``. Every layer: bias, leaky ReLU 0.2 (ReLU
    without ``use_leakyrelu``), pixel norm (``use_pixelnorm``). ``ToRGB_lod{k}``: 1x1 conv,
    gain 1, linear. ``latent_size`` None means ``nf(0)``.
    """

    build_func_name = "G_paper"
    DEFAULTS = dict(num_channels=1, resolution=32, label_size=0, fmap_base=8192, fmap_decay=1.0, fmap_max=512,
                    latent_size=None, normalize_latents=True, use_wscale=True, use_pixelnorm=True,
                    pixelnorm_epsilon=1e-8, use_leakyrelu=True, dtype="float32", fused_scale=True, structure=None,
                    is_template_graph=False)

    def __init__(self, name="G", data_format="auto", **static_kwargs):
        super().__init__(name, data_format, **static_kwargs)
        k, nf = self.kwargs, self.nf
        self.latent_size = nf(0) if k["latent_size"] is None else k["latent_size"]
        self.nonlinearity = "lrelu" if k["use_leakyrelu"] else "relu"
        common = dict(data_format=self.data_format, dtype=self.dtype_policy)

        self.dense = self._unit("4x4/Dense", layers.Dense(
            nf(1) * 16, gain=np.sqrt(2) / 4, use_wscale=k["use_wscale"], use_bias=False, name="Dense", **common),
            [None, self.latent_size + k["label_size"]])
        self.dense_bias = self._unit("4x4/Dense", layers.Bias(name="bias", **common), self.fmap_shape(nf(1), 4))
        self.convs = {2: [self._conv("4x4/Conv", nf(1), 3, nf(1), 4)]}
        self.torgb = {2: self._to_rgb_layer(2)}
        for r in range(3, self.res_log2 + 1):
            res, fmaps_in = 2 ** r, nf(r - 2)
            up_name = "Conv0_up" if k["fused_scale"] else "Conv0"
            self.convs[r] = [self._conv(f"{res}x{res}/{up_name}", nf(r - 1), 3, fmaps_in, res // 2, resample="up",
                                        fused_scale=k["fused_scale"]),
                             self._conv(f"{res}x{res}/Conv1", nf(r - 1), 3, nf(r - 1), res)]
            self.torgb[r] = self._to_rgb_layer(r)
        self.built = True

    def _to_rgb_layer(self, r):
        return self._conv(f"ToRGB_lod{self.res_log2 - r}", self.kwargs["num_channels"], 1, self.nf(r - 1), 2 ** r,
                          gain=1)

    @property
    def input_shapes(self):
        return [[None, self.latent_size], [None, self.kwargs["label_size"]]]

    @property
    def official_output_shape(self):
        k = self.kwargs
        return [None, k["num_channels"], k["resolution"], k["resolution"]]

    def _epilogue(self, x):
        """Activation, then pixel norm over channels (``use_pixelnorm``)."""
        x = layers.activation(x, self.nonlinearity)
        if self.kwargs["use_pixelnorm"]:
            x = ops.pixel_norm(x, ops.channel_axis(self.data_format), self.kwargs["pixelnorm_epsilon"])
        return x

    def _block(self, x, r):
        """Features at ``2**(r-1)`` px (the latent vector ``[N, L]`` for r = 2) -> at ``2**r`` px."""
        if r == 2:
            if self.kwargs["normalize_latents"]:
                x = ops.pixel_norm(x, 1, self.kwargs["pixelnorm_epsilon"])
            x = tf.reshape(self.dense(x), [-1, self.nf(1), 4, 4])
            x = self._epilogue(self.dense_bias(ops.to_internal(x, self.data_format)))
        for conv in self.convs[r]:
            x = self._epilogue(conv(x))
        return x

    def call(self, latents_in, labels_in=None, *, lod=None, resolution=None, structure=UNSET,
             is_template_graph=UNSET, **_kwargs):
        """``latents [N, latent_size]``, ``labels [N, label_size]`` -> images ``[N, C, R, R]``.

        ``lod``: a scalar (tensor) overriding the ``lod`` variable. ``resolution``: evaluate
        only up to this resolution and return images of that size (the training path; the
        caller guarantees ``floor(lod) == log2(R / resolution)``). Other keyword arguments
        (``is_training``, ``randomize_noise``, ``rng`` ...) are ignored, as official.
        """
        k = self.kwargs
        structure = self._structure(structure, is_template_graph)
        if lod is None:
            lod = self.lod
        top_log2 = None if resolution is None else resolution_log2(resolution)
        if top_log2 is not None and top_log2 > self.res_log2:
            raise ValueError(f"resolution {resolution} exceeds the network's {k['resolution']}")
        top_log2, fade_from = plan_resolutions(lod, self.res_log2, structure, top_log2)

        dtype = self.compute_dtype
        x = tf.cast(latents_in, dtype)
        if k["label_size"]:
            if labels_in is None:
                raise ValueError(f"{self.name} is conditional (label_size {k['label_size']}): labels are needed")
            x = tf.concat([x, tf.cast(labels_in, dtype)], axis=1)
        images = grow_images(x, self._block, lambda x, r: self.torgb[r](x), tf.cast(lod, dtype), self.res_log2,
                             top_log2, fade_from, self.data_format)
        if resolution is None:
            images = ops.upscale2d(images, 2 ** (self.res_log2 - top_log2), self.data_format)
        return ops.to_public(images, self.data_format)


class D_paper(_ProGANNetwork, DiscriminatorBase):  # noqa: N801
    """ProGAN discriminator: ``images [N, num_channels, r, r]`` (NCHW, r <= R), ``labels``
    (unused, as official) -> ``scores [N, 1]``.

    ``FromRGB_lod{k}`` (1x1 conv, leaky ReLU) per level; 8x8 and up: ``Conv0`` then
    ``Conv1_down`` (fused conv + 2x2 average, then bias and activation) or, unfused,
    ``Conv1`` with bias and activation followed by 2x2 average pooling; 4x4: minibatch
    stddev (``mbstd_group_size`` > 1, one feature) -> ``Conv`` -> ``Dense0`` -> ``Dense1``
    (one output, gain 1). Images smaller than R are taken as the current resolution of
    progressive growing (the caller guarantees ``floor(lod) == log2(R / size)``).
    """

    build_func_name = "D_paper"
    DEFAULTS = dict(num_channels=1, resolution=32, label_size=0, fmap_base=8192, fmap_decay=1.0, fmap_max=512,
                    use_wscale=True, mbstd_group_size=4, dtype="float32", fused_scale=True, structure=None,
                    is_template_graph=False)

    def __init__(self, name="D", data_format="auto", **static_kwargs):
        super().__init__(name, data_format, **static_kwargs)
        k, nf = self.kwargs, self.nf
        common = dict(data_format=self.data_format, dtype=self.dtype_policy)
        self.fromrgb, self.convs = {}, {}
        for r in range(self.res_log2, 1, -1):
            res = 2 ** r
            self.fromrgb[r] = self._conv(f"FromRGB_lod{self.res_log2 - r}", nf(r - 1), 1, k["num_channels"], res)
            if r >= 3:
                conv0 = self._conv(f"{res}x{res}/Conv0", nf(r - 1), 3, nf(r - 1), res)
                if k["fused_scale"]:
                    conv1 = self._conv(f"{res}x{res}/Conv1_down", nf(r - 2), 3, nf(r - 1), res, resample="down",
                                       fused_scale=True)
                else:  # bias and activation come before the pooling (see _block)
                    conv1 = self._conv(f"{res}x{res}/Conv1", nf(r - 2), 3, nf(r - 1), res)
                self.convs[r] = [conv0, conv1]
        self.mbstd = (layers.MinibatchStddev(k["mbstd_group_size"], 1, name="MinibatchStddev", **common)
                      if k["mbstd_group_size"] > 1 else None)
        wscale = k["use_wscale"]
        self.convs[2] = [
            self._conv("4x4/Conv", nf(1), 3, nf(1) + (1 if self.mbstd is not None else 0), 4),
            self._unit("4x4/Dense0", layers.Dense(nf(0), gain=np.sqrt(2), use_wscale=wscale, name="Dense0", **common),
                       [None, nf(1) * 16]),
            self._unit("4x4/Dense1", layers.Dense(1, gain=1, use_wscale=wscale, name="Dense1", **common),
                       [None, nf(0)])]
        self.built = True

    def _block(self, x, r):
        """Features at ``2**r`` px -> at ``2**(r-1)`` px (scores ``[N, 1]`` for r = 2)."""
        if r >= 3:
            conv0, conv1 = self.convs[r]
            x = layers.activation(conv1(layers.activation(conv0(x), "lrelu")), "lrelu")
            return x if self.kwargs["fused_scale"] else ops.downscale2d(x, 2, self.data_format)
        conv, dense0, dense1 = self.convs[2]
        if self.mbstd is not None:
            x = self.mbstd(x)
        x = layers.activation(conv(x), "lrelu")
        return dense1(layers.activation(dense0(x), "lrelu"))

    def call(self, images_in, labels_in=None, *, lod=None, structure=UNSET, is_template_graph=UNSET, **_kwargs):
        """``images [N, C, r, r]`` (NCHW, r <= R) -> ``scores [N, 1]``. ``lod``: a scalar
        (tensor) overriding the ``lod`` variable; other keyword arguments are ignored."""
        structure = self._structure(structure, is_template_graph)
        if lod is None:
            lod = self.lod
        in_log2 = self._input_log2(images_in)
        top_log2, fade_from = plan_resolutions(lod, self.res_log2, structure,
                                               in_log2 if in_log2 < self.res_log2 else None)
        dtype = self.compute_dtype
        x = grow_features(ops.to_internal(tf.cast(images_in, dtype), self.data_format),
                          lambda img, r: layers.activation(self.fromrgb[r](img), "lrelu"), self._block,
                          tf.cast(lod, dtype), self.res_log2, top_log2, fade_from, self.data_format)
        return self._block(x, 2)


NETWORKS = {cls.build_func_name: keras.saving.register_keras_serializable(package="stylegan_tf")(cls)
            for cls in (G_paper, D_paper)}
