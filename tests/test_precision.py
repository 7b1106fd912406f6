"""The arithmetic of a run (`training.precision`): the CPU's bfloat16 flags, the settings' rules, and a bfloat16
training iteration against the same iteration in float32."""
import keras
import numpy as np
import pytest
import tensorflow as tf

import stylegan_tf
from stylegan_tf.errors import InputError
from training import loss as loss_lib
from training import precision
from training.train_step import TrainStep

CPUINFO = """processor\t: 0
model name\t: Some CPU
flags\t\t: fpu vme sse sse2 avx2 {extra}
processor\t: 1
flags\t\t: fpu
"""


@pytest.mark.parametrize("extra,found", [("avx512f amx_tile amx_bf16 avx512_bf16", ("amx_bf16", "avx512_bf16")),
                                         ("avx512f avx512_bf16", ("avx512_bf16",)), ("avx512f avx512_fp16", ())])
def test_cpu_bfloat16_flags_read_the_first_flags_line(tmp_path, extra, found):
    path = tmp_path / "cpuinfo"
    path.write_text(CPUINFO.format(extra=extra))
    assert precision.cpu_bfloat16_flags(str(path)) == found


def test_cpu_bfloat16_flags_without_cpuinfo_are_none(tmp_path):
    assert precision.cpu_bfloat16_flags(str(tmp_path / "missing")) == ()


def test_settings_give_the_dtypes_of_G_D_and_Gs(monkeypatch):
    P = precision.Precision  # noqa: N806
    assert precision.run_precision("off") == P("float32", "float32", "float32")
    f16 = precision.run_precision("off", mixed_precision=True)
    assert (f16.train, f16.Gs, f16.loss_scaling) == ("float16", "float16", True)
    assert precision.run_precision("auto", mixed_precision=True).train == "float16"  # auto yields to float16
    for native, expected in ((True, "bfloat16"), (False, "float32")):
        monkeypatch.setattr(precision, "native_bfloat16", lambda native=native: (native, "a test CPU"))
        auto = precision.run_precision("auto")
        assert auto.train == expected and auto.Gs == "float32" and "a test CPU" in auto.why
        on = precision.run_precision("on")  # as asked, saying so where bfloat16 is emulated
        assert (on.train, on.Gs, on.loss_scaling) == ("bfloat16", "float32", False)
        assert ("emulated: a test CPU" in on.why) == (not native)


@pytest.mark.parametrize("bfloat16,mixed,message", [("yes", False, "not one of off, on, auto"),
                                                    ("on", True, "exclude each other")])
def test_bad_settings_are_input_errors(bfloat16, mixed, message):
    with pytest.raises(InputError, match=message):
        precision.run_precision(bfloat16, mixed_precision=mixed)


def test_native_bfloat16_on_this_cpu_follows_its_flags():
    native, reason = precision.native_bfloat16()
    if tf.config.list_physical_devices("GPU"):
        pytest.skip("the GPU decides")
    assert native == bool(precision.cpu_bfloat16_flags()) and reason.startswith("CPU")


SMALL_G = dict(resolution=16, num_channels=1, latent_size=16, dlatent_size=16, mapping_fmaps=16, mapping_layers=2,
               fmap_base=64, fmap_max=16)
SMALL_D = dict(resolution=16, num_channels=1, fmap_base=64, fmap_max=16)


def _iterations(dtype, count=3):
    """`(before, after, stats)`: G's, D's and Gs's variables (float32 NumPy) from seeded weights and after `count`
    official iterations with G and D in `dtype` and Gs in float32 (as a bfloat16 run builds them), and the last
    iteration's stats."""
    keras.utils.set_random_seed(3)
    G = stylegan_tf.G_style(name="G", data_format="NHWC", dtype=dtype, **SMALL_G)  # noqa: N806
    D = stylegan_tf.D_basic(name="D", data_format="NHWC", dtype=dtype, **SMALL_D)  # noqa: N806
    Gs = stylegan_tf.G_style(name="Gs", data_format="NHWC", **SMALL_G)  # noqa: N806
    step = TrainStep(G, D, Gs, keras.optimizers.SGD(), keras.optimizers.SGD(), loss_lib.G_logistic_nonsaturating,
                     loss_lib.D_logistic_simplegp, tf.distribute.get_strategy(), D_loss_args={"r1_gamma": 1.0},
                     style_mixing=False, seed=3)
    iteration = step.iteration_function(16, 8)
    variables = {f"{net.name}/{k}": v for net in (G, D, Gs) for k, v in net.all_official_variables()}
    rng = np.random.RandomState(1)
    for name, v in variables.items():  # the same weights in both precisions (Gs: a copy of G), N(0, 1) as the
        if v.trainable and not name.startswith("Gs/"):  # official init of runtime-scaled weights (biases too here)
            v.assign(rng.standard_normal(v.shape).astype(np.float32))
    for name, v in variables.items():
        if name.startswith("Gs/"):
            v.assign(variables["G/" + name[3:]])
    assert all(v.dtype == tf.float32 for v in variables.values())
    before = {k: v.numpy() for k, v in variables.items()}
    reals = tf.constant(np.random.RandomState(0).randint(0, 256, [8, 1, 16, 16]), tf.uint8)
    for _ in range(count):
        stats = iteration(reals, tf.zeros([8, 0]), tf.constant(0.0), tf.constant(0.002), tf.constant(0.002),
                          tf.constant(np.float32(0.9)))
    return before, {k: v.numpy() for k, v in variables.items()}, {k: float(v.numpy()) for k, v in stats.items()}


def test_a_bfloat16_iteration_follows_the_float32_one():
    """G and D in bfloat16 train like float32 to bfloat16's precision: from the same weights, three iterations
    (D step with R1, Gs update, G step; plain gradient descent, so that the updates are the gradients, not Adam's
    near-signs of them, which flip for gradients below bfloat16's rounding) move G's, D's and Gs's weights in the
    same direction as float32 (cosine > 0.98 over each network) by the same amount (norms within 5%), and the
    losses agree to ~3%. Measured on a CPU that emulates bfloat16 (AVX2): cosines 0.996-0.9999, norms within 1.6%."""
    before, w32, s32 = _iterations("float32")
    before16, w16, s16 = _iterations("bfloat16")
    assert all(np.array_equal(before[k], before16[k]) for k in before)
    for net in ("G/", "D/", "Gs/"):
        names = [k for k in before if k.startswith(net)]
        d32 = np.concatenate([(w32[k] - before[k]).ravel() for k in names])
        d16 = np.concatenate([(w16[k] - before[k]).ravel() for k in names])
        assert np.all(np.isfinite(d16)) and np.linalg.norm(d32) > 0, net
        cosine = d16 @ d32 / (np.linalg.norm(d16) * np.linalg.norm(d32))
        assert cosine > 0.98, (net, cosine)
        assert np.linalg.norm(d16) == pytest.approx(np.linalg.norm(d32), rel=0.05), net
    for k in ("Loss/G", "Loss/D"):
        assert s16[k] == pytest.approx(s32[k], rel=0.03, abs=0.02), k
