"""StyleGAN2 ops (fir, modulation, minibatch stddev) against numpy transcriptions of the official definitions.

References are written here from the official semantics (``upfirdn_2d.py``'s reference path, ``fused_bias_act``,
``modulated_conv2d_layer``, ``minibatch_stddev_layer``) and the fixture README's observations, in float64 NCHW.
NCHW runs under XLA (TensorFlow's plain CPU kernels are NHWC only), NHWC eagerly. Gradients: first and second order
against finite differences (``tf.test.compute_gradient``, float64) and across layouts and fused/unfused forms.
"""
import numpy as np
import pytest
import tensorflow as tf

from stylegan_tf import fir, modulation, ops

RNG = np.random.RandomState(2024)
FIR_1331 = np.outer([1, 3, 3, 1], [1, 3, 3, 1]) / 64.0


def _nhwc(x):
    return np.transpose(x, [0, 2, 3, 1])


def _nchw(x):
    return np.transpose(x, [0, 3, 1, 2])


def _run_nchw_and_nhwc(fn, activations, *others):
    """``fn(*activations, *others, data_format)`` in both layouts. ``activations`` are NCHW numpy arrays (transposed
    for the NHWC run), ``others`` go in as they are. Returns ``(nchw, nhwc)``: each the output (a tensor, or a list
    of them) as NCHW numpy arrays. NCHW runs under XLA."""
    def call(data_format):
        args = [tf.constant(a if data_format == "NCHW" else _nhwc(a)) for a in activations]
        args += [tf.constant(a) for a in others]

        def run():
            return fn(*args, data_format)

        out = tf.function(run, jit_compile=True)() if data_format == "NCHW" else run()
        outs = [ops.to_public(t, data_format).numpy() for t in tf.nest.flatten(out)]
        return outs if isinstance(out, (list, tuple)) else outs[0]

    return call("NCHW"), call("NHWC")


# ----------------------------------------------------------------------------
# numpy references (float64, NCHW), written from the official definitions.

def upfirdn2d_ref(x, k, up=1, down=1, pad0=0, pad1=0):
    """Zero insertion, pad/crop, true convolution with ``k`` (VALID), keep every ``down``-th pixel."""
    n, c, h, w = x.shape
    z = np.zeros([n, c, h * up, w * up])
    z[:, :, ::up, ::up] = x
    z = np.pad(z, [(0, 0), (0, 0), (max(pad0, 0), max(pad1, 0)), (max(pad0, 0), max(pad1, 0))])
    z = z[:, :, max(-pad0, 0):z.shape[2] - max(-pad1, 0), max(-pad0, 0):z.shape[3] - max(-pad1, 0)]
    kh, kw = k.shape
    out_h, out_w = z.shape[2] - kh + 1, z.shape[3] - kw + 1
    y = np.zeros([n, c, out_h, out_w])
    for a in range(kh):  # y[i] = sum_a z[i + kh-1 - a] k[a]: convolution, the kernel flipped against correlation
        for b in range(kw):
            y += z[:, :, kh - 1 - a:kh - 1 - a + out_h, kw - 1 - b:kw - 1 - b + out_w] * k[a, b]
    return y[:, :, ::down, ::down]


def correlate_ref(x, w, stride=1, pad=(0, 0)):
    """Cross-correlation (``tf.nn.conv2d``): ``x [N, I, H, W]``, ``w [k, k, I, O]``, zero pad ``pad``, stride."""
    x = np.pad(x, [(0, 0), (0, 0), pad, pad])
    k = w.shape[0]
    out_h, out_w = (x.shape[2] - k) // stride + 1, (x.shape[3] - k) // stride + 1
    y = np.zeros([x.shape[0], w.shape[3], out_h, out_w])
    for a in range(k):
        for b in range(k):
            patch = x[:, :, a:a + stride * (out_h - 1) + 1:stride, b:b + stride * (out_w - 1) + 1:stride]
            y += np.einsum("nihw,io->nohw", patch, w[a, b])
    return y


def upsample_conv_ref(x, w, fir_kernel=FIR_1331):
    """Official ``upsample_conv_2d`` transcribed: ``conv2d_transpose`` (stride 2, VALID) of the H/W-flipped kernel
    as a scatter, then the FIR x4 with pads ``(p+1)//2 + 1, p//2 + 1``, ``p = len(k) - 2 - (k - 1)``."""
    n, _, h, wd = x.shape
    k = w.shape[0]
    flipped = w[::-1, ::-1]
    t = np.zeros([n, w.shape[3], (h - 1) * 2 + k, (wd - 1) * 2 + k])
    for a in range(k):
        for b in range(k):  # conv2d_transpose: input pixel (i, j) adds kernel tap (a, b) at (2i + a, 2j + b)
            t[:, :, a:a + 2 * h - 1:2, b:b + 2 * wd - 1:2] += np.einsum("nihw,io->nohw", x, flipped[a, b])
    p = fir_kernel.shape[0] - 2 - (k - 1)
    return upfirdn2d_ref(t, fir_kernel * 4, pad0=(p + 1) // 2 + 1, pad1=p // 2 + 1)


def modulated_conv_ref(x, w, s, demodulate, resample=None):
    """Official modulated conv, one sample at a time: ``w * s[i]``, demodulated over (kh, kw, i), then the conv."""
    out = []
    for n in range(x.shape[0]):
        ww = w * s[n][None, None, :, None]
        if demodulate:
            ww = ww / np.sqrt(np.sum(ww ** 2, axis=(0, 1, 2)) + 1e-8)
        xn = x[n:n + 1]
        if resample == "up":
            out.append(upsample_conv_ref(xn, ww))
        elif resample == "down":
            out.append(correlate_ref(upfirdn2d_ref(xn, FIR_1331, pad0=2, pad1=2), ww, stride=2))
        else:
            out.append(correlate_ref(xn, ww, pad=((w.shape[0] - 1) // 2,) * 2))
    return np.concatenate(out)


def minibatch_stddev_ref(x, group_size, num_new_features):
    """README: group size ``min(G, N)``, sample ``i`` in group ``i mod (N / G)``; population std
    (``sqrt(var + 1e-8)``) over the group, averaged over each channel slice and the pixels; appended as channels."""
    n, c, h, w = x.shape
    g = min(group_size, n)
    m = n // g
    feats = np.zeros([n, num_new_features])
    for i in range(n):
        members = x[[j for j in range(n) if j % m == i % m]]  # [G, C, H, W]
        std = np.sqrt(members.var(axis=0) + 1e-8)
        feats[i] = std.reshape(num_new_features, -1).mean(axis=1)
    return np.concatenate([x, np.broadcast_to(feats[:, :, None, None], [n, num_new_features, h, w])], axis=1)


# ----------------------------------------------------------------------------
# upfirdn2d and the resampling helpers.

UPFIRDN_CASES = [  # kernel, up, down, pad0, pad1
    (FIR_1331 * 4, 2, 1, 2, 1),
    (FIR_1331, 1, 2, 1, 1),
    (FIR_1331, 1, 1, 1, 1),
    (RNG.randn(3, 2), 1, 1, 0, 2),  # asymmetric, non-square kernel
    (RNG.randn(4, 3), 3, 2, -1, 2),  # up and down, a crop
    (RNG.randn(2, 2), 2, 3, 1, -2),
]


@pytest.mark.parametrize("kernel,up,down,pad0,pad1", UPFIRDN_CASES)
def test_upfirdn2d_matches_reference_in_both_layouts(kernel, up, down, pad0, pad1):
    x = RNG.randn(2, 3, 7, 5).astype(np.float32)  # non-square image
    want = upfirdn2d_ref(x.astype(np.float64), kernel, up, down, pad0, pad1)
    nchw, nhwc = _run_nchw_and_nhwc(lambda t, df: fir.upfirdn2d(t, kernel, up, down, pad0, pad1, df), [x])
    for got in (nchw, nhwc):
        assert got.shape == want.shape
        np.testing.assert_allclose(got, want, rtol=0, atol=1e-5 * np.abs(want).max())


def test_upfirdn2d_convolves_so_an_impulse_reproduces_the_kernel():
    """The official op flips the kernel (a convolution): the impulse response is the kernel itself, not its flip
    (impulse at padded (4, 4): ``y[i, j] = k[i - 4 + kh - 1, j - 4 + kw - 1]``)."""
    kernel = np.arange(6, dtype=np.float32).reshape(3, 2) + 1  # asymmetric, non-square
    x = np.zeros([1, 5, 5, 1], np.float32)
    x[0, 2, 2, 0] = 1
    y = fir.upfirdn2d(tf.constant(x), kernel, pad0=2, pad1=2, data_format="NHWC").numpy()[0, :, :, 0]
    np.testing.assert_array_equal(y[2:5, 3:5], kernel)
    assert np.count_nonzero(y) == kernel.size


def test_resampling_helpers_match_the_official_definitions():
    """README: upsample_2d = zero insertion, pad (2, 1), FIR x4; downsample_2d = pad (1, 1), FIR, keep even
    pixels; conv_downsample_2d = FIR pad (2, 2) for 3x3 / (1, 1) for 1x1, then stride-2 VALID correlation;
    upsample_conv_2d (3x3) = zero insertion, pad (2, 1), correlation with the kernel *as stored*, pad (1, 1), FIR x4
    -- and the official conv2d_transpose transcription. k=None means [1] * factor (nearest / average pooling)."""
    x = RNG.randn(2, 3, 6, 6)
    w3, w1 = RNG.randn(3, 3, 3, 4) / 3, RNG.randn(1, 1, 3, 4)
    zeros_inserted = upfirdn2d_ref(x, np.ones([1, 1]), up=2, pad1=1)[:, :, :12, :12]
    cases = {
        "upsample_2d": (lambda t, df: fir.upsample_2d(t, [1, 3, 3, 1], data_format=df),
                        upfirdn2d_ref(x, FIR_1331 * 4, up=2, pad0=2, pad1=1)),
        "upsample_2d_nearest": (lambda t, df: fir.upsample_2d(t, data_format=df, gain=3),
                                3 * x.repeat(2, axis=2).repeat(2, axis=3)),
        "downsample_2d": (lambda t, df: fir.downsample_2d(t, [1, 3, 3, 1], data_format=df),
                          upfirdn2d_ref(x, FIR_1331, pad0=1, pad1=1)[:, :, ::2, ::2]),
        "downsample_2d_box": (lambda t, df: fir.downsample_2d(t, data_format=df),
                              x.reshape(2, 3, 3, 2, 3, 2).mean(axis=(3, 5))),
        "upsample_conv_2d": (lambda t, df: fir.upsample_conv_2d(t, tf.constant(w3), [1, 3, 3, 1], data_format=df),
                             upsample_conv_ref(x, w3)),
        "upsample_conv_2d_net_effect": (
            lambda t, df: fir.upsample_conv_2d(t, tf.constant(w3), [1, 3, 3, 1], data_format=df),
            upfirdn2d_ref(correlate_ref(np.pad(zeros_inserted, [(0, 0), (0, 0), (2, 1), (2, 1)]), w3),
                          FIR_1331 * 4, pad0=1, pad1=1)),
        "upsample_conv_2d_1x1": (lambda t, df: fir.upsample_conv_2d(t, tf.constant(w1), [1, 3, 3, 1],
                                                                    data_format=df),
                                 correlate_ref(upfirdn2d_ref(x, FIR_1331 * 4, up=2, pad0=2, pad1=1), w1)),
        "conv_downsample_2d": (lambda t, df: fir.conv_downsample_2d(t, tf.constant(w3), [1, 3, 3, 1],
                                                                    data_format=df),
                               correlate_ref(upfirdn2d_ref(x, FIR_1331, pad0=2, pad1=2), w3, stride=2)),
        "conv_downsample_2d_1x1": (lambda t, df: fir.conv_downsample_2d(t, tf.constant(w1), [1, 3, 3, 1],
                                                                        data_format=df),
                                   correlate_ref(upfirdn2d_ref(x, FIR_1331, pad0=1, pad1=1), w1, stride=2)),
    }
    names = sorted(cases)
    nchw, nhwc = _run_nchw_and_nhwc(lambda t, df: [cases[name][0](t, df) for name in names], [x.astype(np.float32)])
    for name, got_nchw, got_nhwc in zip(names, nchw, nhwc):
        want = cases[name][1]
        for got in (got_nchw, got_nhwc):
            np.testing.assert_allclose(got, want, rtol=0, atol=2e-5 * np.abs(want).max(), err_msg=name)


def test_up_conv_and_conv_down_are_not_resample_then_same_conv_at_the_borders():
    """README observation: upsample_conv_2d agrees with upsample_2d + SAME conv 2 px inside the border and differs
    by O(1) at it; likewise conv_downsample_2d against SAME conv + downsample_2d."""
    x = tf.constant(RNG.randn(2, 8, 8, 4).astype(np.float32))
    w = tf.constant(RNG.randn(3, 3, 4, 4).astype(np.float32) / 6)
    fused_up = fir.upsample_conv_2d(x, w, [1, 3, 3, 1], data_format="NHWC").numpy()
    separate_up = ops.conv2d(fir.upsample_2d(x, [1, 3, 3, 1], data_format="NHWC"), w, "NHWC").numpy()
    fused_down = fir.conv_downsample_2d(x, w, [1, 3, 3, 1], data_format="NHWC").numpy()
    separate_down = fir.downsample_2d(ops.conv2d(x, w, "NHWC"), [1, 3, 3, 1], data_format="NHWC").numpy()
    for fused, separate, margin in ((fused_up, separate_up, 2), (fused_down, separate_down, 1)):
        inner = (slice(None), slice(margin, -margin), slice(margin, -margin))
        np.testing.assert_allclose(fused[inner], separate[inner], rtol=0, atol=1e-5)
        assert np.abs(fused - separate).max() > 0.1


def test_grouped_resampling_convs_equal_one_conv_per_group():
    """C = groups * in: group g maps its own input channels to its slice of the outputs (the fused modconv)."""
    groups, in_c, out_c = 3, 2, 4
    x = RNG.randn(2, groups * in_c, 5, 5).astype(np.float32)
    w = RNG.randn(3, 3, in_c, groups * out_c).astype(np.float32) / 4
    for op in (fir.upsample_conv_2d, fir.conv_downsample_2d):
        got = op(tf.constant(_nhwc(x)), tf.constant(w), [1, 3, 3, 1], data_format="NHWC").numpy()
        for g in range(groups):
            want = op(tf.constant(_nhwc(x[:, g * in_c:(g + 1) * in_c])), tf.constant(w[..., g * out_c:(g + 1) * out_c]),
                      [1, 3, 3, 1], data_format="NHWC").numpy()
            np.testing.assert_allclose(got[..., g * out_c:(g + 1) * out_c], want, rtol=1e-5, atol=1e-5)


def test_fir_ops_reject_bad_arguments():
    x = tf.zeros([1, 4, 4, 2])
    with pytest.raises(ValueError, match="up must be a positive integer"):
        fir.upfirdn2d(x, FIR_1331, up=0, data_format="NHWC")
    with pytest.raises(ValueError, match="no output pixels"):
        fir.upfirdn2d(x, np.ones([6, 6]), data_format="NHWC")
    with pytest.raises(ValueError, match="square"):
        fir.upsample_2d(x, np.ones([3, 2]), data_format="NHWC")
    with pytest.raises(ValueError, match="do not split"):
        fir.upsample_conv_2d(x, tf.zeros([3, 3, 3, 4]), data_format="NHWC")
    with pytest.raises(ValueError, match="data_format"):
        fir.downsample_2d(x, data_format="CHWN")


# ----------------------------------------------------------------------------
# Gradients: first and second order.

def _second_order_function(op):
    """``g(x, w) = d/dx sum(c * op(x, w)^2)``: differentiating ``g`` is R1's / the path-length regularizer's
    double backward (through the input and through the weights)."""
    def g(x, w):
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = op(x, w)
            c = tf.reshape(tf.sin(tf.range(tf.size(y), dtype=y.dtype)), tf.shape(y))
            s = tf.reduce_sum(c * tf.square(y))
        return tape.gradient(s, x)
    return g


GRADIENT_OPS = {
    "upfirdn2d_up3_down2_crop": lambda x, w: fir.upfirdn2d(x, UPFIRDN_CASES[4][0], 3, 2, -1, 2, "NHWC"),
    "upsample_2d": lambda x, w: fir.upsample_2d(x, [1, 3, 3, 1], data_format="NHWC"),
    "downsample_2d": lambda x, w: fir.downsample_2d(x, [1, 3, 3, 1], data_format="NHWC"),
    "upsample_conv_2d": lambda x, w: fir.upsample_conv_2d(x, w, [1, 3, 3, 1], data_format="NHWC"),
    "conv_downsample_2d": lambda x, w: fir.conv_downsample_2d(x, w, [1, 3, 3, 1], data_format="NHWC"),
    "modconv_up_fused": lambda x, w: modulation.modulated_conv2d(
        x, w[..., :2], tf.reduce_sum(w, axis=[0, 1, 3])[None] + 1, up=True, fused=True, data_format="NHWC"),
    "modconv_down_unfused": lambda x, w: modulation.modulated_conv2d(
        x, w[..., :2], tf.reduce_sum(w, axis=[0, 1, 3])[None] + 1, down=True, fused=False, data_format="NHWC"),
}


@pytest.mark.parametrize("name", sorted(GRADIENT_OPS))
def test_first_and_second_order_gradients_match_finite_differences(name):
    """float64 Jacobians of ``op`` (first order) and of ``g = d/dx sum(c * op^2)`` with respect to the input and
    the conv weights (second order) against central differences."""
    op = GRADIENT_OPS[name]
    rng = np.random.RandomState(7)
    x = rng.randn(1, 4, 3, 2)  # NHWC, non-square
    w = rng.randn(3, 3, 2, 3) / 3  # the modconv cases also derive their styles from w
    g = _second_order_function(op)
    for fn, args in ((tf.function(op), [x, w]), (tf.function(g), [x, w])):
        theoretical, numerical = tf.test.compute_gradient(fn, args, delta=1e-4)
        for index, (t, n) in enumerate(zip(theoretical, numerical)):
            if index == 1 and "conv" not in name:
                continue  # the FIR-only ops do not use w
            assert np.abs(n).max() > 1e-3
            np.testing.assert_allclose(t, n, rtol=0, atol=1e-5 * max(1.0, np.abs(n).max()))


@pytest.mark.parametrize("resample", [None, "up", "down"])
def test_layouts_and_fused_forms_agree_to_second_order(resample):
    """Value, d/dx and the second-order d/d(weight, styles) of ``sum(d/dx sum(c * y^2)^2)`` for the modulated conv:
    NCHW (XLA) and NHWC, fused and unfused, all equal."""
    x = RNG.randn(3, 4, 8, 8).astype(np.float32)
    weight = (RNG.randn(3, 3, 4, 5) / 6).astype(np.float32)
    styles = (RNG.randn(3, 4) * 0.5 + 1).astype(np.float32)

    def objective(x, data_format, fused):
        w, s = tf.constant(weight), tf.constant(styles)
        with tf.GradientTape() as outer:
            outer.watch([w, s])
            with tf.GradientTape() as inner:
                inner.watch(x)
                y = modulation.modulated_conv2d(x, w, s, up=resample == "up", down=resample == "down", fused=fused,
                                                data_format=data_format)
                y = ops.to_public(y, data_format)
                c = tf.reshape(tf.cos(tf.range(tf.size(y), dtype=y.dtype)), tf.shape(y))
                loss = tf.reduce_sum(c * tf.square(y))
            gx = inner.gradient(loss, x)
            penalty = tf.reduce_sum(tf.square(gx))
        gw, gs = outer.gradient(penalty, [w, s])
        return [y, ops.to_public(gx, data_format), gw, gs]

    results = []
    for fused in (True, False):
        nchw = tf.function(lambda: objective(tf.constant(x), "NCHW", fused), jit_compile=True)()
        nhwc = objective(tf.constant(_nhwc(x)), "NHWC", fused)
        results += [[t.numpy() for t in nchw], [t.numpy() for t in nhwc]]
    for other in results[1:]:
        for got, want in zip(other, results[0]):
            assert np.abs(want).max() > 1e-2
            np.testing.assert_allclose(got, want, rtol=0, atol=2e-5 * np.abs(want).max())


# ----------------------------------------------------------------------------
# Modulated convolution.

@pytest.mark.parametrize("resample", [None, "up", "down"])
@pytest.mark.parametrize("fused", [True, False])
def test_modulated_conv2d_matches_reference(resample, fused):
    x = RNG.randn(3, 4, 6, 6)
    weight = RNG.randn(3, 3, 4, 5) / 6
    styles = RNG.randn(3, 4) * 0.5 + 1
    for demodulate in (True, False):
        want = modulated_conv_ref(x, weight, styles, demodulate, resample)
        nchw, nhwc = _run_nchw_and_nhwc(
            lambda t, w, s, df: modulation.modulated_conv2d(t, w, s, demodulate, resample == "up",
                                                            resample == "down", fused, data_format=df),
            [x.astype(np.float32)], weight.astype(np.float32), styles.astype(np.float32))
        for got in (nchw, nhwc):
            np.testing.assert_allclose(got, want, rtol=0, atol=2e-5 * np.abs(want).max())


def test_torgb_style_1x1_modulated_conv_without_demodulation():
    """ToRGB: 1x1 kernel, no demodulation -- a per-sample matmul ``x[n, i] * s[n, i] @ w[i, o]``."""
    x = RNG.randn(2, 4, 3, 3).astype(np.float32)
    weight = RNG.randn(1, 1, 4, 3).astype(np.float32)
    styles = RNG.randn(2, 4).astype(np.float32)
    want = np.einsum("nihw,ni,io->nohw", x, styles, weight[0, 0])
    for fused in (True, False):
        got = modulation.modulated_conv2d(tf.constant(_nhwc(x)), weight, tf.constant(styles), demodulate=False,
                                          fused=fused, data_format="NHWC").numpy()
        np.testing.assert_allclose(_nchw(got), want, rtol=1e-5, atol=1e-5)


def test_demodulation_gives_unit_norm_weights_and_the_official_coefficients():
    weight = tf.constant(RNG.randn(3, 3, 8, 6).astype(np.float32) / 5)
    styles = tf.constant(RNG.randn(4, 8).astype(np.float32) + 1)
    ww = modulation.modulated_weights(weight, styles).numpy()
    np.testing.assert_allclose(np.sqrt(np.sum(ww.astype(np.float64) ** 2, axis=(1, 2, 3))), 1, rtol=1e-5)
    official = weight.numpy()[None] * styles.numpy()[:, None, None, :, None]  # [N, k, k, I, O], summed as official
    want = 1 / np.sqrt(np.sum(official.astype(np.float64) ** 2, axis=(1, 2, 3)) + 1e-8)
    np.testing.assert_allclose(modulation.demodulation_coefficients(weight, styles).numpy(), want, rtol=1e-5)
    # A demodulated conv keeps unit-variance inputs at unit variance (the paper's motivation).
    x = tf.random.stateless_normal([4, 32, 32, 8], seed=[1, 2])
    y = modulation.modulated_conv2d(x, weight, styles, fused=False, data_format="NHWC").numpy()
    assert abs(y[:, 1:-1, 1:-1].std() - 1) < 0.05


def test_modulated_conv2d_handles_a_dynamic_batch():
    """The fused form folds the batch into groups; under a ``None`` batch dimension (SavedModel signatures)."""
    weight = tf.constant(RNG.randn(3, 3, 4, 5).astype(np.float32) / 6)
    x = tf.constant(RNG.randn(3, 8, 8, 4).astype(np.float32))
    styles = tf.constant(RNG.randn(3, 4).astype(np.float32) + 1)
    for up, down in ((False, False), (True, False), (False, True)):
        fn = tf.function(lambda x, s: modulation.modulated_conv2d(x, weight, s, up=up, down=down, fused=True,
                                                                  data_format="NHWC"),
                         input_signature=[tf.TensorSpec([None, 8, 8, 4]), tf.TensorSpec([None, 4])])
        want = modulation.modulated_conv2d(x, weight, styles, up=up, down=down, fused=False, data_format="NHWC")
        np.testing.assert_allclose(fn(x, styles).numpy(), want.numpy(), rtol=1e-5, atol=1e-5)


def test_modulated_conv2d_rejects_bad_arguments():
    x, w, s = tf.zeros([1, 4, 4, 2]), tf.zeros([3, 3, 2, 2]), tf.ones([1, 2])
    with pytest.raises(ValueError, match="exclusive"):
        modulation.modulated_conv2d(x, w, s, up=True, down=True, data_format="NHWC")
    with pytest.raises(ValueError, match="fused must be"):
        modulation.modulated_conv2d(x, w, s, fused="yes", data_format="NHWC")


# ----------------------------------------------------------------------------
# Bias + activation, noise, minibatch stddev.

@pytest.mark.parametrize("act,alpha,gain,func", [
    ("linear", None, None, lambda v: v),
    ("lrelu", None, None, lambda v: np.where(v > 0, v, 0.2 * v) * np.sqrt(2)),
    ("lrelu", 0.1, 3.0, lambda v: np.where(v > 0, v, 0.1 * v) * 3.0),
    ("relu", None, None, lambda v: np.maximum(v, 0) * np.sqrt(2)),
    ("tanh", None, None, np.tanh),
    ("tanh", None, 2.0, lambda v: np.tanh(v) * 2.0),  # the gain scales the activation's output
    ("swish", None, None, lambda v: v / (1 + np.exp(-v)) * np.sqrt(2)),
])
def test_fused_bias_act_adds_bias_then_activates_then_applies_gain(act, alpha, gain, func):
    x = RNG.randn(2, 3, 4, 5).astype(np.float32)
    b = RNG.randn(3).astype(np.float32)
    want = func(x + b[None, :, None, None])
    got = modulation.fused_bias_act(tf.constant(x), b, act, alpha, gain, axis=1).numpy()
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
    got_nhwc = modulation.fused_bias_act(tf.constant(_nhwc(x)), b, act, alpha, gain, axis=-1).numpy()
    np.testing.assert_allclose(_nchw(got_nhwc), want, rtol=1e-5, atol=1e-6)


def test_fused_bias_act_lrelu_is_twice_differentiable():
    """First and second order of an R1-like objective against the same function from plain TF ops."""
    x = tf.constant(RNG.randn(4, 6).astype(np.float32))
    b = tf.constant(RNG.randn(6).astype(np.float32))
    grads = []
    for fn in (lambda x, b: modulation.fused_bias_act(x, b, "lrelu"),
               lambda x, b: tf.nn.leaky_relu(x + b, 0.2) * np.sqrt(2).astype(np.float32)):
        with tf.GradientTape() as outer:
            outer.watch([x, b])
            with tf.GradientTape() as inner:
                inner.watch([x, b])
                s = tf.reduce_sum(tf.sin(x) * fn(x, b) ** 3)
            gx, gb = inner.gradient(s, [x, b])
            penalty = tf.reduce_sum(gx ** 2) + tf.reduce_sum(gb ** 2)
        grads.append([gx, gb, *outer.gradient(penalty, [x, b])])
    for got, want in zip(*grads):
        np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-5, atol=1e-5)


def test_fused_bias_act_rejects_unknown_activation():
    with pytest.raises(ValueError, match="act must be one of"):
        modulation.fused_bias_act(tf.zeros([2, 3]), act="gelu")


def test_noise_is_one_image_per_sample_scaled_by_one_scalar():
    x = RNG.randn(2, 3, 4, 4).astype(np.float32)
    stored = RNG.randn(1, 1, 4, 4).astype(np.float32)  # the noise%d variable, broadcast over the batch
    drawn = RNG.randn(2, 1, 4, 4).astype(np.float32)
    for noise in (stored, drawn):
        want = x + noise * -0.7
        nchw, nhwc = _run_nchw_and_nhwc(lambda t, n, df: modulation.add_noise(t, ops.to_internal(n, df), -0.7),
                                        [x], noise)
        np.testing.assert_allclose(nchw, want, rtol=1e-6)
        np.testing.assert_allclose(nhwc, want, rtol=1e-6)


def test_random_noise_draws_the_same_array_in_both_layouts():
    x = tf.zeros([3, 5, 6, 2])  # NHWC
    nhwc = modulation.random_noise(x, "NHWC", tf.random.Generator.from_seed(5)).numpy()
    nchw = modulation.random_noise(tf.transpose(x, [0, 3, 1, 2]), "NCHW", tf.random.Generator.from_seed(5)).numpy()
    assert nchw.shape == (3, 1, 5, 6)
    np.testing.assert_array_equal(_nchw(nhwc), nchw)


@pytest.mark.parametrize("n,group_size,num_new_features", [(8, 4, 1), (8, 4, 2), (2, 4, 1), (6, 3, 1)])
def test_v1_minibatch_stddev_is_the_stylegan2_layer(n, group_size, num_new_features):
    """``ops.minibatch_stddev`` (shared with StyleGAN v1) against the README's StyleGAN2 definition."""
    x = RNG.randn(n, 4, 3, 3).astype(np.float32) * RNG.uniform(0.1, 2, size=[n, 1, 1, 1]).astype(np.float32)
    want = minibatch_stddev_ref(x.astype(np.float64), group_size, num_new_features)
    nchw, nhwc = _run_nchw_and_nhwc(lambda t, df: ops.minibatch_stddev(t, group_size, num_new_features, df),
                                    [x])
    for got in (nchw, nhwc):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
