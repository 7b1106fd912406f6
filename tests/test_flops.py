"""Useful-work counting (``stylegan_tf.flops``): per op against closed-form multiply-add
counts, and for the benchmark workload against the architecture written out by hand."""
import numpy as np
import pytest
import tensorflow as tf

import stylegan_tf
from stylegan_tf import flops
from stylegan_tf.benchmark import WORKLOAD_D, WORKLOAD_G


def _count(fn, *shapes):
    specs = [tf.TensorSpec(s, tf.float32) for s in shapes]
    return flops.graph_flops(tf.function(fn).get_concrete_function(*specs).graph)


def test_convolution_and_matmul_ops_count_two_flops_per_multiply_add():
    w = tf.zeros([3, 3, 5, 7])
    # every output element of a 3x3 'SAME' conv is 3*3*C_in multiply-adds (padding included)
    assert _count(lambda x: tf.nn.conv2d(x, w, 1, "SAME"), [2, 6, 6, 5]) == 2 * (2 * 6 * 6 * 7) * (3 * 3 * 5)
    # stride 2: a quarter of the outputs
    assert _count(lambda x: tf.nn.conv2d(x, w, 2, "SAME"), [2, 6, 6, 5]) == 2 * (2 * 3 * 3 * 7) * (3 * 3 * 5)
    # depthwise: 3*3 per output element, whatever the channel count
    f = tf.zeros([3, 3, 5, 1])
    assert _count(lambda x: tf.nn.depthwise_conv2d(x, f, [1, 1, 1, 1], "SAME"), [2, 6, 6, 5]) == 2 * (2 * 6 * 6 * 5) * 9
    # transposed conv (the fused up-conv): every input element meets 4*4*C_out weights
    wt = tf.zeros([4, 4, 7, 5])
    assert _count(lambda x: tf.nn.conv2d_transpose(x, wt, [2, 12, 12, 7], 2, "SAME"),
                  [2, 6, 6, 5]) == 2 * (2 * 6 * 6 * 5) * (4 * 4 * 7)
    # dense layers, transposed operands and batched products: m * n * k multiply-adds
    assert _count(lambda a, b: tf.matmul(a, b), [3, 4], [4, 5]) == 2 * 3 * 5 * 4
    assert _count(lambda a, b: tf.matmul(a, b, transpose_a=True), [4, 3], [4, 5]) == 2 * 3 * 5 * 4
    assert _count(lambda a, b: tf.matmul(a, b), [6, 3, 4], [6, 4, 5]) == 2 * 6 * 3 * 5 * 4
    # elementwise work is not counted
    assert _count(lambda a: tf.nn.leaky_relu(a * 2.0 + 1.0), [8, 8]) == 0


def test_uncounted_function_bodies_and_dynamic_shapes_are_errors():
    with pytest.raises(ValueError, match="function body"):
        _count(lambda x: tf.cond(tf.reduce_sum(x) > 0, lambda: tf.matmul(x, x), lambda: x), [4, 4])
    graph = tf.function(lambda x: tf.matmul(x, x)).get_concrete_function(tf.TensorSpec([None, None])).graph
    with pytest.raises(ValueError, match="fixed batch size"):
        flops.graph_flops(graph)


def _workload_by_hand():
    """FLOPs per image of G's and D's forward passes on the training path at lod 0, written
    out from the architecture (128 feature maps at 4..32, 3x3 convs, [1 2 1] blur)."""
    c, conv = 128, lambda res, c_in=128: 2 * res * res * c * 9 * c_in
    blur = lambda res: 2 * res * res * c * 9  # noqa: E731
    mapping = 8 * 2 * 128 * 128
    styles = 8 * 2 * 128 * (2 * c)  # one style (scale, bias) dense per layer, 2 layers per resolution
    synthesis = conv(4) + sum(2 * conv(r) + blur(r) for r in (8, 16, 32))  # blur after each upscale conv
    to_rgb = 2 * 32 * 32 * c * 3 + 2 * 16 * 16 * c * 3  # full resolution and the lod fade's lower one
    g_fwd = mapping + styles + synthesis + to_rgb
    from_rgb = sum(2 * r * r * 3 * c for r in (32, 16, 8, 4))  # D fades in every downscaled image
    blocks = sum(2 * conv(r) + blur(r) for r in (32, 16, 8))  # blur before each downscale conv
    epilogue = conv(4, c_in=c + 1) + 2 * (4 * 4 * c) * c + 2 * c * 1  # minibatch stddev map, dense, output
    d_fwd = from_rgb + blocks + epilogue
    return g_fwd, d_fwd


@pytest.mark.parametrize("data_format", ["NHWC", "NCHW"])
def test_workload_forward_and_training_work(data_format):
    G = stylegan_tf.G_style(name="G", data_format=data_format, **WORKLOAD_G)  # noqa: N806
    D = stylegan_tf.D_basic(name="D", data_format=data_format, **WORKLOAD_D)  # noqa: N806
    g_fwd, d_fwd, per_image = flops.training_flops(G, D)
    assert (g_fwd, d_fwd) == _workload_by_hand()
    assert per_image == 4 * g_fwd + 11 * d_fwd
    # the figures of the speed issue: 0.802 GFLOP per forward pass, 12.03 per trained image
    assert (round(g_fwd / 1e9, 3), round(d_fwd / 1e9, 3), round(per_image / 1e9, 2)) == (0.802, 0.802, 12.03)
    assert np.isclose(flops.forward_flops(G, batch=8), flops.forward_flops(G, batch=4))
