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
import tensorflow as tf

from stylegan_tf import blocks, ops
from stylegan_tf.errors import InputError
from stylegan_tf.network_base import (UNSET, DiscriminatorBase, Level, OfficialNetwork, grow_features, grow_images,
                                      nf_function, plan_resolutions, resolution_log2)

STRUCTURES = (None, "linear", "recursive")


class _ProGANNetwork(OfficialNetwork):
    """What G_paper and D_paper share: option checks and the official structure choice."""

    RUN_KWARGS = ("structure", "is_template_graph")

    def __init__(self, name, data_format="auto", **static_kwargs):
        super().__init__(name, data_format, **static_kwargs)
        k = self.kwargs
        if k["fused_scale"] not in (True, False):
            raise InputError(f"fused_scale must be True or False (ProGAN has no 'auto'), got {k['fused_scale']!r}")
        self._check_structure(k["structure"])
        self.res_log2 = resolution_log2(k["resolution"])
        self.nf = nf_function(k["fmap_base"], k["fmap_decay"], k["fmap_max"], self.res_log2)
        self.lod = self._own_variable("lod", [], "zeros")

    @staticmethod
    def _check_structure(structure):
        if structure not in STRUCTURES:
            raise InputError(f"structure must be one of {STRUCTURES}, got {structure!r}")
        return structure

    def _structure(self, structure, is_template_graph):
        """Official: None -> 'linear' for a template graph, else 'recursive'."""
        structure = self._check_structure(self._resolve("structure", structure))
        if structure is None:
            return "linear" if self._resolve("is_template_graph", is_template_graph) else "recursive"
        return structure

    def _options(self):
        """Options of every layer: equalized learning rate, layout, dtype policy."""
        return dict(use_wscale=self.kwargs["use_wscale"], data_format=self.data_format, dtype=self.dtype_policy)


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
        options = self._options()
        epilogue = dict(nonlinearity="lrelu" if k["use_leakyrelu"] else "relu", use_pixel_norm=k["use_pixelnorm"],
                        pixel_norm_epsilon=k["pixelnorm_epsilon"], **options)
        self.levels = {}
        shape = [None, self.latent_size + k["label_size"]]
        for r in range(2, self.res_log2 + 1):
            if r == 2:
                block = blocks.generator_input_block(blocks.dense_input(nf(1), **epilogue), nf(1), **epilogue)
            else:
                block = blocks.generator_block(2 ** r, nf(r - 1), up_name="Conv0_up" if k["fused_scale"] else "Conv0",
                                               fused_scale=k["fused_scale"], **epilogue)
            self.build_child(block, shape)
            shape = block.compute_output_shape(shape)
            rgb = self.build_child(blocks.to_rgb(self.res_log2 - r, k["num_channels"], **options), shape)
            self.levels[r] = Level(block, rgb)
        self.built = True

    @property
    def input_shapes(self):
        return [[None, self.latent_size], [None, self.kwargs["label_size"]]]

    @property
    def official_output_shape(self):
        k = self.kwargs
        return [None, k["num_channels"], k["resolution"], k["resolution"]]

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
            raise InputError(f"resolution {resolution} exceeds the network's {k['resolution']}")
        top_log2, fade_from = plan_resolutions(lod, self.res_log2, structure, top_log2)

        dtype = self.compute_dtype
        x = tf.cast(latents_in, dtype)
        if k["label_size"]:
            if labels_in is None:
                raise InputError(f"{self.name} is conditional (label_size {k['label_size']}): labels are needed")
            x = tf.concat([x, tf.cast(labels_in, dtype)], axis=1)
        if k["normalize_latents"]:
            x = ops.pixel_norm(x, 1, k["pixelnorm_epsilon"])
        images = grow_images(x, self.levels, tf.cast(lod, dtype), self.res_log2, top_log2, fade_from,
                             self.data_format)
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
        options = self._options()
        self.levels = {}
        for r in range(self.res_log2, 1, -1):
            rgb = self.build_child(blocks.from_rgb(self.res_log2 - r, nf(r - 1), "lrelu", **options),
                                   self.fmap_shape(k["num_channels"], 2 ** r))
            if r >= 3:  # unfused: bias and activation come before the pooling
                block = blocks.discriminator_block(2 ** r, nf(r - 1), nf(r - 2), "lrelu",
                                                   downscale="conv" if k["fused_scale"] else "pool",
                                                   fused_scale=True, **options)
            else:
                block = blocks.discriminator_output_block(nf(1), nf(0), 1, "lrelu",
                                                          mbstd_group_size=k["mbstd_group_size"], **options)
            self.levels[r] = Level(self.build_child(block, self.fmap_shape(nf(r - 1), 2 ** r)), rgb)
        self.built = True

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
        return grow_features(ops.to_internal(tf.cast(images_in, dtype), self.data_format), self.levels,
                             tf.cast(lod, dtype), self.res_log2, top_log2, fade_from, self.data_format)


NETWORKS = {cls.build_func_name: keras.saving.register_keras_serializable(package="stylegan_tf")(cls)
            for cls in (G_paper, D_paper)}
