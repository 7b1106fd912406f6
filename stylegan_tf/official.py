"""Official network pickles: safe reading, building our networks from them, writing them.

An official pickle (``network-snapshot-*.pkl``) is a tuple ``(G, D, Gs)`` of
``dnnlib.tflib.network.Network`` states: dicts with ``version``, ``name``,
``static_kwargs``, ``components``, ``build_module_src``, ``build_func_name`` and
``variables`` (``[(name, ndarray)]``, the network's own variables). The official loader
executes ``build_module_src``; we never do. A restricted unpickler admits only the Network
class and NumPy's array reconstruction, and our Keras networks are built from
``build_func_name`` and ``static_kwargs``, then every variable is matched by name and shape.
"""
import copyreg
import io
import os
import pickle
import tempfile

import numpy as np

from stylegan_tf import networks_progan, networks_stylegan

#: build function name -> network class (every network family registers here)
NETWORKS = {**networks_stylegan.NETWORKS, **networks_progan.NETWORKS}

try:  # NumPy >= 2
    from numpy._core import multiarray as _multiarray
except ImportError:  # pragma: no cover - NumPy 1.x
    from numpy.core import multiarray as _multiarray

#: what our snapshots carry instead of the official module source (never executed anyway)
BUILD_MODULE_SRC_PLACEHOLDER = "# stylegan-tf network: built from build_func_name and static_kwargs\n"
SUPPORTED_VERSIONS = (2, 3)


class NetworkPickleError(ValueError):
    """An official-format network pickle that cannot be loaded; the message says why."""


class NetworkState:
    """Stands in for ``dnnlib.tflib.network.Network`` in a pickle: keeps its state dict."""

    def __init__(self, state=None):
        self.state = state

    def __setstate__(self, state):
        self.state = state

    def __reduce_ex__(self, protocol):
        return copyreg.__newobj__, (type(self),), self.state


_READ_GLOBALS = {
    ("dnnlib.tflib.network", "Network"): NetworkState,
    ("numpy.core.multiarray", "_reconstruct"): _multiarray._reconstruct,
    ("numpy._core.multiarray", "_reconstruct"): _multiarray._reconstruct,
    ("numpy.core.multiarray", "scalar"): _multiarray.scalar,
    ("numpy._core.multiarray", "scalar"): _multiarray.scalar,
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): np.dtype,
}
# The official (NumPy 1.x) names, written so that the official loader can read our pickles.
_WRITE_GLOBALS = {
    NetworkState: ("dnnlib.tflib.network", "Network"),
    _multiarray._reconstruct: ("numpy.core.multiarray", "_reconstruct"),
    _multiarray.scalar: ("numpy.core.multiarray", "scalar"),
}


class _RestrictedUnpickler(pickle.Unpickler):
    def find_class(self, module, name):
        try:
            return _READ_GLOBALS[(module, name)]
        except KeyError:
            raise NetworkPickleError(
                f"refusing to load: the pickle references '{module}.{name}', which is not part of "
                f"an official network pickle (only dnnlib.tflib.network.Network and NumPy arrays are "
                f"allowed)") from None


def _describe(source):
    return source if isinstance(source, (str, os.PathLike)) else getattr(source, "name", "<file object>")


def read_pickle(source):
    """Read an official-format pickle (path or binary file object) without running any of it.

    Returns the pickled structure with every Network replaced by a ``NetworkState``.
    """
    what = _describe(source)
    try:
        if isinstance(source, (str, os.PathLike)):
            with open(source, "rb") as f:
                return _RestrictedUnpickler(f, encoding="latin1").load()
        return _RestrictedUnpickler(source, encoding="latin1").load()
    except NetworkPickleError as e:
        raise NetworkPickleError(f"{what}: {e}") from None
    except FileNotFoundError:
        raise NetworkPickleError(f"{what}: no such file") from None
    except (EOFError, pickle.UnpicklingError) as e:
        if isinstance(e, EOFError) or "truncated" in str(e):
            raise NetworkPickleError(f"{what}: the file ends early (truncated or incomplete download)") from None
        raise NetworkPickleError(f"{what}: not a valid network pickle ({e})") from None
    except (ValueError, TypeError, AttributeError, IndexError, KeyError) as e:
        raise NetworkPickleError(f"{what}: not a valid network pickle ({type(e).__name__}: {e})") from None


def _check_state(state):
    if not isinstance(state, dict):
        raise NetworkPickleError("a Network in the pickle has no state dict")
    missing = {"version", "name", "build_func_name", "variables"} - set(state)
    if missing:
        raise NetworkPickleError(f"network state lacks {sorted(missing)}")
    if state["version"] not in SUPPORTED_VERSIONS:
        raise NetworkPickleError(f"network '{state['name']}': unsupported state version {state['version']} "
                                 f"(supported: {SUPPORTED_VERSIONS})")
    if state["build_func_name"] not in NETWORKS:
        raise NetworkPickleError(
            f"network '{state['name']}': unknown build_func_name '{state['build_func_name']}' "
            f"(supported: {', '.join(sorted(NETWORKS))})")


def build_network(state, components=None, data_format="auto"):
    """Build our Keras network for one official network state and load its variables.

    ``components``: already built sub-networks by component name (for ``G_style``).
    Raises ``NetworkPickleError`` naming any missing, extra or misshaped variable.
    """
    _check_state(state)
    cls = NETWORKS[state["build_func_name"]]
    kwargs = dict(state.get("static_kwargs") or {})
    try:
        model = cls(name=state["name"], data_format=data_format, **(components or {}), **kwargs)
    except (ValueError, TypeError) as e:
        raise NetworkPickleError(f"network '{state['name']}' ({cls.build_func_name}): cannot build it from "
                                 f"its static_kwargs: {e}") from None
    set_official_values(model, state["variables"])
    return model


def set_official_values(model, named_values):
    """Assign ``[(official_name, value)]`` to ``model``'s own variables; every variable must
    be given exactly once with its exact shape."""
    expected = dict(model.official_variables())
    given = dict(named_values)
    where = f"network '{model.name}' ({model.build_func_name})"
    missing = [n for n in expected if n not in given]
    extra = [n for n in given if n not in expected]
    if missing:
        raise NetworkPickleError(f"{where}: variable(s) missing from the pickle: {', '.join(missing)}")
    if extra:
        raise NetworkPickleError(f"{where}: unexpected variable(s) in the pickle: {', '.join(extra)}")
    for name, var in expected.items():
        value = np.asarray(given[name])
        if tuple(value.shape) != tuple(var.shape):
            raise NetworkPickleError(f"{where}: variable '{name}' has shape {list(value.shape)} in the pickle, "
                                     f"but the network built from its static_kwargs needs {list(var.shape)}")
        var.assign(value.astype(np.float32))


def _build_tree(obj, data_format):
    if isinstance(obj, NetworkState):
        _check_state(obj.state)
        comps = {name: _build_tree(c, data_format) for name, c in (obj.state.get("components") or {}).items()}
        return build_network(obj.state, comps, data_format)
    if isinstance(obj, (tuple, list)):
        return type(obj)(_build_tree(o, data_format) for o in obj)
    if isinstance(obj, dict):
        return {k: _build_tree(v, data_format) for k, v in obj.items()}
    return obj


def load_pkl(source, data_format="auto"):
    """Load any official-format pickle: its structure with every Network built as our Keras network."""
    return _build_tree(read_pickle(source), data_format)


def load_network_pkl(source, data_format="auto"):
    """Load a network snapshot: ``(G, D, Gs)`` as Keras networks.

    ``source``: a path or binary file object. ``data_format``: internal layout of the
    networks ('auto', 'NCHW', 'NHWC'); public tensors are NCHW either way.
    """
    structure = read_pickle(source)
    if not (isinstance(structure, tuple) and len(structure) == 3
            and all(isinstance(n, NetworkState) for n in structure)):
        raise NetworkPickleError(f"{_describe(source)}: expected a network snapshot (G, D, Gs), found "
                                 f"{type(structure).__name__}")
    return _build_tree(structure, data_format)


def network_state(model):
    """Official state dict of one of our networks (numpy values, components as NetworkState)."""
    variables = []
    for name, var in model.official_variables():
        value = np.asarray(var.numpy(), dtype=np.float32)
        variables.append((name, np.float32(value) if value.ndim == 0 else value))
    return {
        "version": 3,
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
    """Write ``(G, D, Gs)`` (or any structure of our networks) as an official-format pickle.

    The file is written to a temporary name and renamed, so it is never half-written.
    """
    data = dumps_networks(networks)
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".pkl", dir=directory)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise
