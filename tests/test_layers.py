"""The Keras layers and blocks of ``stylegan_tf.layers`` / ``stylegan_tf.blocks``: every layer's
config round trip (an equal config and the same outputs on the same weights), its output against
NumPy references of the official formulas (NCHW, with the layers run in NHWC; StyleGAN2's FIR
resampling as the official fixture's README spells it out), its official variable names and
creation order, and variable reuse (``stylegan_tf.scopes``)."""
import numpy as np
import pytest
import tensorflow as tf

from stylegan_tf import blocks, layers
from stylegan_tf.scopes import VariableMismatchError, reusing_variables

RNG = np.random.RandomState(7)
NHWC = dict(data_format="NHWC")


# ----------------------------------------------------------------------------
# NumPy references (NCHW, float64).

def np_lrelu(x):
    return np.where(x >= 0, x, 0.2 * x)


def np_conv(x, w):
    """'SAME' cross-correlation of ``x [N, C, H, W]`` with ``w [k, k, C, F]`` (odd k)."""
    k, h, wd = w.shape[0], x.shape[2], x.shape[3]
    padded = np.pad(x, [(0, 0), (0, 0), (k // 2, k // 2), (k // 2, k // 2)])
    return sum(np.einsum("nchw,cf->nfhw", padded[:, :, i:i + h, j:j + wd], w[i, j])
               for i in range(k) for j in range(k))


def np_blur(x):
    """The official [1, 2, 1] x [1, 2, 1] / 16 filter on every channel."""
    f = np.outer([1, 2, 1], [1, 2, 1]) / 16.0
    return np_conv(x.reshape(-1, 1, *x.shape[2:]), f[:, :, None, None]).reshape(x.shape)


def np_upscale(x):
    return x.repeat(2, axis=2).repeat(2, axis=3)


def np_downscale(x):
    n, c, h, w = x.shape
    return x.reshape(n, c, h // 2, 2, w // 2, 2).mean(axis=(3, 5))


FIR = np.outer([1, 3, 3, 1], [1, 3, 3, 1]) / 64.0  # StyleGAN2's default resample_kernel, normalized


def np_valid(x, w, stride=1):
    """'VALID' cross-correlation of ``x [N, C, H, W]`` with ``w [k, k, C, F]`` at ``stride``."""
    k = w.shape[0]
    ho, wo = (x.shape[2] - k) // stride + 1, (x.shape[3] - k) // stride + 1
    return sum(np.einsum("nchw,cf->nfhw", x[:, :, i:i + stride * ho:stride, j:j + stride * wo:stride], w[i, j])
               for i in range(k) for j in range(k))


def np_pad(x, before, after):
    return np.pad(x, [(0, 0), (0, 0), (before, after), (before, after)])


def np_fir(x, gain=1.0):
    """The FIR on every channel ('VALID'; the kernel is symmetric, so convolution = correlation)."""
    n, c, h, w = x.shape
    return np_valid(x.reshape(n * c, 1, h, w), FIR[:, :, None, None] * gain).reshape(n, c, h - 3, w - 3)


def np_zero_insert(x):
    out = np.zeros([x.shape[0], x.shape[1], 2 * x.shape[2], 2 * x.shape[3]])
    out[:, :, ::2, ::2] = x
    return out


def np_upsample_2d(x):
    """Official ``upsample_2d``: zero insertion, pad (2, 1), FIR x 4."""
    return np_fir(np_pad(np_zero_insert(x), 2, 1), 4.0)


def np_upsample_conv_2d(x, w):
    """Official ``upsample_conv_2d`` of a 3x3 kernel: zero insertion, pad (2, 1), 3x3 'VALID' correlation with the
    kernel as stored, pad (1, 1), FIR x 4."""
    return np_fir(np_pad(np_valid(np_pad(np_zero_insert(x), 2, 1), w), 1, 1), 4.0)


def np_conv_downsample_2d(x, w):
    """Official ``conv_downsample_2d``: FIR with pad (2, 2) (3x3 kernel) or (1, 1) (1x1), stride-2 'VALID' conv."""
    pad = 2 if w.shape[0] == 3 else 1
    return np_valid(np_fir(np_pad(x, pad, pad)), w, stride=2)


def np_modulated_conv(x, w, dlatent, mod_weight, mod_bias, demodulate=True, up=False):
    """Official ``modulated_conv2d_layer``: style ``s = dlatent @ mod_weight / sqrt(D) + mod_bias + 1``, per-sample
    kernel ``w / sqrt(k k I) * s[in]`` (demodulated: each output channel to unit norm, eps 1e-8), conv."""
    s = dlatent @ (mod_weight / np.sqrt(mod_weight.shape[0])) + mod_bias + 1
    out = []
    for n in range(x.shape[0]):
        ww = w / np.sqrt(np.prod(w.shape[:-1])) * s[n][None, None, :, None]
        if demodulate:
            ww = ww / np.sqrt(np.sum(ww ** 2, axis=(0, 1, 2)) + 1e-8)
        out.append(np_upsample_conv_2d(x[n:n + 1], ww) if up else np_conv(x[n:n + 1], ww))
    return np.concatenate(out)


def he_coef(w, gain=np.sqrt(2)):
    """Equalized learning rate: the run-time multiplier of a weight (fan_in = all but the last dim)."""
    return gain / np.sqrt(np.prod(w.shape[:-1]))


def nhwc(x):
    return tf.constant(np.transpose(x, [0, 2, 3, 1]).astype(np.float32))


def nchw(t):
    return np.transpose(t.numpy(), [0, 3, 1, 2]).astype(np.float64)


def randomize(layer, seed=0):
    """N(0, 1) values in every variable (biases, noise and style weights start at 0)."""
    rng = np.random.RandomState(seed)
    values = {}
    for name, var in layer.official_variables():
        var.assign(np.asarray(rng.randn(*var.shape), np.float32))
        values[name] = var.numpy().astype(np.float64)
    return values


def noise_images(images):
    """A layer's ``noise`` argument answering with fixed images by layer index."""
    return lambda layer_index, x: images[layer_index]


# ----------------------------------------------------------------------------
# Config round trips.

def _dense_with_epilogue():
    return layers.Dense(6, gain=1.5, lrmul=0.1, nonlinearity="relu", use_noise=True, use_pixel_norm=True,
                        pixel_norm_epsilon=1e-4, use_instance_norm=True, dlatent_size=5, layer_index=1,
                        map_resolution=4, **NHWC)


ROUND_TRIPS = {  # name: (layer, build shapes, call inputs, call kwargs)
    "Dense": (layers.Dense(5, lrmul=0.1, nonlinearity="lrelu", use_pixel_norm=True, **NHWC),
              [(None, 7)], [RNG.randn(3, 7)], {}),
    "Dense_epilogue": (_dense_with_epilogue(), [(None, 7)], [RNG.randn(3, 7)],
                       dict(dlatents=RNG.randn(3, 2, 5), noise=noise_images({1: RNG.randn(3, 4, 4, 1)}))),
    "Conv2D": (layers.Conv2D(4, 3, resample="up", fused_scale=True, blur_filter=[1, 2, 1], nonlinearity="lrelu",
                             use_noise=True, layer_index=0, **NHWC), [(None, 6, 6, 3)], [RNG.randn(2, 6, 6, 3)],
               dict(noise=noise_images({0: RNG.randn(2, 12, 12, 1)}))),
    "ConstInput": (layers.ConstInput(3, use_instance_norm=True, dlatent_size=4, layer_index=0, **NHWC),
                   [(None, 4)], [RNG.randn(2, 4)], dict(dlatents=RNG.randn(2, 1, 4))),
    "NoiseInput": (layers.NoiseInput(name="Noise", **NHWC), [(None, 4, 4, 3)], [RNG.randn(2, 4, 4, 3),
                                                                               RNG.randn(1, 4, 4, 1)], {}),
    "LabelConcat": (layers.LabelConcat(name="LabelConcat", **NHWC), [(None, 4), (None, 3)],
                    [RNG.randn(2, 4), RNG.randn(2, 3)], {}),
    "MinibatchStddev": (layers.MinibatchStddev(2, 2, **NHWC), [(None, 2, 2, 4)], [RNG.randn(4, 2, 2, 4)], {}),
    "Downscale2D": (layers.Downscale2D(4, **NHWC), [(None, 8, 8, 2)], [RNG.randn(2, 8, 8, 2)], {}),
    "Truncation": (layers.Truncation(**NHWC), [], [RNG.randn(2, 4, 3), RNG.randn(3)], dict(psi=0.7, cutoff=2)),
    "Block": (blocks.discriminator_output_block(4, 5, 2, "lrelu", mbstd_group_size=2, use_wscale=True,
                                                data_format="NHWC", dtype="float32"),
              [(None, 4, 4, 3)], [RNG.randn(4, 4, 4, 3)], {}),
    "ModulatedConv2D": (layers.ModulatedConv2D(4, 3, 5, resample="up", fused_modconv=False, layer_index=1,
                                               use_noise=True, scalar_noise=True, nonlinearity="lrelu",
                                               activation_gain=np.sqrt(2), **NHWC),
                        [(None, 4, 4, 3)], [RNG.randn(2, 4, 4, 3)],
                        dict(dlatents=RNG.randn(2, 3, 5), noise=noise_images({1: RNG.randn(2, 8, 8, 1)}))),
    "Conv2D_fir": (layers.Conv2D(4, 3, gain=1, resample="down", fir_kernel=[1, 3, 3, 1], nonlinearity="lrelu",
                                 activation_gain=np.sqrt(2), **NHWC), [(None, 8, 8, 3)], [RNG.randn(2, 8, 8, 3)], {}),
    "ConstInput_normal": (layers.ConstInput(3, initializer="normal", use_bias=False, **NHWC), [(None, 4)],
                          [RNG.randn(2, 4)], {}),
    "Truncation_all": (layers.Truncation(cutoff_none_is_all=True, **NHWC), [], [RNG.randn(2, 4, 3), RNG.randn(3)],
                       dict(psi=0.7, cutoff=None)),
    "SynthesisBlock": (blocks.SynthesisBlock(
        8, [blocks.sg2_synthesis_layer("Conv0_up", 4, 1, 5, "lrelu", up=True, fir_kernel=[1, 3, 3, 1], **NHWC),
            blocks.sg2_synthesis_layer("Conv1", 4, 2, 5, "lrelu", **NHWC)],
        rgb=blocks.sg2_to_rgb("ToRGB", 3, 3, 5, **NHWC),
        skip=blocks.sg2_conv("Skip", 4, 1, resample="up", fir_kernel=[1, 3, 3, 1], use_bias=False, **NHWC),
        fir_kernel=[1, 3, 3, 1], **NHWC), [(None, 4, 4, 2)], [RNG.randn(2, 4, 4, 2)],
        dict(y=RNG.randn(2, 4, 4, 3), dlatents=RNG.randn(2, 4, 5),
             noise=noise_images({1: RNG.randn(2, 8, 8, 1), 2: RNG.randn(2, 8, 8, 1)}))),
    "DiscriminatorStage": (blocks.DiscriminatorStage(
        8, [blocks.sg2_conv("Conv0", 4, 3, "lrelu", **NHWC),
            blocks.sg2_conv("Conv1_down", 5, 3, "lrelu", resample="down", fir_kernel=[1, 3, 3, 1], **NHWC)],
        rgb=blocks.sg2_conv("FromRGB", 4, 1, "lrelu", **NHWC),
        skip=blocks.sg2_conv("Skip", 5, 1, resample="down", fir_kernel=[1, 3, 3, 1], use_bias=False, **NHWC),
        fir_kernel=[1, 3, 3, 1], downsample_images=True, **NHWC), [(None, 8, 8, 3)], [RNG.randn(2, 8, 8, 3)], {}),
}


@pytest.mark.parametrize("name", sorted(ROUND_TRIPS))
def test_config_round_trip_gives_the_same_layer(name):
    layer, shapes, inputs, kwargs = ROUND_TRIPS[name]
    clone = type(layer).from_config(layer.get_config())
    assert clone.get_config() == layer.get_config()
    for net in (layer, clone):
        if shapes and not net.built:
            net.build(*shapes)
    values = randomize(layer)
    for var_name, var in clone.official_variables():
        var.assign(values[var_name])
    assert [n for n, _ in clone.official_variables()] == [n for n, _ in layer.official_variables()]
    tensors = [tf.constant(x, tf.float32) for x in inputs]
    kwargs = {k: tf.constant(v, tf.float32) if isinstance(v, np.ndarray) else v for k, v in kwargs.items()}
    for got, expected in zip(tf.nest.flatten(clone(*tensors, **kwargs)), tf.nest.flatten(layer(*tensors, **kwargs))):
        np.testing.assert_array_equal(got.numpy(), expected.numpy())


# ----------------------------------------------------------------------------
# Outputs against the official formulas.

def test_dense_with_the_whole_epilogue_against_numpy():
    """dense (lrmul) -> reshape NCHW to 4x4 -> noise -> bias * lrmul -> relu -> pixel norm ->
    instance norm -> style modulation with dlatents[:, layer_index]; official variable order."""
    layer = _dense_with_epilogue()
    layer.build((None, 7))
    assert [n for n, _ in layer.official_variables()] == [
        "weight", "Noise/weight", "bias", "StyleMod/weight", "StyleMod/bias"]
    v = randomize(layer, 1)
    x, dlatents, noise = RNG.randn(3, 7), RNG.randn(3, 2, 5), RNG.randn(3, 1, 4, 4)
    got = nchw(layer(tf.constant(x, tf.float32), dlatents=tf.constant(dlatents, tf.float32),
                     noise=noise_images({1: nhwc(noise)})))

    y = (x @ (v["weight"] * he_coef(v["weight"], 1.5) * 0.1)).reshape(3, 6, 4, 4)
    y = y + noise * v["Noise/weight"][None, :, None, None]
    y = np.maximum(y + v["bias"][None, :, None, None] * 0.1, 0)
    y = y / np.sqrt(np.mean(y ** 2, axis=1, keepdims=True) + 1e-4)
    y = y - y.mean(axis=(2, 3), keepdims=True)
    y = y / np.sqrt(np.mean(y ** 2, axis=(2, 3), keepdims=True) + 1e-8)
    style = dlatents[:, 1] @ (v["StyleMod/weight"] * he_coef(v["StyleMod/weight"], 1.0)) + v["StyleMod/bias"]
    expected = y * (style[:, :6, None, None] + 1) + style[:, 6:, None, None]
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-4)


def test_dense_flattens_feature_maps_in_nchw_order():
    """Without equalized learning rate the weight is used as stored (its init std is the He std)."""
    layer = layers.Dense(3, use_wscale=False, use_bias=False, **NHWC)
    layer.build((None, 2, 2, 5))
    v = randomize(layer, 2)
    x = RNG.randn(2, 5, 2, 2)
    np.testing.assert_allclose(layer(nhwc(x)).numpy(), x.reshape(2, 20) @ v["weight"], rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("resample, fused", [(None, False), ("up", False), ("up", True), ("down", False),
                                             ("down", True)])
def test_conv2d_against_numpy(resample, fused):
    """Plain conv; 2x up-conv then blur (fused: the kernel flipped in H and W, official); blur then
    conv then 2x2 average (fused or not, the same function); then bias and leaky ReLU."""
    layer = layers.Conv2D(4, 3, resample=resample, fused_scale=fused, blur_filter=[1, 2, 1] if resample else None,
                          nonlinearity="lrelu", **NHWC)
    layer.build((None, 8, 8, 3))
    v = randomize(layer, 3)
    x = RNG.randn(2, 3, 8, 8)
    w = v["weight"] * he_coef(v["weight"])
    if resample == "up":
        expected = np_blur(np_conv(np_upscale(x), w[::-1, ::-1] if fused else w))
    elif resample == "down":
        expected = np_downscale(np_conv(np_blur(x), w))
    else:
        expected = np_conv(x, w)
    expected = np_lrelu(expected + v["bias"][None, :, None, None])
    np.testing.assert_allclose(nchw(layer(nhwc(x))), expected, rtol=1e-4, atol=1e-4)
    assert tuple(layer.compute_output_shape((2, 8, 8, 3))) == tuple(layer(nhwc(x)).shape)


def test_conv2d_fused_scale_auto_fuses_from_128_pixels():
    up = layers.Conv2D(2, 3, resample="up", **NHWC)
    down = layers.Conv2D(2, 3, resample="down", **NHWC)
    assert up.is_fused(tf.zeros([1, 64, 64, 1])) and not up.is_fused(tf.zeros([1, 32, 32, 1]))
    assert down.is_fused(tf.zeros([1, 128, 128, 1])) and not down.is_fused(tf.zeros([1, 64, 64, 1]))
    assert not up.is_fused(tf.zeros([1, 64, 64, 1]), fused_scale=False)
    with pytest.raises(ValueError, match="fused_scale must be"):
        layers.Conv2D(2, 3, fused_scale="yes")


def test_const_input_is_the_learned_constant_for_every_sample():
    layer = layers.ConstInput(3, name="Const", **NHWC)
    layer.build((None, 8))
    v = randomize(layer, 4)
    got = nchw(layer(tf.zeros([5, 8])))
    np.testing.assert_allclose(got, np.repeat(v["const"], 5, axis=0) + v["bias"][None, :, None, None], rtol=1e-6)


def test_noise_input_and_label_concat_against_numpy():
    noise = layers.NoiseInput(**NHWC)
    noise.build((None, 4, 4, 3))
    v = randomize(noise, 5)
    x, image = RNG.randn(2, 3, 4, 4), RNG.randn(1, 1, 4, 4)
    np.testing.assert_allclose(nchw(noise(nhwc(x), nhwc(image))), x + image * v["weight"][None, :, None, None],
                               rtol=1e-5, atol=1e-6)
    concat = layers.LabelConcat(**NHWC)
    concat.build((None, 4), (None, 3))
    v = randomize(concat, 6)
    z, labels = RNG.randn(2, 4), RNG.randn(2, 3)
    got = concat(tf.constant(z, tf.float32), tf.constant(labels, tf.float32)).numpy()
    np.testing.assert_allclose(got, np.concatenate([z, labels @ v["weight"]], axis=1), rtol=1e-5, atol=1e-5)


def test_minibatch_stddev_against_numpy():
    """Groups strided over the batch (sample i in group i mod N/G), population std, averaged over
    each feature's channels and the pixels, appended as the last maps."""
    x = RNG.randn(8, 4, 3, 3)
    got = nchw(layers.MinibatchStddev(4, 2, **NHWC)(nhwc(x)))
    groups = x.reshape(4, 2, 2, 2, 3, 3)  # [G, N/G, F, C/F, H, W]
    std = np.sqrt(groups.var(axis=0) + 1e-8).mean(axis=(2, 3, 4))  # [N/G, F]
    expected = np.concatenate([x, np.tile(std, [4, 1])[:, :, None, None] * np.ones([1, 1, 3, 3])], axis=1)
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)


def test_downscale_and_truncation_against_numpy():
    x = RNG.randn(2, 3, 8, 8)
    np.testing.assert_allclose(nchw(layers.Downscale2D(2, **NHWC)(nhwc(x))), np_downscale(x), rtol=1e-5, atol=1e-6)
    w, avg = RNG.randn(2, 5, 3), RNG.randn(3)
    got = layers.Truncation()(tf.constant(w, tf.float32), tf.constant(avg, tf.float32), psi=0.7, cutoff=3).numpy()
    expected = w.copy()
    expected[:, :3] = avg + (w[:, :3] - avg) * 0.7
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)


def test_truncation_cutoff_none_is_no_layer_or_every_layer():
    w, avg = RNG.randn(2, 5, 3), RNG.randn(3)
    args = tf.constant(w, tf.float32), tf.constant(avg, tf.float32)
    np.testing.assert_allclose(layers.Truncation()(*args, psi=0.7, cutoff=None).numpy(), w, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(layers.Truncation(cutoff_none_is_all=True)(*args, psi=0.7, cutoff=None).numpy(),
                               avg + (w - avg) * 0.7, rtol=1e-5, atol=1e-6)
    assert layers.Truncation(cutoff_none_is_all=True).layers_below(None, 5) == 5
    assert layers.Truncation().layers_below(None, 5) == 0 and layers.Truncation().layers_below(3, 5) == 3


# ----------------------------------------------------------------------------
# StyleGAN2 layers against the official formulas.

@pytest.mark.parametrize("up", [False, True])
@pytest.mark.parametrize("fused", [False, True])
def test_modulated_conv2d_layer_against_numpy(up, fused):
    """Modulated, demodulated 3x3 conv (FIR up-conv with ``up``), then noise times the scalar ``noise_strength``,
    bias, lrelu times sqrt(2); official variable order; fused and unfused agree."""
    layer = layers.ModulatedConv2D(4, 3, 5, resample="up" if up else None, fused_modconv=fused, layer_index=1,
                                   use_noise=True, scalar_noise=True, nonlinearity="lrelu",
                                   activation_gain=np.sqrt(2), **NHWC)
    layer.build((None, 6, 6, 3))
    assert [n for n, _ in layer.official_variables()] == ["weight", "mod_weight", "mod_bias", "noise_strength", "bias"]
    v = randomize(layer, 11)
    size = 12 if up else 6
    x, dlatents, noise = RNG.randn(2, 3, 6, 6), RNG.randn(2, 3, 5), RNG.randn(2, 1, size, size)
    got = nchw(layer(nhwc(x), dlatents=tf.constant(dlatents, tf.float32), noise=noise_images({1: nhwc(noise)})))
    y = np_modulated_conv(x, v["weight"], dlatents[:, 1], v["mod_weight"], v["mod_bias"], up=up)
    expected = np_lrelu(y + noise * v["noise_strength"] + v["bias"][None, :, None, None]) * np.sqrt(2)
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-4 * np.abs(expected).max())


def test_to_rgb_is_a_modulated_1x1_conv_without_demodulation():
    layer = blocks.sg2_to_rgb("ToRGB", 3, 2, 5, fused_modconv=False, **NHWC)
    layer.build((None, 4, 4, 6))
    assert [n for n, _ in layer.official_variables()] == ["weight", "mod_weight", "mod_bias", "bias"]
    v = randomize(layer, 12)
    x, dlatents = RNG.randn(2, 6, 4, 4), RNG.randn(2, 4, 5)
    got = nchw(layer(nhwc(x), dlatents=tf.constant(dlatents, tf.float32)))
    expected = np_modulated_conv(x, v["weight"], dlatents[:, 2], v["mod_weight"], v["mod_bias"], demodulate=False)
    np.testing.assert_allclose(got, expected + v["bias"][None, :, None, None], rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("kernel", [1, 3])
def test_conv2d_fir_downsampling_against_numpy(kernel):
    """StyleGAN2's ``Conv1_down`` (3x3) and ``Skip`` (1x1): FIR, then a stride-2 'VALID' conv; gain 1; bias and
    lrelu times sqrt(2) (``Skip``: neither)."""
    act = dict(nonlinearity="lrelu", activation_gain=np.sqrt(2)) if kernel == 3 else dict(use_bias=False)
    layer = layers.Conv2D(4, kernel, gain=1, resample="down", fir_kernel=[1, 3, 3, 1], **act, **NHWC)
    layer.build((None, 8, 8, 3))
    v = randomize(layer, 13)
    x = RNG.randn(2, 3, 8, 8)
    expected = np_conv_downsample_2d(x, v["weight"] * he_coef(v["weight"], 1.0))
    if kernel == 3:
        expected = np_lrelu(expected + v["bias"][None, :, None, None]) * np.sqrt(2)
    np.testing.assert_allclose(nchw(layer(nhwc(x))), expected, rtol=1e-4, atol=1e-4)


def test_conv2d_fir_upsampling_against_numpy():
    """``upsample_conv_2d`` of a 3x3 kernel is not 'upsample, then SAME conv': see ``np_upsample_conv_2d``."""
    layer = layers.Conv2D(4, 3, gain=1, resample="up", fir_kernel=[1, 3, 3, 1], use_bias=False, **NHWC)
    layer.build((None, 5, 5, 3))
    v = randomize(layer, 14)
    x = RNG.randn(2, 3, 5, 5)
    expected = np_upsample_conv_2d(x, v["weight"] * he_coef(v["weight"], 1.0))
    np.testing.assert_allclose(nchw(layer(nhwc(x))), expected, rtol=1e-4, atol=1e-4)
    with pytest.raises(ValueError, match="exclude each other"):
        layers.Conv2D(4, 3, resample="up", blur_filter=[1, 2, 1], fir_kernel=[1, 3, 3, 1])
    with pytest.raises(ValueError, match="fir_kernel must be"):
        layers.Conv2D(4, 3, resample="up", fir_kernel=[[1, 2], [3, 4]])


def test_const_input_initializers():
    ones = layers.ConstInput(6, **NHWC)
    normal = layers.ConstInput(6, initializer="normal", use_bias=False, name="Const", **NHWC)
    for layer in (ones, normal):
        layer.build((None, 4))
    np.testing.assert_array_equal(ones.const.numpy(), np.ones([1, 6, 4, 4]))
    assert [n for n, _ in normal.official_variables()] == ["const"] and np.std(normal.const.numpy()) > 0.5
    np.testing.assert_array_equal(nchw(normal(tf.zeros([2, 4]))), np.repeat(normal.const.numpy(), 2, axis=0))
    with pytest.raises(ValueError, match="initializer must be"):
        layers.ConstInput(6, initializer="zeros")


# ----------------------------------------------------------------------------
# Blocks, official names, reuse.

def test_block_runs_its_layers_in_order_and_names_them_by_scope():
    block = blocks.generator_block(8, 4, layer_indices=iter([2, 3]), use_noise=True, nonlinearity="lrelu",
                                   blur_filter=[1, 2, 1], **NHWC)
    block.build((None, 4, 4, 6))
    assert block.name == "8x8" and [layer.layer_index for layer in block.sublayers] == [2, 3]
    assert [n for n, _ in block.official_variables()] == [
        "Conv0_up/weight", "Conv0_up/Noise/weight", "Conv0_up/bias", "Conv1/weight", "Conv1/Noise/weight",
        "Conv1/bias"]
    randomize(block, 8)
    x = nhwc(RNG.randn(2, 6, 4, 4))
    noise = noise_images({2: nhwc(RNG.randn(2, 1, 8, 8)), 3: nhwc(RNG.randn(2, 1, 8, 8))})
    up, conv = block.sublayers
    np.testing.assert_array_equal(block(x, noise=noise).numpy(), conv(up(x, noise=noise), noise=noise).numpy())


def test_discriminator_blocks_pool_after_the_activation_or_resample_in_the_conv():
    common = dict(use_wscale=True, data_format="NHWC", dtype="float32")
    pool = blocks.discriminator_block(8, 3, 5, "lrelu", downscale="pool", **common)
    conv = blocks.discriminator_block(8, 3, 5, "lrelu", fused_scale=True, **common)
    assert [layer.name for layer in pool.sublayers] == ["Conv0", "Conv1", "Downscale2D"]
    assert [layer.name for layer in conv.sublayers] == ["Conv0", "Conv1_down"]
    for block in (pool, conv):
        block.build((None, 8, 8, 2))
        assert block.compute_output_shape((None, 8, 8, 2)) == (None, 4, 4, 5)
    with pytest.raises(ValueError, match="downscale must be"):
        blocks.discriminator_block(8, 3, 5, "lrelu", downscale="avg", **common)


def test_stylegan2_synthesis_block_skip_and_resnet():
    """Main layers, then ``x = (x + Skip(t)) / sqrt(2)``, then ``y = upsample_2d(y) + ToRGB(x)``; creation order
    main, ``Skip``, ``ToRGB``."""
    block, _, inputs, kwargs = ROUND_TRIPS["SynthesisBlock"]
    assert [n for n, _ in block.official_variables()] == [
        f"{layer}/{var}" for layer in ("Conv0_up", "Conv1") for var in ("weight", "mod_weight", "mod_bias",
                                                                         "noise_strength", "bias")] + [
        "Skip/weight", "ToRGB/weight", "ToRGB/mod_weight", "ToRGB/mod_bias", "ToRGB/bias"]
    x, y = tf.constant(inputs[0], tf.float32), tf.constant(kwargs["y"], tf.float32)
    dlatents, noise = tf.constant(kwargs["dlatents"], tf.float32), kwargs["noise"]
    noise = noise_images({k: tf.constant(v, tf.float32) for k, v in {1: noise(1, None), 2: noise(2, None)}.items()})
    got_x, got_y = block(x, y, dlatents=dlatents, noise=noise)
    conv0, conv1, skip, rgb = block.sublayers
    main = conv1(conv0(x, dlatents=dlatents, noise=noise), dlatents=dlatents, noise=noise)
    expected_x = (nchw(main) + nchw(skip(x))) / np.sqrt(2)
    np.testing.assert_allclose(nchw(got_x), expected_x, rtol=1e-5, atol=1e-5)
    expected_y = np_upsample_2d(nchw(y)) + nchw(rgb(got_x, dlatents=dlatents))
    np.testing.assert_allclose(nchw(got_y), expected_y, rtol=1e-4, atol=1e-4)
    skip_weight = skip.weight.numpy() * he_coef(skip.weight.numpy(), 1.0)
    np.testing.assert_allclose(nchw(skip(x)), np_upsample_2d(np_conv(nchw(x), skip_weight)), rtol=1e-4, atol=1e-4)


def test_stylegan2_discriminator_stage_resnet_and_skip():
    """``x = x + FromRGB(y)``, main layers, ``x = (x + Skip(t)) / sqrt(2)``, ``y = downsample_2d(y)``; creation
    order ``FromRGB``, main, ``Skip``."""
    stage, _, inputs, _ = ROUND_TRIPS["DiscriminatorStage"]
    assert [n for n, _ in stage.official_variables()] == [
        "FromRGB/weight", "FromRGB/bias", "Conv0/weight", "Conv0/bias", "Conv1_down/weight", "Conv1_down/bias",
        "Skip/weight"]
    y = tf.constant(inputs[0], tf.float32)
    features = tf.constant(RNG.randn(2, 8, 8, 4), tf.float32)
    got_x, got_y = stage(y, features)
    rgb, conv0, conv1, skip = stage.sublayers
    t = features + rgb(y)
    np.testing.assert_allclose(nchw(got_x), (nchw(conv1(conv0(t))) + nchw(skip(t))) / np.sqrt(2), rtol=1e-5,
                               atol=1e-5)
    downsampled = np_fir(np_pad(nchw(y), 1, 1))[:, :, ::2, ::2]
    np.testing.assert_allclose(nchw(got_y), downsampled, rtol=1e-5, atol=1e-5)


def test_reusing_variables_shares_them_by_official_name_and_checks_shapes():
    original = blocks.generator_block(8, 4, **NHWC)
    original.build((None, 4, 4, 6))
    named = dict(original.official_variables())
    with reusing_variables(named):
        twin = blocks.generator_block(8, 4, nonlinearity="relu", **NHWC)
        twin.build((None, 4, 4, 6))
    assert [(n, id(v)) for n, v in twin.official_variables()] == [(n, id(v)) for n, v in named.items()]
    with reusing_variables(named), pytest.raises(VariableMismatchError, match="'Conv0_up/weight' of shape"):
        blocks.generator_block(8, 4, **NHWC).build((None, 4, 4, 7))
    with reusing_variables(named), pytest.raises(VariableMismatchError, match="'Conv0_up/Noise/weight'"):
        blocks.generator_block(8, 4, use_noise=True, layer_indices=iter([0, 1]), **NHWC).build((None, 4, 4, 6))


def test_layer_options_are_checked():
    with pytest.raises(ValueError, match="nonlinearity must be one of"):
        layers.Dense(3, nonlinearity="tanh")
    with pytest.raises(ValueError, match="need a layer_index"):
        layers.Conv2D(3, 3, use_noise=True)
    with pytest.raises(ValueError, match="kernel must be"):
        layers.Conv2D(3, 2)
    with pytest.raises(ValueError, match="resample must be"):
        layers.Conv2D(3, 3, resample="sideways")
