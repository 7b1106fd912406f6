"""Convert an official-format network pickle to a TensorFlow checkpoint and back.

Usage: stylegan-convert --network=SNAPSHOT.pkl --out=CKPT_DIR      (pickle -> checkpoint)
       stylegan-convert --checkpoint=CKPT_DIR --out=SNAPSHOT.pkl   (checkpoint -> pickle)
       (or python -m training.convert ...)

CKPT_DIR holds `networks.json` (for G, D and Gs: build_func_name, static_kwargs, components
and the official variable names in creation order) and the checkpoint `networks` written by
`tf.train.Checkpoint(G=..., D=..., Gs=...).write`. Each network's variables are stored under
their official names, so the checkpoint key of `Gs`'s `G_synthesis/4x4/Conv/weight` is
`Gs/G_synthesis/4x4/Conv/weight/.ATTRIBUTES/VARIABLE_VALUE` (see `tf.train.list_variables`).
Every variable mapped is reported with its shape. Converting back gives the same values.
"""
import json
import os

import tensorflow as tf
from absl import app, flags

from stylegan_tf import load_network_pkl, save_network_pkl
from stylegan_tf.official import build_network
from training._cli import fail, flags_parser

_FLAGS = flags.FlagValues()
flags.DEFINE_string("network", None, "Official-format network pickle (G, D, Gs) to convert to a checkpoint.",
                    flag_values=_FLAGS)
flags.DEFINE_string("checkpoint", None, "Checkpoint directory (written by this tool) to convert to a pickle.",
                    flag_values=_FLAGS)
flags.DEFINE_string("out", None, "Output: a directory for a checkpoint, a .pkl file for a pickle.",
                    flag_values=_FLAGS)

NETWORK_KEYS = ("G", "D", "Gs")
CONFIG_FILE, CHECKPOINT_NAME = "networks.json", "networks"
_VALUE_SUFFIX = "/.ATTRIBUTES/VARIABLE_VALUE"


def official_checkpoint(networks):
    """``tf.train.Checkpoint`` of ``{'G': G, 'D': D, 'Gs': Gs}``; our networks checkpoint their
    variables under the official names (see ``OfficialNetwork._trackable_children``)."""
    return tf.train.Checkpoint(**networks)


def _skeleton(net):
    """Official network state without values: what is needed to rebuild ``net``."""
    return {"name": net.name, "build_func_name": net.build_func_name, "static_kwargs": net.static_kwargs,
            "variables": [name for name, _ in net.official_variables()],
            "components": {key: _skeleton(comp) for key, comp in net.components.items()}}


def _report(key, net):
    for name, variable in net.all_official_variables():
        print(f"  {key}/{name} {list(variable.shape)}")
    return len(net.all_official_variables())


def pkl_to_checkpoint(pkl, out_dir):
    """Write the networks of ``pkl`` to ``out_dir`` (see the module docstring); returns the
    number of variables."""
    networks = dict(zip(NETWORK_KEYS, load_network_pkl(pkl)))
    try:
        config = json.dumps({key: _skeleton(net) for key, net in networks.items()}, indent=1)
    except TypeError as error:
        raise ValueError(f"{pkl}: static_kwargs cannot be written as JSON ({error})") from None
    os.makedirs(out_dir, exist_ok=True)
    official_checkpoint(networks).write(os.path.join(out_dir, CHECKPOINT_NAME))
    with open(os.path.join(out_dir, CONFIG_FILE), "w", encoding="utf-8") as f:
        f.write(config + "\n")
    return sum(_report(key, net) for key, net in networks.items())


def _rebuild(skeleton, reader, prefix):
    """Build a network from its skeleton and the checkpoint values under ``prefix``."""
    components = {key: _rebuild(comp, reader, f"{prefix}/{comp['name']}")
                  for key, comp in skeleton["components"].items()}
    try:
        values = [(name, reader.get_tensor(f"{prefix}/{name}{_VALUE_SUFFIX}")) for name in skeleton["variables"]]
    except tf.errors.NotFoundError:
        missing = [name for name in skeleton["variables"] if not reader.has_tensor(f"{prefix}/{name}{_VALUE_SUFFIX}")]
        raise ValueError(f"checkpoint lacks {prefix}/{missing[0]} (and {len(missing) - 1} more)") from None
    state = {**skeleton, "version": 3, "variables": values}
    return build_network(state, components)


def checkpoint_to_pkl(ckpt_dir, out_pkl):
    """Write the networks of the checkpoint directory ``ckpt_dir`` as an official-format
    pickle ``out_pkl``; returns the number of variables."""
    config_path = os.path.join(ckpt_dir, CONFIG_FILE)
    if not os.path.isfile(config_path):
        raise ValueError(f"{ckpt_dir}: not a checkpoint directory written by stylegan-convert (no {CONFIG_FILE})")
    with open(config_path, encoding="utf-8") as f:
        config = json.load(f)
    reader = tf.train.load_checkpoint(os.path.join(ckpt_dir, CHECKPOINT_NAME))
    networks = {key: _rebuild(config[key], reader, key) for key in NETWORK_KEYS}
    stored = {name[:-len(_VALUE_SUFFIX)] for name in reader.get_variable_to_shape_map() if name.endswith(_VALUE_SUFFIX)}
    used = {f"{key}/{name}" for key, net in networks.items() for name, _ in net.all_official_variables()}
    if stored - used:
        raise ValueError(f"checkpoint variable {sorted(stored - used)[0]} belongs to no network")
    save_network_pkl(tuple(networks[key] for key in NETWORK_KEYS), out_pkl)
    return sum(_report(key, net) for key, net in networks.items())


def main(argv):
    del argv
    f = _FLAGS
    if (f.network is None) == (f.checkpoint is None) or f.out is None:
        fail("give --out and exactly one of --network (pickle -> checkpoint) and --checkpoint "
             "(checkpoint -> pickle)")
    try:
        if f.network is not None:
            if not f.network.endswith(".pkl"):
                raise ValueError(f"{f.network}: unknown network file type (expected an official-format .pkl)")
            count = pkl_to_checkpoint(f.network, f.out)
        else:
            if not f.out.endswith(".pkl"):
                raise ValueError(f"--out {f.out!r} must be a .pkl file name")
            count = checkpoint_to_pkl(f.checkpoint, f.out)
    except (ValueError, OSError) as error:
        fail(error)
    print(f"mapped {count} variables -> {f.out}")
    return 0


def run_main(argv=None):
    """Console script ``stylegan-convert``."""
    app.run(main, argv=argv, flags_parser=flags_parser(_FLAGS, __doc__))


if __name__ == "__main__":
    run_main()
