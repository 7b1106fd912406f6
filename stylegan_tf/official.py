"""Official network pickles: reading them safely, building our networks from them, writing them.

An official pickle (`network-snapshot-*.pkl`) is a tuple `(G, D, Gs)` of `dnnlib.tflib.network.Network` states:
dicts with `version`, `name`, `static_kwargs`, `components`, `build_module_src`, `build_func_name` and `variables`
(`[(name, ndarray)]`, the network's own variables). The official loader executes `build_module_src`; we never do.
`stylegan_tf.restricted_pickle` admits only the Network class and checked NumPy arrays; the whole state is then
validated (`check_state`: types, names, bounded sizes, no cycles) before a network is built from `build_func_name`
and `static_kwargs`, and every variable is matched by name and shape. Whatever is wrong is one `NetworkPickleError`
line naming it.
"""
import copyreg
import io
import math
import os
import pickle
import warnings

import numpy as np

from stylegan_tf import fileio, networks_progan, networks_stylegan, networks_stylegan2, networks_stylegan2_d, \
    restricted_pickle
from stylegan_tf.errors import StyleGANError

#: build function name -> network class (every network family registers here)
NETWORKS = {**networks_stylegan.NETWORKS, **networks_progan.NETWORKS, **networks_stylegan2.NETWORKS,
            **networks_stylegan2_d.NETWORKS}

#: what our snapshots carry instead of the official module source (never executed anyway)
BUILD_MODULE_SRC_PLACEHOLDER = "# stylegan-tf network: built from build_func_name and static_kwargs\n"
SUPPORTED_VERSIONS = (2, 3, 4)
WRITE_VERSION = 3

#: upper bounds of the size keyword arguments, checked before a network is built (a forged pickle must not be able
#: to make us allocate a network of arbitrary size); the official networks stay far below them
SIZE_LIMITS = {"resolution": 4096, "num_channels": 16, "label_size": 1 << 16, "fmap_base": 1 << 20, "fmap_max": 2048,
               "latent_size": 4096, "dlatent_size": 4096, "mapping_fmaps": 4096, "mapping_layers": 32,
               "dlatent_broadcast": 64, "mbstd_group_size": 1 << 16, "mbstd_num_features": 64}
_MAX_COMPONENT_DEPTH = 4
_MAX_NAME = 512


class NetworkPickleError(StyleGANError, ValueError):
    """An official-format network pickle (or checkpoint) that cannot be loaded; the message says why."""


class NetworkState:
    """Stands in for `dnnlib.tflib.network.Network` in a pickle: keeps its state dict."""

    def __init__(self, state=None):
        self.state = state

    def __setstate__(self, state):
        self.state = state

    def __reduce_ex__(self, protocol):
        return copyreg.__newobj__, (type(self),), self.state


# The official (NumPy 1.x) names, written so that the official loader can read our pickles.
try:  # NumPy >= 2
    from numpy._core import multiarray as _multiarray
except ImportError:  # pragma: no cover - NumPy 1.x
    from numpy.core import multiarray as _multiarray
_WRITE_GLOBALS = {
    NetworkState: ("dnnlib.tflib.network", "Network"),
    _multiarray._reconstruct: ("numpy.core.multiarray", "_reconstruct"),
    _multiarray.scalar: ("numpy.core.multiarray", "scalar"),
}


def _describe(source):
    return os.fspath(source) if isinstance(source, (str, os.PathLike)) else getattr(source, "name", "<file object>")


def read_pickle(source):
    """Read an official-format pickle (path or binary file object) without running any of it.

    Returns the pickled structure with every Network replaced by a `NetworkState` (states not yet validated).
    """
    what = _describe(source)
    allowed = {("dnnlib.tflib.network", "Network"): NetworkState}
    try:
        if isinstance(source, (str, os.PathLike)):
            with open(source, "rb") as f:
                return restricted_pickle.load(f, allowed=allowed, encoding="latin1")
        return restricted_pickle.load(source, allowed=allowed, encoding="latin1")
    except FileNotFoundError:
        raise NetworkPickleError(f"{what}: no such file") from None
    except IsADirectoryError:
        raise NetworkPickleError(f"{what}: is a directory, not a network pickle") from None
    except restricted_pickle.PickleRefused as error:
        if "truncated" in str(error):
            raise NetworkPickleError(f"{what}: the file ends early (truncated or incomplete download)") from None
        if str(error).startswith("refusing to load"):
            raise NetworkPickleError(f"{what}: {error} (only dnnlib.tflib.network.Network and NumPy arrays are "
                                     f"allowed in a network pickle)") from None
        raise NetworkPickleError(f"{what}: not a valid network pickle ({error})") from None


# ----------------------------------------------------------------------------
# Validating a state before anything is built from it.

def _check_kwarg_value(name, value, depth=0):
    """Static keyword arguments are scalars (None, bool, int, finite float, short str) or short flat lists of them."""
    if value is None or isinstance(value, (bool, str)) and (not isinstance(value, str) or len(value) <= _MAX_NAME):
        return
    if isinstance(value, (int, np.integer)):
        return
    if isinstance(value, (float, np.floating)):
        if not math.isfinite(value):
            raise NetworkPickleError(f"static_kwargs {name}={value!r} is not a finite number")
        return
    if isinstance(value, (list, tuple)) and depth < 2 and len(value) <= 64:
        for item in value:
            _check_kwarg_value(name, item, depth + 1)
        return
    raise NetworkPickleError(f"static_kwargs {name} has a value of type {type(value).__name__} "
                             f"({'too long or nested' if isinstance(value, (list, tuple)) else 'not allowed'})")


def check_static_kwargs(kwargs):
    """Raise `NetworkPickleError` unless `kwargs` is a dict of plain values whose sizes are within `SIZE_LIMITS`."""
    if not isinstance(kwargs, dict):
        raise NetworkPickleError(f"static_kwargs is a {type(kwargs).__name__}, not a dict")
    for name, value in kwargs.items():
        if not isinstance(name, str) or len(name) > _MAX_NAME:
            raise NetworkPickleError(f"static_kwargs has a key that is not a name: {str(name)[:40]!r}")
        _check_kwarg_value(name, value)
        if name in SIZE_LIMITS and value is not None:
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
                raise NetworkPickleError(f"static_kwargs {name}={value!r} is not an integer")
            if not 0 <= value <= SIZE_LIMITS[name]:
                raise NetworkPickleError(f"static_kwargs {name}={value} is outside the supported range 0 to "
                                         f"{SIZE_LIMITS[name]}")


def _check_variables(variables, where):
    if not isinstance(variables, (list, tuple)):
        raise NetworkPickleError(f"{where}: 'variables' is a {type(variables).__name__}, not a list")
    seen = set()
    for item in variables:
        if not (isinstance(item, (list, tuple)) and len(item) == 2 and isinstance(item[0], str)):
            raise NetworkPickleError(f"{where}: 'variables' holds an entry that is not a (name, array) pair")
        name, value = item
        if name in seen:
            raise NetworkPickleError(f"{where}: variable '{name}' is given twice")
        seen.add(name)
        if not isinstance(value, (np.ndarray, np.generic)) or np.dtype(value.dtype).kind not in "biuf":
            raise NetworkPickleError(f"{where}: variable '{name}' is a {type(value).__name__}, not a numeric "
                                     f"NumPy array")


def _optional(state, key):
    """`state[key]`, an empty dict when absent or None (a pickle may hold anything there: checked by the caller)."""
    value = state.get(key)
    return {} if value is None else value


def check_state(state):
    """Raise `NetworkPickleError` unless `state` is a complete, well-formed official network state (its components
    are checked when they are built)."""
    if not isinstance(state, dict):
        raise NetworkPickleError(f"a Network in the pickle has a {type(state).__name__} as its state, not a dict")
    missing = {"version", "name", "build_func_name", "variables"} - set(state)
    if missing:
        raise NetworkPickleError(f"a network state lacks {sorted(missing)}")
    name = state["name"]
    if not isinstance(name, str) or not name or len(name) > _MAX_NAME:
        raise NetworkPickleError("a network state has no valid name")
    if type(state["version"]) is not int or state["version"] not in SUPPORTED_VERSIONS:
        raise NetworkPickleError(f"network '{name}': unsupported state version {state['version']!r} "
                                 f"(supported: {SUPPORTED_VERSIONS})")
    func = state["build_func_name"]
    if not isinstance(func, str) or func not in NETWORKS:
        shown = func if isinstance(func, str) else type(func).__name__
        raise NetworkPickleError(f"network '{name}': unknown build_func_name '{str(shown)[:80]}' "
                                 f"(supported: {', '.join(sorted(NETWORKS))})")
    try:
        check_static_kwargs(_optional(state, "static_kwargs"))
    except NetworkPickleError as error:
        raise NetworkPickleError(f"network '{name}' ({func}): {error}") from None
    components = _optional(state, "components")
    if not isinstance(components, dict) or not all(isinstance(k, str) and isinstance(c, NetworkState)
                                                   for k, c in components.items()):
        raise NetworkPickleError(f"network '{name}': 'components' must map names to networks")
    _check_variables(state["variables"], f"network '{name}' ({func})")


# ----------------------------------------------------------------------------
# Building.

def build_network(state, components=None, data_format="auto"):
    """Build our Keras network for one official network state and load its variables.

    `components`: already built sub-networks by component name (for `G_style`).
    Raises `NetworkPickleError` naming any malformed state, missing, extra or misshaped variable.
    """
    check_state(state)
    cls = NETWORKS[state["build_func_name"]]
    kwargs = dict(_optional(state, "static_kwargs"))
    try:
        model = cls(name=state["name"], data_format=data_format, **(components or {}), **kwargs)
    except (ValueError, TypeError, KeyError, OverflowError, ZeroDivisionError) as e:
        raise NetworkPickleError(f"network '{state['name']}' ({cls.build_func_name}): cannot build it from its "
                                 f"static_kwargs: {e}") from None
    set_official_values(model, state["variables"])
    return model


def set_official_values(model, named_values):
    """Assign `[(official_name, value)]` to `model`'s own variables; every variable must be given exactly once with
    its exact shape. `lod` must be finite; other non-finite values are loaded with a warning naming them."""
    expected = dict(model.official_variables())
    given = dict(named_values)
    where = f"network '{model.name}' ({model.build_func_name})"
    missing = [n for n in expected if n not in given]
    extra = [n for n in given if n not in expected]
    if missing:
        raise NetworkPickleError(f"{where}: variable(s) missing from the pickle: {', '.join(missing)}")
    if extra:
        raise NetworkPickleError(f"{where}: unexpected variable(s) in the pickle: {', '.join(extra)}")
    nonfinite = []
    for name, var in expected.items():
        value = given[name]
        if not isinstance(value, (np.ndarray, np.generic)):
            raise NetworkPickleError(f"{where}: variable '{name}' is a {type(value).__name__}, not a NumPy array")
        if tuple(np.shape(value)) != tuple(var.shape):
            raise NetworkPickleError(f"{where}: variable '{name}' has shape {list(np.shape(value))} in the pickle, "
                                     f"but the network built from its static_kwargs needs {list(var.shape)}")
        value = np.asarray(value, dtype=np.float32)
        if not np.all(np.isfinite(value)):
            if name.split("/")[-1] == "lod":
                raise NetworkPickleError(f"{where}: variable '{name}' (the level of detail) is not finite")
            nonfinite.append(name)
        var.assign(value)
    if nonfinite:
        warnings.warn(f"{where}: non-finite values in variable '{nonfinite[0]}'"
                      + (f" and {len(nonfinite) - 1} more" if len(nonfinite) > 1 else "")
                      + "; its outputs will not be finite", RuntimeWarning, stacklevel=2)


def _build_state(network_state, data_format, ancestors=()):
    """Build one `NetworkState` and, first, its components (cycles and excessive nesting refused)."""
    if any(network_state is a for a in ancestors):
        raise NetworkPickleError("the pickle's networks contain themselves as components (a cycle)")
    if len(ancestors) >= _MAX_COMPONENT_DEPTH:
        raise NetworkPickleError("the pickle's networks are nested too deeply")
    check_state(network_state.state)
    components = {name: _build_state(c, data_format, ancestors + (network_state,))
                  for name, c in _optional(network_state.state, "components").items()}
    return build_network(network_state.state, components, data_format)


def _build_tree(obj, data_format, budget):
    """`obj` with every `NetworkState` built; containers are walked at most `budget[0]` nodes deep in total."""
    budget[0] -= 1
    if budget[0] < 0:
        raise NetworkPickleError("the pickle's structure is too large or nested too deeply")
    if isinstance(obj, NetworkState):
        return _build_state(obj, data_format)
    if isinstance(obj, (tuple, list)):
        return type(obj)(_build_tree(o, data_format, budget) for o in obj)
    if isinstance(obj, dict):
        return {k: _build_tree(v, data_format, budget) for k, v in obj.items()}
    return obj


def load_pkl(source, data_format="auto"):
    """Load any official-format pickle: its structure (tuples, lists, dicts of at most 1,000 items in all) with every
    Network built as our Keras network."""
    return _build_tree(read_pickle(source), data_format, [1000])


def load_network_pkl(source, data_format="auto"):
    """Load a network snapshot: `(G, D, Gs)` as Keras networks.

    `source`: a path or binary file object. `data_format`: internal layout of the networks ('auto', 'NCHW',
    'NHWC'); public tensors are NCHW either way. Raises `NetworkPickleError` with a one-line reason.
    """
    structure = read_pickle(source)
    if not (isinstance(structure, tuple) and len(structure) == 3
            and all(isinstance(n, NetworkState) for n in structure)):
        raise NetworkPickleError(f"{_describe(source)}: expected a network snapshot (G, D, Gs), found "
                                 f"{type(structure).__name__}")
    try:
        return tuple(_build_state(n, data_format) for n in structure)
    except NetworkPickleError as error:
        raise NetworkPickleError(f"{_describe(source)}: {error}") from None


# ----------------------------------------------------------------------------
# Writing.

def network_state(model):
    """Official state dict of one of our networks (numpy values, components as NetworkState)."""
    variables = []
    for name, var in model.official_variables():
        value = np.asarray(var.numpy(), dtype=np.float32)
        variables.append((name, np.float32(value) if value.ndim == 0 else value))
    return {
        "version": WRITE_VERSION,
        "name": model.name,
        "static_kwargs": dict(model.static_kwargs),
        "components": {k: NetworkState(network_state(c)) for k, c in model.components.items()},
        "build_module_src": BUILD_MODULE_SRC_PLACEHOLDER,
        "build_func_name": model.build_func_name,
        "variables": variables,
    }


class _OfficialPickler(pickle._Pickler):  # the pure-Python pickler lets us name globals
    def save_global(self, obj, name=None):
        target = _WRITE_GLOBALS.get(obj)
        if target is None:
            return super().save_global(obj, name)
        self.save(target[0])
        self.save(target[1])
        self.write(pickle.STACK_GLOBAL)
        self.memoize(obj)


def dumps_networks(structure):
    """Bytes of an official-format pickle (protocol 4) of networks in any tuple/list/dict."""

    def to_states(obj):
        if hasattr(obj, "build_func_name") and hasattr(obj, "official_variables"):
            return NetworkState(network_state(obj))
        if isinstance(obj, (tuple, list)):
            return type(obj)(to_states(o) for o in obj)
        if isinstance(obj, dict):
            return {k: to_states(v) for k, v in obj.items()}
        return obj

    buf = io.BytesIO()
    _OfficialPickler(buf, protocol=4).dump(to_states(structure))
    return buf.getvalue()


def save_network_pkl(networks, path):
    """Write `(G, D, Gs)` (or any structure of our networks) as an official-format pickle, atomically (never
    half-written) and with the permissions of an ordinary file."""
    fileio.write_bytes(path, dumps_networks(networks))
