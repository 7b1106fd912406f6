"""The official progressive-growing schedule: a pure function of the number of images shown."""
import numpy as np

from dnnlib.util import EasyDict

#: official tick lengths (kimg) per resolution
DEFAULT_TICK_KIMG = {4: 160, 8: 140, 16: 120, 32: 100, 64: 80, 128: 60, 256: 40, 512: 30, 1024: 20}


def training_schedule(cur_nimg, resolution_log2, num_gpus=1, lod_initial_resolution=4, lod_training_kimg=600,
                      lod_transition_kimg=600, minibatch_base=16, minibatch_dict=None, max_minibatch_per_gpu=None,
                      G_lrate_base=0.001, G_lrate_dict=None, D_lrate_base=0.001, D_lrate_dict=None,  # noqa: N803
                      lrate_rampup_kimg=0, tick_kimg_base=160, tick_kimg_dict=None):
    """Schedule at ``cur_nimg`` images for a dataset of ``2**resolution_log2`` px, as official.

    Training alternates phases of ``lod_training_kimg`` (stable) and ``lod_transition_kimg``
    (fading in the next resolution), starting at ``lod_initial_resolution``. Returns an
    EasyDict with ``kimg``, ``lod`` (float), ``resolution`` (the current one, i.e.
    ``2**(resolution_log2 - floor(lod))``), ``minibatch`` (global, a multiple of
    ``num_gpus``), ``G_lrate``, ``D_lrate`` and ``tick_kimg``. Dict arguments map a
    resolution to a value overriding the base.
    """
    minibatch_dict, max_minibatch_per_gpu = minibatch_dict or {}, max_minibatch_per_gpu or {}
    G_lrate_dict, D_lrate_dict = G_lrate_dict or {}, D_lrate_dict or {}  # noqa: N806
    tick_kimg_dict = DEFAULT_TICK_KIMG if tick_kimg_dict is None else tick_kimg_dict
    s = EasyDict(kimg=cur_nimg / 1000.0)

    phase_dur = lod_training_kimg + lod_transition_kimg
    phase_idx = int(np.floor(s.kimg / phase_dur)) if phase_dur > 0 else 0
    phase_kimg = s.kimg - phase_idx * phase_dur

    lod = resolution_log2 - np.floor(np.log2(lod_initial_resolution)) - phase_idx
    if lod_transition_kimg > 0:
        lod -= max(phase_kimg - lod_training_kimg, 0.0) / lod_transition_kimg
    s.lod = float(max(lod, 0.0))
    s.resolution = 2 ** (resolution_log2 - int(np.floor(s.lod)))

    s.minibatch = minibatch_dict.get(s.resolution, minibatch_base)
    s.minibatch -= s.minibatch % num_gpus
    if s.resolution in max_minibatch_per_gpu:
        s.minibatch = min(s.minibatch, max_minibatch_per_gpu[s.resolution] * num_gpus)

    s.G_lrate = G_lrate_dict.get(s.resolution, G_lrate_base)
    s.D_lrate = D_lrate_dict.get(s.resolution, D_lrate_base)
    if lrate_rampup_kimg > 0:
        rampup = min(s.kimg / lrate_rampup_kimg, 1.0)
        s.G_lrate *= rampup
        s.D_lrate *= rampup
    s.tick_kimg = tick_kimg_dict.get(s.resolution, tick_kimg_base)
    return s
