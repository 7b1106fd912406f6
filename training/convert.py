"""Convert an official-format network pickle to a TensorFlow checkpoint and back.

Usage: stylegan-convert --network=SNAPSHOT.pkl --out=CKPT_DIR      (pickle -> checkpoint)
       stylegan-convert --checkpoint=CKPT_DIR --out=SNAPSHOT.pkl   (checkpoint -> pickle)
       (or python -m training.convert ...)

CKPT_DIR holds `networks.json` (for G, D and Gs: build_func_name, static_kwargs, components
and the official variable names in creation order) and the checkpoint `networks` written by
`tf.train.Checkpoint(G=..., D=..., Gs=...).write`. Each network's variables are stored under
their official names, so the checkpoint key of `Gs`'s `G_synthesis/4x4/Conv/weight` is
`Gs/G_synthesis/4x4/Conv/weight/.ATTRIBUTES/VARIABLE_VALUE` (see `tf.train.list_variables`).
--checkpoint also takes a training run's `checkpoints/` (or the run directory): its newest
checkpoint (see `stylegan_tf.checkpoints`). Every variable mapped is reported with its shape.
Converting back gives the same values.
"""
import os

from absl import app, flags

from stylegan_tf import load_network_pkl, save_network_pkl
from stylegan_tf.checkpoints import (CHECKPOINT_NAME, NETWORK_KEYS, is_checkpoint_dir, load_checkpoint,
                                     official_checkpoint, run_checkpoint_dir, write_config)
from training._cli import fail, flags_parser

_FLAGS = flags.FlagValues()
flags.DEFINE_string("network", None, "Official-format network pickle (G, D, Gs) to convert to a checkpoint.",
                    flag_values=_FLAGS)
flags.DEFINE_string("checkpoint", None, "Checkpoint directory (written by this tool, or a training run's "
                    "checkpoints/ or run directory: its newest checkpoint) to convert to a pickle.",
                    flag_values=_FLAGS)
flags.DEFINE_string("out", None, "Output: a directory for a checkpoint, a .pkl file for a pickle.",
                    flag_values=_FLAGS)


def _report(key, net):
    for name, variable in net.all_official_variables():
        print(f"  {key}/{name} {list(variable.shape)}")
    return len(net.all_official_variables())


def pkl_to_checkpoint(pkl, out_dir):
    """Write the networks of ``pkl`` to ``out_dir`` (see the module docstring); returns the
    number of variables."""
    networks = dict(zip(NETWORK_KEYS, load_network_pkl(pkl)))
    try:
        write_config(networks, out_dir)
    except ValueError as error:
        raise ValueError(f"{pkl}: {error}") from None
    official_checkpoint(networks).write(os.path.join(out_dir, CHECKPOINT_NAME))
    return sum(_report(key, net) for key, net in networks.items())


def checkpoint_to_pkl(ckpt_dir, out_pkl):
    """Write the networks of the checkpoint directory ``ckpt_dir`` (or of a run directory's
    ``checkpoints/``) as an official-format pickle ``out_pkl``; returns the number of variables."""
    if not is_checkpoint_dir(ckpt_dir) and is_checkpoint_dir(run_checkpoint_dir(ckpt_dir)):
        ckpt_dir = run_checkpoint_dir(ckpt_dir)
    networks = load_checkpoint(ckpt_dir)
    save_network_pkl(networks, out_pkl)
    return sum(_report(key, net) for key, net in zip(NETWORK_KEYS, networks))


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
