"""Networks in TensorFlow checkpoints, beside the official pickles.

A checkpoint directory holds ``networks.json`` (for G, D and Gs: ``name``, ``build_func_name``,
``static_kwargs``, the official variable names in creation order and the same for each
component: what rebuilding the networks takes) and either

- ``networks.*``: ``tf.train.Checkpoint(G=..., D=..., Gs=...).write`` (``stylegan-convert``), where
  each variable is stored under its official name (``Gs/G_synthesis/4x4/Conv/weight``); or
- ``ckpt-<nimg>.*``: a training run's checkpoints (``<run>/checkpoints``), which also hold the
  optimizers and the progress; the newest is read.

Reading rebuilds the networks from ``networks.json`` and restores them object by object.
"""
import json
import os

import tensorflow as tf

from stylegan_tf.errors import InputError
from stylegan_tf.fileio import AtomicDirectory
from stylegan_tf.official import NETWORKS, NetworkPickleError, check_static_kwargs, load_network_pkl, save_network_pkl

CONFIG_FILE, CHECKPOINT_NAME = "networks.json", "networks"
NETWORK_KEYS = ("G", "D", "Gs")


def skeleton(net):
    """What rebuilding ``net`` takes, as JSON-able data (the official state without values)."""
    return {"name": net.name, "build_func_name": net.build_func_name, "static_kwargs": net.static_kwargs,
            "variables": [name for name, _ in net.official_variables()],
            "components": {key: skeleton(comp) for key, comp in net.components.items()}}


def write_config(networks, directory):
    """Write ``networks.json`` for ``{'G': G, 'D': D, 'Gs': Gs}`` into ``directory``. Raises
    ValueError if a network's static_kwargs cannot be written as JSON."""
    try:
        config = json.dumps({key: skeleton(networks[key]) for key in NETWORK_KEYS}, indent=1)
    except TypeError as error:
        raise ValueError(f"static_kwargs cannot be written as JSON ({error})") from None
    os.makedirs(directory, exist_ok=True)
    with open(os.path.join(directory, CONFIG_FILE), "w", encoding="utf-8") as f:
        f.write(config + "\n")


def official_checkpoint(networks):
    """``tf.train.Checkpoint`` of ``{'G': G, 'D': D, 'Gs': Gs}``; our networks checkpoint their
    variables under the official names (see ``OfficialNetwork._trackable_children``)."""
    return tf.train.Checkpoint(**networks)


def is_checkpoint_dir(path):
    return os.path.isfile(os.path.join(path, CONFIG_FILE))


def checkpoint_prefix(directory):
    """The checkpoint of ``directory`` to read: ``networks`` if written by ``stylegan-convert``,
    else the newest training checkpoint; `NetworkPickleError` if there is none."""
    if not is_checkpoint_dir(directory):
        raise NetworkPickleError(f"{directory}: not a checkpoint directory (no {CONFIG_FILE})")
    prefix = os.path.join(directory, CHECKPOINT_NAME)
    if os.path.isfile(prefix + ".index"):
        return prefix
    latest = tf.train.latest_checkpoint(directory)
    if latest is None:
        raise NetworkPickleError(f"{directory}: {CONFIG_FILE} but no checkpoint beside it")
    return latest


def _build(skel, data_format, depth=0):
    """The network described by one skeleton of `networks.json`, validated like a pickled state."""
    if depth > 3:
        raise NetworkPickleError("the networks are nested too deeply")
    if not isinstance(skel, dict) or not {"name", "build_func_name", "static_kwargs", "variables"} <= set(skel):
        raise NetworkPickleError("a network entry is not a dict with name, build_func_name, static_kwargs and "
                                 "variables")
    func = skel["build_func_name"]
    if not isinstance(func, str) or func not in NETWORKS:
        raise NetworkPickleError(f"unknown build_func_name {str(func)[:80]!r} "
                                 f"(supported: {', '.join(sorted(NETWORKS))})")
    check_static_kwargs(skel["static_kwargs"])
    comps = {} if skel.get("components") is None else skel["components"]
    if not isinstance(comps, dict) or not isinstance(skel["variables"], list) or not isinstance(skel["name"], str):
        raise NetworkPickleError(f"network {str(skel['name'])[:80]!r}: malformed components, variables or name")
    components = {key: _build(comp, data_format, depth + 1) for key, comp in comps.items()}
    cls = NETWORKS[func]
    net = cls(name=skel["name"], data_format=data_format, **components, **skel["static_kwargs"])
    names = [name for name, _ in net.official_variables()]
    if names != skel["variables"]:
        raise NetworkPickleError(f"network '{skel['name']}' rebuilt from {CONFIG_FILE} has variables {names[:3]}..., "
                                 f"not the recorded {skel['variables'][:3]}...")
    return net


def load_checkpoint(directory, data_format="auto", prefix=None):
    """``(G, D, Gs)`` of the checkpoint directory ``directory`` (see the module docstring), from
    its checkpoint ``prefix`` (default ``checkpoint_prefix(directory)``).

    A ``stylegan-convert`` checkpoint must hold exactly these networks' variables; a training
    checkpoint must hold every one of them (its optimizers and progress are left unread).
    Raises ValueError (NetworkPickleError) for bad input."""
    prefix = prefix or checkpoint_prefix(directory)
    config_path = os.path.join(directory, CONFIG_FILE)
    try:
        with open(config_path, encoding="utf-8") as f:
            config = json.load(f)
        if not isinstance(config, dict):
            raise NetworkPickleError(f"it holds a {type(config).__name__}, not the networks G, D and Gs")
        networks = {key: _build(config[key], data_format) for key in NETWORK_KEYS}
    except (KeyError, TypeError, ValueError, RecursionError, OverflowError) as error:
        text = f"no entry {error}" if isinstance(error, KeyError) else (
            "nested too deeply" if isinstance(error, RecursionError) else " ".join(str(error).split())[:300])
        raise NetworkPickleError(f"{config_path}: cannot rebuild the networks ({text})") from None
    try:
        status = official_checkpoint(networks).read(prefix)
        if os.path.basename(prefix) == CHECKPOINT_NAME:
            status.assert_consumed()
        else:
            status.expect_partial().assert_existing_objects_matched()
    except (AssertionError, ValueError, IndexError, tf.errors.OpError) as error:  # IndexError: a truncated file
        message = (str(error).strip().splitlines() or [type(error).__name__])[0]
        raise NetworkPickleError(f"{prefix}: cannot restore the networks of {CONFIG_FILE} from it: {message}") from None
    return tuple(networks[key] for key in NETWORK_KEYS)


def _is_converted(path):
    """Whether `path` is a checkpoint directory written by `pkl_to_checkpoint` (not a training run's)."""
    return is_checkpoint_dir(path) and os.path.isfile(os.path.join(path, CHECKPOINT_NAME + ".index"))


def pkl_to_checkpoint(pkl, out_dir, overwrite=False):
    """Write the networks of the official-format pickle `pkl` as the checkpoint directory `out_dir` (`networks.json`
    and `networks.*`, see the module docstring), atomically: it appears complete or not at all. An existing
    directory is refused unless `overwrite` and written by this function. Returns `(G, D, Gs)`."""
    target = AtomicDirectory(out_dir, overwrite=overwrite, is_replaceable=_is_converted,
                             what="checkpoint directory")
    networks = dict(zip(NETWORK_KEYS, load_network_pkl(pkl)))
    with target as temp:
        try:
            write_config(networks, temp)
        except ValueError as error:
            raise InputError(f"{pkl}: {error}") from None
        official_checkpoint(networks).write(os.path.join(temp, CHECKPOINT_NAME))
    return tuple(networks[key] for key in NETWORK_KEYS)


def checkpoint_to_pkl(ckpt_dir, out_pkl):
    """Write the networks of the checkpoint directory `ckpt_dir` (its newest checkpoint, see `checkpoint_prefix`)
    as the official-format pickle `out_pkl`, atomically. Returns `(G, D, Gs)`."""
    networks = load_checkpoint(ckpt_dir)
    save_network_pkl(networks, out_pkl)
    return networks
