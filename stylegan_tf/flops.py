"""Useful work of the networks, counted in the TensorFlow graphs they actually trace.

A FLOP here is half a multiply-add of a convolution or dense layer: ``Conv2D``, the fused
up-conv's ``Conv2DBackpropInput``, the blur's ``DepthwiseConv2dNative``, ``MatMul`` and
``BatchMatMul``. Elementwise work (biases, noise, normalization, activations) is not
counted. Under this convention the benchmark workload (32x32 RGB, 128 feature maps) costs
0.802 GFLOP per image for a forward pass of G and 0.802 for one of D.

A training iteration costs ``4 G + 11 D`` forward passes per image (the convention of the
speed issue): G runs forward in the D step and forward + backward (2x) in the G step; D runs
forward + backward on the fakes in both steps (2 x 3) and on the reals (3), plus R1's input
gradient and its double backward (2).
"""
import numpy as np
import tensorflow as tf

#: forward passes of G and of D per trained image in one official iteration (see above)
TRAIN_G_PASSES, TRAIN_D_PASSES = 4, 11


def _static(shape, op):
    dims = shape.as_list() if hasattr(shape, "as_list") else list(shape)
    if any(d is None for d in dims):
        raise ValueError(f"{op.type} op {op.name!r} has a dynamic shape {dims}: trace with a fixed batch size")
    return dims


def op_flops(op):
    """FLOPs (2 x multiply-adds) of one graph op; 0 for ops that are not counted."""
    if op.type == "Conv2D":  # out [..., C_out], filter [kh, kw, C_in, C_out]
        kh, kw, c_in, _ = _static(op.inputs[1].shape, op)
        return 2 * int(np.prod(_static(op.outputs[0].shape, op))) * kh * kw * c_in
    if op.type == "DepthwiseConv2dNative":  # filter [kh, kw, C, multiplier]: kh*kw per output
        kh, kw, _, _ = _static(op.inputs[1].shape, op)
        return 2 * int(np.prod(_static(op.outputs[0].shape, op))) * kh * kw
    if op.type == "Conv2DBackpropInput":  # transposed conv: each input element meets kh*kw*C_out weights
        kh, kw, c_out, _ = _static(op.inputs[1].shape, op)
        return 2 * int(np.prod(_static(op.inputs[2].shape, op))) * kh * kw * c_out
    if op.type in ("MatMul", "BatchMatMul", "BatchMatMulV2", "BatchMatMulV3"):
        a = _static(op.inputs[0].shape, op)
        transposed = op.get_attr("transpose_a" if op.type == "MatMul" else "adj_x")
        inner = a[-2] if transposed else a[-1]
        return 2 * int(np.prod(_static(op.outputs[0].shape, op))) * inner
    return 0


def graph_flops(graph):
    """Total FLOPs of the counted ops of a ``tf.Graph``. Raises ValueError if the graph calls
    functions or control flow whose bodies would not be counted."""
    total = 0
    for op in graph.get_operations():
        if op.type in ("PartitionedCall", "StatefulPartitionedCall", "If", "StatelessIf", "While",
                       "StatelessWhile", "Case"):
            raise ValueError(f"graph op {op.name!r} ({op.type}) has a function body that is not counted")
        total += op_flops(op)
    return total


def forward_flops(net, batch=4, **call_kwargs):
    """FLOPs per sample of one forward pass of ``net`` (a network of this package) on a
    minibatch of ``batch``, called with ``call_kwargs`` (e.g. the training path's
    ``resolution`` and ``lod``)."""
    specs = [tf.TensorSpec([batch, *shape[1:]], tf.float32) for shape in net.input_shapes]
    graph = tf.function(lambda *inputs: net(*inputs, **call_kwargs)).get_concrete_function(*specs).graph
    return graph_flops(graph) / batch


def training_flops(G, D, batch=4):  # noqa: N803 (official names)
    """``(G_fwd, D_fwd, per_image)``: FLOPs per image of G's and D's forward passes on the
    training path at full resolution, and of one whole training iteration
    (``TRAIN_G_PASSES * G_fwd + TRAIN_D_PASSES * D_fwd``)."""
    lod, resolution = tf.constant(0.0), int(D.kwargs["resolution"])
    g_fwd = forward_flops(G, batch, lod=lod, resolution=resolution, is_training=True, style_mixing_prob=None)
    d_fwd = forward_flops(D, batch, lod=lod)
    return g_fwd, d_fwd, TRAIN_G_PASSES * g_fwd + TRAIN_D_PASSES * d_fwd
