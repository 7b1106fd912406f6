"""Resuming a run: its options, and the checkpoint to continue from, the newest intact one.

The checkpoints of a run are found from their files (`stylegan_tf.run_dir.checkpoint_prefixes`), not from
TensorFlow's `checkpoint` state file, which a crash or a user can damage. A checkpoint is intact when every tensor
in it can be read back (a truncated or bit-flipped file fails its length or CRC check); a damaged newer one is
passed over, and said so.
"""
import dataclasses
import os
from typing import Optional

import tensorflow as tf

from stylegan_tf import run_dir as run_files
from training import options as options_lib
from training.errors import TrainingError

#: the variable of a checkpoint that holds the number of images shown
NIMG_KEY = "progress/cur_nimg/.ATTRIBUTES/VARIABLE_VALUE"
#: the variable that holds the augmentation probability p (runs with discriminator augmentation)
AUGMENT_P_KEY = "augment/pipe/p/.ATTRIBUTES/VARIABLE_VALUE"


def checkpoint_damage(prefix):
    """Why the checkpoint `prefix` cannot be resumed from (one line), or None if every tensor in it reads back and
    it holds the run's progress."""
    try:
        reader = tf.train.load_checkpoint(prefix)
        names = reader.get_variable_to_dtype_map()
        if NIMG_KEY not in names:
            return "it holds no training progress"
        for name in names:
            reader.get_tensor(name)
    except (IndexError, ValueError, tf.errors.OpError) as error:  # IndexError: a truncated data file
        message = getattr(error, "message", None) or str(error) or type(error).__name__
        return " ".join(message.split())[:200]
    return None


@dataclasses.dataclass
class ResumePoint:
    """Where `--resume` continues a run."""
    run_dir: str
    options: options_lib.TrainingOptions  #: the run's options (`total_kimg` possibly changed)
    checkpoint: str  #: prefix of the newest intact checkpoint
    nimg: int  #: images shown when it was written
    damaged: list  #: `[(prefix, why)]` of the newer checkpoints that are damaged
    augment_p: Optional[float] = None  #: the augmentation probability it holds (None: no augmentation)

    @property
    def finished(self):
        """Whether the checkpoint is already at or past `total_kimg`."""
        return self.nimg >= int(self.options.total_kimg * 1000)

    def describe(self):
        """Lines saying which checkpoint is used, and why newer ones are not."""
        lines = [f"{os.path.basename(p)} is damaged ({why}); passing over it" for p, why in self.damaged]
        if self.finished:
            lines.append(f"{self.run_dir} already reached its total_kimg: its newest checkpoint "
                         f"{os.path.basename(self.checkpoint)} is at kimg {self.nimg / 1000:g} of "
                         f"{self.options.total_kimg:g}; give a larger total_kimg to train on")
        else:
            augment = "" if self.augment_p is None else f", augment p {self.augment_p:.4f}"
            lines.append(f"Resuming from {self.checkpoint} at kimg {self.nimg / 1000:g} (of "
                         f"{self.options.total_kimg:g}){augment}")
        return lines


def resume_point(run_dir, total_kimg=None):
    """The `ResumePoint` of run directory `run_dir`, with `total_kimg` changed if given. `InputError` if it is not
    a run directory or its options are damaged; `TrainingError` if it holds no intact checkpoint."""
    options = options_lib.load(run_dir)
    if total_kimg is not None:
        options.total_kimg = float(total_kimg)
    prefixes = run_files.checkpoint_prefixes(run_dir)
    if not prefixes:
        raise TrainingError(f"{run_dir} holds no checkpoint: the run stopped before its first one (written when "
                            f"training starts); start it again as a new run")
    damaged = []
    for prefix in prefixes:
        why = checkpoint_damage(prefix)
        if why is None:
            reader = tf.train.load_checkpoint(prefix)
            augment_p = float(reader.get_tensor(AUGMENT_P_KEY)) if reader.has_tensor(AUGMENT_P_KEY) else None
            return ResumePoint(run_dir, options, prefix, int(reader.get_tensor(NIMG_KEY)), damaged, augment_p)
        damaged.append((prefix, why))
    listing = "; ".join(f"{os.path.basename(p)}: {why}" for p, why in damaged)
    raise TrainingError(f"no intact checkpoint in {run_files.checkpoint_dir(run_dir)} ({listing}); the run cannot "
                        f"be resumed, start it again as a new run")
