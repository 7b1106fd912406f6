"""The official training iterations of ``../shared/fixtures/official_train_step`` (D step,
Gs moving average, G step; twice at lod 0 and once at lod 1.5) reproduced by our step
functions, with the official random draws fed in."""
import keras
import numpy as np
import pytest
import tensorflow as tf

import stylegan_tf
from official_cases import CaseFile
from stylegan_tf import official
from stylegan_tf.scopes import reusing_variables
from training import loss as loss_lib
from training.train_step import TrainStep, gs_beta, reset_optimizer


@pytest.fixture(scope="module")
def fixture(fixtures_dir):
    return CaseFile(fixtures_dir / "official_train_step")


def _values(path):
    """``{(network, name): array}`` of an official pickle, component names prefixed."""
    out = {}
    for net_name, state in zip(("G", "D", "Gs"), official.read_pickle(path)):
        stack = [("", state)]
        while stack:
            prefix, s = stack.pop()
            for name, value in s.state["variables"]:
                out[(net_name, prefix + name)] = np.asarray(value, np.float32)
            stack.extend((f"{c.state['name']}/", c) for c in s.state["components"].values())
    return out


def _state(nets):
    return {(n, name): v.numpy() for n, net in nets.items() for name, v in net.all_official_variables()}


def _load(nets, values):
    for n, net in nets.items():
        for name, var in net.all_official_variables():
            var.assign(values[(n, name)])


#: The second iteration at lod 0 has a leaky-ReLU pre-activation of G within 3e-6 of zero (32x32/Conv0_up, sample 4),
#: which float32 rounding puts on either side depending on the convolution kernels a CPU's oneDNN picks (both sides
#: are valid subgradients; the other side moves G's step-2 gradients by 2e-3 relative). Computed in float64 -- one of
#: the fixture's own measured variants (README: "dtype='float64' in G's synthesis network and D", within tolerance)
#: with the mapping network in float32, as the fixture ran it -- every case is matched on any machine; float32 is
#: checked on the cases without such a kink.
ITERATION_RUNS = {"float64": ("train_lod0_iter1", "train_lod0_iter2", "train_lod1.5_iter1"),
                  "float32": ("train_lod0_iter1", "train_lod1.5_iter1")}


@pytest.mark.parametrize("dtype", sorted(ITERATION_RUNS))
def test_official_training_iterations(fixture, fixtures_dir, dtype, data_format="NHWC"):
    start_pickle = fixtures_dir / "official_stylegan" / "network-snapshot.pkl"
    start_values, snap_values = _values(start_pickle), _values(fixture.pickle)
    G, D, Gs = stylegan_tf.load_network_pkl(start_pickle, data_format=data_format)  # noqa: N806
    if dtype != "float32":  # the same variables; synthesis and D compute in float64, the mapping in float32
        with reusing_variables(G.official_variables()):
            G = type(G)(name=G.name, data_format=data_format, synthesis=G.synthesis.variant(dtype=dtype),  # noqa: N806
                        mapping=G.mapping, **G.static_kwargs)
        D = D.variant(dtype=dtype)  # noqa: N806
    nets = {"G": G, "D": D, "Gs": Gs}
    opt_args = dict(learning_rate=0.001, beta_1=0.0, beta_2=0.99, epsilon=1e-8)
    step = TrainStep(G, D, Gs, keras.optimizers.Adam(**opt_args), keras.optimizers.Adam(**opt_args),
                     loss_lib.G_logistic_nonsaturating, loss_lib.D_logistic_simplegp,
                     tf.distribute.get_strategy(), D_loss_args={"r1_gamma": 10.0}, randomize_noise=False)
    training = fixture.doc["training"]
    beta = gs_beta(training["minibatch"], training["G_smoothing_kimg"])
    assert beta == np.float32(fixture.doc["Gs_beta_float32"])

    @tf.function
    def d_step(reals_raw, labels, lod, draws):
        step.set_lod(lod)
        return step.d_replica_step(reals_raw, labels, lod, 8, draws)

    @tf.function
    def g_step(lod, labels, draws, resolution):
        step.set_lod(lod)
        return step.g_replica_step(lod, resolution, 8, 8, draws, labels)

    ends = {}
    for case in fixture.doc["cases"]:
        if case["name"] not in ITERATION_RUNS[dtype]:
            continue
        if case["start"] == "start_pickle":
            start = dict(start_values)
            for net, name, value in case["var_overrides"]:
                start[(net, name)] = np.float32(value)
            _load(nets, start)
            reset_optimizer(step.G_opt)
            reset_optimizer(step.D_opt)
        else:
            start = ends[case["start"]]
        inputs = fixture.inputs(case)
        lod_value = case["lod"]
        lod = tf.constant(lod_value, tf.float32)
        t = {k: tf.constant(v) for k, v in inputs.items()}

        def draws(suffix):
            return {"latents": t[f"latents_{suffix}"],
                    "style_mixing_draws": tuple(t[f"stylemix_{k}_{suffix}"] for k in ("latents2", "uniform", "cutoff"))}

        outputs = {}
        d = d_step(t["reals_raw"], t["labels"], lod, draws("D"))
        factor = 32 // int(inputs["reals_raw"].shape[-1])
        outputs["process_reals"] = d["reals"].numpy().repeat(factor, 2).repeat(factor, 3)
        penalty = d["Loss/r1_penalty"].numpy() * 5.0
        outputs["D_step/loss"] = (d["loss"].numpy()[:, 0] - penalty)[:, None] + penalty[None, :]
        outputs["D_step/loss_mean"] = d["loss"].numpy().mean()
        for k in ("Loss/r1_penalty", "Loss/scores/real", "Loss/scores/fake", "grad_norm"):
            outputs[f"D_step/{k}"] = d[k].numpy()
        after = _state(nets)
        outputs.update({f"after_D_step/{n}/{name}": after[(n, name)] for n, name in after if n != "Gs"})

        step.update_Gs(beta)
        outputs["Gs_update/beta"] = beta
        after = _state(nets)
        outputs.update({f"after_Gs_update/Gs/{name}": after[(n, name)] for n, name in after if n == "Gs"})

        g = g_step(lod, t["labels"], draws("G"), 32 // 2 ** int(lod_value))
        outputs["G_step/loss"] = g["loss"].numpy()
        outputs["G_step/loss_mean"] = g["loss"].numpy().mean()
        outputs["G_step/grad_norm"] = g["grad_norm"].numpy()
        after = _state(nets)
        outputs.update({f"after_G_step/{n}/{name}": after[(n, name)] for n, name in after if n != "Gs"})

        failures, end = [], dict(start)
        for o in case["outputs"]:
            if o["encoding"] == "delta":
                ref = start[tuple(o["variable"])].astype(np.float32) + fixture.npz[o["key"]]
            elif o["encoding"] == "snapshot":
                ref = snap_values[tuple(o["variable"])]
            else:
                ref = fixture.npz[o["key"]]
            got = np.asarray(outputs[o["name"]], np.float64)
            err = float(np.max(np.abs(got - ref))) if np.size(ref) else 0.0
            if err > o["atol"]:
                failures.append(f"{o['name']} {err:.3g} > {o['atol']:.3g}")
            phase, net, name = (o["name"].split("/", 2) + [None, None])[:3]
            if (phase, net) in (("after_G_step", "G"), ("after_G_step", "D"), ("after_Gs_update", "Gs")):
                end[(net, name)] = ref
        assert not failures, f"{case['name']}: {len(failures)} outputs off: " + "; ".join(failures[:10])
        assert len(outputs) >= len(case["outputs"])
        ends[case["name"]] = end


SMALL_G = dict(resolution=16, num_channels=3, latent_size=8, dlatent_size=8, mapping_fmaps=8, mapping_layers=2,
               fmap_base=32, fmap_max=8)
SMALL_D = dict(resolution=16, num_channels=3, fmap_base=32, fmap_max=8)


@pytest.mark.parametrize("xla,mixed", [(True, False), (False, True)], ids=["xla", "mixed_float16"])
def test_compiled_and_mixed_precision_iterations_train(xla, mixed):
    """Whole iterations (D step with R1, Gs update, G step) under XLA or mixed_float16:
    finite losses, every reached trainable of D and G moved, float32 variables, and under
    mixed precision a dynamic loss scale that came down from 2**15 after overflowing steps."""
    dtype = "float16" if mixed else "float32"
    keras.utils.set_random_seed(6)  # an initialization whose 4th D step overflows float16 at loss scale 2**15
    G = stylegan_tf.G_style(name="G", data_format="NHWC", dtype=dtype, **SMALL_G)  # noqa: N806
    D = stylegan_tf.D_basic(name="D", data_format="NHWC", dtype=dtype, **SMALL_D)  # noqa: N806
    Gs = stylegan_tf.G_style(name="Gs", data_format="NHWC", dtype=dtype, **SMALL_G)  # noqa: N806
    adam = dict(learning_rate=0.001, beta_1=0.0, beta_2=0.99, epsilon=1e-8)
    step = TrainStep(G, D, Gs, keras.optimizers.Adam(**adam), keras.optimizers.Adam(**adam),
                     loss_lib.G_logistic_nonsaturating, loss_lib.D_logistic_simplegp, tf.distribute.get_strategy(),
                     D_loss_args={"r1_gamma": 10.0}, xla=xla, loss_scaling=mixed, seed=6)
    # The initial all-ones constant gives instance norm a ~1e4x input gradient, which overflows
    # float16 at any useful loss scale (official fp16 alike); start from a trained-like constant.
    G.synthesis.const.assign(np.random.RandomState(1).randn(*G.synthesis.const.shape))
    before = {n: v.numpy().copy() for net in (G, D) for n, v in [(f"{net.name}/{k}", v)
                                                                  for k, v in net.all_official_variables()]}
    iteration = step.iteration_function(16, 8)
    reals = tf.constant(np.random.RandomState(0).randint(0, 256, [8, 3, 16, 16]), tf.uint8)

    def scales():
        return [float(s.scale.numpy()) for s in (step.G_loss_scale, step.D_loss_scale)] if mixed else []

    overflows = 0
    for _ in range(6 if mixed else 2):  # mixed: steps that overflow at scale 2**15 are skipped
        before_scales = scales()
        stats = iteration(reals, tf.zeros([8, 0]), tf.constant(0.0), tf.constant(0.001), tf.constant(0.001),
                          tf.constant(np.float32(0.99)))
        finite = all(np.isfinite(v.numpy()) for v in stats.values())
        # a non-finite loss only where float16 overflowed: that step's loss scale was halved
        assert finite or any(a < b for a, b in zip(scales(), before_scales)), stats
        overflows += not finite
    assert finite and overflows == (1 if mixed else 0)  # the overflow step was skipped, training went on
    for net in (G, D):
        for name, var in net.all_official_variables():
            assert var.dtype == tf.float32
            if var.trainable and "ToRGB_lod1" not in name and "FromRGB_lod1" not in name and "ToRGB_lod2" not in name \
                    and "FromRGB_lod2" not in name:
                assert np.abs(var.numpy() - before[f"{net.name}/{name}"]).max() > 0, name
    if mixed:
        assert G(tf.zeros([2, 8])).dtype == tf.float16
        assert float(step.D_loss_scale.scale.numpy()) == 2.0 ** 14


def test_d_repeats_take_a_d_step_and_a_gs_update_per_minibatch():
    G = stylegan_tf.G_style(name="G", data_format="NHWC", **SMALL_G)  # noqa: N806
    D = stylegan_tf.D_basic(name="D", data_format="NHWC", **SMALL_D)  # noqa: N806
    Gs = stylegan_tf.G_style(name="Gs", data_format="NHWC", **SMALL_G)  # noqa: N806
    adam = dict(learning_rate=0.001, beta_1=0.0, beta_2=0.99, epsilon=1e-8)
    step = TrainStep(G, D, Gs, keras.optimizers.Adam(**adam), keras.optimizers.Adam(**adam),
                     loss_lib.G_logistic_nonsaturating, loss_lib.D_logistic_simplegp, tf.distribute.get_strategy())
    name = "G_synthesis/4x4/Conv/weight"
    g0, gs0 = dict(G.all_official_variables())[name].numpy(), dict(Gs.all_official_variables())[name].numpy()
    reals = tuple(tf.constant(np.random.RandomState(i).randint(0, 256, [8, 3, 16, 16]), tf.uint8) for i in range(2))
    beta = np.float32(0.5)
    step.iteration_function(16, 8)(reals, (tf.zeros([8, 0]),) * 2, tf.constant(0.0), tf.constant(0.001),
                                   tf.constant(0.001), tf.constant(beta))
    assert int(step.D_opt.iterations.numpy()) == 2 and int(step.G_opt.iterations.numpy()) == 1
    # Gs moved towards the (not yet updated) G twice: gs = g0 + (gs0 - g0) * beta^2
    np.testing.assert_allclose(dict(Gs.all_official_variables())[name].numpy(), g0 + (gs0 - g0) * beta ** 2,
                               rtol=1e-6, atol=1e-6)


def test_gs_beta_ramps_the_half_life_up_with_the_images_shown():
    """StyleGAN2-ADA's ema_rampup: half-life min(G_smoothing_kimg * 1000, rampup * cur_nimg) images."""
    assert gs_beta(32, 10.0, cur_nimg=0, G_smoothing_rampup=0.05) == 0  # Gs = G at the start
    assert gs_beta(32, 10.0, cur_nimg=100_000, G_smoothing_rampup=0.05) == pytest.approx(0.5 ** (32 / 5000), 1e-6)
    assert gs_beta(32, 10.0, cur_nimg=400_000, G_smoothing_rampup=0.05) == gs_beta(32, 10.0)  # capped at 10 kimg
    assert gs_beta(32, 10.0, cur_nimg=123) == gs_beta(32, 10.0) == np.float32(0.5) ** np.float32(32 / 10000)
    assert gs_beta(32, 0.0, cur_nimg=10**6, G_smoothing_rampup=0.05) == 0
