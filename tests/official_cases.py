"""Reading the official reference fixtures (``../shared/fixtures/*/cases.json`` + ``cases.npz``)
and running their cases through the public API (``dnnlib.tflib.Network`` and ``training.loss``)."""
import json

import numpy as np
import tensorflow as tf

import dnnlib.tflib as tflib
import stylegan_tf
from training import loss as loss_lib


class CaseFile:
    """One fixture directory: its cases, arrays and pickle path."""

    def __init__(self, directory):
        self.dir = directory
        self.doc = json.loads((directory / "cases.json").read_text())
        self.npz = np.load(directory / "cases.npz")
        self.pickle = directory / "network-snapshot.pkl"
        self.cases = {c["name"]: c for c in self.doc["cases"]}

    def inputs(self, case):
        """``{name: array}`` of a case's inputs."""
        return {i["name"]: self.npz[i["key"]] for i in case["inputs"]}

    def check(self, case, outputs):
        """Assert ``outputs[name]`` is within tolerance of each reference output present."""
        failures = []
        for o in case["outputs"]:
            if o["name"] not in outputs:
                continue
            ref = self.npz[o["key"]]
            got = np.asarray(outputs[o["name"]], dtype=np.float64)
            assert got.shape == ref.shape, f"{case['name']}/{o['name']}: shape {got.shape} != {ref.shape}"
            err = float(np.max(np.abs(got - ref))) if ref.size else 0.0
            if err > o["atol"]:
                failures.append(f"{o['name']}: max |diff| {err:.3g} > atol {o['atol']:.3g}")
        assert not failures, f"{case['name']}: " + "; ".join(failures)
        return [o["name"] for o in case["outputs"] if o["name"] in outputs]


def case_names(directory):
    """Names of the cases of a fixture directory (``['-']`` when it is missing, so that the
    parametrized tests are collected and then skipped by the ``fixtures_dir`` fixture)."""
    path = directory / "cases.json"
    return [c["name"] for c in json.loads(path.read_text())["cases"]] if path.exists() else ["-"]


def network_sets(fixture):
    """``get(data_format)``: the fixture's ``{'G', 'D', 'Gs'}`` Networks in that layout (loaded
    once), every variable reset to its pickled value (cases do not carry state over)."""
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


def evaluate(fn, data_format):
    """NCHW on CPU runs under XLA (TensorFlow has no NCHW CPU kernels); NHWC eagerly."""
    return tf.function(fn, jit_compile=True)() if data_format == "NCHW" else fn()


def _network(nets, spec):
    name, _, component = spec.partition(".")
    return nets[name].components[component] if component else nets[name]


def _official_loss_matrix(loss, stats, loss_kwargs):
    """Official ``D_logistic_simplegp`` / ``D_wgan_gp`` return ``[N, N]``: the score terms of
    sample i plus the per-sample penalty of sample j. Ours is ``[N, 1]`` (penalty of sample i)."""
    if "Loss/r1_penalty" in stats:
        penalty = stats["Loss/r1_penalty"] * loss_kwargs["r1_gamma"] * 0.5
    elif "Loss/mixed_norms" in stats:
        target = loss_kwargs["wgan_target"]
        penalty = np.square(stats["Loss/mixed_norms"] - target) * loss_kwargs["wgan_lambda"] / target ** 2
    else:
        return loss
    return (loss[:, 0] - penalty)[:, None] + penalty[None, :]


def _run_loss(case, inputs, nets, data_format):
    G, D = nets[case["G"]].model, nets[case["D"]].model  # noqa: N806
    func = getattr(loss_lib, case["loss_func"].rsplit(".", 1)[1])
    latents, labels = tf.constant(inputs["latents"]), tf.constant(inputs["labels"])
    kwargs = dict(G_kwargs=case["G_extra_kwargs"], **case["loss_kwargs"])
    if "mixing_factors" in inputs:
        kwargs["mixing_factors"] = tf.constant(inputs["mixing_factors"])
    if func in loss_lib.D_LOSSES.values():
        reals = tf.constant(inputs["reals"])
        fn = lambda: func(G, D, reals, labels, latents, **kwargs)  # noqa: E731
    else:
        fn = lambda: func(G, D, latents, labels, **kwargs)  # noqa: E731
    loss, stats = evaluate(fn, data_format)
    loss, stats = loss.numpy(), {k: v.numpy() for k, v in stats.items()}
    return {"loss_mean": loss.mean(), **stats, "loss": _official_loss_matrix(loss, stats, case["loss_kwargs"])}


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
        outputs = {"images_out": evaluate(
            lambda: G.get_output_for(*args, style_mixing_draws=draws, **case["kwargs"]), data_format).numpy()}
    else:
        net = _network(nets, case["network"])
        args = [tf.constant(inputs[i["name"]]) for i in case["inputs"]]
        out = evaluate(lambda: net.get_output_for(*args, **case["kwargs"]), data_format)
        outputs = {case["outputs"][0]["name"]: out.numpy()}
    if "G/dlatent_avg" in case.get("extra_outputs", []):
        outputs["G/dlatent_avg_after"] = nets["G"].get_var("dlatent_avg")
    return outputs
