"""Training presets: the official train.py configurations and a small CPU quickstart.

Each preset is a function returning the options EasyDict that ``training.training_loop``
takes (and ``training_options.json`` records).
"""
import copy

from dnnlib.util import EasyDict

_ADAM = EasyDict(beta1=0.0, beta2=0.99, epsilon=1e-8)
_BASE = EasyDict(
    data=None, G_func="G_style", D_func="D_basic", total_kimg=25000, seed=1000, data_format="auto", xla=False,
    mixed_precision=False,
    G_args={}, D_args={}, G_opt_args=_ADAM, D_opt_args=_ADAM,
    G_loss="G_logistic_nonsaturating", G_loss_args={}, D_loss="D_logistic_simplegp", D_loss_args={"r1_gamma": 10.0},
    sched_args=EasyDict(lod_initial_resolution=8, lod_training_kimg=600, lod_transition_kimg=600, minibatch_base=4,
                        minibatch_dict={}, G_lrate_dict={128: 0.0015, 256: 0.002, 512: 0.003, 1024: 0.003},
                        D_lrate_dict={128: 0.0015, 256: 0.002, 512: 0.003, 1024: 0.003}),
    minibatch_repeats=4, D_repeats=1, reset_opt_for_new_lod=True, G_smoothing_kimg=10.0, mirror_augment=False,
    style_mixing=True,
    image_snapshot_ticks=1, network_snapshot_ticks=10, checkpoint_ticks=1, resume_pkl=None, resume_kimg=0.0,
    grid_size=None, dataset_args={}, metrics=[])

_FFHQ_MINIBATCH = {  # official train.py: (minibatch_base, minibatch_dict) per GPU count
    1: (4, {4: 128, 8: 128, 16: 128, 32: 64, 64: 32, 128: 16, 256: 8, 512: 4}),
    2: (8, {4: 256, 8: 256, 16: 128, 32: 64, 64: 32, 128: 16, 256: 8}),
    4: (16, {4: 512, 8: 256, 16: 128, 32: 64, 64: 32, 128: 16}),
    8: (32, {4: 512, 8: 256, 16: 128, 32: 64, 64: 32}),
}


def _ffhq(num_gpus):
    o = copy.deepcopy(_BASE)
    o.mirror_augment = True
    o.sched_args.minibatch_base, o.sched_args.minibatch_dict = _FFHQ_MINIBATCH[num_gpus]
    return o


def _quickstart():
    """Small networks (32 feature maps) and 8-kimg phases from 8x8: 32x32 grayscale on a 2-core
    CPU in a few minutes, enough for fakes that resemble the bundled Fashion-MNIST images."""
    o = copy.deepcopy(_BASE)
    o.total_kimg = 40
    small = dict(fmap_base=512, fmap_max=32)
    o.G_args = dict(latent_size=64, dlatent_size=64, mapping_fmaps=64, mapping_layers=4, **small)
    o.D_args = dict(small)
    o.sched_args = EasyDict(lod_initial_resolution=8, lod_training_kimg=8, lod_transition_kimg=8,
                            minibatch_base=32, minibatch_dict={}, G_lrate_dict={}, D_lrate_dict={},
                            G_lrate_base=0.002, D_lrate_base=0.002, tick_kimg_base=4, tick_kimg_dict={})
    o.G_smoothing_kimg = 1.0
    o.network_snapshot_ticks = 5
    o.grid_size = (8, 4)
    return o


def _progan():
    """Official ProGAN (NVlabs/stylegan train.py 'pgan', preset-v2-1gpu, fp32): G_paper / D_paper with
    WGAN-GP, growing from 4x4 in 600 + 600 kimg phases, Adam lrate 0.001 (0.0015 at 1024x1024).
    Minibatch 128 at 4-16 px down to 4 at 512 px; base 16, capped per GPU at 256+ px as official fp32
    (so 4 at 1024 px). G_smoothing_kimg 10 (the StyleGAN repo's ProGAN value; ProGAN's own per-minibatch
    beta 0.999 has the same half-life at minibatch 14.4)."""
    o = copy.deepcopy(_BASE)
    o.G_func, o.D_func = "G_paper", "D_paper"
    o.G_loss, o.G_loss_args = "G_wgan", {}
    o.D_loss, o.D_loss_args = "D_wgan_gp", {"wgan_lambda": 10.0, "wgan_target": 1.0, "wgan_epsilon": 0.001}
    o.total_kimg = 12000
    o.sched_args = EasyDict(lod_initial_resolution=4, lod_training_kimg=600, lod_transition_kimg=600,
                            minibatch_base=16,
                            minibatch_dict={4: 128, 8: 128, 16: 128, 32: 64, 64: 32, 128: 16, 256: 8, 512: 4},
                            max_minibatch_per_gpu={256: 16, 512: 8, 1024: 4},
                            G_lrate_base=0.001, G_lrate_dict={1024: 0.0015},
                            D_lrate_base=0.001, D_lrate_dict={1024: 0.0015})
    o.G_smoothing_kimg = 10.0
    o.style_mixing = False
    return o


PRESETS = {"quickstart": _quickstart, "progan": _progan,
           **{f"ffhq-{n}gpu": (lambda n=n: _ffhq(n)) for n in (1, 2, 4, 8)}}
