"""The official StyleGAN (v1) networks as Keras models: ``G_mapping``, ``G_synthesis``,
``G_style`` and ``D_basic``, with the official keyword arguments, defaults, variable
names and level-of-detail (``lod``) semantics.

Public tensors are NCHW: images ``[N, C, H, W]`` in [-1, 1], latents ``[N, latent_size]``,
dlatents ``[N, num_layers, dlatent_size]``, labels ``[N, label_size]``, scores ``[N, 1]``.
Internally a network runs in its ``data_format`` and converts once at its boundary.

Progressive growing: at ``lod = k + f`` (0 <= f < 1) G outputs the image of resolution
``R / 2^k`` faded with the upscaled ``R / 2^(k+1)`` image by ``f``; D mirrors it. Blocks
above the current resolution are skipped whenever that resolution is known when the graph
is built: from a concrete ``lod`` ('recursive' structure, the official default), or from
the static ``resolution`` argument of G / the image size given to D (what the training
step uses: one trace per resolution, ``lod`` a tensor). Otherwise (symbolic ``lod``,
'linear' structure) every block runs and the fade is ``lerp_clip`` (official 'linear').
"""
import itertools

import keras
import tensorflow as tf

from stylegan_tf import blocks, layers, ops
from stylegan_tf.errors import InputError
from stylegan_tf.style_generator import StyleGenerator
from stylegan_tf.network_base import (UNSET, DiscriminatorBase, Level, OfficialNetwork, SynthesisBase, grow_features,
                                      grow_images, nf_function, plan_resolutions, resolution_log2)

STRUCTURES = ("auto", "fixed", "linear", "recursive")
NONLINEARITIES = ("lrelu", "relu")


def _check_structure(structure):
    if structure not in STRUCTURES:
        raise InputError(f"structure must be one of {STRUCTURES}, got {structure!r}")
    return structure


class G_mapping(OfficialNetwork):  # noqa: N801 (official name)
    """Mapping network: ``latents [N, latent_size]`` (+ ``labels [N, label_size]``) ->
    ``dlatents [N, dlatent_broadcast, dlatent_size]`` (or ``[N, dlatent_size]`` without
    broadcast). z is pixel-normalized, then ``mapping_layers`` equalized-LR dense layers
    with ``mapping_lrmul`` (``dense_options``: StyleGAN's gain sqrt(2) in the weights)."""

    build_func_name = "G_mapping"
    DEFAULTS = dict(latent_size=512, label_size=0, dlatent_size=512, dlatent_broadcast=None,
                    mapping_layers=8, mapping_fmaps=512, mapping_lrmul=0.01, mapping_nonlinearity="lrelu",
                    use_wscale=True, normalize_latents=True, dtype="float32")

    def __init__(self, name="G_mapping", data_format="auto", **static_kwargs):
        super().__init__(name, data_format, **static_kwargs)
        k = self.kwargs
        nonlinearity = layers.check_nonlinearity(k["mapping_nonlinearity"], NONLINEARITIES)
        common = dict(data_format=self.data_format, dtype=self.dtype_policy)
        in_size = k["latent_size"]
        self.label_concat = None
        if k["label_size"]:
            self.label_concat = self.build_child(layers.LabelConcat(name="LabelConcat", **common),
                                                 [None, k["latent_size"]], [None, k["label_size"]])
            in_size *= 2
        self.dense_layers = []
        for idx in range(k["mapping_layers"]):
            fmaps = k["dlatent_size"] if idx == k["mapping_layers"] - 1 else k["mapping_fmaps"]
            self.dense_layers.append(self.build_child(layers.Dense(
                fmaps, lrmul=k["mapping_lrmul"], nonlinearity=nonlinearity, name=f"Dense{idx}",
                **self.dense_options(), **common), [None, in_size]))
            in_size = fmaps
        self.built = True

    def dense_options(self):
        """Options of the dense layers besides their size, lrmul and activation."""
        return dict(use_wscale=self.kwargs["use_wscale"])

    @property
    def input_shapes(self):
        return [[None, self.kwargs["latent_size"]], [None, self.kwargs["label_size"]]]

    @property
    def official_output_shape(self):
        k = self.kwargs
        if k["dlatent_broadcast"] is None:
            return [None, k["dlatent_size"]]
        return [None, k["dlatent_broadcast"], k["dlatent_size"]]

    def call(self, latents_in, labels_in=None):
        k = self.kwargs
        x = tf.cast(latents_in, self.compute_dtype)
        if self.label_concat is not None:
            x = self.label_concat(x, tf.cast(labels_in, self.compute_dtype))
        if k["normalize_latents"]:
            x = ops.pixel_norm(x, axis=1)
        for layer in self.dense_layers:
            x = layer(x)
        if k["dlatent_broadcast"] is not None:
            x = tf.tile(x[:, None], [1, k["dlatent_broadcast"], 1])
        return x


class G_synthesis(SynthesisBase):  # noqa: N801
    """Synthesis network: ``dlatents [N, num_layers, dlatent_size]`` -> ``images [N, C, R, R]``.

    Blocks (``stylegan_tf.blocks``): ``4x4`` holds the learned constant ``Const`` (or a
    ``Dense`` input) and ``Conv``, every larger one ``Conv0_up`` (up-conv, blur) and ``Conv1``,
    each layer followed by the layer epilogue (noise, bias, lrelu, instance norm, style mod) with
    the dlatent and noise of its index (0, 1, 2 ... in creation order); ``ToRGB_lod{k}`` per
    level (``levels``). ``num_layers = 2 * log2(R) - 2``.
    """

    build_func_name = "G_synthesis"
    DEFAULTS = dict(dlatent_size=512, num_channels=3, resolution=1024, fmap_base=8192, fmap_decay=1.0,
                    fmap_max=512, use_styles=True, const_input_layer=True, use_noise=True, randomize_noise=True,
                    nonlinearity="lrelu", use_wscale=True, use_pixel_norm=False, use_instance_norm=True,
                    dtype="float32", fused_scale="auto", blur_filter=[1, 2, 1], structure="auto",
                    is_template_graph=False, force_clean_graph=False)
    RUN_KWARGS = ("randomize_noise", "fused_scale", "structure", "is_template_graph", "force_clean_graph")

    def __init__(self, name="G_synthesis", data_format="auto", **static_kwargs):
        super().__init__(name, data_format, **static_kwargs)
        k = self.kwargs
        nf = nf_function(k["fmap_base"], k["fmap_decay"], k["fmap_max"], self.res_log2)
        layers.check_nonlinearity(k["nonlinearity"], NONLINEARITIES)
        _check_structure(k["structure"])
        layers.check_fused_scale(k["fused_scale"])
        num_styles = self.num_layers if k["use_styles"] else 1
        self.dlatents_shape = [None, num_styles, k["dlatent_size"]]
        common = dict(data_format=self.data_format, dtype=self.dtype_policy)
        epilogue = dict(use_wscale=k["use_wscale"], nonlinearity=k["nonlinearity"], use_noise=k["use_noise"],
                        use_pixel_norm=k["use_pixel_norm"], use_instance_norm=k["use_instance_norm"],
                        dlatent_size=k["dlatent_size"] if k["use_styles"] else None, **common)

        # Blocks 4x4 .. R; each layer takes the next style and noise index (official layer_idx).
        indices = itertools.count()
        first = (layers.ConstInput(nf(1), name="Const", layer_index=next(indices), **epilogue)
                 if k["const_input_layer"] else blocks.dense_input(nf(1), layer_index=next(indices), **epilogue))
        block_list = [blocks.generator_input_block(first, nf(1), layer_indices=indices, **epilogue)]
        block_list += [blocks.generator_block(2 ** r, nf(r - 1), layer_indices=indices, fused_scale=k["fused_scale"],
                                              blur_filter=k["blur_filter"] or None, **epilogue)
                       for r in range(3, self.res_log2 + 1)]

        # Official creation order: lod, noise%d, then each block followed by its ToRGB.
        self.lod = self._own_variable("lod", [], "zeros")
        self.noise_vars = [
            self._own_variable(f"noise{layer.layer_index}", [1, 1, block.resolution, block.resolution],
                               keras.initializers.RandomNormal(0.0, 1.0))
            for block in block_list for layer in block.sublayers if layer.use_noise]
        fixed = k["structure"] == "fixed"
        self.levels = {}
        shape = [None, k["dlatent_size"]]
        for r, block in enumerate(block_list, start=2):
            self.build_child(block, shape)
            shape = block.compute_output_shape(shape)
            rgb = None
            if not fixed or r == self.res_log2:
                rgb = self.build_child(blocks.to_rgb(self.res_log2 - r, k["num_channels"], use_wscale=k["use_wscale"],
                                                     **common), shape)
            self.levels[r] = Level(block, rgb)
        self.built = True

    @property
    def const(self):
        """The learned input ``4x4/Const/const`` ``[1, nf(1), 4, 4]`` (``const_input_layer``)."""
        return self.levels[2].block.sublayers[0].const

    def _noise_images(self, randomize_noise, rng):
        """The layers' ``noise``: ``(layer_index, x) -> noise image`` in the internal layout, a fresh
        ``[N, 1, H, W]`` N(0, 1) draw (from ``rng`` if given) when ``randomize_noise``, else the
        layer's ``noise%d`` variable ``[1, 1, H, W]``."""
        def noise(layer_index, x):
            if randomize_noise:
                h, w = ops.spatial_size(x, self.data_format)
                shape = [tf.shape(x)[0], 1, h, w] if self.data_format == "NCHW" else [tf.shape(x)[0], h, w, 1]
                if rng is not None:
                    return rng.normal(shape, dtype=x.dtype)
                return tf.random.normal(shape, dtype=x.dtype)
            return ops.to_internal(tf.cast(self.noise_vars[layer_index], x.dtype), self.data_format)

        return noise

    def call(self, dlatents_in, lod=None, *, resolution=None, randomize_noise=UNSET, fused_scale=UNSET,
             structure=UNSET, is_template_graph=False, force_clean_graph=False, rng=None):
        """``dlatents [N, num_layers, D]`` -> images ``[N, C, R, R]`` (NCHW).

        ``lod``: a scalar (tensor) overriding the ``lod`` variable. ``resolution``: evaluate
        only up to this resolution and return images of that size (the caller guarantees
        ``floor(lod) == log2(R / resolution)``). ``rng``: an optional ``tf.random.Generator``
        for the noise images when ``randomize_noise``.
        """
        k = self.kwargs
        randomize_noise = self._resolve("randomize_noise", randomize_noise)
        fused_scale = self._resolve("fused_scale", fused_scale)
        structure = _check_structure(self._resolve("structure", structure))
        if is_template_graph or force_clean_graph:
            randomize_noise = False
        if structure == "auto":
            structure = "linear" if (is_template_graph or force_clean_graph) else "recursive"
        if lod is None:
            lod = self.lod
        top_log2 = None if resolution is None else resolution_log2(resolution)
        top_log2, fade_from = plan_resolutions(lod, self.res_log2, structure, top_log2)
        if structure == "fixed" and resolution not in (None, k["resolution"]):
            raise InputError("structure='fixed' has no progressive growing: resolution must be the full one")

        dtype = self.compute_dtype
        dlatents = tf.cast(dlatents_in, dtype)
        images = grow_images(dlatents[:, 0], self.levels, tf.cast(lod, dtype), self.res_log2, top_log2, fade_from,
                             self.data_format, dlatents=dlatents, noise=self._noise_images(randomize_noise, rng),
                             fused_scale=fused_scale)
        if resolution is None:
            images = ops.upscale2d(images, 2 ** (self.res_log2 - top_log2), self.data_format)
        return ops.to_public(images, self.data_format)


class G_style(StyleGenerator):  # noqa: N801
    """Style-based generator: ``latents [N, latent_size]``, ``labels [N, label_size]`` ->
    ``images [N, C, R, R]`` in [-1, 1] (NCHW).

    mapping -> (training) ``dlatent_avg`` moving average -> (training) style mixing ->
    truncation ``lerp(dlatent_avg, w, psi)`` on layers ``< truncation_cutoff`` -> synthesis.
    Components: ``synthesis`` (G_synthesis) and ``mapping`` (G_mapping); keyword arguments
    that are not G_style's own go to both components, as official.
    """

    build_func_name = "G_style"
    DEFAULTS = dict(truncation_psi=0.7, truncation_cutoff=8, truncation_psi_val=None, truncation_cutoff_val=None,
                    dlatent_avg_beta=0.995, style_mixing_prob=0.9, is_training=False, is_validation=False,
                    is_template_graph=False)
    RUN_KWARGS = tuple(DEFAULTS) + G_synthesis.RUN_KWARGS

    def make_components(self, component_kwargs, synthesis, mapping):
        synthesis = synthesis or G_synthesis(data_format=self.data_format, **component_kwargs)
        mapping = mapping or G_mapping(data_format=self.data_format, dlatent_broadcast=synthesis.dlatents_shape[1],
                                       **component_kwargs)
        return synthesis, mapping

    def call(self, latents_in, labels_in=None, *, lod=None, resolution=None, truncation_psi=UNSET,
             truncation_cutoff=UNSET, truncation_psi_val=UNSET, truncation_cutoff_val=UNSET,
             dlatent_avg_beta=UNSET, style_mixing_prob=UNSET, is_training=UNSET, is_validation=UNSET,
             is_template_graph=UNSET, style_mixing_draws=None, rng=None, **synthesis_kwargs):
        """Generate images ``[N, C, R, R]`` (NCHW).

        Keyword arguments default to the network's static ones (official semantics:
        ``truncation_psi`` None or 1, or ``truncation_cutoff`` None or <= 0, disables
        truncation; training disables truncation and enables the ``dlatent_avg`` update and
        style mixing; see ``StyleGenerator.run_settings``). ``lod`` overrides the ``lod`` variable
        (which, as official, is copied into the synthesis network's ``lod``). ``style_mixing_draws``:
        optional ``(latents2 [N, latent_size], uniform [], cutoff [] int32)`` replacing the random
        draws of style mixing; ``rng``: optional ``tf.random.Generator`` for all draws.
        Other keywords (``randomize_noise``, ``fused_scale``, ``structure``) go to synthesis.
        """
        settings = self.run_settings(truncation_psi, truncation_cutoff, truncation_psi_val, truncation_cutoff_val,
                                     dlatent_avg_beta, style_mixing_prob, is_training, is_validation)
        lod = self.call_lod(lod)
        dlatents = self.map_latents(latents_in, labels_in, lod, *settings, style_mixing_draws, rng)
        return self.synthesis(dlatents, lod=lod, resolution=resolution,
                              is_template_graph=self._resolve("is_template_graph", is_template_graph), rng=rng,
                              **synthesis_kwargs)


class D_basic(DiscriminatorBase):  # noqa: N801
    """Discriminator: ``images [N, C, R, R]`` (NCHW), ``labels [N, label_size]`` -> ``scores [N, 1]``.

    ``FromRGB_lod{k}`` per level (``levels``), blocks ``Conv0`` -> blur -> ``Conv1_down``, and the
    4x4 block minibatch stddev -> ``Conv`` -> ``Dense0`` -> ``Dense1``. Images smaller than R are taken as the current
    resolution of progressive growing (the caller guarantees ``floor(lod) == log2(R / size)``).
    """

    build_func_name = "D_basic"
    DEFAULTS = dict(num_channels=1, resolution=32, label_size=0, fmap_base=8192, fmap_decay=1.0, fmap_max=512,
                    nonlinearity="lrelu", use_wscale=True, mbstd_group_size=4, mbstd_num_features=1,
                    dtype="float32", fused_scale="auto", blur_filter=[1, 2, 1], structure="auto",
                    is_template_graph=False)
    RUN_KWARGS = ("fused_scale", "structure", "is_template_graph")

    def __init__(self, name="D", data_format="auto", **static_kwargs):
        super().__init__(name, data_format, **static_kwargs)
        k = self.kwargs
        self.res_log2 = resolution_log2(k["resolution"])
        nf = nf_function(k["fmap_base"], k["fmap_decay"], k["fmap_max"], self.res_log2)
        nonlinearity = layers.check_nonlinearity(k["nonlinearity"], NONLINEARITIES)
        _check_structure(k["structure"])
        layers.check_fused_scale(k["fused_scale"])
        options = dict(use_wscale=k["use_wscale"], data_format=self.data_format, dtype=self.dtype_policy)

        # Official creation order: lod, then from R down to 4x4 each FromRGB followed by its block.
        self.lod = self._own_variable("lod", [], "zeros")
        fixed = k["structure"] == "fixed"
        self.levels = {}
        for r in range(self.res_log2, 1, -1):
            rgb = None
            if not fixed or r == self.res_log2:
                rgb = self.build_child(blocks.from_rgb(self.res_log2 - r, nf(r - 1), nonlinearity, **options),
                                       self.fmap_shape(k["num_channels"], 2 ** r))
            if r >= 3:
                block = blocks.discriminator_block(2 ** r, nf(r - 1), nf(r - 2), nonlinearity,
                                                   fused_scale=k["fused_scale"], blur_filter=k["blur_filter"] or None,
                                                   **options)
            else:
                block = blocks.discriminator_output_block(
                    nf(1), nf(0), max(k["label_size"], 1), nonlinearity, mbstd_group_size=k["mbstd_group_size"],
                    mbstd_num_features=k["mbstd_num_features"], **options)
            self.levels[r] = Level(self.build_child(block, self.fmap_shape(nf(r - 1), 2 ** r)), rgb)
        self.built = True

    def call(self, images_in, labels_in=None, *, lod=None, fused_scale=UNSET, structure=UNSET,
             is_template_graph=UNSET):
        """``images [N, C, r, r]`` (NCHW, r <= R) -> ``scores [N, 1]``."""
        k = self.kwargs
        fused_scale = self._resolve("fused_scale", fused_scale)
        structure = _check_structure(self._resolve("structure", structure))
        if structure == "auto":
            structure = "linear" if self._resolve("is_template_graph", is_template_graph) else "recursive"
        if lod is None:
            lod = self.lod
        in_log2 = self._input_log2(images_in)
        top_log2, fade_from = plan_resolutions(lod, self.res_log2, structure,
                                               in_log2 if in_log2 < self.res_log2 else None)
        if structure == "fixed" and in_log2 != self.res_log2:
            raise InputError("structure='fixed' has no progressive growing: images must be full resolution")

        dtype = self.compute_dtype
        img = ops.to_internal(tf.cast(images_in, dtype), self.data_format)
        scores = grow_features(img, self.levels, tf.cast(lod, dtype), self.res_log2, top_log2, fade_from,
                               self.data_format, fused_scale=fused_scale)
        if k["label_size"]:
            scores = tf.reduce_sum(scores * tf.cast(labels_in, dtype), axis=1, keepdims=True)
        return scores


NETWORKS = {cls.build_func_name: keras.saving.register_keras_serializable(package="stylegan_tf")(cls)
            for cls in (G_mapping, G_synthesis, G_style, D_basic)}
