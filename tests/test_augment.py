"""ADA augmentation pipeline: identity at p = 0, each transform against closed forms and numpy references,
firing frequencies, gradients, XLA, float16, checkpointing and tf.distribute (own process)."""
import json
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import tensorflow as tf

from stylegan_tf.errors import InputError
from training.augment import PIPELINES, SYM2, AugmentPipe, apply, filter_bank
from training.augment_resample import SYM6

RNG = np.random.RandomState(0)
IMAGES = RNG.uniform(-1, 1, [3, 3, 16, 16]).astype(np.float32)


def _apply(images, **params):
    return apply(tf.constant(images), {k: tf.constant(np.asarray(v, np.float32)) for k, v in params.items()}).numpy()


def _cosine_image(h, w, kx=1, ky=2):
    """A smooth image equal to its own reflect extension: cos(pi kx x / (W-1)) cos(pi ky y / (H-1))."""
    y, x = np.mgrid[0:h, 0:w]
    return np.cos(np.pi * kx * x / (w - 1)) * np.cos(np.pi * ky * y / (h - 1))


def _inverse_matrix(scale=1.0, rotate_pre=0.0, aniso=1.0, rotate_post=0.0, xfrac=(0.0, 0.0)):
    """The documented ``G_inv = S(1/s) R(a) S(1/r, r) R(b) T(-t)`` in numpy."""
    def rot(t):
        return np.array([[np.cos(t), -np.sin(t), 0], [np.sin(t), np.cos(t), 0], [0, 0, 1]])
    return (np.diag([1 / scale, 1 / scale, 1]) @ rot(rotate_pre) @ np.diag([1 / aniso, aniso, 1]) @ rot(rotate_post)
            @ np.array([[1, 0, -xfrac[0]], [0, 1, -xfrac[1]], [0, 0, 1]]))


def _numpy_filtered_resample(image, G_inv):  # noqa: N803
    """Official recipe in float64 numpy: reflect-pad, insert zeros and filter with 2*SYM6 per axis (U[2j] is
    pixel j), sample U bilinearly (zeros outside) at 2 * G_inv(position) for the output positions
    (o - 6) / 2, o = 0 .. 2W+11, correlate with SYM6 and keep samples 2m+1 .. 2m+12 for output pixel m."""
    h, w = image.shape
    pad = 2 * max(h, w)
    z = np.zeros([2 * (h + 2 * pad), 2 * (w + 2 * pad)])
    z[::2, ::2] = np.pad(image.astype(np.float64), pad, mode="reflect")
    for axis in (0, 1):
        z = np.apply_along_axis(lambda r: 2 * np.convolve(r, SYM6)[5:5 + r.size], axis, z)
    oy, ox = np.mgrid[0:2 * h + 12, 0:2 * w + 12]
    centered = np.stack([(ox - 6) / 2 - (w - 1) / 2, (oy - 6) / 2 - (h - 1) / 2, np.ones(ox.shape)])
    src = np.einsum("ij,jhw->ihw", G_inv, centered)
    kx, ky = 2 * (src[0] + (w - 1) / 2 + pad), 2 * (src[1] + (h - 1) / 2 + pad)
    x0, y0 = np.floor(kx).astype(int), np.floor(ky).astype(int)
    samples = np.zeros(ox.shape)
    for dy in (0, 1):
        for dx in (0, 1):
            weight = (1 - np.abs(kx - x0 - dx)) * (1 - np.abs(ky - y0 - dy))
            y, x = y0 + dy, x0 + dx
            inside = (0 <= y) & (y < z.shape[0]) & (0 <= x) & (x < z.shape[1])
            samples += np.where(inside, z[np.clip(y, 0, z.shape[0] - 1), np.clip(x, 0, z.shape[1] - 1)], 0) * weight
    rows = np.array([[SYM6 @ samples[2 * m + 1:2 * m + 13, c] for c in range(2 * w + 12)] for m in range(h)])
    return np.array([[SYM6 @ rows[m, 2 * n + 1:2 * n + 13] for n in range(w)] for m in range(h)])


# ----------------------------------------------------------------------------
# Identity.

@pytest.mark.parametrize("channels", [1, 3])
def test_p_zero_is_exactly_the_identity(channels):
    images = IMAGES[:, :channels]
    rng = tf.random.Generator.from_seed(1)
    for pipeline in PIPELINES:
        np.testing.assert_array_equal(AugmentPipe(pipeline, p=0.0).augment(tf.constant(images), rng), images)


def test_samples_no_transform_fired_on_are_returned_unchanged():
    images = RNG.uniform(-1, 1, [64, 3, 8, 8]).astype(np.float32)
    pipe = AugmentPipe("bgcf", p=0.08)
    params = pipe.draw_params(images.shape, tf.random.Generator.from_seed(2))
    identity = {"xint": 0, "scale": 1, "rotate_pre": 0, "aniso": 1, "rotate_post": 0, "xfrac": 0, "contrast": 1,
                "saturation": 1, "imgfilter": 1}
    untouched = np.all([np.all(np.reshape(v.numpy() == identity.get(k, 0), [64, -1]), axis=1)
                        for k, v in params.items()], axis=0)
    out = apply(tf.constant(images), params).numpy()
    assert 5 < untouched.sum() < 60
    np.testing.assert_array_equal(out[untouched], images[untouched])
    assert np.all(np.abs(out[~untouched] - images[~untouched]).reshape(-1, 3 * 64).max(axis=1) > 1e-3)


# ----------------------------------------------------------------------------
# Pixel blitting: exact.

def test_xflip_and_rotate90_are_exact_pixel_permutations():
    for flip in (0, 1):
        for k in range(4):
            got = _apply(IMAGES, xflip=[flip] * 3, rotate90=[k] * 3)
            want = np.rot90(IMAGES[..., ::-1] if flip else IMAGES, k, axes=(2, 3))
            np.testing.assert_array_equal(got, want)
    with pytest.raises(InputError, match="square"):
        _apply(IMAGES[:, :, :8], rotate90=[1] * 3)


@pytest.mark.parametrize("size, shifts", [(16, [(2, -1), (-2, 0), (0, 3)]), (8, [(11, -9), (-8, 15), (1, 1)])])
def test_integer_translation_with_reflect_padding(size, shifts):
    """``out[y, x] = reflect(in)[y - ty, x - tx]``; at 8 px also shifts past one reflection."""
    images = RNG.uniform(-1, 1, [3, 2, size, size]).astype(np.float32)
    got = _apply(images, xint=shifts)
    for n, (tx, ty) in enumerate(shifts):
        padded = np.pad(images[n], [(0, 0), (size * 2, size * 2), (size * 2, size * 2)], mode="reflect")
        want = padded[:, 2 * size - ty:3 * size - ty, 2 * size - tx:3 * size - tx]
        np.testing.assert_allclose(got[n], want, atol=2e-5)


# ----------------------------------------------------------------------------
# General geometric transforms: filtered resampling.

GEOMETRIES = [dict(scale=1.3), dict(rotate_pre=0.7), dict(aniso=0.8), dict(rotate_post=-2.0), dict(xfrac=(1.7, -2.4)),
              dict(scale=0.9, rotate_pre=2.5, aniso=1.2, rotate_post=-0.4, xfrac=(-0.6, 1.1))]


@pytest.mark.parametrize("geometry", GEOMETRIES)
def test_geometric_transform_of_a_smooth_image_is_the_transformed_function(geometry):
    """A cosine image is its own reflect extension, so ``out(p) = f(G_inv p)`` holds on every pixel, up to the
    resampling's error: at most 0.023 here, largest for rotations near 180 degrees, which SYM6 (not linear-phase)
    resamples with a small shift, as official; a transform in the wrong direction is off by 0.7 or more."""
    size = 32
    image = _cosine_image(size, size).astype(np.float32)
    params = {k: [v] for k, v in geometry.items()}
    got = _apply(image[None, None], **params)[0, 0]
    c = (size - 1) / 2
    y, x = np.mgrid[0:size, 0:size]
    src = np.einsum("ij,jhw->ihw", _inverse_matrix(**geometry), np.stack([x - c, y - c, np.ones(x.shape)]))
    want = np.cos(np.pi * (src[0] + c) / (size - 1)) * np.cos(2 * np.pi * (src[1] + c) / (size - 1))
    np.testing.assert_allclose(got, want, atol=0.03)


def test_geometric_transforms_match_a_numpy_filtered_resampling():
    images = RNG.uniform(-1, 1, [len(GEOMETRIES), 1, 12, 12]).astype(np.float32)
    params = {k: [g.get(k, d) for g in GEOMETRIES] for k, d in
              dict(scale=1.0, rotate_pre=0.0, aniso=1.0, rotate_post=0.0, xfrac=(0.0, 0.0)).items()}
    got = _apply(images, **params)
    for n, geometry in enumerate(GEOMETRIES):
        np.testing.assert_allclose(got[n, 0], _numpy_filtered_resample(images[n, 0], _inverse_matrix(**geometry)),
                                   atol=2e-5)


# ----------------------------------------------------------------------------
# Color.

def test_brightness_contrast_and_luma_flip_formulas():
    b, c = np.array([0.3, -0.2, 0.0]), np.array([1.5, 0.7, 2.0])
    luma_sum = IMAGES.sum(axis=1, keepdims=True)
    np.testing.assert_allclose(_apply(IMAGES, brightness=b), IMAGES + b[:, None, None, None], atol=1e-6)
    np.testing.assert_allclose(_apply(IMAGES, contrast=c), IMAGES * c[:, None, None, None], atol=1e-6)
    np.testing.assert_allclose(_apply(IMAGES, brightness=b, contrast=c),
                               (IMAGES + b[:, None, None, None]) * c[:, None, None, None], atol=1e-6)
    np.testing.assert_allclose(_apply(IMAGES, lumaflip=[1, 1, 1]), IMAGES - 2 / 3 * luma_sum, atol=1e-6)
    gray = IMAGES[:, :1]
    np.testing.assert_allclose(_apply(gray, lumaflip=[1, 1, 1]), -gray, atol=1e-6)
    np.testing.assert_allclose(_apply(gray, brightness=b, contrast=c),
                               (gray + b[:, None, None, None]) * c[:, None, None, None], atol=1e-6)


def test_color_matrix_on_known_colors():
    colors = np.array([[1, 0, 0], [0, 1, 0], [0.5, 0.5, 0.5], [0.9, 0.3, -0.6]], np.float32)
    images = np.tile(colors[:, :, None, None], [1, 1, 2, 2])
    mean = colors.mean(axis=1, keepdims=True)

    def run(**params):
        return _apply(images, **{k: [v] * 4 for k, v in params.items()})[:, :, 0, 0]

    third = 2 * np.pi / 3
    np.testing.assert_allclose(run(hue=third)[:2], [[0, 1, 0], [0, 0, 1]], atol=1e-6)  # red -> green -> blue
    np.testing.assert_allclose(run(hue=-third)[0], [0, 0, 1], atol=1e-6)
    np.testing.assert_allclose(run(hue=1.1)[2], colors[2], atol=1e-6)                  # gray is the axis
    np.testing.assert_allclose(run(hue=1.1).sum(axis=1), colors.sum(axis=1), atol=1e-5)  # luma kept
    np.testing.assert_allclose(run(saturation=0.0), np.broadcast_to(mean, colors.shape), atol=1e-6)
    np.testing.assert_allclose(run(saturation=2.5), mean + 2.5 * (colors - mean), atol=1e-5)
    np.testing.assert_allclose(run(lumaflip=1.0), colors - 2 * mean, atol=1e-6)


def test_grayscale_draws_no_hue_or_saturation():
    params = AugmentPipe("color", p=1.0).draw_params((4, 1, 8, 8), tf.random.Generator.from_seed(0))
    assert set(params) == {"brightness", "contrast", "lumaflip"}
    params = AugmentPipe("color", p=1.0).draw_params((4, 3, 8, 8), tf.random.Generator.from_seed(0))
    assert set(params) == {"brightness", "contrast", "lumaflip", "hue", "saturation"}


# ----------------------------------------------------------------------------
# Image-space filtering, noise, cutout.

def _closed_form_filter_bank():
    """``L(z) L(z^2) L(z^4)``, ``L(z) L(z^2) Hi(z^4)``, ``L(z) Hi(z^2)``, ``Hi(z)``, centered in 43 taps."""
    def upsample(f, factor):
        out = np.zeros((f.size - 1) * factor + 1)
        out[::factor] = f
        return out
    high = SYM2 * (-1.0) ** np.arange(4)
    lo, hi = np.convolve(SYM2, SYM2[::-1]) / 2, np.convolve(high, high[::-1]) / 2
    bands = [np.convolve(np.convolve(lo, upsample(lo, 2)), upsample(lo, 4)),
             np.convolve(np.convolve(lo, upsample(lo, 2)), upsample(hi, 4)), np.convolve(lo, upsample(hi, 2)), hi]
    return np.stack([np.pad(b, (43 - b.size) // 2) for b in bands])


def test_filter_bank_is_the_closed_form_and_sums_to_the_identity():
    np.testing.assert_allclose(filter_bank(), _closed_form_filter_bank(), atol=1e-12)
    np.testing.assert_allclose(filter_bank().sum(axis=0), np.eye(1, 43, 21)[0], atol=1e-12)
    response = np.abs(np.fft.rfft(filter_bank(), 512, axis=1))  # bands: [0, pi/8], [pi/8, pi/4], ... [pi/2, pi]
    assert list(np.argmax(response, axis=0)[[10, 48, 96, 200]]) == [0, 1, 2, 3]


def test_image_space_filter_matches_numpy_convolution():
    amplification = np.array([[2.0, 1.0, 1.0, 1.0], [1.0, 0.5, 3.0, 1.0], [1.0, 1.0, 1.0, 1.0]])
    got = _apply(IMAGES, imgfilter=amplification)
    power = np.array([10, 1, 1, 1]) / 13
    for n, a in enumerate(amplification):
        gains = a / np.prod(np.sqrt(1 - power + power * a ** 2))
        taps = gains @ _closed_form_filter_bank()
        for c in range(3):
            x = np.pad(IMAGES[n, c].astype(np.float64), 21, mode="reflect")  # 16 px: reflected more than once
            x = np.apply_along_axis(lambda r: np.correlate(r, taps, "valid"), 1, x)
            want = np.apply_along_axis(lambda r: np.correlate(r, taps, "valid"), 0, x)
            np.testing.assert_allclose(got[n, c], want, atol=2e-5)
    np.testing.assert_array_equal(got[2], IMAGES[2])


def test_noise_and_cutout():
    field = RNG.randn(*IMAGES.shape).astype(np.float32)
    np.testing.assert_allclose(_apply(IMAGES, noise=[0.1, 0.0, 0.3], noise_field=field),
                               IMAGES + field * np.array([0.1, 0.0, 0.3])[:, None, None, None], atol=1e-6)
    centers = np.array([[0.5, 0.5], [0.1, 0.8], [0.3, 0.3]])
    got = _apply(IMAGES, cutout=[0.5, 0.5, 0.0], cutout_center=centers)
    want = IMAGES.copy()
    for n, (cx, cy) in enumerate(centers[:2]):
        for y in range(16):
            for x in range(16):
                if abs((x + 0.5) / 16 - cx) < 0.25 and abs((y + 0.5) / 16 - cy) < 0.25:
                    want[n, :, y, x] = 0
    np.testing.assert_array_equal(got, want)


# ----------------------------------------------------------------------------
# Random draws.

def test_each_transform_fires_with_its_probability():
    n, p = 4000, 0.3
    params = {k: v.numpy() for k, v in AugmentPipe("bgcfnc", p=p).draw_params(
        (n, 3, 32, 32), tf.random.Generator.from_seed(3)).items()}
    identity = dict(scale=1, aniso=1, contrast=1, saturation=1, imgfilter=1)
    rate = {k: np.mean(np.any(np.reshape(v != identity.get(k, 0), [n, -1]), axis=1)) for k, v in params.items()}
    p_rot = 1 - np.sqrt(1 - p)
    expected = dict(xflip=p / 2, rotate90=p * 3 / 4, lumaflip=p / 2, rotate_pre=p_rot, rotate_post=p_rot,
                    imgfilter=1 - (1 - p) ** 4, noise_field=1.0, cutout_center=1.0)
    for key, value in rate.items():
        want = expected.get(key, p)
        assert abs(value - want) < 5 * np.sqrt(want * (1 - want) / n) + 1e-9, (key, value, want)
    either_rotation = np.mean((params["rotate_pre"] != 0) | (params["rotate_post"] != 0))
    assert abs(either_rotation - p) < 5 * np.sqrt(p * (1 - p) / n)
    quarter_turns = np.bincount(params["rotate90"].astype(int), minlength=4)[1:]
    assert np.all(np.abs(quarter_turns / quarter_turns.sum() - 1 / 3) < 0.05)
    fired = lambda k: params[k][params[k] != identity.get(k, 0)]  # noqa: E731
    assert abs(np.std(np.log2(fired("scale"))) - 0.2) < 0.02
    assert abs(np.std(np.log2(fired("contrast"))) - 0.5) < 0.05
    assert abs(np.std(fired("brightness")) - 0.2) < 0.02
    assert np.abs(params["xint"]).max() == 4 and np.all(params["xint"] == np.round(params["xint"]))
    assert abs(np.std(fired("xfrac")) - 0.125 * 32) < 0.4
    assert np.abs(fired("hue")).max() <= np.pi and np.abs(fired("hue")).max() > 3.0


# ----------------------------------------------------------------------------
# Gradients, XLA, float16, tracing, checkpoints, errors.

def test_gradients_reach_the_input_images_and_are_the_adjoint():
    """With fixed parameters the pipeline is affine in the images, so for any v, w:
    ``<f(x + v) - f(x), w> = <v, grad_x <f(x), w>>``; checked under XLA, with every stage at p = 1."""
    images = tf.constant(RNG.uniform(-1, 1, [4, 3, 16, 16]).astype(np.float32))
    params = AugmentPipe("bgcfnc", p=1.0).draw_params(images.shape, tf.random.Generator.from_seed(4))
    v, w = (tf.constant(RNG.randn(4, 3, 16, 16).astype(np.float32)) for _ in range(2))

    @tf.function(jit_compile=True)
    def run(x):
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = apply(x, params)
            objective = tf.reduce_sum(y * w)
        return y, tape.gradient(objective, x)

    y, grad = run(images)
    y_shifted, _ = run(images + v)
    assert np.all(np.isfinite(grad)) and np.abs(grad).max() > 0.1
    lhs, rhs = np.sum((y_shifted - y) * w), np.sum(v * grad)
    assert abs(lhs - rhs) < 1e-4 * np.abs(v * grad).sum()


def test_second_order_gradients_of_an_r1_penalty_through_the_augmentation():
    """``R(x) = |grad_x sum(w * f(x)^2)|^2`` is quadratic in x for fixed parameters, so its central difference
    ``(R(x + v) - R(x - v)) / 2`` equals ``<v, grad R(x)>`` up to rounding."""
    images = tf.constant(RNG.uniform(-1, 1, [4, 3, 8, 8]).astype(np.float32))
    params = AugmentPipe("bgcf", p=1.0).draw_params(images.shape, tf.random.Generator.from_seed(8))
    v, w = (tf.constant(RNG.randn(4, 3, 8, 8).astype(np.float32)) for _ in range(2))

    @tf.function
    def penalty_and_gradient(x):
        with tf.GradientTape() as outer:
            outer.watch(x)
            with tf.GradientTape() as inner:
                inner.watch(x)
                scores = tf.reduce_sum(w * tf.square(apply(x, params)))
            penalty = tf.reduce_sum(tf.square(inner.gradient(scores, x)))
        return penalty, outer.gradient(penalty, x)

    _, grad = penalty_and_gradient(images)
    difference = (penalty_and_gradient(images + v)[0] - penalty_and_gradient(images - v)[0]) / 2
    assert np.all(np.isfinite(grad)) and np.abs(grad).max() > 0.1
    assert abs(difference - np.sum(v * grad)) < 1e-4 * np.abs(v * grad).sum()


def test_xla_matches_graph_mode_and_traces_once_per_resolution():
    pipe = AugmentPipe("bgcfnc", p=0.7)
    images = tf.constant(IMAGES)
    params = pipe.draw_params(IMAGES.shape, tf.random.Generator.from_seed(5))
    np.testing.assert_allclose(tf.function(apply, jit_compile=True)(images, params), apply(images, params), atol=2e-5)

    rng = tf.random.Generator.from_seed(6)
    step = tf.function(lambda x: pipe.augment(x, rng), jit_compile=True)
    first = step(images)
    pipe.p.assign(0.0)
    np.testing.assert_array_equal(step(images), IMAGES)
    pipe.p.assign(0.7)
    assert not np.array_equal(step(images), first)  # the generator advanced
    step(tf.constant(IMAGES[:, :, :8, :8]))
    assert step.experimental_get_tracing_count() == 2


def test_float16_images_stay_float16_and_match_float32():
    params = AugmentPipe("bgcf", p=1.0).draw_params(IMAGES.shape, tf.random.Generator.from_seed(7))
    half = apply(tf.constant(IMAGES, tf.float16), params)
    assert half.dtype == tf.float16
    full = apply(tf.constant(IMAGES.astype(np.float16).astype(np.float32)), params).numpy()
    np.testing.assert_allclose(half.numpy().astype(np.float32), full, atol=2e-3 * np.abs(full).max())


def test_p_is_a_checkpointed_non_trainable_scalar(tmp_path):
    pipe = AugmentPipe("bgc", p=0.25)
    assert pipe.p.dtype == tf.float32 and pipe.p.shape == () and not pipe.p.trainable
    path = tf.train.Checkpoint(augment_pipe=pipe).write(str(tmp_path / "ckpt"))
    restored = AugmentPipe("bgc")
    tf.train.Checkpoint(augment_pipe=restored).read(path).assert_consumed()
    assert restored.p.numpy() == np.float32(0.25)


def test_pipelines_and_options():
    assert AugmentPipe("bgc").multipliers == {**dict.fromkeys(AugmentPipe().multipliers, 0.0),
                                              **{k: 1.0 for k in PIPELINES["bgc"]}}
    pipe = AugmentPipe("bgc", xflip=0.5, scale_std=0.1)
    assert pipe.multipliers["xflip"] == 0.5 and pipe.multipliers["rotate"] == 1.0 and pipe.strengths["scale_std"] == 0.1
    assert set(PIPELINES["bgcfnc"]) == set(AugmentPipe().multipliers)
    with pytest.raises(InputError, match="unknown augmentation pipeline 'bgcx'"):
        AugmentPipe("bgcx")
    with pytest.raises(InputError, match="xflp"):
        AugmentPipe("bgc", xflp=1)


# ----------------------------------------------------------------------------
# tf.distribute: two logical CPU devices, configured before TensorFlow starts (own process).

MIRRORED = textwrap.dedent(r"""
    import json
    import numpy as np
    import tensorflow as tf
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    from training.augment import AugmentPipe

    strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
    with strategy.scope():
        pipe = AugmentPipe("bgc", p=0.0)
        rng = tf.random.Generator.from_seed(0)
    images = np.random.RandomState(0).uniform(-1, 1, [4, 3, 8, 8]).astype(np.float32)
    same = strategy.experimental_distribute_values_from_function(lambda ctx: tf.constant(images))

    def replica(x):
        return pipe.augment(x, rng), tf.identity(pipe.p)

    @tf.function  # not XLA: one XLA cluster cannot reach variables on two devices (nor can the training step's)
    def step(x):
        return strategy.run(replica, args=(x,))

    def local(values):
        return [v.numpy() for v in strategy.experimental_local_results(values)]

    out0, p0 = step(same)
    pipe.p.assign(1.0)
    out1, p1 = step(same)
    print(json.dumps(dict(
        p0=[float(v) for v in local(p0)], p1=[float(v) for v in local(p1)],
        identity=[bool(np.array_equal(o, images)) for o in local(out0)],
        changed=[bool(np.abs(o - images).max() > 0.1) for o in local(out1)],
        replicas_differ=bool(np.abs(local(out1)[0] - local(out1)[1]).max() > 0.1),
        finite=bool(all(np.all(np.isfinite(o)) for o in local(out1))))))
""")


def test_mirrored_strategy_replicas_share_p_and_draw_independently():
    out = subprocess.run([sys.executable, "-c", MIRRORED], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result == dict(p0=[0.0, 0.0], p1=[1.0, 1.0], identity=[True, True], changed=[True, True],
                          replicas_differ=True, finite=True)
