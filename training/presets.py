"""Training presets (the official train.py configurations and a small CPU quickstart) and the options of a new run:
a preset with the changes a user asked for.

`PRESETS[name]()` returns a fresh `training.options.TrainingOptions`; `resolve(name, **changes)` applies the
`stylegan-train` flags to it.
"""
import dataclasses

from stylegan_tf.errors import InputError
from training.options import Augment, Schedule, TrainingOptions

_FFHQ_MINIBATCH = {  # official train.py: (minibatch_base, minibatch_dict) per GPU count
    1: (4, {4: 128, 8: 128, 16: 128, 32: 64, 64: 32, 128: 16, 256: 8, 512: 4}),
    2: (8, {4: 256, 8: 256, 16: 128, 32: 64, 64: 32, 128: 16, 256: 8}),
    4: (16, {4: 512, 8: 256, 16: 128, 32: 64, 64: 32, 128: 16}),
    8: (32, {4: 512, 8: 256, 16: 128, 32: 64, 64: 32}),
}


def _ffhq(num_gpus):
    """Official StyleGAN on FFHQ with `num_gpus` GPUs: mirrored reals, the official per-GPU minibatches."""
    o = TrainingOptions(config=f"ffhq-{num_gpus}gpu", mirror_augment=True)
    o.sched_args.minibatch_base, minibatch_dict = _FFHQ_MINIBATCH[num_gpus]
    o.sched_args.minibatch_dict = dict(minibatch_dict)
    return o


def _quickstart():
    """Small networks (32 feature maps, 2 mapping layers) trained at 32x32 from the start (no progressive growing),
    R1 gamma 0.1, Adam lrate 0.0025, no style mixing, 140 kimg, G and D in bfloat16 where the CPU or GPU has
    bfloat16 units (`training.precision`). The bundled Fashion-MNIST subset in about 8.5 minutes on a 2-core CPU
    with AMX (22.5 in float32 on a 2-core AVX2 CPU); FID3k in the README. Each change from the official recipe was
    measured on this data: growing spent most of a short run below the data's resolution; gamma 1 trained faster
    than 10; bfloat16 shows 46% more images in the same time; StyleGAN2-ADA's small-data settings (2 mapping
    layers, no style mixing, lrate 0.0025, gamma 0.1) lowered FID3k at 61 kimg from 102 to 80. The 8-kimg phases
    apply with `--lod_initial_resolution=8`. Gs averages G with a half-life of 1 kimg: no average, 3, 7
    (StyleGAN2-ADA's ramp-up) and the official 10 kimg all measured worse on the same runs (README)."""
    small = dict(fmap_base=512, fmap_max=32)
    return TrainingOptions(
        config="quickstart", total_kimg=140, bfloat16="auto", D_loss_args={"r1_gamma": 0.1}, style_mixing=False,
        G_args=dict(latent_size=64, dlatent_size=64, mapping_fmaps=64, mapping_layers=2, **small), D_args=dict(small),
        sched_args=Schedule(lod_initial_resolution=32, lod_training_kimg=8, lod_transition_kimg=8, minibatch_base=32,
                            G_lrate_base=0.0025, D_lrate_base=0.0025, tick_kimg_base=4, tick_kimg_dict={}),
        G_smoothing_kimg=1.0, network_snapshot_ticks=5, grid_size=(8, 4))


def _progan():
    """Official ProGAN (NVlabs/stylegan train.py 'pgan', preset-v2-1gpu, fp32): G_paper / D_paper with
    WGAN-GP, growing from 4x4 in 600 + 600 kimg phases, Adam lrate 0.001 (0.0015 at 1024x1024).
    Minibatch 128 at 4-16 px down to 4 at 512 px; base 16, capped per GPU at 256+ px as official fp32
    (so 4 at 1024 px). G_smoothing_kimg 10 (the StyleGAN repo's ProGAN value; ProGAN's own per-minibatch
    beta 0.999 has the same half-life at minibatch 14.4)."""
    return TrainingOptions(
        config="progan", G_func="G_paper", D_func="D_paper", G_loss="G_wgan", D_loss="D_wgan_gp",
        D_loss_args={"wgan_lambda": 10.0, "wgan_target": 1.0, "wgan_epsilon": 0.001}, total_kimg=12000,
        sched_args=Schedule(lod_initial_resolution=4, lod_training_kimg=600, lod_transition_kimg=600,
                            minibatch_base=16,
                            minibatch_dict={4: 128, 8: 128, 16: 128, 32: 64, 64: 32, 128: 16, 256: 8, 512: 4},
                            max_minibatch_per_gpu={256: 16, 512: 8, 1024: 4},
                            G_lrate_base=0.001, G_lrate_dict={1024: 0.0015},
                            D_lrate_base=0.001, D_lrate_dict={1024: 0.0015}),
        G_smoothing_kimg=10.0, style_mixing=False)


PRESETS = {"quickstart": _quickstart, "progan": _progan,
           **{f"ffhq-{n}gpu": (lambda n=n: _ffhq(n)) for n in (1, 2, 4, 8)}}

#: --loss: (G loss, D loss, D loss arguments)
LOSSES = {"logistic": ("G_logistic_nonsaturating", "D_logistic_simplegp", {"r1_gamma": 10.0}),
          "wgan-gp": ("G_wgan", "D_wgan_gp", {}), "hinge": ("G_logistic_nonsaturating", "D_hinge_gp", {})}

#: --augment: discriminator augmentation modes (StyleGAN2-ADA's --aug, 'noaug' spelled 'none')
AUGMENT_MODES = ("ada", "fixed", "none")
#: StyleGAN2-ADA's defaults: pipeline and ADA target
DEFAULT_AUGPIPE, DEFAULT_ADA_TARGET = "bgc", 0.6


def resolve(config="quickstart", *, data=None, total_kimg=None, mirror=None, loss=None, r1_gamma=None, lrate=None,
            minibatch=None, D_repeats=None, tick_kimg=None, G_smoothing_kimg=None,  # noqa: N803
            G_smoothing_rampup=None, xla=None, mixed_precision=None, bfloat16=None, data_format=None, seed=None,
            resume_pkl=None, resume_kimg=None, snapshot_ticks=None, image_snapshot_ticks=None, metrics=None,
            augment=None, augpipe=None, augment_p=None, target=None, ada_kimg=None, lod_initial_resolution=None):
    """The options of a new run: preset `config` with every argument that is not None applied (the
    `stylegan-train` flags of the same names). `data` None: the bundled Fashion-MNIST subset. `bfloat16`: 'on', 'off'
    or 'auto' (`training.precision`). `lrate`: G's and D's
    learning rate at every resolution; `minibatch`: the global minibatch at every resolution; `tick_kimg`: kimg
    between ticks at every resolution; `G_smoothing_kimg`, `G_smoothing_rampup`: Gs's moving average (rampup 0:
    none); `lod_initial_resolution`: the resolution progressive growing starts at (the dataset's resolution or
    more: no growing); `loss`: a `LOSSES` name; `augment`, `augpipe`, `augment_p`, `target`,
    `ada_kimg`: discriminator augmentation (`augmented`). `InputError` for an unknown preset or loss, `r1_gamma`
    with a loss that has none, an initial resolution that is not a power of two >= 4, or augmentation arguments that
    do not fit together."""
    if config not in PRESETS:
        raise InputError(f"unknown preset {config!r} (presets: {', '.join(sorted(PRESETS))})")
    o = PRESETS[config]()
    if data is None and o.data is None:
        from training.dataset import DEFAULT_DATASET
        data = str(DEFAULT_DATASET)
    direct = dict(data=data, total_kimg=total_kimg, mirror_augment=mirror, D_repeats=D_repeats, xla=xla,
                  G_smoothing_kimg=G_smoothing_kimg, mixed_precision=mixed_precision, bfloat16=bfloat16,
                  data_format=data_format, seed=seed, resume_pkl=resume_pkl, resume_kimg=resume_kimg,
                  network_snapshot_ticks=snapshot_ticks, image_snapshot_ticks=image_snapshot_ticks,
                  metrics=None if metrics is None else list(metrics))
    o = dataclasses.replace(o, **{name: value for name, value in direct.items() if value is not None})
    if G_smoothing_rampup is not None:
        o.G_smoothing_rampup = float(G_smoothing_rampup) or None
    if loss is not None:
        if loss not in LOSSES:
            raise InputError(f"unknown loss {loss!r} (losses: {', '.join(LOSSES)})")
        o.G_loss, o.D_loss, D_loss_args = LOSSES[loss]  # noqa: N806
        o.G_loss_args, o.D_loss_args = {}, dict(D_loss_args)
    if r1_gamma is not None:
        if o.D_loss != "D_logistic_simplegp":
            raise InputError(f"r1_gamma applies to the logistic loss only (this run's D loss is {o.D_loss})")
        o.D_loss_args["r1_gamma"] = float(r1_gamma)
    s = o.sched_args
    if lrate is not None:
        s.G_lrate_base = s.D_lrate_base = float(lrate)
        s.G_lrate_dict, s.D_lrate_dict = {}, {}
    if minibatch is not None:
        s.minibatch_base, s.minibatch_dict, s.max_minibatch_per_gpu = int(minibatch), {}, {}
    if tick_kimg is not None:
        s.tick_kimg_base, s.tick_kimg_dict = float(tick_kimg), {}
    if lod_initial_resolution is not None:
        r = int(lod_initial_resolution)
        if r < 4 or r & (r - 1):
            raise InputError(f"lod_initial_resolution must be a power of two >= 4, got {lod_initial_resolution}")
        s.lod_initial_resolution = r
    o.augment = augmented(o.augment, augment, augpipe=augpipe, augment_p=augment_p, target=target, ada_kimg=ada_kimg)
    return o


def augmented(current, mode=None, *, augpipe=None, augment_p=None, target=None, ada_kimg=None):
    """The `training.options.Augment` of a preset's `current` settings changed by the `stylegan-train` flags, as
    StyleGAN2-ADA's `train.py`: `mode` 'ada' (`p` from 0, tuned towards `target`, default 0.6, at speed `ada_kimg`),
    'fixed' (`p` = `augment_p`, required unless the preset has a fixed `p`) or 'none' (None: the preset's mode);
    `augpipe` the pipeline (default: the preset's, else 'bgc'). `InputError` for an unknown mode or pipeline, or
    an argument the mode does not take (`augment_p` is for 'fixed', `target` and `ada_kimg` for 'ada')."""
    from training.augment import PIPELINES
    if mode is None and augpipe is None and augment_p is None and target is None and ada_kimg is None:
        return current
    mode = current.mode if mode is None else mode
    if mode not in AUGMENT_MODES:
        raise InputError(f"unknown augment mode {mode!r} (modes: {', '.join(AUGMENT_MODES)})")
    given = {name for name, value in (("augpipe", augpipe), ("augment_p", augment_p), ("target", target),
                                      ("ada_kimg", ada_kimg)) if value is not None}
    refused = given & {"none": {"augpipe", "augment_p", "target", "ada_kimg"}, "fixed": {"target", "ada_kimg"},
                       "ada": {"augment_p"}}[mode]
    if refused:
        raise InputError(f"{', '.join(sorted(refused))} cannot be given with augment mode {mode!r}")
    if mode == "none":
        return Augment()
    if augpipe is not None and augpipe not in PIPELINES:
        raise InputError(f"unknown augmentation pipeline {augpipe!r} (pipelines: {', '.join(PIPELINES)})")
    pipeline = augpipe or current.pipeline or DEFAULT_AUGPIPE
    kept = dict(interval=current.interval, speed_kimg=current.speed_kimg)
    if mode == "fixed":
        if augment_p is None and current.mode != "fixed":
            raise InputError("augment mode 'fixed' needs augment_p, the augmentation probability")
        return Augment(pipeline, p=current.p if augment_p is None else float(augment_p), **kept)
    if target is None:
        target = current.target if current.mode == "ada" else DEFAULT_ADA_TARGET
    if ada_kimg is not None:
        kept["speed_kimg"] = float(ada_kimg)
    return Augment(pipeline, p=0.0, target=float(target), **kept)
