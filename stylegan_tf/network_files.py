"""Networks on disk: what a `--network` path stands for, and loading `(G, D, Gs)` or `Gs` from it.

A network path is one of
- an official-format network pickle `.pkl` (NVIDIA's released pickles, the official training's snapshots, ours);
- a checkpoint directory (`stylegan_tf.checkpoints`: `stylegan-convert`'s output or a run's `checkpoints/`), whose
  newest checkpoint is taken, or one checkpoint of it by its prefix (`<run>/checkpoints/ckpt-128`);
- a training run directory, where the newest of its snapshots, `network-final.pkl` and checkpoints is taken
  (`stylegan_tf.run_dir.newest_network`).
"""
import os

from stylegan_tf import checkpoints, run_dir
from stylegan_tf.errors import InputError
from stylegan_tf.official import load_network_pkl

_EXPECTED = "an official-format .pkl network snapshot, a checkpoint directory or a training run directory"


def _is_checkpoint_prefix(path):
    return os.path.isfile(path + ".index") and checkpoints.is_checkpoint_dir(os.path.dirname(path) or ".")


def resolve_network(path):
    """The network `path` stands for (see the module docstring): a `.pkl` path or a checkpoint prefix.

    Raises `InputError` with a one-line reason for anything else."""
    path = os.fspath(path)
    if os.path.isdir(path):
        if checkpoints.is_checkpoint_dir(path):
            return checkpoints.checkpoint_prefix(path)
        return run_dir.newest_network(path)
    if _is_checkpoint_prefix(path):
        return path
    if not os.path.exists(path):
        raise InputError(f"{path}: no such file or directory")
    if not path.endswith(".pkl"):
        raise InputError(f"{path}: unknown network file type (expected {_EXPECTED})")
    return path


def checkpoint_directory(path):
    """The checkpoint directory `path` stands for: `path` itself, or the `checkpoints/` of a training run directory.
    Raises `InputError` if it is neither."""
    for directory in (path, run_dir.checkpoint_dir(path)):
        if checkpoints.is_checkpoint_dir(directory):
            return os.fspath(directory)
    raise InputError(f"{path}: not a checkpoint directory (no {checkpoints.CONFIG_FILE}), nor a training run "
                     f"directory with one in {run_dir.CHECKPOINTS}/")


def load_networks(path, data_format="auto"):
    """`(G, D, Gs)` of the network `path` stands for (see `resolve_network`), built in `data_format` ('auto', 'NCHW'
    or 'NHWC'). Raises `InputError` or `NetworkPickleError` for a bad path or file."""
    resolved = resolve_network(path)
    if resolved.endswith(".pkl"):
        return load_network_pkl(resolved, data_format=data_format)
    return checkpoints.load_checkpoint(os.path.dirname(resolved), data_format=data_format, prefix=resolved)


def load_Gs(path, data_format="auto"):  # noqa: N802 (official name)
    """`Gs` (the generator's moving average) of the network `path` stands for; see `load_networks`."""
    return load_networks(path, data_format)[2]
