"""The official StyleGAN2 generators (``training/networks_stylegan2.py`` of NVlabs/stylegan2) as Keras models:
``G_main`` (mapping + synthesis), its ``G_mapping``, ``G_synthesis_stylegan2`` ('orig', 'skip', 'resnet') and
the revised StyleGAN synthesis of configs B-D, ``G_synthesis_stylegan_revised``, with the official keyword
arguments, defaults and variable names. The discriminators are in ``networks_stylegan2_d``.

Public tensors are NCHW: latents ``[N, latent_size]``, labels ``[N, label_size]``, dlatents
``[N, num_layers, dlatent_size]`` (``num_layers = 2 * log2(R) - 2``), images ``[N, C, R, R]``. Internally a
network runs in its ``data_format`` and converts once at its boundary.

What differs from StyleGAN (v1), as official: weights have gain 1 and the activation's gain (sqrt(2) for lrelu)
multiplies its output; synthesis layers are modulated (and demodulated) convolutions with one scalar
``noise_strength`` each and no instance norm; resampling is FIR (``resample_kernel``); there is a noise image
for every conv layer but none for ToRGB (``num_layers - 1`` in all); the ``ToRGB`` of resolution ``2**r`` takes
the dlatent ``2r - 3``. ``G_main`` truncates every layer when ``truncation_cutoff`` is None (v1: none) with a
default psi of 0.5, and can return its dlatents.

Which mapping network: the official build function of StyleGAN2's mapping is also named ``G_mapping``, so a
pickle's ``G_mapping`` state builds StyleGAN's class (``networks_stylegan.G_mapping``: the registry has one entry
per name). Its family is decided by its parent: ``G_main`` takes its ``mapping`` component as StyleGAN2's
``G_mapping`` (this module's), rebuilding a StyleGAN one on the same variables (the two have the same variables;
they differ in the gains). ``dnnlib.tflib.Network(func_name='training.networks_stylegan2.G_mapping')`` builds
this module's class directly.
"""

import keras
import tensorflow as tf

from stylegan_tf import blocks, fir, layers, modulation, networks_stylegan, ops
from stylegan_tf.errors import InputError
from stylegan_tf.network_base import (UNSET, Level, SynthesisBase, grow_images, nf_function, plan_resolutions,
                                      resolution_log2, static_lod)
from stylegan_tf.scopes import reusing_variables
from stylegan_tf.style_generator import StyleGenerator

ARCHITECTURES = ("orig", "skip", "resnet")


class G_mapping(networks_stylegan.G_mapping):  # noqa: N801 (official name)
    """StyleGAN2's mapping network: StyleGAN's (same keyword arguments but ``use_wscale``, same variables)
    with gain-1 dense layers whose activation output is multiplied by sqrt(2). ``latents [N, latent_size]``
    (+ ``labels [N, label_size]``) -> ``dlatents [N, dlatent_broadcast, dlatent_size]``."""

    DEFAULTS = {key: value for key, value in networks_stylegan.G_mapping.DEFAULTS.items() if key != "use_wscale"}

    def dense_options(self):
        return dict(gain=1.0, activation_gain=blocks.sg2_activation(self.kwargs["mapping_nonlinearity"])[
            "activation_gain"])


def as_stylegan2_mapping(mapping):
    """``mapping`` as StyleGAN2's ``G_mapping``: itself if it is one, else (a StyleGAN ``G_mapping``, as the
    registry builds a pickled ``'G_mapping'``) this module's class rebuilt on its variables."""
    if isinstance(mapping, G_mapping):
        return mapping
    if not isinstance(mapping, networks_stylegan.G_mapping):
        raise InputError(f"G_main's mapping must be a G_mapping network, got {type(mapping).__name__}")
    with reusing_variables(mapping.official_variables()):
        return G_mapping(name=mapping.name, data_format=mapping.data_format, **mapping.static_kwargs)


def modconv_implementation(fused_modconv):
    """The ``ModulatedConv2D`` implementation for the official ``fused_modconv``: False is the unfused form; True,
    the official default, is the fused (grouped) form where that is the faster one, with a GPU ('auto'), and
    the unfused form on CPUs, where the fused one measured 4.8x slower (the benchmark workload's generator,
    2-core x86 CPU) and has no gradient without oneDNN. The two compute the same function (the fixture's
    ``fused_modconv`` noise floor); 'auto' may be given too."""
    return "auto" if fused_modconv is True else layers.check_fused_modconv(fused_modconv)


class _SynthesisBase(SynthesisBase):
    """What both StyleGAN2 synthesis networks share: options, feature maps, the ``noise%d`` variables (one per
    conv layer, ``[1, 1, r, r]``), the 4x4 input layers and the layer builders."""

    def __init__(self, name, data_format, **static_kwargs):
        super().__init__(name, data_format, **static_kwargs)
        k = self.kwargs
        self.nf = nf_function(k["fmap_base"], k["fmap_decay"], k["fmap_max"], self.res_log2, k["fmap_min"])
        blocks.sg2_activation(k["nonlinearity"])  # checks it
        self.fused_modconv = modconv_implementation(k["fused_modconv"])
        self.dlatents_shape = [None, self.num_layers, k["dlatent_size"]]
        self.common = dict(data_format=self.data_format, dtype=self.dtype_policy)
        self.fir_kernel = layers.check_fir_kernel(k["resample_kernel"] or [1, 1])

    def _create_noise_vars(self):
        """Official: ``noise%d`` of ``[1, 1, 2**((i + 5) // 2)] * 2`` for conv layers i = 0 .. num_layers - 2."""
        sizes = [2 ** ((i + 5) // 2) for i in range(self.num_layers - 1)]
        self.noise_vars = [self._own_variable(f"noise{i}", [1, 1, size, size],
                                              keras.initializers.RandomNormal(0.0, 1.0))
                           for i, size in enumerate(sizes)]

    def conv_layer(self, name, r, layer_index, up=False):
        """The synthesis layer ``name`` of resolution ``2**r`` (``nf(r - 1)`` maps; 4x4: ``nf(1)``)."""
        k = self.kwargs
        return blocks.sg2_synthesis_layer(name, self.nf(max(r - 1, 1)), layer_index, k["dlatent_size"],
                                          k["nonlinearity"], up=up, fir_kernel=self.fir_kernel,
                                          fused_modconv=self.fused_modconv, **self.common)

    def to_rgb(self, name, r):
        k = self.kwargs
        return blocks.sg2_to_rgb(name, k["num_channels"], 2 * r - 3, k["dlatent_size"],
                                 fused_modconv=self.fused_modconv, **self.common)

    def input_layers(self):
        """``Const`` (``[1, nf(1), 4, 4]``, N(0, 1)) and ``Conv`` (layer 0) of the 4x4 scope."""
        return [layers.ConstInput(self.nf(1), initializer="normal", use_bias=False, name="Const", **self.common),
                self.conv_layer("Conv", 2, 0)]

    def upper_layers(self, r):
        """``Conv0_up`` (layer 2r - 5) and ``Conv1`` (layer 2r - 4) of the scope of resolution ``2**r``."""
        return [self.conv_layer("Conv0_up", r, 2 * r - 5, up=True), self.conv_layer("Conv1", r, 2 * r - 4)]

    def noise_function(self, randomize_noise, rng):
        """The layers' ``noise``: ``(layer_index, x) -> noise image`` in the internal layout: a fresh N(0, 1)
        ``[N, 1, H, W]`` draw (from ``rng`` if given) when ``randomize_noise``, else the layer's ``noise%d``."""
        def noise(layer_index, x):
            if randomize_noise:
                return modulation.random_noise(x, self.data_format, rng)
            return ops.to_internal(tf.cast(self.noise_vars[layer_index], x.dtype), self.data_format)

        return noise


class G_synthesis_stylegan2(_SynthesisBase):  # noqa: N801
    """StyleGAN2's synthesis network (paper figure 7): ``dlatents [N, num_layers, D]`` -> ``images [N, C, R, R]``.

    Scopes (``blocks.SynthesisBlock``): ``4x4`` holds ``Const``, ``Conv``; each larger one ``Conv0_up`` (FIR
    up-conv) and ``Conv1``; 'resnet' adds ``Skip``; 'skip' has a ``ToRGB`` at every resolution, summed into the
    FIR-upsampled image so far, 'orig' and 'resnet' one at the last. No progressive growing, no ``lod``.
    """

    build_func_name = "G_synthesis_stylegan2"
    DEFAULTS = dict(dlatent_size=512, num_channels=3, resolution=1024, fmap_base=16 << 10, fmap_decay=1.0,
                    fmap_min=1, fmap_max=512, randomize_noise=True, architecture="skip", nonlinearity="lrelu",
                    dtype="float32", resample_kernel=[1, 3, 3, 1], fused_modconv=True)
    RUN_KWARGS = ("randomize_noise", "fused_modconv")

    def __init__(self, name="G_synthesis", data_format="auto", **static_kwargs):
        super().__init__(name, data_format, **static_kwargs)
        architecture = self.kwargs["architecture"]
        if architecture not in ARCHITECTURES:
            raise InputError(f"architecture must be one of {ARCHITECTURES}, got {architecture!r}")
        self._create_noise_vars()
        self.blocks = []
        shape = [None, self.kwargs["dlatent_size"]]
        for r in range(2, self.res_log2 + 1):
            last = r == self.res_log2
            skip = None
            if architecture == "resnet" and r > 2:
                skip = blocks.sg2_conv("Skip", self.nf(r - 1), 1, resample="up", fir_kernel=self.fir_kernel,
                                       use_bias=False, **self.common)
            rgb = self.to_rgb("ToRGB", r) if architecture == "skip" or last else None
            block = blocks.SynthesisBlock(2 ** r, self.input_layers() if r == 2 else self.upper_layers(r), rgb=rgb,
                                          skip=skip, fir_kernel=self.fir_kernel, **self.common)
            self.blocks.append(self.build_child(block, shape))
            shape = block.compute_output_shape(shape)
        self.built = True

    @property
    def const(self):
        """The learned input ``4x4/Const/const`` ``[1, nf(1), 4, 4]``."""
        return self.blocks[0].main[0].const

    def call(self, dlatents_in, lod=None, *, resolution=None, randomize_noise=UNSET, fused_modconv=UNSET,
             force_clean_graph=False, rng=None):
        """``dlatents [N, num_layers, D]`` -> images ``[N, C, R, R]`` (NCHW). ``rng``: an optional
        ``tf.random.Generator`` (anything with ``normal(shape, dtype)``) for the noise of each conv layer, asked
        in layer order, when ``randomize_noise``. There is no progressive growing: ``lod`` is ignored (G_main
        passes it to every synthesis network) and ``resolution`` must be None or the full one;
        ``force_clean_graph`` is ignored too, as official."""
        del lod, force_clean_graph
        if resolution not in (None, self.kwargs["resolution"]):
            raise InputError(f"{self.build_func_name} has no progressive growing: resolution must be "
                             f"{self.kwargs['resolution']}, got {resolution}")
        randomize_noise = self._resolve("randomize_noise", randomize_noise)
        fused_modconv = modconv_implementation(self._resolve("fused_modconv", fused_modconv))
        dlatents = tf.cast(dlatents_in, self.compute_dtype)
        x, y = dlatents[:, 0], None
        noise = self.noise_function(randomize_noise, rng)
        for block in self.blocks:
            x, y = block(x, y, dlatents=dlatents, noise=noise, fused_modconv=fused_modconv)
        return ops.to_public(y, self.data_format)


class G_synthesis_stylegan_revised(_SynthesisBase):  # noqa: N801
    """The revised StyleGAN synthesis network of configs B-D (paper figure 2d): StyleGAN's progressive growing
    (``lod``, ``ToRGB_lod{k}``, structures 'fixed', 'linear', 'recursive') with StyleGAN2's layers (modulated
    convs with demodulation, scalar noise strength, FIR up-conv). The fade upsamples the lower image with the FIR
    ``upsample_2d``; above the current resolution the 'recursive' graph upsamples nearest, the 'linear' one with
    the FIR (official: the two differ there, and at lod 0 they agree).
    """

    build_func_name = "G_synthesis_stylegan_revised"
    DEFAULTS = dict(dlatent_size=512, num_channels=3, resolution=1024, fmap_base=16 << 10, fmap_decay=1.0,
                    fmap_min=1, fmap_max=512, randomize_noise=True, nonlinearity="lrelu", dtype="float32",
                    resample_kernel=[1, 3, 3, 1], fused_modconv=True, structure="auto", is_template_graph=False,
                    force_clean_graph=False)
    RUN_KWARGS = ("randomize_noise", "fused_modconv", "structure", "is_template_graph", "force_clean_graph")

    def __init__(self, name="G_synthesis", data_format="auto", **static_kwargs):
        super().__init__(name, data_format, **static_kwargs)
        k = self.kwargs
        networks_stylegan._check_structure(k["structure"])
        # Official creation order: lod, noise%d, then each block followed by its ToRGB_lod.
        self.lod = self._own_variable("lod", [], "zeros")
        self._create_noise_vars()
        self.levels = {}
        shape = [None, k["dlatent_size"]]
        for r in range(2, self.res_log2 + 1):
            block = blocks.Block(2 ** r, self.input_layers() if r == 2 else self.upper_layers(r), **self.common)
            self.build_child(block, shape)
            shape = block.compute_output_shape(shape)
            rgb = None
            if k["structure"] != "fixed" or r == self.res_log2:
                rgb = self.build_child(self.to_rgb(f"ToRGB_lod{self.res_log2 - r}", r), shape)
            self.levels[r] = Level(block, rgb)
        self.built = True

    def _upsample(self, structure, lod):
        """The fade's 2x upsampling ``(images, t) -> images`` (see the class docstring)."""
        def fir_up(images):
            return fir.upsample_2d(images, self.fir_kernel, data_format=self.data_format)

        if structure == "linear" or static_lod(lod) is not None:
            return lambda images, t: fir_up(images)
        # Symbolic lod on the 'recursive' graph: FIR where the level fades (t < 1), nearest above it.
        return lambda images, t: tf.where(t >= 1, ops.upscale2d(images, 2, self.data_format), fir_up(images))

    def call(self, dlatents_in, lod=None, *, resolution=None, randomize_noise=UNSET, fused_modconv=UNSET,
             structure=UNSET, is_template_graph=False, force_clean_graph=False, rng=None):
        """``dlatents [N, num_layers, D]`` -> images ``[N, C, R, R]`` (NCHW), as ``networks_stylegan.G_synthesis``
        (``lod``, ``resolution``, ``rng`` likewise)."""
        k = self.kwargs
        clean = is_template_graph or force_clean_graph
        randomize_noise = self._resolve("randomize_noise", randomize_noise) and not clean
        structure = networks_stylegan._check_structure(self._resolve("structure", structure))
        if structure == "auto":
            structure = "linear" if clean else "recursive"
        if structure == "fixed" and resolution not in (None, k["resolution"]):
            raise InputError("structure='fixed' has no progressive growing: resolution must be the full one")
        lod = self.lod if lod is None else lod
        top_log2 = None if resolution is None else resolution_log2(resolution)
        top_log2, fade_from = plan_resolutions(lod, self.res_log2, structure, top_log2)
        dtype = self.compute_dtype
        dlatents = tf.cast(dlatents_in, dtype)
        images = grow_images(dlatents[:, 0], self.levels, tf.cast(lod, dtype), self.res_log2, top_log2, fade_from,
                             self.data_format, upsample=self._upsample(structure, lod), dlatents=dlatents,
                             noise=self.noise_function(randomize_noise, rng),
                             fused_modconv=modconv_implementation(self._resolve("fused_modconv", fused_modconv)))
        if resolution is None:
            images = ops.upscale2d(images, 2 ** (self.res_log2 - top_log2), self.data_format)
        return ops.to_public(images, self.data_format)


SYNTHESIS_NETWORKS = {cls.build_func_name: cls for cls in (G_synthesis_stylegan2, G_synthesis_stylegan_revised)}


class G_main(StyleGenerator):  # noqa: N801
    """StyleGAN2's generator: ``latents [N, latent_size]``, ``labels [N, label_size]`` -> ``images [N, C, R, R]``
    (NCHW; with ``return_dlatents`` also the dlatents ``[N, num_layers, D]`` the synthesis ran on).

    mapping -> (training) ``dlatent_avg`` moving average -> (training) style mixing -> truncation
    ``lerp(dlatent_avg, w, psi)`` on layers ``< truncation_cutoff`` (None: all) -> synthesis. Components:
    ``synthesis`` (``synthesis_func``: ``G_synthesis_stylegan2`` or ``G_synthesis_stylegan_revised``) and
    ``mapping`` (StyleGAN2's ``G_mapping``, ``dlatent_broadcast = num_layers``); keyword arguments that are not
    G_main's own go to both, as official. ``lod`` is used for the style-mixing range and copied into a
    synthesis network that has one.
    """

    build_func_name = "G_main"
    CUTOFF_NONE_IS_ALL = True
    DEFAULTS = dict(truncation_psi=0.5, truncation_cutoff=None, truncation_psi_val=None, truncation_cutoff_val=None,
                    dlatent_avg_beta=0.995, style_mixing_prob=0.9, is_training=False, is_validation=False,
                    return_dlatents=False, is_template_graph=False, mapping_func="G_mapping",
                    synthesis_func="G_synthesis_stylegan2")
    _SYNTHESIS_RUN_KWARGS = tuple(dict.fromkeys(G_synthesis_stylegan2.RUN_KWARGS
                                                + G_synthesis_stylegan_revised.RUN_KWARGS))
    RUN_KWARGS = tuple(key for key in DEFAULTS if not key.endswith("_func")) + _SYNTHESIS_RUN_KWARGS

    def make_components(self, component_kwargs, synthesis, mapping):
        k = self.kwargs
        if k["mapping_func"] != "G_mapping" or k["synthesis_func"] not in SYNTHESIS_NETWORKS:
            raise InputError(f"G_main builds mapping_func 'G_mapping' and synthesis_func one of "
                             f"{sorted(SYNTHESIS_NETWORKS)}, got {k['mapping_func']!r}, {k['synthesis_func']!r}")
        synthesis = synthesis or SYNTHESIS_NETWORKS[k["synthesis_func"]](data_format=self.data_format,
                                                                          **component_kwargs)
        mapping = as_stylegan2_mapping(mapping or G_mapping(
            data_format=self.data_format, dlatent_broadcast=synthesis.dlatents_shape[1], **component_kwargs))
        return synthesis, mapping

    def call(self, latents_in, labels_in=None, *, lod=None, resolution=None, truncation_psi=UNSET,
             truncation_cutoff=UNSET, truncation_psi_val=UNSET, truncation_cutoff_val=UNSET,
             dlatent_avg_beta=UNSET, style_mixing_prob=UNSET, is_training=UNSET, is_validation=UNSET,
             return_dlatents=UNSET, is_template_graph=UNSET, style_mixing_draws=None, rng=None, **synthesis_kwargs):
        """Generate images ``[N, C, R, R]`` (NCHW), or ``(images, dlatents)`` with ``return_dlatents``.

        Keyword arguments default to the network's static ones, with official semantics: ``truncation_psi``
        None or 1 disables truncation, ``truncation_cutoff`` None truncates every layer; training disables
        truncation and enables the ``dlatent_avg`` update and style mixing (``StyleGenerator.run_settings``).
        ``lod`` overrides the ``lod`` variable. ``style_mixing_draws``: optional ``(latents2 [N, latent_size],
        uniform [], cutoff [] int32)`` replacing the random draws of style mixing; ``rng``: optional
        ``tf.random.Generator`` for all draws. Other keywords (``randomize_noise``, ``fused_modconv``,
        ``structure``) go to the synthesis network (those of the other synthesis family are ignored, as official).
        """
        settings = self.run_settings(truncation_psi, truncation_cutoff, truncation_psi_val, truncation_cutoff_val,
                                     dlatent_avg_beta, style_mixing_prob, is_training, is_validation)
        lod = self.call_lod(lod)
        dlatents = self.map_latents(latents_in, labels_in, lod, *settings, style_mixing_draws, rng)
        synthesis_kwargs = {key: v for key, v in synthesis_kwargs.items()
                            if key in self.synthesis.RUN_KWARGS or key not in self._SYNTHESIS_RUN_KWARGS}
        images = self.synthesis(dlatents, lod=lod, resolution=resolution,
                                force_clean_graph=self._resolve("is_template_graph", is_template_graph), rng=rng,
                                **synthesis_kwargs)
        return (images, dlatents) if self._resolve("return_dlatents", return_dlatents) else images


NETWORKS = {cls.build_func_name: keras.saving.register_keras_serializable(package="stylegan_tf")(cls)
            for cls in (G_synthesis_stylegan2, G_synthesis_stylegan_revised, G_main)}
keras.saving.register_keras_serializable(package="stylegan_tf", name="G_mapping_stylegan2")(G_mapping)
