"""Network-level equivalences and options not covered by the official fixture."""
import numpy as np
import pytest
import tensorflow as tf

from helpers import copy_variables, randomize_variables
from stylegan_tf import ops
from stylegan_tf.networks_progan import D_paper, G_paper
from stylegan_tf.networks_stylegan import D_basic, G_style, G_synthesis
from stylegan_tf.networks_stylegan2 import G_main
from stylegan_tf.networks_stylegan2_d import D_stylegan, D_stylegan2
from stylegan_tf.scopes import VariableMismatchError

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
    flipped = dict(g_unfused.official_variables())["128x128/Conv0_up/weight"]
    flipped.assign(flipped.numpy()[::-1, ::-1])
    up_conv = {r: g.levels[r].block.sublayers[0] for r in (6, 7)}
    assert up_conv[7].name == "Conv0_up" and up_conv[7].is_fused(tf.zeros([1, 64, 64, 4]))
    assert not up_conv[6].is_fused(tf.zeros([1, 32, 32, 4]))
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


def test_network_config_round_trips(g_and_d):
    G, D = g_and_d  # noqa: N806
    for net in (G, D, G.mapping, G.synthesis):
        clone = type(net).from_config(net.get_config())
        assert [(n, tuple(v.shape)) for n, v in clone.all_official_variables()] == \
               [(n, tuple(v.shape)) for n, v in net.all_official_variables()]


def test_walking_the_layers_is_walking_the_official_variable_tree(g_and_d):
    """Blocks and RGB layers are named after their official scopes; the official variables are
    exactly the Keras weights, each once, in the official creation order."""
    G, D = g_and_d  # noqa: N806
    g_paper, d_paper = G_paper(data_format="NHWC", **D_SMALL), D_paper(data_format="NHWC", fused_scale=False, **D_SMALL)
    for net in (G, D, g_paper, d_paper):
        named = [v for _, v in net.all_official_variables()]
        assert len({id(v) for v in named}) == len(named) and {id(v) for v in named} == {id(v) for v in net.weights}
    for net, rgb in ((G.synthesis, "ToRGB"), (g_paper, "ToRGB"), (D, "FromRGB"), (d_paper, "FromRGB")):
        for r, level in net.levels.items():
            assert (level.block.name, level.rgb.name) == (f"{2 ** r}x{2 ** r}", f"{rgb}_lod{net.res_log2 - r}")
    names = [n for n, _ in G.synthesis.official_variables()]
    assert names[:G.num_layers + 6] == ["lod", *(f"noise{i}" for i in range(G.num_layers)), "4x4/Const/const",
                                        "4x4/Const/Noise/weight", "4x4/Const/bias", "4x4/Const/StyleMod/weight",
                                        "4x4/Const/StyleMod/bias"]
    assert [n for n, _ in d_paper.official_variables()][-10:] == [
        "8x8/Conv1/weight", "8x8/Conv1/bias", "FromRGB_lod3/weight", "FromRGB_lod3/bias", "4x4/Conv/weight",
        "4x4/Conv/bias", "4x4/Dense0/weight", "4x4/Dense0/bias", "4x4/Dense1/weight", "4x4/Dense1/bias"]


def test_fresh_noise_and_label_variables_are_standard_normal():
    """Official initializers: ``noise%d`` and ``LabelConcat/weight`` are N(0, 1)."""
    g = G_style(data_format="NHWC", **dict(SMALL, label_size=64, latent_size=64, resolution=64))
    values = np.concatenate([g.synthesis.noise_vars[-1].numpy().ravel(),
                             dict(g.mapping.official_variables())["LabelConcat/weight"].numpy().ravel()])
    assert values.size == 64 * 64 * 2 and abs(values.std() - 1) < 0.05 and abs(values.mean()) < 0.05


@pytest.mark.parametrize("overrides", [dict(nonlinearity="relu"), dict(blur_filter=None),
                                       dict(use_instance_norm=False, use_pixel_norm=True), dict(use_noise=False)])
def test_variant_equals_a_network_built_so_on_the_same_variables(g_and_d, overrides):
    """Official run-time overrides: the network rebuilt with them shares the variables and computes
    what a network built with them and given the same values computes."""
    G, _ = g_and_d  # noqa: N806
    variant = G.variant(**overrides)
    ours = dict(G.all_official_variables())
    assert all(v is ours[n] for n, v in variant.all_official_variables())
    built = G_style(data_format="NHWC", **SMALL, **overrides)
    copy_variables(G, built)
    z = tf.constant(RNG.randn(4, 16).astype(np.float32))
    expected = built(z, randomize_noise=False).numpy()
    np.testing.assert_array_equal(variant(z, randomize_noise=False).numpy(), expected)
    assert np.abs(G(z, randomize_noise=False).numpy() - expected).max() > 1e-3


def test_discriminator_variant_and_variables_it_cannot_share(g_and_d):
    _, D = g_and_d  # noqa: N806
    images = tf.constant(RNG.randn(4, 3, 32, 32).astype(np.float32))
    built = D_basic(data_format="NHWC", mbstd_group_size=2, **D_SMALL)
    copy_variables(D, built)
    np.testing.assert_array_equal(D.variant(mbstd_group_size=2)(images).numpy(), built(images).numpy())
    with pytest.raises(VariableMismatchError, match="'4x4/Conv/weight' of shape"):
        D.variant(mbstd_group_size=1)
    with pytest.raises(VariableMismatchError, match="FromRGB_lod0/weight"):
        D.variant(resolution=16)
    with pytest.raises(VariableMismatchError, match="'noise8' .* which the network lacks"):
        g_and_d[0].synthesis.variant(resolution=64)


def test_float64_activations_on_float32_variables(g_and_d):
    """Official ``dtype='float64'``: variables stay float32, activations are float64 and agree
    with float32 to float32 rounding."""
    G, D = g_and_d  # noqa: N806
    g64, d64 = G_style(data_format="NHWC", dtype="float64", **SMALL), D.variant(dtype="float64")
    copy_variables(G, g64)
    assert all(v.dtype == "float32" for _, v in g64.all_official_variables())
    z = tf.constant(RNG.randn(4, 16).astype(np.float32))
    a, b = G(z, randomize_noise=False).numpy(), g64(z, randomize_noise=False)
    assert b.dtype == tf.float64
    np.testing.assert_allclose(b.numpy(), a, rtol=0, atol=1e-5 * np.abs(a).max())
    sa, sb = D(tf.constant(a)).numpy(), d64(b)
    assert sb.dtype == tf.float64
    np.testing.assert_allclose(sb.numpy(), sa, rtol=0, atol=1e-5 * np.abs(sa).max())


# ----------------------------------------------------------------------------
# StyleGAN2: the revised networks of configs B-D (progressive growing) and the variables of every architecture.

@pytest.fixture(scope="module")
def revised():
    G = G_main(data_format="NHWC", synthesis_func="G_synthesis_stylegan_revised", **SMALL)  # noqa: N806
    D = D_stylegan(data_format="NHWC", **D_SMALL)  # noqa: N806
    randomize_variables(G, 3, bias_scale=0.2)
    randomize_variables(D, 4, bias_scale=0.2)
    return G, D


@pytest.mark.parametrize("lod", LODS)
def test_revised_networks_symbolic_lod_and_training_path_equal_the_recursive_graph(revised, lod):
    """The official 'recursive' graph at a concrete lod (the fade upsamples with the FIR, then nearest to full
    size; D box-downscales) equals what runs with a traced lod, and the training path at the current resolution."""
    G, D = revised  # noqa: N806
    dl = tf.constant(RNG.randn(4, G.num_layers, 16).astype(np.float32))
    full = G.synthesis(dl, lod=lod, randomize_noise=False).numpy()
    traced = tf.function(lambda t: G.synthesis(dl, lod=t, randomize_noise=False))(tf.constant(lod)).numpy()
    np.testing.assert_allclose(traced, full, rtol=0, atol=1e-5 * np.abs(full).max())
    res = 32 // 2 ** min(int(lod), 3)
    small = tf.function(lambda t: G.synthesis(dl, lod=t, resolution=res, randomize_noise=False))(
        tf.constant(lod)).numpy()
    np.testing.assert_allclose(small.repeat(32 // res, 2).repeat(32 // res, 3), full, rtol=0,
                               atol=1e-5 * np.abs(full).max())
    reals_small = RNG.randn(4, 3, res, res).astype(np.float32)
    reals_full = tf.constant(reals_small.repeat(32 // res, 2).repeat(32 // res, 3))
    d_full = D(reals_full, lod=lod).numpy()
    np.testing.assert_allclose(tf.function(lambda t: D(reals_full, lod=t))(tf.constant(lod)).numpy(), d_full,
                               rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(tf.function(lambda t: D(tf.constant(reals_small), lod=t))(tf.constant(lod)).numpy(),
                               d_full, rtol=1e-5, atol=1e-5)


def test_revised_linear_graph_agrees_at_lod_0_and_resamples_with_the_fir_above(revised):
    """Official: the 'linear' graph FIR-resamples every level, the 'recursive' one only the fade (G) or none (D);
    they agree at lod 0 and differ above."""
    G, D = revised  # noqa: N806
    dl = tf.constant(RNG.randn(4, G.num_layers, 16).astype(np.float32))
    images = tf.constant(RNG.randn(4, 3, 32, 32).astype(np.float32))
    for lod, agree in [(0.0, True), (1.5, False)]:
        rec = G.synthesis(dl, lod=lod, structure="recursive", randomize_noise=False).numpy()
        lin = G.synthesis(dl, lod=lod, structure="linear", randomize_noise=False).numpy()
        assert (np.abs(rec - lin).max() <= 1e-5 * np.abs(lin).max()) == agree
        d_rec, d_lin = D(images, lod=lod, structure="recursive").numpy(), D(images, lod=lod, structure="linear").numpy()
        assert (np.abs(d_rec - d_lin).max() <= 1e-5) == agree


def test_stylegan2_variables_are_the_official_tree():
    """Official names and creation order: G_main's own, the synthesis network's noise, 4x4, the blocks with their
    ToRGB ('skip'), the mapping's; D_stylegan2's scopes with FromRGB ('resnet': at the top only) and Skip, then
    Output; the revised networks' lod and ToRGB_lod / FromRGB_lod. Every Keras weight is an official variable."""
    G = G_main(data_format="NHWC", **SMALL)  # noqa: N806
    names = [n for n, _ in G.all_official_variables()]
    assert names[:10] == ["lod", "dlatent_avg", *(f"G_synthesis/noise{i}" for i in range(7)),
                          "G_synthesis/4x4/Const/const"]
    assert [n.split("/", 1)[1] for n in names[10:20]] == [
        "4x4/Conv/weight", "4x4/Conv/mod_weight", "4x4/Conv/mod_bias", "4x4/Conv/noise_strength", "4x4/Conv/bias",
        "4x4/ToRGB/weight", "4x4/ToRGB/mod_weight", "4x4/ToRGB/mod_bias", "4x4/ToRGB/bias", "8x8/Conv0_up/weight"]
    assert names[-2:] == ["G_mapping/Dense1/weight", "G_mapping/Dense1/bias"]
    D = D_stylegan2(data_format="NHWC", **D_SMALL)  # noqa: N806
    assert [n for n, _ in D.official_variables()][:7] == [
        "32x32/FromRGB/weight", "32x32/FromRGB/bias", "32x32/Conv0/weight", "32x32/Conv0/bias",
        "32x32/Conv1_down/weight", "32x32/Conv1_down/bias", "32x32/Skip/weight"]
    assert [n for n, _ in D.official_variables()][-6:] == ["4x4/Conv/weight", "4x4/Conv/bias", "4x4/Dense0/weight",
                                                           "4x4/Dense0/bias", "Output/weight", "Output/bias"]
    skip_d = D_stylegan2(data_format="NHWC", architecture="skip", **D_SMALL)
    assert [n for n, _ in skip_d.official_variables()][:2] == ["32x32/FromRGB/weight", "32x32/FromRGB/bias"]
    assert "4x4/FromRGB/weight" in dict(skip_d.official_variables())
    revised_g = G_main(data_format="NHWC", synthesis_func="G_synthesis_stylegan_revised", **SMALL)
    revised_names = [n for n, _ in revised_g.synthesis.official_variables()]
    assert revised_names[:2] == ["lod", "noise0"] and "ToRGB_lod3/mod_weight" in revised_names
    assert [n for n, _ in D_stylegan(data_format="NHWC", **D_SMALL).official_variables()][:3] == [
        "lod", "FromRGB_lod0/weight", "FromRGB_lod0/bias"]
    for net in (G, D, skip_d, revised_g):
        named = [v for _, v in net.all_official_variables()]
        assert len({id(v) for v in named}) == len(named) and {id(v) for v in named} == {id(v) for v in net.weights}


def test_stylegan2_nchw_and_nhwc_agree_on_every_architecture():
    for architecture in ("orig", "skip", "resnet"):
        nets = {f: (G_main(data_format=f, architecture=architecture, label_size=5, **SMALL),
                    D_stylegan2(data_format=f, architecture=architecture, label_size=5, **D_SMALL))
                for f in ("NHWC", "NCHW")}
        randomize_variables(nets["NHWC"][0], 5, bias_scale=0.2)
        randomize_variables(nets["NHWC"][1], 6, bias_scale=0.2)
        copy_variables(nets["NHWC"][0], nets["NCHW"][0])
        copy_variables(nets["NHWC"][1], nets["NCHW"][1])
        z = tf.constant(RNG.randn(4, 16).astype(np.float32))
        labels = tf.constant(np.eye(5, dtype=np.float32)[[0, 1, 2, 3]])
        a = nets["NHWC"][0](z, labels, randomize_noise=False).numpy()
        b = _xla(lambda: nets["NCHW"][0](z, labels, randomize_noise=False)).numpy()
        np.testing.assert_allclose(b, a, rtol=0, atol=1e-5 * np.abs(a).max())
        images = tf.constant(np.tanh(a))
        np.testing.assert_allclose(_xla(lambda: nets["NCHW"][1](images, labels)).numpy(),
                                   nets["NHWC"][1](images, labels).numpy(), rtol=1e-5, atol=1e-5)


def test_stylegan2_variant_and_float64():
    """Official run-time overrides rebuild StyleGAN2 networks on their variables too."""
    G = G_main(data_format="NHWC", **SMALL)  # noqa: N806
    randomize_variables(G, 7, bias_scale=0.2)
    z = tf.constant(RNG.randn(4, 16).astype(np.float32))
    relu = G.variant(nonlinearity="relu")
    built = G_main(data_format="NHWC", nonlinearity="relu", **SMALL)
    copy_variables(G, built)
    np.testing.assert_array_equal(relu(z, randomize_noise=False).numpy(), built(z, randomize_noise=False).numpy())
    g64 = G.variant(dtype="float64")
    a, b = G(z, randomize_noise=False).numpy(), g64(z, randomize_noise=False)
    assert b.dtype == tf.float64
    np.testing.assert_allclose(b.numpy(), a, rtol=0, atol=1e-5 * np.abs(a).max())
    with pytest.raises(VariableMismatchError, match="'8x8/Skip/weight'"):
        G.variant(architecture="resnet")  # 'skip' has no Skip layers
