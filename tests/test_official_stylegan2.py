"""Every case of ``../shared/fixtures/official_stylegan2`` (official StyleGAN2 code, config F structure at
32x32) reproduced through the public API: ``dnnlib.tflib.Network.get_output_for`` for the networks and
``training.loss`` for the losses, in NHWC (eager) and NCHW (under ``jit_compile=True``); the pickle's round
trip, and tampered StyleGAN2 pickles refused as StyleGAN ones are."""
import io
import os
import pickle

import numpy as np
import pytest
import tensorflow as tf

import stylegan_tf
from conftest import FIXTURES_DIR
from official_cases import CaseFile, case_names, evaluate, network_sets
from stylegan_tf import official, ops
from training import loss as loss_lib

CASE_NAMES = case_names(FIXTURES_DIR / "official_stylegan2")


@pytest.fixture(scope="module")
def fixture(fixtures_dir):
    return CaseFile(fixtures_dir / "official_stylegan2")


@pytest.fixture(scope="module", name="network_sets")
def network_sets_fixture(fixture):
    """Per layout: the (G, D, Gs) Networks, reset to their pickled values for each case."""
    return network_sets(fixture)


class Draws:
    """An ``rng`` answering ``normal(shape, dtype)`` with the fixture's recorded draws, in call order, each
    brought to the requested shape (the NCHW draw ``[N, 1, H, W]`` holds the NHWC one's values in order)."""

    def __init__(self, arrays):
        self.arrays, self.used = list(arrays), 0

    def normal(self, shape, dtype=tf.float32):
        array = self.arrays[self.used]
        self.used += 1
        return tf.reshape(tf.cast(array, dtype), shape)


def _network(nets, spec):
    name, _, component = spec.partition(".")
    return nets[name].components[component] if component else nets[name]


def _run_network(case, inputs, nets, data_format):
    net = _network(nets, case["network"])
    names = [i["name"] for i in case["inputs"]][:len(net.input_shapes)]
    args = [tf.constant(inputs[name]) for name in names]
    kwargs = dict(case["kwargs"])
    draws = case.get("draws", {})
    noise = None
    if draws.get("uniform_int"):  # style mixing: second latents, the uniform, the crossover
        kwargs["style_mixing_draws"] = tuple(tf.constant(inputs[draws[kind][0]])
                                             for kind in ("normal", "uniform", "uniform_int"))
    elif draws.get("normal"):  # the noise image of every conv layer, in layer order
        noise = kwargs["rng"] = Draws(inputs[name] for name in draws["normal"])
    outputs = evaluate(lambda: net.get_output_for(*args, return_as_list=True, **kwargs), data_format)
    if noise is not None:
        assert noise.used == len(draws["normal"])
    names = case.get("output_names", [case["outputs"][0]["name"]])
    result = {name: out.numpy() for name, out in zip(names, outputs)}
    if "G/dlatent_avg" in case.get("extra_outputs", []):
        result["G/dlatent_avg_after"] = nets["G"].get_var("dlatent_avg")
    return result


def _run_loss(case, inputs, nets, data_format):
    G, D = nets[case["G"]].model, nets[case["D"]].model  # noqa: N806
    func = getattr(loss_lib, case["loss_func"].rsplit(".", 1)[1])
    const = {name: tf.constant(value) for name, value in inputs.items()}
    kwargs = dict(G_kwargs=case["G_extra_kwargs"], **case["loss_kwargs"])
    outputs = {}
    if func is loss_lib.D_logistic_r1:
        fn = lambda: func(G, D, const["reals"], const["labels"], const["latents"], **kwargs)  # noqa: E731
    else:
        pl_mean = tf.Variable(inputs["pl_mean_before"], dtype=tf.float32)
        fn = lambda: func(G, D, const["latents"], const["labels"], const["pl_noise"], pl_mean,  # noqa: E731
                          pl_latents=const.get("pl_latents"), pl_labels=const.get("pl_labels"), **kwargs)
    loss, reg, stats = evaluate(fn, data_format)
    outputs.update({key: value.numpy() for key, value in stats.items()})
    outputs.update(loss=loss.numpy(), reg=reg.numpy(), loss_mean=np.mean(loss.numpy()))
    if func is not loss_lib.D_logistic_r1:
        outputs["pl_mean_after"] = pl_mean.numpy()
    if "G/dlatent_avg" in case.get("extra_outputs", []):
        outputs["G/dlatent_avg_after"] = nets["G"].get_var("dlatent_avg")
    return outputs


@pytest.mark.parametrize("data_format", ["NHWC", "NCHW"])
@pytest.mark.parametrize("case_name", CASE_NAMES)
def test_official_case(fixture, network_sets, case_name, data_format):
    case = fixture.cases[case_name]
    nets, inputs = network_sets(data_format), fixture.inputs(case)
    run = _run_loss if case["call"] == "loss" else _run_network
    checked = fixture.check(case, run(case, inputs, nets, data_format))
    assert sorted(checked) == sorted(o["name"] for o in case["outputs"])


def test_plain_pickle_load_and_official_run(fixture):
    """The official user-script idiom: ``pickle.load`` after ``import dnnlib``, then ``Gs.run`` (psi 0.5 on every
    layer by default), and the components one after the other."""
    import dnnlib
    import dnnlib.tflib as tflib

    with dnnlib.util.open_url(str(fixture.pickle)) as f:
        G, D, Gs = pickle.load(f)  # noqa: N806
    assert [net.model.build_func_name for net in (G, D, Gs)] == ["G_main", "D_stylegan2", "G_main"]
    assert Gs.components.synthesis.model.build_func_name == "G_synthesis_stylegan2"
    assert Gs.input_names == ["latents_in", "labels_in"] and D.output_names == ["scores_out"]
    inputs = fixture.inputs(fixture.cases["Gs_default"])
    fixture.check(fixture.cases["Gs_default"], {"images_out": Gs.run(inputs["latents_in"], None,
                                                                     randomize_noise=False)})
    dlatents = Gs.components.mapping.run(inputs["latents_in"], None)
    images = Gs.components.synthesis.run(dlatents, randomize_noise=False)
    fixture.check(fixture.cases["Gs_psi1"], {"images_out": images})
    uint8 = Gs.run(inputs["latents_in"], None, truncation_psi=1, randomize_noise=False,
                   output_transform=dict(func=tflib.convert_images_to_uint8, nchw_to_nhwc=True))
    assert uint8.dtype == np.uint8 and uint8.shape == (4, 32, 32, 3)
    images_out, dlatents_out = Gs.run(inputs["latents_in"], None, truncation_psi=0.7, truncation_cutoff=4,
                                      randomize_noise=False, return_dlatents=True)
    fixture.check(fixture.cases["Gs_return_dlatents_psi0.7_cutoff4"],
                  {"images_out": images_out, "dlatents": dlatents_out})


def test_mapping_is_stylegan2s_whatever_builds_it(fixture):
    """A pickled 'G_mapping' becomes StyleGAN2's mapping under G_main (gain after the activation), and a
    ``Network`` built from 'training.networks_stylegan2.G_mapping' is StyleGAN2's too; StyleGAN's differs."""
    import dnnlib.tflib as tflib
    from stylegan_tf import networks_stylegan, networks_stylegan2

    G = stylegan_tf.load_network_pkl(fixture.pickle, data_format="NHWC")[0]  # noqa: N806
    assert type(G.mapping) is networks_stylegan2.G_mapping
    kwargs = dict(latent_size=8, dlatent_size=8, mapping_fmaps=8, mapping_layers=2)
    sg2 = tflib.Network("m", func_name="training.networks_stylegan2.G_mapping", data_format="NHWC", **kwargs)
    sg1 = tflib.Network("m", func_name="training.networks_stylegan.G_mapping", data_format="NHWC", **kwargs)
    assert type(sg2.model) is networks_stylegan2.G_mapping and type(sg1.model) is networks_stylegan.G_mapping
    for name, var in sg2.vars.items():
        var.assign(np.random.RandomState(len(name)).randn(*var.shape).astype(np.float32))
        sg1.set_var(name, var.numpy())
    z = np.random.RandomState(1).randn(3, 8).astype(np.float32)
    assert np.max(np.abs(sg2.run(z, None) - sg1.run(z, None))) > 1e-3
    converted = networks_stylegan2.as_stylegan2_mapping(sg1.model)
    np.testing.assert_array_equal(converted(z).numpy(), sg2.run(z, None))


# ----------------------------------------------------------------------------
# Pickles.

@pytest.fixture(scope="module")
def networks(fixture):
    return stylegan_tf.load_network_pkl(fixture.pickle, data_format="NHWC")


def test_round_trip_is_bit_exact(fixture, networks, tmp_path):
    """Our state equals the pickled one value for value and in order; writing it, reading it back and writing
    again gives the same bytes, and the same images."""
    for ours, theirs in zip(networks, official.read_pickle(fixture.pickle)):
        state, pickled = official.network_state(ours), theirs.state
        assert (state["build_func_name"], state["static_kwargs"]) == (pickled["build_func_name"],
                                                                      pickled["static_kwargs"])
        assert [n for n, _ in state["variables"]] == [n for n, _ in pickled["variables"]]
        for (_, a), (_, b) in zip(state["variables"], pickled["variables"]):
            np.testing.assert_array_equal(a, b)
        for key, component in state["components"].items():
            theirs_c = pickled["components"][key].state
            assert component.state["build_func_name"] == theirs_c["build_func_name"]
            assert component.state["static_kwargs"] == theirs_c["static_kwargs"]
            for (n1, a), (n2, b) in zip(component.state["variables"], theirs_c["variables"]):
                assert n1 == n2
                np.testing.assert_array_equal(a, b)
    path = tmp_path / "snapshot.pkl"
    stylegan_tf.save_network_pkl(networks, path)
    again = stylegan_tf.load_network_pkl(path, data_format="NHWC")
    assert official.dumps_networks(again) == path.read_bytes()
    z = tf.constant(np.random.RandomState(0).randn(2, 64).astype(np.float32))
    np.testing.assert_array_equal(networks[2](z, randomize_noise=False).numpy(),
                                  again[2](z, randomize_noise=False).numpy())


def _tampered(fixture, tmp_path, edit):
    """The fixture pickle with ``edit(G, D, Gs)`` applied to its states."""
    nets = official.read_pickle(fixture.pickle)
    edit(*nets)
    path = tmp_path / "tampered.pkl"
    path.write_bytes(official.dumps_networks(nets))
    return path


def _refused(path, match):
    with pytest.raises(stylegan_tf.NetworkPickleError, match=match) as info:
        stylegan_tf.load_network_pkl(path, data_format="NHWC")
    assert "\n" not in str(info.value)


def test_a_foreign_global_is_refused_before_anything_runs(fixture, tmp_path):
    marker = tmp_path / "pwned"

    class Exploit:
        def __reduce__(self):
            return os.system, (f"touch {marker}",)

    def edit(G, D, Gs):  # noqa: N803
        G.state["static_kwargs"]["resolution"] = Exploit()

    _refused(_tampered(fixture, tmp_path, edit), "refusing")
    assert not marker.exists()


@pytest.mark.parametrize("edit, match", [
    (lambda G, D, Gs: G.state["components"]["synthesis"].state.update(  # noqa: N803
        variables=[(n, v) for n, v in G.state["components"]["synthesis"].state["variables"]
                   if n != "16x16/Conv0_up/noise_strength"]), "missing from the pickle: 16x16/Conv0_up/noise_strength"),
    (lambda G, D, Gs: D.state.update(variables=D.state["variables"] + [("Output/extra", np.zeros(1, np.float32))]),
     "unexpected variable.*Output/extra"),
    (lambda G, D, Gs: D.state.update(variables=[(n, np.zeros([2, 2], np.float32) if n == "32x32/Skip/weight" else v)
                                                for n, v in D.state["variables"]]), "'32x32/Skip/weight' has shape"),
    (lambda G, D, Gs: G.state["components"]["synthesis"].state["static_kwargs"].update(architecture="orig"),
     "variable"),
    (lambda G, D, Gs: Gs.state.update(build_func_name="G_mystery"), "unknown build_func_name 'G_mystery'"),
    (lambda G, D, Gs: D.state["static_kwargs"].update(fmap_max=1 << 20), "fmap_max.*outside the supported range"),
    (lambda G, D, Gs: G.state["components"]["synthesis"].state["static_kwargs"].update(architecture="funnel"),
     "architecture must be one of"),
    (lambda G, D, Gs: D.state["static_kwargs"].update(resample_kernel=[1, float("nan"), 1]), "not a finite number"),
    (lambda G, D, Gs: D.state["static_kwargs"].update(fmap_min=1 << 40), "has shape"),  # fmap_max still bounds it
], ids=["missing", "extra", "shape", "other-architecture", "build-func", "size", "bad-option", "nan-option",
        "huge-fmap-min"])
def test_a_tampered_stylegan2_pickle_is_one_clear_error(fixture, tmp_path, edit, match):
    _refused(_tampered(fixture, tmp_path, edit), match)


def test_a_truncated_stylegan2_pickle_is_refused(fixture, tmp_path):
    path = tmp_path / "truncated.pkl"
    path.write_bytes(fixture.pickle.read_bytes()[: 1 << 20])
    _refused(path, "ends early")


def test_stylegan2_pickles_use_only_the_official_globals(networks):
    from test_official_pickle import OFFICIAL_GLOBALS, _globals

    assert _globals(official.dumps_networks(networks)) == OFFICIAL_GLOBALS


def test_nchw_and_nhwc_networks_share_weights_and_agree(fixture):
    """The layouts run the same arrays; NCHW (XLA) and NHWC images agree to float noise, D scores likewise."""
    nhwc = stylegan_tf.load_network_pkl(fixture.pickle, data_format="NHWC")
    nchw = stylegan_tf.load_network_pkl(io.BytesIO(official.dumps_networks(nhwc)), data_format="NCHW")
    z = tf.constant(np.random.RandomState(3).randn(4, 64).astype(np.float32))
    a = nhwc[2](z, randomize_noise=False).numpy()
    b = tf.function(lambda: nchw[2](z, randomize_noise=False), jit_compile=True)().numpy()
    assert np.max(np.abs(a - b)) <= 1e-4 * np.max(np.abs(a))
    images = tf.constant(np.tanh(a))
    s1 = nhwc[1](images).numpy()
    s2 = tf.function(lambda: nchw[1](images), jit_compile=True)().numpy()
    assert np.max(np.abs(s1 - s2)) <= 1e-4 * max(np.max(np.abs(s1)), 1e-3)
    assert ops.check_data_format(nchw[2].synthesis.data_format) == "NCHW"
