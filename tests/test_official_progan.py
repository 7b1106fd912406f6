"""ProGAN (``G_paper`` / ``D_paper``): every case of ``../shared/fixtures/official_progan``
through the public API in NHWC (eager, 'recursive' graph) and NCHW (``jit_compile=True``,
symbolic ``lod``, 'linear' graph); the official fused / unfused behaviour; pickles; the
training path; second-order gradients; generation from a ProGAN pickle."""
import pickle

import keras
import numpy as np
import pytest
import tensorflow as tf

import dnnlib
import dnnlib.tflib as tflib
import stylegan_tf
from cli import generate as cli
from conftest import FIXTURES_DIR
from helpers import randomize_variables
from official_cases import CaseFile, case_names, network_sets, run_case
from stylegan_tf import figures, network_files, official, ops, sampling, seeds
from stylegan_tf.images import convert_images_to_uint8
from stylegan_tf.networks_progan import D_paper, G_paper
from training import loss as loss_lib

CASE_NAMES = case_names(FIXTURES_DIR / "official_progan")
SMALL = dict(num_channels=3, resolution=32, fmap_base=64, fmap_max=16)
RNG = np.random.RandomState(3)


@pytest.fixture(scope="module")
def fixture(fixtures_dir):
    return CaseFile(fixtures_dir / "official_progan")


@pytest.fixture(scope="module", name="network_sets")
def network_sets_fixture(fixture):
    """Per layout: the (G, D, Gs) Networks, reset to their pickled values for each case."""
    return network_sets(fixture)


def _values(net):
    return {name: var.numpy() for name, var in net.official_variables()}


# ----------------------------------------------------------------------------
# Fixture parity.

@pytest.mark.parametrize("data_format", ["NHWC", "NCHW"])
@pytest.mark.parametrize("case_name", CASE_NAMES)
def test_official_case(fixture, network_sets, case_name, data_format):
    case = fixture.cases[case_name]
    outputs = run_case(case, fixture.inputs(case), network_sets(data_format), data_format)
    checked = fixture.check(case, outputs)
    assert sorted(checked) == sorted(o["name"] for o in case["outputs"])


def test_variables_and_io_are_the_official_ones(fixture, network_sets):
    nets = network_sets("NHWC")
    for name, net in nets.items():
        spec = fixture.doc["networks"][name]
        assert [(n, list(v.shape), v.trainable) for n, v in net.vars.items()] == \
               [(v["name"], v["shape"], v["trainable"]) for v in fixture.doc["variables"][name]]
        assert net.model.build_func_name == spec["build_func_name"]
        assert dict(net.static_kwargs) == spec["static_kwargs"]
        assert {k: net.model.kwargs[k] for k in spec["effective_kwargs"] if k != "latent_size"} == \
               {k: v for k, v in spec["effective_kwargs"].items() if k != "latent_size"}
        assert (net.input_names, net.output_names) == (spec["input_names"], spec["output_names"])
        assert (net.input_shapes, net.output_shapes) == (spec["input_shapes"], spec["output_shapes"])


def test_plain_pickle_load_and_run(fixture):
    """The official user-script idiom: ``pickle.load`` after ``import dnnlib``, then ``Gs.run``."""
    with dnnlib.util.open_url(str(fixture.pickle)) as f:
        _G, D, Gs = pickle.load(f)  # noqa: N806
    case = fixture.cases["Gs_lod0"]
    fixture.check(case, {"images_out": Gs.run(fixture.inputs(case)["latents_in"], None, minibatch_size=3)})
    case = fixture.cases["D_lod0"]
    fixture.check(case, {"scores_out": D.run(fixture.inputs(case)["images_in"], None)})


def test_pickle_round_trip_is_bit_exact(fixture, tmp_path):
    networks = stylegan_tf.load_network_pkl(fixture.pickle, data_format="NHWC")
    path = tmp_path / "progan.pkl"
    stylegan_tf.save_network_pkl(networks, path)
    for ours, theirs in zip(official.read_pickle(path), official.read_pickle(fixture.pickle)):
        for key in ("name", "build_func_name", "static_kwargs", "components"):
            assert ours.state[key] == theirs.state[key]
        assert [n for n, _ in ours.state["variables"]] == [n for n, _ in theirs.state["variables"]]
        for (_, a), (_, b) in zip(ours.state["variables"], theirs.state["variables"]):
            np.testing.assert_array_equal(a, b)
    again = stylegan_tf.load_network_pkl(path, data_format="NHWC")
    z = tf.constant(RNG.randn(2, 64).astype(np.float32))
    np.testing.assert_array_equal(networks[2](z).numpy(), again[2](z).numpy())


# ----------------------------------------------------------------------------
# fused_scale: G's fused up-conv is the unfused one with flipped kernels; D's unfused
# block is a different network (bias and activation before the pooling).

def _unfused_copy(net, rename, flip):
    """``net`` rebuilt with ``fused_scale=False`` and its values (``rename``: fused -> unfused
    scope; ``flip``: flip those kernels in H and W)."""
    copy = type(net)(name=net.name, data_format=net.data_format, fused_scale=False, **net.static_kwargs)
    values = {}
    for name, value in _values(net).items():
        if rename[0] in name:
            name = name.replace(*rename)
            value = value[::-1, ::-1] if flip and name.endswith("weight") else value
        values[name] = value
    official.set_official_values(copy, values)
    return copy


def _fused_observation(fixture, network):
    """The official max |scores or images difference| of ``fused_scale=False`` with the fused weights."""
    observations = fixture.doc["observations"]["fused_vs_unfused_max_abs_diff"]
    return observations[f"network_{network}_fused_scale_False_with_fused_weights"]


def test_G_fused_equals_unfused_with_flipped_kernels(fixture, network_sets):  # noqa: N802
    G = network_sets("NHWC")["G"].model  # noqa: N806
    case = fixture.cases["G_lod0"]
    latents = tf.constant(fixture.inputs(case)["latents_in"])
    flipped = _unfused_copy(G, ("Conv0_up", "Conv0"), flip=True)
    assert "8x8/Conv0/weight" in _values(flipped) and "8x8/Conv0_up/weight" not in _values(flipped)
    fixture.check(case, {"images_out": flipped(latents)})
    as_is = _unfused_copy(G, ("Conv0_up", "Conv0"), flip=False)
    observed = _fused_observation(fixture, "G")
    ref = fixture.npz[case["outputs"][0]["key"]]
    assert abs(np.abs(as_is(latents).numpy() - ref).max() - observed["kernel_as_is"]) <= case["outputs"][0]["atol"]


def test_D_unfused_is_a_different_network(fixture, network_sets):  # noqa: N802
    """Same weights, ``fused_scale=False``: the official scores move by 0.153 (max); ours
    by the same amount, and the unfused block is conv -> bias -> lrelu -> 2x2 average."""
    D = network_sets("NHWC")["D"].model  # noqa: N806
    case = fixture.cases["D_lod0"]
    images = tf.constant(fixture.inputs(case)["images_in"])
    unfused = _unfused_copy(D, ("Conv1_down", "Conv1"), flip=False)
    observed = _fused_observation(fixture, "D")
    ref = fixture.npz[case["outputs"][0]["key"]]
    assert abs(np.abs(unfused(images).numpy() - ref).max() - observed["kernel_as_is"]) <= case["outputs"][0]["atol"]
    x = tf.constant(RNG.randn(2, 16, 16, 32).astype(np.float32))
    values = _values(unfused)

    def conv_bias_lrelu(t, scope):  # equalized learning rate: weight * sqrt(2 / fan_in)
        w = values[f"16x16/{scope}/weight"]
        t = tf.nn.conv2d(t, w * np.float32(np.sqrt(2 / np.prod(w.shape[:-1]))), 1, "SAME")
        t = t + values[f"16x16/{scope}/bias"]
        return tf.maximum(t, 0.2 * t)

    expected = tf.nn.avg_pool2d(conv_bias_lrelu(conv_bias_lrelu(x, "Conv0"), "Conv1"), 2, 2, "VALID")
    np.testing.assert_allclose(unfused.levels[4].block(x).numpy(), expected.numpy(), rtol=1e-5, atol=1e-5)


def test_bad_options_are_clear_errors():
    with pytest.raises(ValueError, match="no 'auto'"):
        G_paper(fused_scale="auto", data_format="NHWC")
    with pytest.raises(ValueError, match="structure must be one of"):
        D_paper(structure="fixed", data_format="NHWC")
    with pytest.raises(ValueError, match="differs from the network's"):
        tflib.Network("G", func_name="training.networks_progan.G_paper", data_format="NHWC", **SMALL).run(
            np.zeros([1, 64], np.float32), None, fused_scale=False)


# ----------------------------------------------------------------------------
# Options, structures, the training path, gradients.

@pytest.fixture(scope="module")
def small_g_and_d():
    G = G_paper(data_format="NHWC", **SMALL)  # noqa: N806
    D = D_paper(data_format="NHWC", **SMALL)  # noqa: N806
    randomize_variables(G, 1, bias_scale=0.3)
    randomize_variables(D, 2, bias_scale=0.3)
    return G, D


def test_latent_size_defaults_to_nf0_and_labels_join_the_latents():
    G = G_paper(data_format="NHWC", label_size=5, **SMALL)  # noqa: N806
    assert G.input_shapes == [[None, 16], [None, 5]]
    assert _values(G)["4x4/Dense/weight"].shape == (21, 256)
    randomize_variables(G, 4, bias_scale=0.3)
    z = tf.constant(RNG.randn(3, 16).astype(np.float32))
    a = G(z, tf.one_hot([0, 1, 2], 5)).numpy()
    b = G(z, tf.one_hot([4, 1, 2], 5)).numpy()
    assert np.abs(a[0] - b[0]).max() > 1e-3 and np.abs(a[1:] - b[1:]).max() == 0
    with pytest.raises(ValueError, match="labels are needed"):
        G(z)
    D = D_paper(data_format="NHWC", label_size=5, **SMALL)  # noqa: N806 (labels only set a shape)
    assert _values(D)["4x4/Dense1/weight"].shape == (16, 1)
    np.testing.assert_array_equal(D(tf.constant(a), tf.one_hot([0, 1, 2], 5)).numpy(), D(tf.constant(a)).numpy())


@pytest.mark.parametrize("lod", [0.0, 0.3, 1.0, 1.5, 2.7, 3.0])
def test_linear_and_recursive_structures_agree(small_g_and_d, lod):
    G, D = small_g_and_d  # noqa: N806
    z = tf.constant(RNG.randn(4, 16).astype(np.float32))
    lin = G(z, lod=lod, structure="linear").numpy()
    np.testing.assert_allclose(G(z, lod=lod).numpy(), lin, atol=1e-5 * np.abs(lin).max())
    images = tf.constant(RNG.randn(4, 3, 32, 32).astype(np.float32))
    np.testing.assert_allclose(D(images, lod=lod).numpy(), D(images, lod=lod, is_template_graph=True).numpy(),
                               rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("lod", [0.0, 1.0, 1.5, 2.25, 3.0])
def test_training_path_matches_full_resolution(small_g_and_d, lod):
    """G at ``resolution=`` and D on current-resolution images with ``lod`` a traced tensor
    (what ``TrainStep`` runs) equal the official full-resolution graph."""
    G, D = small_g_and_d  # noqa: N806
    res = 32 // 2 ** int(lod)
    z = tf.constant(RNG.randn(4, 16).astype(np.float32))
    full = G(z, lod=lod).numpy()
    small = tf.function(lambda t: G(z, lod=t, resolution=res, is_training=True, rng=None))(tf.constant(lod))
    assert small.shape == (4, 3, res, res)
    np.testing.assert_allclose(full, small.numpy().repeat(32 // res, 2).repeat(32 // res, 3), rtol=1e-5, atol=1e-5)
    reals = RNG.randn(4, 3, res, res).astype(np.float32)
    d_full = D(tf.constant(reals.repeat(32 // res, 2).repeat(32 // res, 3)), lod=lod).numpy()
    d_small = tf.function(lambda t: D(tf.constant(reals), lod=t))(tf.constant(lod)).numpy()
    np.testing.assert_allclose(d_full, d_small, rtol=1e-5, atol=1e-5)


def _wgan_gp_gradients(D, G, data_format):  # noqa: N803
    """Loss and gradients of the mean WGAN-GP loss (second order through D) w.r.t. D's
    trainables, by official name (None for those the 16x16 path at lod 1.5 does not use)."""
    z = tf.constant(np.random.RandomState(5).randn(4, 16).astype(np.float32))
    reals = tf.constant(np.random.RandomState(6).randn(4, 3, 16, 16).astype(np.float32))
    mix = tf.constant(np.random.RandomState(7).rand(4, 1, 1, 1).astype(np.float32))
    names, variables = zip(*[(n, v) for n, v in D.official_variables() if v.trainable])

    def grads():
        with tf.GradientTape() as tape:
            loss, _ = loss_lib.D_wgan_gp(G, D, reals, None, z, mix, G_kwargs={"lod": 1.5, "resolution": 16},
                                         D_kwargs={"lod": 1.5})
            loss = tf.reduce_mean(loss)
        return loss, tape.gradient(loss, variables)

    loss, grads = tf.function(grads, jit_compile=True)() if data_format == "NCHW" else grads()
    return loss.numpy(), {n: None if g is None else g.numpy() for n, g in zip(names, grads)}


@pytest.mark.parametrize("fused_scale", [True, False])
def test_second_order_gradients_through_D(small_g_and_d, monkeypatch, fused_scale):  # noqa: N802
    """The WGAN-GP gradients reach every D variable of the 16x16 path (lod 1.5), equal TF's
    own autodiff of the same network without the hand-written resampling / leaky-ReLU
    gradients, and agree between layouts (NCHW under XLA)."""
    G, D = small_g_and_d  # noqa: N806
    if not fused_scale:
        D = _unfused_copy(D, ("Conv1_down", "Conv1"), flip=False)  # noqa: N806
    loss, grads = _wgan_gp_gradients(D, G, "NHWC")
    unused = ("FromRGB_lod0/", "32x32/", "FromRGB_lod3/")
    assert all((g is None) == name.startswith(unused) for name, g in grads.items())
    assert all(np.isfinite(g).all() and np.abs(g).max() > 0 for g in grads.values() if g is not None)

    with monkeypatch.context() as m:
        m.setattr(ops, "leaky_relu", lambda x, alpha=0.2: tf.maximum(x, x * alpha))
        m.setattr(ops, "upscale2d", lambda x, factor=2, data_format="NCHW": ops._upscale2d(x, factor, data_format))
        m.setattr(ops, "downscale2d", lambda x, factor=2, data_format="NCHW": ops._downscale2d(x, factor, data_format))
        loss_autodiff, grads_autodiff = _wgan_gp_gradients(D, G, "NHWC")
    D_nchw = type(D)(data_format="NCHW", **D.static_kwargs)  # noqa: N806
    G_nchw = G_paper(data_format="NCHW", **SMALL)  # noqa: N806
    official.set_official_values(D_nchw, _values(D))
    official.set_official_values(G_nchw, _values(G))
    loss_nchw, grads_nchw = _wgan_gp_gradients(D_nchw, G_nchw, "NCHW")
    for other_loss, other_grads, rtol in ((loss_autodiff, grads_autodiff, 1e-5), (loss_nchw, grads_nchw, 1e-4)):
        np.testing.assert_allclose(other_loss, loss, rtol=rtol)
        for name, g in grads.items():
            if g is not None:
                np.testing.assert_allclose(other_grads[name], g, rtol=rtol, atol=rtol * np.abs(g).max(), err_msg=name)


def test_mixed_float16_matches_float32(small_g_and_d):
    G, D = small_g_and_d  # noqa: N806
    g16, d16 = G_paper(data_format="NHWC", dtype="float16", **SMALL), D_paper(data_format="NHWC", dtype="float16",
                                                                             **SMALL)
    official.set_official_values(g16, _values(G))
    official.set_official_values(d16, _values(D))
    z = tf.constant(RNG.randn(4, 16).astype(np.float32))
    a, b = G(z).numpy(), g16(z)
    assert b.dtype == tf.float16
    # float16 pixel norm (official) amplifies rounding where a feature vector is small: compare on average
    assert np.abs(b.numpy().astype(np.float32) - a).mean() < 0.005 * np.abs(a).max()
    sa, sb = D(tf.constant(a)).numpy(), d16(b).numpy().astype(np.float32)
    np.testing.assert_allclose(sb, sa, atol=0.02 * np.abs(sa).max() + 0.02)


def test_keras_config_round_trips(small_g_and_d):
    for net in small_g_and_d:
        clone = type(net).from_config(net.get_config())
        assert [(n, tuple(v.shape)) for n, v in clone.official_variables()] == \
               [(n, tuple(v.shape)) for n, v in net.official_variables()]
        assert keras.saving.get_registered_object(f"stylegan_tf>{net.build_func_name}") is type(net)


# ----------------------------------------------------------------------------
# Generation from a ProGAN pickle.

def run_cli(*args):
    with pytest.raises(SystemExit) as exit_info:
        cli.run_main(["stylegan-generate", *args])
    return exit_info.value.code or 0


def test_sampler_gives_the_networks_images(fixture):
    Gs = network_files.load_Gs(fixture.pickle, data_format="NHWC")  # noqa: N806
    sampler = sampling.make_sampler(Gs, batch_size=3)
    images = sampler.images_for_seeds([1, 2, 3, 4])
    expected = convert_images_to_uint8(Gs(tf.constant(seeds.latents_from_seeds([1, 2, 3, 4], 64))),
                                       nchw_to_nhwc=True).numpy()
    assert images.shape == (4, 32, 32, 3)
    assert np.abs(images.astype(int) - expected).max() <= 1
    frames = figures.interpolation_frames(sampler, [1, 2], 3, space="z")
    np.testing.assert_array_equal(frames[[0, 2]], images[:2])
    with pytest.raises(ValueError, match="no mapping network"):
        figures.interpolation_frames(sampler, [1, 2], 3, space="w")
    with pytest.raises(ValueError, match="no truncation"):
        sampler.generate(seeds.latents_from_seeds([1], 64), truncation_psi=0.7, truncation_cutoff=8)


def test_path_length_of_a_progan_network_is_a_clear_error(fixture):
    """PPL walks the mapping's W space (or Z through it): G_paper has no mapping, which the error says."""
    from metrics.evaluate import evaluate
    from metrics.sources import MetricError
    from training.dataset import DEFAULT_DATASET, load_dataset
    Gs = network_files.load_Gs(fixture.pickle, data_format="NHWC")  # noqa: N806
    with pytest.raises(MetricError, match="ppl_wend_nocrop measures a style-based generator .*G_paper has none"):
        evaluate("ppl_wend_nocrop", Gs, load_dataset(str(DEFAULT_DATASET)), num_images=2)


def test_metrics_draw_the_networks_images(fixture, tmp_path, capsys):
    """FID, SWD ... of a ProGAN network: the metrics' images are the network's for the metrics' latents
    (`RandomState(seed).randn`), as the sampler draws them; the command line evaluates it (SWD against 64 random
    RGB images)."""
    from metrics.sources import GeneratorImages
    Gs = network_files.load_Gs(fixture.pickle, data_format="NHWC")  # noqa: N806
    images = np.concatenate(list(GeneratorImages(Gs, seed=4).iterate(5, 2)))
    expected = sampling.make_sampler(Gs).generate(np.random.RandomState(4).randn(5, 64))
    assert images.shape == (5, 3, 32, 32)
    assert np.abs(images.transpose(0, 2, 3, 1).astype(int) - expected).max() <= 1
    from PIL import Image

    from cli.metrics import run_main
    from training.dataset_create import create_from_images
    (tmp_path / "png").mkdir()
    rng = np.random.RandomState(0)
    for i in range(64):
        Image.fromarray(rng.randint(0, 256, [32, 32, 3]).astype(np.uint8)).save(tmp_path / "png" / f"{i}.png")
    create_from_images(str(tmp_path / "data"), str(tmp_path / "png"))
    with pytest.raises(SystemExit) as status:
        run_main(["stylegan-metrics", f"--network={fixture.pickle}", f"--data={tmp_path / 'data'}",
                  "--metrics=swd", "--num_images=64"])
    assert status.value.code == 0 and "swd64_avg" in capsys.readouterr().out


def test_cli_images_and_interpolation(fixture, tmp_path, capsys):
    pkl = str(fixture.pickle)
    assert run_cli(f"--network={pkl}", "--seeds=3-4", f"--outdir={tmp_path}") == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["seed0003.png", "seed0004.png"]
    assert run_cli(f"--network={pkl}", "--mode=interpolate", "--seeds=3,4", "--frames=3", f"--outdir={tmp_path}") == 0
    assert (tmp_path / "interpolate.gif").exists() and len(list((tmp_path / "interpolate").iterdir())) == 3
    capsys.readouterr()


@pytest.mark.parametrize("args", [["--mode=style_mixing"], ["--mode=truncation"], ["--mode=noise"],
                                  ["--mode=figures"], ["--mode=interpolate", "--space=w"], ["--trunc=0.5"],
                                  ["--trunc_cutoff=4"], ["--noise_mode=random"]])
def test_cli_modes_needing_a_mapping_network_fail_clearly(fixture, tmp_path, capsys, args):
    assert run_cli(f"--network={fixture.pickle}", f"--outdir={tmp_path}", *args) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1 and "G_paper" in err
