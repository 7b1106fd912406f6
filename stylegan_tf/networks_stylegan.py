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
import keras
import numpy as np
import tensorflow as tf

from stylegan_tf import layers, ops
from stylegan_tf.network_base import (UNSET, DiscriminatorBase, OfficialNetwork, grow_features, grow_images,
                                      nf_function, plan_resolutions, resolution_log2)

STRUCTURES = ("auto", "fixed", "linear", "recursive")


def _check_structure(structure):
    if structure not in STRUCTURES:
        raise ValueError(f"structure must be one of {STRUCTURES}, got {structure!r}")
    return structure


def _check_nonlinearity(nonlinearity):
    if nonlinearity not in layers.NONLINEARITIES:
        raise ValueError(f"nonlinearity must be one of {layers.NONLINEARITIES}, got {nonlinearity!r}")
    return nonlinearity


class G_mapping(OfficialNetwork):  # noqa: N801 (official name)
    """Mapping network: ``latents [N, latent_size]`` (+ ``labels [N, label_size]``) ->
    ``dlatents [N, dlatent_broadcast, dlatent_size]`` (or ``[N, dlatent_size]`` without
    broadcast). z is pixel-normalized, then ``mapping_layers`` equalized-LR dense layers
    with ``mapping_lrmul``."""

    build_func_name = "G_mapping"
    DEFAULTS = dict(latent_size=512, label_size=0, dlatent_size=512, dlatent_broadcast=None,
                    mapping_layers=8, mapping_fmaps=512, mapping_lrmul=0.01, mapping_nonlinearity="lrelu",
                    use_wscale=True, normalize_latents=True, dtype="float32")

    def __init__(self, name="G_mapping", data_format="auto", **static_kwargs):
        super().__init__(name, data_format, **static_kwargs)
        k = self.kwargs
        self.nonlinearity = _check_nonlinearity(k["mapping_nonlinearity"])
        in_size = k["latent_size"]
        if k["label_size"]:
            self.label_weight = self._own_variable("LabelConcat/weight", [k["label_size"], k["latent_size"]],
                                                   "random_normal", trainable=True)
            in_size *= 2
        self.dense_layers = []
        for idx in range(k["mapping_layers"]):
            fmaps = k["dlatent_size"] if idx == k["mapping_layers"] - 1 else k["mapping_fmaps"]
            layer = layers.Dense(fmaps, gain=np.sqrt(2), use_wscale=k["use_wscale"], lrmul=k["mapping_lrmul"],
                                 data_format=self.data_format, dtype=self.dtype_policy, name=f"Dense{idx}")
            self.dense_layers.append(self._unit(f"Dense{idx}", layer, [None, in_size]))
            in_size = fmaps
        self.built = True

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
        if k["label_size"]:
            labels = tf.cast(labels_in, self.compute_dtype)
            x = tf.concat([x, tf.matmul(labels, tf.cast(self.label_weight, self.compute_dtype))], axis=1)
        if k["normalize_latents"]:
            x = ops.pixel_norm(x, axis=1)
        for layer in self.dense_layers:
            x = layers.activation(layer(x), self.nonlinearity)
        if k["dlatent_broadcast"] is not None:
            x = tf.tile(x[:, None], [1, k["dlatent_broadcast"], 1])
        return x


class G_synthesis(OfficialNetwork):  # noqa: N801
    """Synthesis network: ``dlatents [N, num_layers, dlatent_size]`` -> ``images [N, C, R, R]``.

    Learned 4x4 constant (or a dense layer), then per resolution an up-conv and a conv,
    each followed by the layer epilogue (noise, bias, lrelu, instance norm, style mod);
    ``ToRGB_lod{k}`` per level. ``num_layers = 2 * log2(R) - 2``.
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
        self.res_log2 = resolution_log2(k["resolution"])
        self.num_layers = self.res_log2 * 2 - 2
        nf = nf_function(k["fmap_base"], k["fmap_decay"], k["fmap_max"], self.res_log2)
        _check_nonlinearity(k["nonlinearity"])
        _check_structure(k["structure"])
        layers.check_fused_scale(k["fused_scale"])
        common = dict(data_format=self.data_format, dtype=self.dtype_policy)
        num_styles = self.num_layers if k["use_styles"] else 1
        self.dlatents_shape = [None, num_styles, k["dlatent_size"]]
        gain = np.sqrt(2)

        self.lod = self._own_variable("lod", [], "zeros")
        self.noise_vars = []
        if k["use_noise"]:
            for idx in range(self.num_layers):
                res = 2 ** (idx // 2 + 2)
                self.noise_vars.append(self._own_variable(f"noise{idx}", [1, 1, res, res], "random_normal"))

        def epilogue(scope, shape):
            layer = layers.LayerEpilogue(
                use_noise=k["use_noise"], use_pixel_norm=k["use_pixel_norm"],
                use_instance_norm=k["use_instance_norm"], use_styles=k["use_styles"],
                nonlinearity=k["nonlinearity"], use_wscale=k["use_wscale"], name=scope.split("/")[-1], **common)
            return self._unit(scope, layer, shape, k["dlatent_size"])

        fmap_shape = self.fmap_shape

        # 4x4: constant (or dense) input, then a 3x3 conv.
        c4 = self.input_fmaps = nf(1)
        if k["const_input_layer"]:
            self.const = self._own_variable("4x4/Const/const", [1, c4, 4, 4], "ones", trainable=True)
            self.input_layer = None
            self.input_epilogue = epilogue("4x4/Const", fmap_shape(c4, 4))
        else:
            self.input_layer = self._unit("4x4/Dense", layers.Dense(
                c4 * 16, gain=gain / 4, use_wscale=k["use_wscale"], use_bias=False, name="Dense", **common),
                [None, k["dlatent_size"]])
            self.input_epilogue = epilogue("4x4/Dense", fmap_shape(c4, 4))
        self.convs = {2: [(self._unit("4x4/Conv", layers.Conv2D(
            c4, 3, gain=gain, use_wscale=k["use_wscale"], use_bias=False, name="Conv", **common),
            fmap_shape(c4, 4)), epilogue("4x4/Conv", fmap_shape(c4, 4)))]}

        def to_rgb(res_log2, fmaps):
            scope = f"ToRGB_lod{self.res_log2 - res_log2}"
            return self._unit(scope, layers.Conv2D(k["num_channels"], 1, gain=1, use_wscale=k["use_wscale"],
                                                   name=scope, **common), fmap_shape(fmaps, 2 ** res_log2))

        fixed = k["structure"] == "fixed"
        self.torgb = {} if fixed else {2: to_rgb(2, c4)}
        self.blur = layers.Blur2D(k["blur_filter"], name="Blur2D", **common) if k["blur_filter"] else None
        for r in range(3, self.res_log2 + 1):
            res, c_in, c_out = 2 ** r, nf(r - 2), nf(r - 1)
            up = self._unit(f"{res}x{res}/Conv0_up", layers.Conv2D(
                c_out, 3, gain=gain, use_wscale=k["use_wscale"], use_bias=False, resample="up",
                fused_scale=k["fused_scale"], name="Conv0_up", **common), fmap_shape(c_in, res // 2))
            up_epi = epilogue(f"{res}x{res}/Conv0_up", fmap_shape(c_out, res))
            conv = self._unit(f"{res}x{res}/Conv1", layers.Conv2D(
                c_out, 3, gain=gain, use_wscale=k["use_wscale"], use_bias=False, name="Conv1", **common),
                fmap_shape(c_out, res))
            conv_epi = epilogue(f"{res}x{res}/Conv1", fmap_shape(c_out, res))
            self.convs[r] = [(up, up_epi), (conv, conv_epi)]
            if not fixed or r == self.res_log2:
                self.torgb[r] = to_rgb(r, c_out)
        self.built = True

    @property
    def input_shapes(self):
        return [self.dlatents_shape]

    @property
    def official_output_shape(self):
        k = self.kwargs
        return [None, k["num_channels"], k["resolution"], k["resolution"]]

    def _noise(self, layer_idx, x, randomize_noise, rng):
        if not self.noise_vars:
            return None
        if randomize_noise:
            h, w = ops.spatial_size(x, self.data_format)
            shape = [tf.shape(x)[0], 1, h, w] if self.data_format == "NCHW" else [tf.shape(x)[0], h, w, 1]
            if rng is not None:
                return rng.normal(shape, dtype=x.dtype)
            return tf.random.normal(shape, dtype=x.dtype)
        return ops.to_internal(tf.cast(self.noise_vars[layer_idx], x.dtype), self.data_format)

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
            raise ValueError("structure='fixed' has no progressive growing: resolution must be the full one")

        dtype = self.compute_dtype
        dlatents = tf.cast(dlatents_in, dtype)
        lod = tf.cast(lod, dtype)

        def style(idx):
            return dlatents[:, idx] if k["use_styles"] else dlatents[:, 0]

        # 4x4.
        if self.input_layer is None:
            x = tf.tile(ops.to_internal(tf.cast(self.const, dtype), self.data_format),
                        [tf.shape(dlatents)[0], 1, 1, 1])
        else:
            x = tf.reshape(self.input_layer(dlatents[:, 0]), [-1, self.input_fmaps, 4, 4])
            x = ops.to_internal(x, self.data_format)
        x = self.input_epilogue(x, style(0), self._noise(0, x, randomize_noise, rng))

        def block(x, r):
            for j, (conv, epi) in enumerate(self.convs[r]):
                layer_idx = 2 * r - 4 + j + (1 if r == 2 else 0)
                x = conv(x, fused_scale=fused_scale) if r > 2 and j == 0 else conv(x)
                if r > 2 and j == 0 and self.blur is not None:
                    x = self.blur(x)
                x = epi(x, style(layer_idx), self._noise(layer_idx, x, randomize_noise, rng))
            return x

        images = grow_images(x, block, lambda x, r: self.torgb[r](x), lod, self.res_log2, top_log2, fade_from,
                             self.data_format)
        if resolution is None:
            images = ops.upscale2d(images, 2 ** (self.res_log2 - top_log2), self.data_format)
        return ops.to_public(images, self.data_format)


class G_style(OfficialNetwork):  # noqa: N801
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

    def __init__(self, name="G", data_format="auto", synthesis=None, mapping=None, **static_kwargs):
        own = {key: v for key, v in static_kwargs.items() if key in self.DEFAULTS}
        component_kwargs = {key: v for key, v in static_kwargs.items() if key not in self.DEFAULTS}
        super().__init__(name, data_format, **static_kwargs)
        self.kwargs = {**self.DEFAULTS, **own}
        self.synthesis = synthesis or G_synthesis(data_format=self.data_format, **component_kwargs)
        self.num_layers, dlatent_size = self.synthesis.dlatents_shape[1:]
        self.mapping = mapping or G_mapping(data_format=self.data_format, dlatent_broadcast=self.num_layers,
                                            **component_kwargs)
        self.lod = self._own_variable("lod", [], "zeros")
        self.dlatent_avg = self._own_variable("dlatent_avg", [dlatent_size], "zeros")
        self.truncation = layers.Truncation(data_format=self.data_format, name="Truncation")
        self.built = True

    @property
    def components(self):
        return {"synthesis": self.synthesis, "mapping": self.mapping}

    @property
    def input_shapes(self):
        return self.mapping.input_shapes

    @property
    def official_output_shape(self):
        return self.synthesis.official_output_shape

    def call(self, latents_in, labels_in=None, *, lod=None, resolution=None, truncation_psi=UNSET,
             truncation_cutoff=UNSET, truncation_psi_val=UNSET, truncation_cutoff_val=UNSET,
             dlatent_avg_beta=UNSET, style_mixing_prob=UNSET, is_training=UNSET, is_validation=UNSET,
             is_template_graph=UNSET, style_mixing_draws=None, rng=None, **synthesis_kwargs):
        """Generate images ``[N, C, R, R]`` (NCHW).

        Keyword arguments default to the network's static ones (official semantics:
        ``truncation_psi`` None or 1, or ``truncation_cutoff`` None or <= 0, disables
        truncation; training disables truncation and enables the ``dlatent_avg`` update and
        style mixing). ``lod`` overrides the ``lod`` variable (which, as official, is copied
        into the synthesis network's ``lod``). ``style_mixing_draws``: optional
        ``(latents2 [N, latent_size], uniform [], cutoff [] int32)`` replacing the random
        draws of style mixing; ``rng``: optional ``tf.random.Generator`` for all draws.
        Other keywords (``randomize_noise``, ``fused_scale``, ``structure``) go to synthesis.
        """
        r = self._resolve
        psi, cutoff = r("truncation_psi", truncation_psi), r("truncation_cutoff", truncation_cutoff)
        is_training, is_validation = r("is_training", is_training), r("is_validation", is_validation)
        beta, mixing_prob = r("dlatent_avg_beta", dlatent_avg_beta), r("style_mixing_prob", style_mixing_prob)
        if is_training and is_validation:
            raise ValueError("is_training and is_validation cannot both be set")
        if is_validation:
            psi, cutoff = r("truncation_psi_val", truncation_psi_val), r("truncation_cutoff_val", truncation_cutoff_val)
        if is_training or (psi is not None and not tf.is_tensor(psi) and psi == 1):
            psi = None
        if is_training or (cutoff is not None and not tf.is_tensor(cutoff) and cutoff <= 0):
            cutoff = None
        if not is_training or (beta is not None and not tf.is_tensor(beta) and beta == 1):
            beta = None
        if not is_training or (mixing_prob is not None and not tf.is_tensor(mixing_prob) and mixing_prob <= 0):
            mixing_prob = None

        if lod is None:
            lod = tf.convert_to_tensor(self.lod)
        self.synthesis.lod.assign(tf.cast(lod, tf.float32))
        dlatents = self.mapping(latents_in, labels_in)

        if beta is not None:
            batch_avg = tf.reduce_mean(tf.cast(dlatents[:, 0], tf.float32), axis=0)
            self.dlatent_avg.assign(ops.lerp(batch_avg, tf.convert_to_tensor(self.dlatent_avg), beta))

        if mixing_prob is not None:
            dlatents = self._style_mix(dlatents, latents_in, labels_in, lod, mixing_prob, style_mixing_draws, rng)

        if psi is not None and cutoff is not None:
            dlatents = self.truncation(dlatents, self.dlatent_avg, psi=psi, cutoff=cutoff)

        template = r("is_template_graph", is_template_graph)
        return self.synthesis(dlatents, lod=lod, resolution=resolution, is_template_graph=template, rng=rng,
                              **synthesis_kwargs)

    def _style_mix(self, dlatents, latents_in, labels_in, lod, mixing_prob, draws, rng):
        """Layers ``>= cutoff`` take the styles of a second latent batch; with probability
        ``1 - mixing_prob`` the cutoff is ``cur_layers`` (no mixing)."""
        cur_layers = self.num_layers - tf.cast(lod, tf.int32) * 2
        if draws is None:
            if rng is None:
                latents2 = tf.random.normal(tf.shape(latents_in))
                uniform = tf.random.uniform([])
                cutoff = tf.random.uniform([], 1, tf.maximum(cur_layers, 2), dtype=tf.int32)
            else:
                latents2 = rng.normal(tf.shape(latents_in))
                uniform = rng.uniform([])
                cutoff = rng.uniform([], 1, tf.maximum(cur_layers, 2), dtype=tf.int32)
        else:
            latents2, uniform, cutoff = draws
        dlatents2 = self.mapping(latents2, labels_in)
        mixing_cutoff = tf.where(uniform < mixing_prob, tf.cast(cutoff, tf.int32), cur_layers)
        layer_idx = tf.range(self.num_layers)[None, :, None]
        return tf.where(layer_idx < mixing_cutoff, dlatents, tf.cast(dlatents2, dlatents.dtype))


class D_basic(DiscriminatorBase):  # noqa: N801
    """Discriminator: ``images [N, C, R, R]`` (NCHW), ``labels [N, label_size]`` -> ``scores [N, 1]``.

    ``FromRGB_lod{k}`` per level, blocks Conv0 -> blur -> Conv1_down, and at 4x4 minibatch
    stddev -> Conv -> Dense0 -> Dense1. Images smaller than R are taken as the current
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
        self.nonlinearity = _check_nonlinearity(k["nonlinearity"])
        _check_structure(k["structure"])
        layers.check_fused_scale(k["fused_scale"])
        common = dict(data_format=self.data_format, dtype=self.dtype_policy)
        gain, wscale = np.sqrt(2), k["use_wscale"]

        fmap_shape = self.fmap_shape

        def conv(scope, fmaps, kernel, c_in, res, **kw):
            return self._unit(scope, layers.Conv2D(fmaps, kernel, gain=gain, use_wscale=wscale,
                                                   name=scope.split("/")[-1], **common, **kw), fmap_shape(c_in, res))

        self.lod = self._own_variable("lod", [], "zeros")
        fixed = k["structure"] == "fixed"
        self.fromrgb, self.blocks = {}, {}
        for r in range(self.res_log2, 1, -1):
            res = 2 ** r
            if not fixed or r == self.res_log2:
                self.fromrgb[r] = conv(f"FromRGB_lod{self.res_log2 - r}", nf(r - 1), 1, k["num_channels"], res)
            if r >= 3:
                self.blocks[r] = [conv(f"{res}x{res}/Conv0", nf(r - 1), 3, nf(r - 1), res),
                                  conv(f"{res}x{res}/Conv1_down", nf(r - 2), 3, nf(r - 1), res, resample="down",
                                       fused_scale=k["fused_scale"])]
        c4 = nf(1)
        self.mbstd = (layers.MinibatchStddev(k["mbstd_group_size"], k["mbstd_num_features"], name="MinibatchStddev",
                                             **common) if k["mbstd_group_size"] > 1 else None)
        c_mbstd = c4 + (k["mbstd_num_features"] if self.mbstd is not None else 0)
        self.blocks[2] = [conv("4x4/Conv", nf(1), 3, c_mbstd, 4),
                          self._unit("4x4/Dense0", layers.Dense(nf(0), gain=gain, use_wscale=wscale, name="Dense0",
                                                                **common), [None, c4 * 16]),
                          self._unit("4x4/Dense1", layers.Dense(max(k["label_size"], 1), gain=1, use_wscale=wscale,
                                                                name="Dense1", **common), [None, nf(0)])]
        self.blur = layers.Blur2D(k["blur_filter"], name="Blur2D", **common) if k["blur_filter"] else None
        self.built = True

    def _block(self, x, r, fused_scale):
        act = self.nonlinearity
        if r >= 3:
            conv0, conv1 = self.blocks[r]
            x = layers.activation(conv0(x), act)
            if self.blur is not None:
                x = self.blur(x)
            return layers.activation(conv1(x, fused_scale=fused_scale), act)
        conv, dense0, dense1 = self.blocks[2]
        if self.mbstd is not None:
            x = self.mbstd(x)
        x = layers.activation(conv(x), act)
        x = layers.activation(dense0(x), act)
        return dense1(x)

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
            raise ValueError("structure='fixed' has no progressive growing: images must be full resolution")

        dtype = self.compute_dtype
        img = ops.to_internal(tf.cast(images_in, dtype), self.data_format)
        x = grow_features(img, lambda img, r: layers.activation(self.fromrgb[r](img), self.nonlinearity),
                          lambda x, r: self._block(x, r, fused_scale), tf.cast(lod, dtype), self.res_log2,
                          top_log2, fade_from, self.data_format)
        scores = self._block(x, 2, fused_scale)
        if k["label_size"]:
            scores = tf.reduce_sum(scores * tf.cast(labels_in, dtype), axis=1, keepdims=True)
        return scores


NETWORKS = {cls.build_func_name: keras.saving.register_keras_serializable(package="stylegan_tf")(cls)
            for cls in (G_mapping, G_synthesis, G_style, D_basic)}
