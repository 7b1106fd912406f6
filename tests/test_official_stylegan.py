"""Every case of ``../shared/fixtures/official_stylegan`` reproduced through the public API
(``dnnlib.tflib.Network.get_output_for`` and ``training.loss``), in NHWC (eager, the
'recursive' graph) and NCHW (under ``jit_compile=True``, where ``lod`` is symbolic and the
'linear' graph runs)."""
import json

import numpy as np
import pytest
import tensorflow as tf

import dnnlib.tflib as tflib
import stylegan_tf
from conftest import FIXTURES_DIR
from official_cases import CaseFile
from training import loss as loss_lib

_CASES_JSON = FIXTURES_DIR / "official_stylegan" / "cases.json"
CASE_NAMES = [c["name"] for c in json.loads(_CASES_JSON.read_text())["cases"]] if _CASES_JSON.exists() else ["-"]


@pytest.fixture(scope="module")
def fixture(fixtures_dir):
    return CaseFile(fixtures_dir / "official_stylegan")


@pytest.fixture(scope="module")
def network_sets(fixture):
    """Per layout: the (G, D, Gs) Networks and their pickled values (restored before each case)."""
    cache = {}

    def get(data_format):
        if data_format not in cache:
            models = stylegan_tf.load_network_pkl(fixture.pickle, data_format=data_format)
            nets = dict(zip(("G", "D", "Gs"), (tflib.Network.from_model(m) for m in models)))
            cache[data_format] = nets, {n: {k: v.numpy() for k, v in net.vars.items()} for n, net in nets.items()}
        nets, initial = cache[data_format]
        for name, net in nets.items():
            net.set_vars(initial[name])
        return nets

    return get


def _evaluate(fn, data_format):
    return tf.function(fn, jit_compile=True)() if data_format == "NCHW" else fn()


def _network(nets, spec):
    name, _, component = spec.partition(".")
    return nets[name].components[component] if component else nets[name]


def _run_loss(case, inputs, nets, data_format):
    G, D = nets[case["G"]].model, nets[case["D"]].model  # noqa: N806
    func = getattr(loss_lib, case["loss_func"].rsplit(".", 1)[1])
    latents, labels = tf.constant(inputs["latents"]), tf.constant(inputs["labels"])
    if func in loss_lib.D_LOSSES.values():
        reals = tf.constant(inputs["reals"])
        fn = lambda: func(G, D, reals, labels, latents, G_kwargs=case["G_extra_kwargs"], **case["loss_kwargs"])  # noqa: E731
    else:
        fn = lambda: func(G, D, latents, labels, G_kwargs=case["G_extra_kwargs"], **case["loss_kwargs"])  # noqa: E731
    loss, stats = _evaluate(fn, data_format)
    loss = loss.numpy()
    outputs = {"loss_mean": loss.mean(), **{k: v.numpy() for k, v in stats.items()}}
    if "Loss/r1_penalty" in stats:
        # Official returns [N, N]: score term of sample i + penalty of sample j.
        penalty = outputs["Loss/r1_penalty"] * case["loss_kwargs"]["r1_gamma"] * 0.5
        outputs["loss"] = (loss[:, 0] - penalty)[:, None] + penalty[None, :]
    else:
        outputs["loss"] = loss
    return outputs


def run_case(case, inputs, nets, data_format):
    """Our outputs for one fixture case, by output name."""
    for net, name, value in case["var_overrides"]:
        nets[net].set_var(name, value)
    if case["call"] == "loss":
        outputs = _run_loss(case, inputs, nets, data_format)
    elif case["call"] == "stylemix":
        G = nets["G"]  # noqa: N806
        draws = tuple(tf.constant(inputs[k]) for k in ("stylemix_latents2", "stylemix_uniform", "stylemix_cutoff"))
        args = [tf.constant(inputs[k]) for k in ("latents_in", "labels_in")]
        outputs = {"images_out": _evaluate(
            lambda: G.get_output_for(*args, style_mixing_draws=draws, **case["kwargs"]), data_format).numpy()}
    else:
        net = _network(nets, case["network"])
        args = [tf.constant(inputs[i["name"]]) for i in case["inputs"]]
        out = _evaluate(lambda: net.get_output_for(*args, **case["kwargs"]), data_format)
        outputs = {case["outputs"][0]["name"]: out.numpy()}
    if "G/dlatent_avg" in case.get("extra_outputs", []):
        outputs["G/dlatent_avg_after"] = nets["G"].get_var("dlatent_avg")
    return outputs


@pytest.mark.parametrize("data_format", ["NHWC", "NCHW"])
@pytest.mark.parametrize("case_name", CASE_NAMES)
def test_official_case(fixture, network_sets, case_name, data_format):
    case = fixture.cases[case_name]
    outputs = run_case(case, fixture.inputs(case), network_sets(data_format), data_format)
    checked = fixture.check(case, outputs)
    assert sorted(checked) == sorted(o["name"] for o in case["outputs"])


def test_plain_pickle_load_gives_networks_matching_the_fixture(fixture):
    """The official user-script idiom: ``pickle.load`` after ``import dnnlib``, then ``Gs.run``."""
    import pickle

    import dnnlib

    with dnnlib.util.open_url(str(fixture.pickle)) as f:
        _G, _D, Gs = pickle.load(f)  # noqa: N806
    case = fixture.cases["Gs_psi0.7_cutoff8"]
    inputs = fixture.inputs(case)
    images = Gs.run(inputs["latents_in"], None, truncation_psi=0.7, randomize_noise=False)
    fixture.check(case, {"images_out": images})
    uint8 = Gs.run(inputs["latents_in"], None, truncation_psi=0.7, randomize_noise=False,
                   output_transform=dict(func=tflib.convert_images_to_uint8, nchw_to_nhwc=True))
    ref = np.clip(np.transpose(fixture.npz[case["outputs"][0]["key"]], [0, 2, 3, 1]) * 127.5 + 128, 0, 255)
    assert uint8.dtype == np.uint8 and uint8.shape == (4, 32, 32, 3)
    assert np.max(np.abs(uint8.astype(np.float64) - np.floor(ref))) <= 1
    two_step = Gs.components.synthesis.run(Gs.components.mapping.run(inputs["latents_in"], None),
                                           randomize_noise=False)
    fixture.check(fixture.cases["Gs_psi1"], {"images_out": two_step})
