"""The official StyleGAN2 discriminators (``training/networks_stylegan2.py`` of NVlabs/stylegan2) as Keras models:
``D_stylegan2`` ('orig', 'skip', 'resnet'; no progressive growing) and the StyleGAN discriminator revised for
configs B-D, ``D_stylegan`` (progressive growing), with the official keyword arguments, defaults and variable
names.

Both take ``images [N, C, R, R]`` (NCHW) and ``labels [N, label_size]`` and return ``scores [N, 1]``; internally
a network runs in its ``data_format``. As in the StyleGAN2 generators, weights have gain 1 and the activation's
gain (sqrt(2) for lrelu) multiplies its output, and resampling is FIR (``resample_kernel``): ``Conv1_down`` is
``fir.conv_downsample_2d``. The minibatch stddev is StyleGAN's; the output layer is a top-level ``Output`` dense
(with labels, the score of the sample's class).
"""
import keras
import tensorflow as tf

from stylegan_tf import blocks, fir, layers, networks_stylegan, ops
from stylegan_tf.errors import InputError
from stylegan_tf.network_base import UNSET, DiscriminatorBase, Level, grow_features, nf_function, plan_resolutions, \
    resolution_log2

ARCHITECTURES = ("orig", "skip", "resnet")


class _DiscriminatorBase(DiscriminatorBase):
    """What both discriminators share: options, feature maps, the 4x4 layers, the ``Output`` layer."""

    def __init__(self, name, data_format, **static_kwargs):
        super().__init__(name, data_format, **static_kwargs)
        k = self.kwargs
        self.res_log2 = resolution_log2(k["resolution"])
        self.nf = nf_function(k["fmap_base"], k["fmap_decay"], k["fmap_max"], self.res_log2, k["fmap_min"])
        blocks.sg2_activation(k["nonlinearity"])  # checks it
        self.fir_kernel = layers.check_fir_kernel(k["resample_kernel"] or [1, 1])
        self.common = dict(data_format=self.data_format, dtype=self.dtype_policy)

    def conv_layers(self, r):
        """``Conv0`` (3x3) and ``Conv1_down`` (3x3 FIR down-conv) of the scope of resolution ``2**r``."""
        act, common = self.kwargs["nonlinearity"], self.common
        return [blocks.sg2_conv("Conv0", self.nf(r - 1), 3, act, **common),
                blocks.sg2_conv("Conv1_down", self.nf(r - 2), 3, act, resample="down", fir_kernel=self.fir_kernel,
                                **common)]

    def output_layers(self):
        """The 4x4 scope's minibatch stddev (``mbstd_group_size`` > 1), ``Conv`` and ``Dense0``."""
        k, common = self.kwargs, self.common
        mbstd = ([layers.MinibatchStddev(k["mbstd_group_size"], k["mbstd_num_features"], name="MinibatchStddev",
                                         **common)] if k["mbstd_group_size"] > 1 else [])
        return [*mbstd, blocks.sg2_conv("Conv", self.nf(1), 3, k["nonlinearity"], **common),
                blocks.sg2_dense("Dense0", self.nf(0), k["nonlinearity"], **common)]

    def from_rgb(self, name, r):
        return blocks.sg2_conv(name, self.nf(r - 1), 1, self.kwargs["nonlinearity"], **self.common)

    def build_output(self):
        """The top-level ``Output`` dense: ``[N, nf(0)]`` -> ``[N, max(label_size, 1)]``, linear."""
        self.output_layer = self.build_child(
            blocks.sg2_dense("Output", max(self.kwargs["label_size"], 1), **self.common), [None, self.nf(0)])

    def scores(self, x, labels_in):
        """``Output(x)``, with labels the score of each sample's class: ``[N, 1]``."""
        scores = self.output_layer(x)
        if self.kwargs["label_size"]:
            scores = tf.reduce_sum(scores * tf.cast(labels_in, scores.dtype), axis=1, keepdims=True)
        return scores


class D_stylegan2(_DiscriminatorBase):  # noqa: N801 (official name)
    """StyleGAN2's discriminator (paper figure 7): ``images [N, C, R, R]`` (full resolution) -> ``scores [N, 1]``.

    Scopes (``blocks.DiscriminatorStage``) from R down to 8: ``Conv0``, ``Conv1_down``, 'resnet' a ``Skip``;
    ``FromRGB`` at every resolution ('skip', on the FIR-downsampled images) or at the first only; 4x4: minibatch
    stddev, ``Conv``, ``Dense0``; then ``Output``. No ``lod`` variable.
    """

    build_func_name = "D_stylegan2"
    DEFAULTS = dict(num_channels=3, resolution=1024, label_size=0, fmap_base=16 << 10, fmap_decay=1.0, fmap_min=1,
                    fmap_max=512, architecture="resnet", nonlinearity="lrelu", mbstd_group_size=4,
                    mbstd_num_features=1, dtype="float32", resample_kernel=[1, 3, 3, 1])

    def __init__(self, name="D", data_format="auto", **static_kwargs):
        super().__init__(name, data_format, **static_kwargs)
        k, nf = self.kwargs, self.nf
        architecture = k["architecture"]
        if architecture not in ARCHITECTURES:
            raise InputError(f"architecture must be one of {ARCHITECTURES}, got {architecture!r}")
        self.stages, features_shape = [], None
        for r in range(self.res_log2, 1, -1):
            rgb = self.from_rgb("FromRGB", r) if architecture == "skip" or r == self.res_log2 else None
            skip = None
            if architecture == "resnet" and r > 2:
                skip = blocks.sg2_conv("Skip", nf(r - 2), 1, resample="down", fir_kernel=self.fir_kernel,
                                       use_bias=False, **self.common)
            stage = blocks.DiscriminatorStage(2 ** r, self.conv_layers(r) if r > 2 else self.output_layers(),
                                              rgb=rgb, skip=skip, fir_kernel=self.fir_kernel,
                                              downsample_images=architecture == "skip" and r > 2, **self.common)
            self.stages.append(self.build_child(stage, self.fmap_shape(k["num_channels"], 2 ** r), features_shape))
            features_shape = self.fmap_shape(nf(r - 2), 2 ** (r - 1))
        self.build_output()
        self.built = True

    def call(self, images_in, labels_in=None, *, lod=None):
        """``images [N, C, R, R]`` (NCHW) -> ``scores [N, 1]``. ``lod`` is ignored (no progressive growing)."""
        del lod
        if self._input_log2(images_in) != self.res_log2:
            raise InputError(f"{self.name} has no progressive growing: images must be {self.kwargs['resolution']}px")
        x, y = None, ops.to_internal(tf.cast(images_in, self.compute_dtype), self.data_format)
        for stage in self.stages:
            x, y = stage(y, x)
        return self.scores(x, labels_in)


class D_stylegan(_DiscriminatorBase):  # noqa: N801
    """The StyleGAN discriminator revised for StyleGAN2's configs B-D: ``D_basic``'s progressive growing
    (``lod``, ``FromRGB_lod{k}``, structures 'fixed', 'linear', 'recursive') with StyleGAN2's layers (gain after
    the activation, FIR ``Conv1_down``) and a top-level ``Output``. Images smaller than R are the current
    resolution of progressive growing. The fade's images are box-downscaled on the 'recursive' graph and
    FIR-downsampled on the 'linear' one (official: the two differ at lod > 0 and agree at lod 0).
    """

    build_func_name = "D_stylegan"
    DEFAULTS = dict(num_channels=3, resolution=1024, label_size=0, fmap_base=16 << 10, fmap_decay=1.0, fmap_min=1,
                    fmap_max=512, nonlinearity="lrelu", mbstd_group_size=4, mbstd_num_features=1, dtype="float32",
                    resample_kernel=[1, 3, 3, 1], structure="auto", is_template_graph=False)
    RUN_KWARGS = ("structure", "is_template_graph")

    def __init__(self, name="D", data_format="auto", **static_kwargs):
        super().__init__(name, data_format, **static_kwargs)
        k, nf = self.kwargs, self.nf
        networks_stylegan._check_structure(k["structure"])
        # Official creation order: lod, then from R down to 4x4 each FromRGB_lod followed by its block; Output.
        self.lod = self._own_variable("lod", [], "zeros")
        self.levels = {}
        for r in range(self.res_log2, 1, -1):
            rgb = None
            if k["structure"] != "fixed" or r == self.res_log2:
                rgb = self.build_child(self.from_rgb(f"FromRGB_lod{self.res_log2 - r}", r),
                                       self.fmap_shape(k["num_channels"], 2 ** r))
            block = blocks.Block(2 ** r, self.conv_layers(r) if r > 2 else self.output_layers(), **self.common)
            self.levels[r] = Level(self.build_child(block, self.fmap_shape(nf(r - 1), 2 ** r)), rgb)
        self.build_output()
        self.built = True

    def _fir_downsample(self, images):
        return fir.downsample_2d(images, self.fir_kernel, data_format=self.data_format)

    def call(self, images_in, labels_in=None, *, lod=None, structure=UNSET, is_template_graph=UNSET):
        """``images [N, C, r, r]`` (NCHW, r <= R) -> ``scores [N, 1]``, as ``networks_stylegan.D_basic``."""
        structure = networks_stylegan._check_structure(self._resolve("structure", structure))
        if structure == "auto":
            structure = "linear" if self._resolve("is_template_graph", is_template_graph) else "recursive"
        lod = self.lod if lod is None else lod
        in_log2 = self._input_log2(images_in)
        if structure == "fixed" and in_log2 != self.res_log2:
            raise InputError("structure='fixed' has no progressive growing: images must be full resolution")
        top_log2, fade_from = plan_resolutions(lod, self.res_log2, structure,
                                               in_log2 if in_log2 < self.res_log2 else None)
        downsample = self._fir_downsample if structure == "linear" else None
        dtype = self.compute_dtype
        x = grow_features(ops.to_internal(tf.cast(images_in, dtype), self.data_format), self.levels,
                          tf.cast(lod, dtype), self.res_log2, top_log2, fade_from, self.data_format,
                          downsample=downsample)
        return self.scores(x, labels_in)


NETWORKS = {cls.build_func_name: keras.saving.register_keras_serializable(package="stylegan_tf")(cls)
            for cls in (D_stylegan2, D_stylegan)}
