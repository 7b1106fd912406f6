"""What every official-style network shares: static keyword arguments, layout and
dtype settings, official variable names, the level-of-detail (lod) arithmetic."""
import math

import keras
import numpy as np
import tensorflow as tf

from stylegan_tf import ops


class _Unset:
    """Marks a call argument left unset: the network's static value applies."""

    def __repr__(self):
        return "UNSET"


UNSET = _Unset()


def resolve_data_format(data_format="auto"):
    """'auto' -> 'NCHW' when a GPU is visible, else 'NHWC' (TF's CPU kernels need NHWC)."""
    if data_format == "auto":
        return "NCHW" if tf.config.list_logical_devices("GPU") else "NHWC"
    return ops.check_data_format(data_format)


def dtype_policy(dtype="float32"):
    """Official ``dtype`` ('float32' / 'float16') or a Keras policy name -> a Keras policy name."""
    if isinstance(dtype, keras.DTypePolicy):
        return dtype.name
    policies = {"float32": "float32", "float16": "mixed_float16", "mixed_float16": "mixed_float16",
                "bfloat16": "mixed_bfloat16", "mixed_bfloat16": "mixed_bfloat16"}
    if dtype not in policies:
        raise ValueError(f"dtype must be one of {sorted(policies)}, got {dtype!r}")
    return policies[dtype]


def nf_function(fmap_base, fmap_decay, fmap_max, res_log2):
    """Official feature-map count per stage: ``min(int(base / 2**(stage*decay)), max)``;
    raises ValueError if the highest stage a network of ``2**res_log2`` px uses gets none."""
    def nf(stage):
        return min(int(fmap_base / (2.0 ** (stage * fmap_decay))), fmap_max)

    if nf(res_log2 - 1) < 1:
        raise ValueError(f"fmap_base={fmap_base} with fmap_decay={fmap_decay} leaves no feature maps at "
                         f"{2 ** res_log2}x{2 ** res_log2}: increase fmap_base")
    return nf


def resolution_log2(resolution):
    res_log2 = int(np.log2(resolution))
    if resolution != 2 ** res_log2 or resolution < 4:
        raise ValueError(f"resolution must be a power of two >= 4, got {resolution}")
    return res_log2


def static_lod(lod):
    """The Python value of ``lod`` if it is known outside a traced graph, else None."""
    if isinstance(lod, (int, float, np.number)):
        return float(lod)
    if tf.executing_eagerly():
        return float(tf.convert_to_tensor(lod).numpy())
    return None


def active_resolution_log2(lod, res_log2):
    """log2 of the highest resolution a network evaluates at ``lod`` (a Python number):
    ``res_log2 - floor(lod)``, clipped to [2, res_log2]."""
    level = min(max(math.floor(lod), 0), res_log2 - 2)
    return res_log2 - level


class OfficialNetwork(keras.Model):
    """Base of the official networks (a ``keras.Model``).

    Subclasses set ``build_func_name`` and ``DEFAULTS`` (the official keyword arguments
    with their defaults). ``static_kwargs`` keeps exactly the keyword arguments passed at
    construction (what an official pickle stores); ``kwargs`` merges them over the
    defaults. Variables are reachable by their official names (``official_variables``).
    """

    build_func_name = None
    DEFAULTS = {}
    #: keyword arguments ``call`` accepts that change the computation but not the variables
    RUN_KWARGS = ()

    def __init__(self, name, data_format="auto", **static_kwargs):
        self.static_kwargs = dict(static_kwargs)
        self.kwargs = {**self.DEFAULTS, **self.static_kwargs}
        super().__init__(name=name, dtype=dtype_policy(self.kwargs.get("dtype", "float32")))
        self.data_format = resolve_data_format(data_format)
        self._units = []  # (scope, layer) in official creation order

    def _unit(self, scope, layer, *build_args):
        """Build ``layer`` now and register its variables under ``scope``."""
        layer.build(*build_args)
        self._units.append((scope, layer))
        return layer

    def _own_variable(self, name, shape, initializer, trainable=False):
        """A network-level variable (``lod``, ``dlatent_avg``, ``noise%d``, ``const`` ...).
        Non-trainables aggregate by mean, so replicas may update them (``dlatent_avg``: the
        mean of the per-replica updates is the update of the global batch)."""
        var = self.add_weight(name=name.replace("/", "_"), shape=tuple(shape), initializer=initializer,
                              trainable=trainable, dtype="float32", autocast=False,
                              aggregation="none" if trainable else "mean")
        self._units.append((name, var))
        return var

    def _resolve(self, name, value):
        return self.kwargs[name] if value is UNSET else value

    @property
    def components(self):
        """Sub-networks by official component name (``{'synthesis': ..., 'mapping': ...}``)."""
        return {}

    def official_variables(self):
        """``[(name, variable)]`` of this network's own variables (not its components')."""
        out = []
        for scope, unit in self._units:
            if isinstance(unit, keras.layers.Layer):
                out.extend((f"{scope}/{n}", v) for n, v in unit.official_variables())
            else:
                out.append((scope, unit))
        return out

    def all_official_variables(self):
        """Own variables, then each component's prefixed with its network name."""
        out = list(self.official_variables())
        for comp in self.components.values():
            out.extend((f"{comp.name}/{n}", v) for n, v in comp.all_official_variables())
        return out

    def _trackable_children(self, save_type="checkpoint", **kwargs):
        """``tf.train.Checkpoint`` sees every variable under its official name (Keras 3 does
        not track layers kept in lists or dicts, which would silently drop them)."""
        if save_type != "checkpoint":
            return super()._trackable_children(save_type, **kwargs)
        return dict(self.all_official_variables())

    def get_config(self):
        return {"name": self.name, "data_format": self.data_format, **self.static_kwargs}

