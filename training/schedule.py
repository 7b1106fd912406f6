"""The official progressive-growing schedule: a pure function of the number of images shown."""
import dataclasses

import numpy as np

from training.options import Schedule


@dataclasses.dataclass(frozen=True)
class SchedulePoint:
    """What the schedule says at one number of images shown."""
    kimg: float  #: thousands of images shown
    lod: float  #: level of detail: 0 at full resolution, fractional while the next resolution fades in
    resolution: int  #: the resolution trained at: `2**(resolution_log2 - floor(lod))`
    minibatch: int  #: global minibatch, a multiple of the number of replicas
    G_lrate: float  # noqa: N815
    D_lrate: float  # noqa: N815
    tick_kimg: float  #: kimg between two ticks


def training_schedule(cur_nimg, resolution_log2, num_gpus=1, sched=None, **changes):
    """The official schedule at `cur_nimg` images for a dataset of `2**resolution_log2` px.

    `sched`: a `training.options.Schedule` (default: the official defaults), with `changes` (its field names)
    applied. Training alternates phases of `lod_training_kimg` (stable) and `lod_transition_kimg` (fading in the
    next resolution), starting at `lod_initial_resolution`. Returns a `SchedulePoint`.
    """
    s = dataclasses.replace(sched or Schedule(), **changes)
    kimg = cur_nimg / 1000.0
    phase_dur = s.lod_training_kimg + s.lod_transition_kimg
    phase_idx = int(np.floor(kimg / phase_dur)) if phase_dur > 0 else 0
    phase_kimg = kimg - phase_idx * phase_dur

    lod = resolution_log2 - np.floor(np.log2(s.lod_initial_resolution)) - phase_idx
    if s.lod_transition_kimg > 0:
        lod -= max(phase_kimg - s.lod_training_kimg, 0.0) / s.lod_transition_kimg
    lod = float(max(lod, 0.0))
    resolution = 2 ** (resolution_log2 - int(np.floor(lod)))

    minibatch = s.minibatch_dict.get(resolution, s.minibatch_base)
    minibatch -= minibatch % num_gpus
    if resolution in s.max_minibatch_per_gpu:
        minibatch = min(minibatch, s.max_minibatch_per_gpu[resolution] * num_gpus)

    G_lrate = s.G_lrate_dict.get(resolution, s.G_lrate_base)  # noqa: N806
    D_lrate = s.D_lrate_dict.get(resolution, s.D_lrate_base)  # noqa: N806
    if s.lrate_rampup_kimg > 0:
        rampup = min(kimg / s.lrate_rampup_kimg, 1.0)
        G_lrate *= rampup  # noqa: N806
        D_lrate *= rampup  # noqa: N806
    return SchedulePoint(kimg=kimg, lod=lod, resolution=resolution, minibatch=minibatch, G_lrate=G_lrate,
                         D_lrate=D_lrate, tick_kimg=s.tick_kimg_dict.get(resolution, s.tick_kimg_base))


def minibatches(sched, resolution_log2):
    """`{resolution: global minibatch as configured}` (before the rounding to the replicas and the per-GPU caps) of
    every resolution `sched` trains at, for a dataset of `2**resolution_log2` px."""
    first = min(int(np.log2(sched.lod_initial_resolution)), resolution_log2)
    return {2 ** r: sched.minibatch_dict.get(2 ** r, sched.minibatch_base) for r in range(first, resolution_log2 + 1)}
