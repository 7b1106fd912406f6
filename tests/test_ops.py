"""Primitives: custom first/second-order gradients against plain autodiff, layouts, closed forms."""
import numpy as np
import pytest
import tensorflow as tf

from stylegan_tf import ops

RNG = np.random.RandomState(0)
X_NCHW = RNG.randn(2, 3, 8, 8).astype(np.float32)


def _nhwc(x):
    return np.transpose(x, [0, 2, 3, 1])


def _in_layout(fn, data_format):
    """Run ``fn`` in ``data_format``; NCHW runs under XLA (TF's CPU kernels reject NCHW)."""
    return tf.function(fn, jit_compile=True)() if data_format == "NCHW" else fn()


# (custom op, the same function built from plain TF ops)
CUSTOM_VS_PLAIN = {
    "upscale2d": (lambda x, df: ops.upscale2d(x, 2, df), lambda x, df: ops._upscale2d(x, 2, df)),
    "downscale2d": (lambda x, df: ops.downscale2d(x, 2, df), lambda x, df: ops._downscale2d(x, 2, df)),
    "blur2d": (lambda x, df: ops.blur2d(x, (1, 2, 1), True, df),
               lambda x, df: ops._blur2d(x, ops.blur_kernel((1, 2, 1)), df)),
    "leaky_relu": (lambda x, df: ops.leaky_relu(x, 0.2), lambda x, df: tf.maximum(x, 0.2 * x)),
}


def _r1_style_gradients(op, x, data_format):
    """Value, first and second order gradients of an R1-like objective through ``op``:
    ``L(x) = sum((d/dx sum(w * op(x)^2))^2)``, returns ``(g1 = dS/dx, dL/dx)``."""
    x = tf.constant(x)

    def fn():
        with tf.GradientTape() as outer:
            outer.watch(x)
            with tf.GradientTape() as inner:
                inner.watch(x)
                y = op(x, data_format)
                weights = tf.sin(tf.range(tf.size(y), dtype=tf.float32))
                s = tf.reduce_sum(weights * tf.reshape(tf.square(y), [-1]))
            g1 = inner.gradient(s, x)
            objective = tf.reduce_sum(tf.square(g1))
        return g1, outer.gradient(objective, x)

    return [t.numpy() for t in _in_layout(fn, data_format)]


@pytest.mark.parametrize("data_format", ["NHWC", "NCHW"])
@pytest.mark.parametrize("name", sorted(CUSTOM_VS_PLAIN))
def test_custom_gradients_match_plain_autodiff_to_second_order(name, data_format):
    custom, plain = CUSTOM_VS_PLAIN[name]
    x = X_NCHW if data_format == "NCHW" else _nhwc(X_NCHW)
    got, want = _r1_style_gradients(custom, x, data_format), _r1_style_gradients(plain, x, data_format)
    for g, w in zip(got, want):
        assert np.abs(w).max() > 1e-3  # the objective reaches the op
        np.testing.assert_allclose(g, w, rtol=1e-5, atol=1e-5 * np.abs(w).max())


@pytest.mark.parametrize("name,fn", [
    ("upscale2d", lambda x, df: ops.upscale2d(x, 2, df)),
    ("upscale2d_x4", lambda x, df: ops.upscale2d(x, 4, df)),
    ("downscale2d", lambda x, df: ops.downscale2d(x, 2, df)),
    ("blur2d", lambda x, df: ops.blur2d(x, (1, 2, 1), True, df)),
    ("instance_norm", lambda x, df: ops.instance_norm(x, df)),
    ("minibatch_stddev", lambda x, df: ops.minibatch_stddev(x, 2, 1, df)),
    ("pixel_norm", lambda x, df: ops.pixel_norm(x, ops.channel_axis(df))),
])
def test_nchw_and_nhwc_agree(name, fn):
    nchw = _in_layout(lambda: fn(tf.constant(X_NCHW), "NCHW"), "NCHW").numpy()
    nhwc = fn(tf.constant(_nhwc(X_NCHW)), "NHWC").numpy()
    np.testing.assert_allclose(_nhwc(nchw), nhwc, rtol=1e-5, atol=1e-6)


def test_closed_forms():
    x = X_NCHW
    up = ops.upscale2d(tf.constant(_nhwc(x)), 2, "NHWC").numpy()
    np.testing.assert_array_equal(up, _nhwc(x).repeat(2, axis=1).repeat(2, axis=2))
    down = ops.downscale2d(tf.constant(_nhwc(x)), 2, "NHWC").numpy()
    box = x.reshape(2, 3, 4, 2, 4, 2).mean(axis=(3, 5))
    np.testing.assert_allclose(down, _nhwc(box), rtol=1e-6, atol=1e-6)
    inorm = ops.instance_norm(tf.constant(_nhwc(x)), "NHWC").numpy()
    ref = (x - x.mean(axis=(2, 3), keepdims=True)) / np.sqrt(x.var(axis=(2, 3), keepdims=True) + 1e-8)
    np.testing.assert_allclose(inorm, _nhwc(ref), rtol=1e-4, atol=1e-5)


def test_minibatch_stddev_uses_strided_groups():
    """Sample i is in group i mod (N / G), as official."""
    n, group = 4, 2
    x = np.stack([np.full((1, 2, 2), v, np.float32) for v in (0.0, 10.0, 2.0, 30.0)])  # [4,1,2,2] NCHW
    y = ops.minibatch_stddev(tf.constant(_nhwc(x)), group, 1, "NHWC").numpy()[..., -1]
    # groups {0, 2} and {1, 3}: population std 1 and 10
    expected = np.sqrt(np.array([1.0, 100.0, 1.0, 100.0]) + 1e-8)
    np.testing.assert_allclose(y[:, 0, 0], expected, rtol=1e-6)
    assert y.shape == (n, 2, 2)


def test_minibatch_stddev_rejects_indivisible_batch():
    with pytest.raises(ValueError, match="divisible"):
        ops.minibatch_stddev(tf.zeros([6, 4, 4, 8]), 4, 1, "NHWC")


def test_fused_up_conv_is_upscale_then_flipped_kernel_conv():
    """The official fused up-conv equals nearest upscale + conv with the kernel flipped in H and W."""
    x = tf.constant(_nhwc(X_NCHW))
    w = tf.constant(RNG.randn(3, 3, 3, 5).astype(np.float32))
    fused = ops.upscale2d_conv2d(x, w, True, "NHWC").numpy()
    unfused_flipped = ops.upscale2d_conv2d(x, w[::-1, ::-1], False, "NHWC").numpy()
    np.testing.assert_allclose(fused, unfused_flipped, rtol=1e-5, atol=1e-5)
    assert np.abs(fused - ops.upscale2d_conv2d(x, w, False, "NHWC").numpy()).max() > 0.1


def test_fused_conv_down_equals_conv_then_downscale():
    x = tf.constant(_nhwc(X_NCHW))
    w = tf.constant(RNG.randn(3, 3, 3, 5).astype(np.float32))
    np.testing.assert_allclose(ops.conv2d_downscale2d(x, w, True, "NHWC").numpy(),
                               ops.conv2d_downscale2d(x, w, False, "NHWC").numpy(), rtol=1e-5, atol=1e-5)


def test_weight_scale_is_official_get_weight():
    init_std, coef = ops.weight_scale([3, 3, 64, 32], gain=np.sqrt(2), use_wscale=True, lrmul=1.0)
    assert init_std == 1.0 and coef == np.float32(np.sqrt(2) / np.sqrt(576))
    init_std, coef = ops.weight_scale([64, 64], gain=np.sqrt(2), use_wscale=True, lrmul=0.01)
    assert init_std == pytest.approx(100.0) and coef == np.float32(np.sqrt(2) / 8 * 0.01)
    init_std, coef = ops.weight_scale([64, 64], gain=np.sqrt(2), use_wscale=False, lrmul=0.5)
    assert init_std == pytest.approx(np.sqrt(2) / 8 / 0.5) and coef == np.float32(0.5)
