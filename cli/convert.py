"""stylegan-convert: convert an official-format network pickle to a TensorFlow checkpoint and back.

    stylegan-convert --network=SNAPSHOT.pkl --out=CKPT_DIR      (pickle -> checkpoint)
    stylegan-convert --checkpoint=CKPT_DIR --out=SNAPSHOT.pkl   (checkpoint -> pickle)

CKPT_DIR holds `networks.json` (for G, D and Gs: build_func_name, static_kwargs, components and the official
variable names in creation order) and the checkpoint `networks` written by `tf.train.Checkpoint(G=..., D=...,
Gs=...).write`. Each network's variables are stored under their official names, so the checkpoint key of `Gs`'s
`G_synthesis/4x4/Conv/weight` is `Gs/G_synthesis/4x4/Conv/weight/.ATTRIBUTES/VARIABLE_VALUE` (see
`tf.train.list_variables`). CKPT_DIR appears complete or not at all; an existing one is replaced only with
--overwrite. --checkpoint also takes a training run's `checkpoints/` (or the run directory): its newest checkpoint
(see `stylegan_tf.checkpoints`). Every variable mapped is reported with its shape. Converting back gives the same
values. Also `python -m cli.convert`.
"""
from absl import flags

from cli import base
from stylegan_tf import checkpoints, network_files
from stylegan_tf.errors import InputError

FLAGS = flags.FlagValues()
flags.DEFINE_string("network", None, "Official-format network pickle (G, D, Gs) to convert to a checkpoint.",
                    flag_values=FLAGS)
flags.DEFINE_string("checkpoint", None, "Checkpoint directory (written by this tool, or a training run's "
                    "checkpoints/ or run directory: its newest checkpoint) to convert to a pickle.",
                    flag_values=FLAGS)
flags.DEFINE_string("out", None, "Output: a directory for a checkpoint, a .pkl file for a pickle.", flag_values=FLAGS)
flags.DEFINE_bool("overwrite", False, "pickle -> checkpoint: replace an existing checkpoint directory --out that "
                  "this tool wrote.", flag_values=FLAGS)


def report(networks):
    """Print every official variable of `(G, D, Gs)` with its shape; returns how many there are."""
    count = 0
    for key, net in zip(checkpoints.NETWORK_KEYS, networks):
        for name, variable in net.all_official_variables():
            print(f"  {key}/{name} {list(variable.shape)}")
            count += 1
    return count


def main(args):
    del args  # none (checked by cli.base)
    f = FLAGS
    if (f.network is None) == (f.checkpoint is None) or f.out is None:
        raise base.UsageError("give --out and exactly one of --network (pickle -> checkpoint) and --checkpoint "
                              "(checkpoint -> pickle)")
    if f.network is not None:
        if not f.network.endswith(".pkl"):
            raise InputError(f"{f.network}: unknown network file type (expected an official-format .pkl)")
        networks = checkpoints.pkl_to_checkpoint(f.network, f.out, overwrite=f.overwrite)
    else:
        if not f.out.endswith(".pkl"):
            raise InputError(f"--out {f.out!r} must be a .pkl file name")
        networks = checkpoints.checkpoint_to_pkl(network_files.checkpoint_directory(f.checkpoint), f.out)
    print(f"mapped {report(networks)} variables -> {f.out}")
    return 0


COMMAND = base.Command("stylegan-convert", __doc__, FLAGS, main)


def run_main(argv=None):
    """Console script `stylegan-convert`."""
    base.run(COMMAND, argv)


if __name__ == "__main__":
    run_main()
