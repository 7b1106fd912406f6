"""Network-level equivalences and options not covered by the official fixture."""
import numpy as np
import pytest
import tensorflow as tf

from helpers import copy_variables, randomize_variables
from stylegan_tf import layers, ops
from stylegan_tf.networks_stylegan import D_basic, G_style, G_synthesis

SMALL = dict(resolution=32, num_channels=3, latent_size=16, dlatent_size=16, mapping_fmaps=16, mapping_layers=2,
             fmap_base=64, fmap_max=16)
D_SMALL = dict(resolution=32, num_channels=3, fmap_base=64, fmap_max=16)
RNG = np.random.RandomState(1)


def _xla(fn):
    return tf.function(fn, jit_compile=True)()


@pytest.fixture(scope="module")
def g_and_d():
    G = G_style(data_format="NHWC", **SMALL)  # noqa: N806
    D = D_basic(data_format="NHWC", **D_SMALL)  # noqa: N806
    randomize_variables(G, 1)
    randomize_variables(D, 2)
    return G, D


LODS = [0.0, 0.3, 1.0, 1.5, 2.7, 3.0]


@pytest.mark.parametrize("lod", LODS)
def test_linear_and_recursive_structures_agree(g_and_d, lod):
    G, D = g_and_d  # noqa: N806
    dl = tf.constant(RNG.randn(4, G.num_layers, 16).astype(np.float32))
    rec = G.synthesis(dl, lod=lod, structure="recursive", randomize_noise=False)
    lin = G.synthesis(dl, lod=lod, structure="linear", randomize_noise=False)
    np.testing.assert_allclose(rec.numpy(), lin.numpy(), atol=1e-5 * np.abs(lin.numpy()).max())
    images = tf.constant(RNG.randn(4, 3, 32, 32).astype(np.float32))
    np.testing.assert_allclose(D(images, lod=lod, structure="recursive").numpy(),
                               D(images, lod=lod, structure="linear").numpy(), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("lod", [0.0, 1.0, 1.5, 2.25, 3.0])
def test_reduced_resolution_matches_full_resolution_formulation(g_and_d, lod):
    """What the training step runs (G and D at the current resolution, lod a traced tensor)
    equals the official graph at full resolution."""
    G, D = g_and_d  # noqa: N806
    res = 32 // 2 ** int(lod)
    dl = tf.constant(RNG.randn(4, G.num_layers, 16).astype(np.float32))
    full = G.synthesis(dl, lod=lod, randomize_noise=False).numpy()
    small = tf.function(lambda t: G.synthesis(dl, lod=t, resolution=res, randomize_noise=False))(
        tf.constant(lod)).numpy()
    assert small.shape == (4, 3, res, res)
    np.testing.assert_allclose(full, small.repeat(32 // res, 2).repeat(32 // res, 3), rtol=1e-5, atol=1e-5)
    reals_small = RNG.randn(4, 3, res, res).astype(np.float32)
    reals_full = reals_small.repeat(32 // res, 2).repeat(32 // res, 3)
    d_full = D(tf.constant(reals_full), lod=lod).numpy()
    d_small = tf.function(lambda t: D(tf.constant(reals_small), lod=t))(tf.constant(lod)).numpy()
    np.testing.assert_allclose(d_full, d_small, rtol=1e-5, atol=1e-5)


def test_nchw_and_nhwc_networks_agree_on_every_option():
    """Conditional G/D, dense input layer, pixel norm, relu, no styles/noise: both layouts."""
    opts = dict(SMALL, label_size=5, const_input_layer=False, use_pixel_norm=True, nonlinearity="relu")
    g_nhwc, g_nchw = G_style(data_format="NHWC", **opts), G_style(data_format="NCHW", **opts)
    d_opts = dict(D_SMALL, label_size=5, mbstd_num_features=2, nonlinearity="relu")
    d_nhwc, d_nchw = D_basic(data_format="NHWC", **d_opts), D_basic(data_format="NCHW", **d_opts)
    randomize_variables(g_nhwc, 3)
    randomize_variables(d_nhwc, 4)
    copy_variables(g_nhwc, g_nchw)
    copy_variables(d_nhwc, d_nchw)
    z = tf.constant(RNG.randn(4, 16).astype(np.float32))
    labels = tf.constant(np.eye(5, dtype=np.float32)[[0, 3, 1, 4]])
    for lod in (0.0, 1.5):
        a = g_nhwc(z, labels, lod=lod, randomize_noise=False).numpy()
        b = _xla(lambda: g_nchw(z, labels, lod=lod, randomize_noise=False)).numpy()
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-4 * np.abs(a).max())
        a = d_nhwc(tf.constant(a), labels, lod=lod).numpy()
        b = _xla(lambda: d_nchw(tf.constant(b), labels, lod=lod)).numpy()
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-4 * np.abs(a).max())
    assert "G_mapping/LabelConcat/weight" in dict(g_nhwc.all_official_variables())
    assert "4x4/Dense/weight" in dict(g_nhwc.synthesis.official_variables())


def test_fused_scale_auto_fuses_at_128_and_matches_the_unfused_definition():
    """At >= 128 px 'auto' fuses. D's fused conv-down equals the unfused one; G's fused
    up-conv equals the unfused one with the kernel flipped in H and W (official behaviour)."""
    g = G_synthesis(resolution=128, dlatent_size=8, fmap_base=512, fmap_max=4, data_format="NHWC")
    g_unfused = G_synthesis(resolution=128, dlatent_size=8, fmap_base=512, fmap_max=4, fused_scale=False,
                            data_format="NHWC")
    randomize_variables(g, 5)
    copy_variables(g, g_unfused)
    flipped = g_unfused.convs[7][0][0].weight
    flipped.assign(flipped.numpy()[::-1, ::-1])
    assert g.convs[7][0][0].is_fused(tf.zeros([1, 64, 64, 4])) and not g.convs[6][0][0].is_fused(
        tf.zeros([1, 32, 32, 4]))
    dl = tf.constant(RNG.randn(2, g.num_layers, 8).astype(np.float32))
    a = g(dl, randomize_noise=False).numpy()
    np.testing.assert_allclose(a, g_unfused(dl, randomize_noise=False).numpy(), atol=1e-4 * np.abs(a).max())

    d = D_basic(resolution=128, num_channels=3, fmap_base=512, fmap_max=4, data_format="NHWC")
    randomize_variables(d, 6)
    images = tf.constant(RNG.randn(4, 3, 128, 128).astype(np.float32))
    np.testing.assert_allclose(d(images).numpy(), d(images, fused_scale=False).numpy(), rtol=1e-5, atol=1e-5)
    assert np.abs(d(images).numpy() - d(images, fused_scale=True).numpy()).max() < 1e-4


def test_too_few_feature_maps_is_a_clear_error():
    with pytest.raises(ValueError, match="increase fmap_base"):
        G_synthesis(resolution=128, fmap_base=32, data_format="NHWC")


def test_fixed_structure_has_only_the_full_resolution_rgb_layers():
    g = G_synthesis(structure="fixed", resolution=16, dlatent_size=8, fmap_base=16, fmap_max=4, data_format="NHWC")
    d = D_basic(structure="fixed", resolution=16, fmap_base=16, fmap_max=4, data_format="NHWC")
    names = [n for n, _ in g.official_variables()] + [n for n, _ in d.official_variables()]
    assert [n for n in names if "RGB" in n] == ["ToRGB_lod0/weight", "ToRGB_lod0/bias",
                                                "FromRGB_lod0/weight", "FromRGB_lod0/bias"]
    assert g(tf.zeros([2, g.num_layers, 8])).shape == (2, 3, 16, 16)
    assert d(tf.zeros([2, 1, 16, 16])).shape == (2, 1)


def test_mixed_float16_policy_matches_float32():
    g32 = G_style(data_format="NHWC", **SMALL)
    g16 = G_style(data_format="NHWC", dtype="float16", **SMALL)
    d32 = D_basic(data_format="NHWC", **D_SMALL)
    d16 = D_basic(data_format="NHWC", dtype="float16", **D_SMALL)
    for a, b, seed in ((g32, g16, 7), (d32, d16, 8)):
        randomize_variables(a, seed)
        copy_variables(a, b)
    assert all(v.dtype == tf.float32 for v in g16.trainable_variables)
    z = tf.constant(RNG.randn(4, 16).astype(np.float32))
    a, b = g32(z, randomize_noise=False), g16(z, randomize_noise=False)
    assert b.dtype == tf.float16
    np.testing.assert_allclose(b.numpy().astype(np.float32), a.numpy(), atol=0.02 * np.abs(a.numpy()).max())
    sa, sb = d32(a), d16(b)
    np.testing.assert_allclose(sb.numpy().astype(np.float32), sa.numpy(), atol=0.02 * np.abs(sa.numpy()).max() + 0.02)
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(tf.cast(d16(g16(z, is_training=True)), tf.float32))
    named = dict(g16.all_official_variables())
    reached = [v for n, v in named.items() if v.trainable and "ToRGB_lod" not in n or n.endswith("ToRGB_lod0/weight")]
    grads = tape.gradient(loss, reached)
    assert all(g is not None and g.dtype == tf.float32 and np.isfinite(g.numpy()).all() for g in grads)


def test_instance_norm_statistics_are_float32_under_float16():
    x = tf.constant(RNG.randn(2, 4, 4, 3).astype(np.float16) * 300)
    y = ops.instance_norm(x, "NHWC")
    ref = ops.instance_norm(tf.cast(x, tf.float32), "NHWC")
    assert y.dtype == tf.float16
    np.testing.assert_allclose(y.numpy().astype(np.float32), ref.numpy(), atol=2e-3)


def test_training_mode_updates_dlatent_avg_and_disables_truncation(g_and_d):
    G, _ = g_and_d  # noqa: N806
    before = G.dlatent_avg.numpy().copy()
    z = tf.constant(RNG.randn(4, 16).astype(np.float32))
    G(z, is_training=True, style_mixing_prob=None, randomize_noise=False)
    w0 = G.mapping(z).numpy()[:, 0].mean(axis=0)
    np.testing.assert_allclose(G.dlatent_avg.numpy(), w0 + (before - w0) * 0.995, rtol=1e-5, atol=1e-6)
    G.dlatent_avg.assign(before)


ALL_LAYERS = [
    layers.Bias(lrmul=0.5), layers.Dense(4, lrmul=0.1), layers.Conv2D(4, 3, resample="up", fused_scale=True),
    layers.NoiseInput(), layers.StyleMod(use_wscale=False), layers.LeakyReLU(0.1), layers.PixelNorm(),
    layers.InstanceNorm(), layers.Blur2D([1, 3, 3, 1]), layers.Upscale2D(4), layers.Downscale2D(2),
    layers.MinibatchStddev(2, 1), layers.Truncation(), layers.LayerEpilogue(use_pixel_norm=True),
]


@pytest.mark.parametrize("layer", ALL_LAYERS, ids=lambda layer: type(layer).__name__)
def test_every_layer_config_round_trips(layer):
    config = layer.get_config()
    assert type(layer).from_config(config).get_config() == config


def test_network_config_round_trips(g_and_d):
    G, D = g_and_d  # noqa: N806
    for net in (G, D, G.mapping, G.synthesis):
        clone = type(net).from_config(net.get_config())
        assert [(n, tuple(v.shape)) for n, v in clone.all_official_variables()] == \
               [(n, tuple(v.shape)) for n, v in net.all_official_variables()]
