"""stylegan-train: train StyleGAN (or ProGAN) with progressive growing.

    stylegan-train --config=quickstart                       # bundled Fashion-MNIST subset, CPU, minutes
    stylegan-train --config=ffhq-4gpu --data=datasets/ffhq --mirror
    stylegan-train --resume=results/00003-quickstart-1replica   # continue where it stopped

Presets (--config) mirror the official train.py (StyleGAN on FFHQ with 1/2/4/8 GPUs, ProGAN); the flags below
change them. One process drives every visible GPU (MirroredStrategy, or --gpus=N); with TF_CONFIG set, every
process is one worker of a MultiWorkerMirroredStrategy. Ctrl-C stops cleanly, saving a checkpoint, and prints the
--resume command. Also `python -m cli.train` (or `python -m training.train`).
"""
import os
import sys

from absl import flags

from cli import base
from stylegan_tf import run_dir as run_files
from training.presets import AUGMENT_MODES, PRESETS

FLAGS = flags.FlagValues()
flags.DEFINE_enum("config", "quickstart", sorted(PRESETS), "Training preset.", flag_values=FLAGS)
flags.DEFINE_string("data", None, "Dataset directory (official multi-resolution TFRecords); default: the bundled "
                    "Fashion-MNIST subset.", flag_values=FLAGS)
flags.DEFINE_string("outdir", "results", "Where run directories (NNNNN-<config>-<N>replica) are created.",
                    flag_values=FLAGS)
flags.DEFINE_float("total_kimg", None, "Length of training in thousands of real images shown (with --resume: "
                   "train on to this).", lower_bound=0, flag_values=FLAGS)
flags.DEFINE_integer("gpus", None, "GPUs to use (default: all visible). Ignored when TF_CONFIG is set.",
                     lower_bound=0, flag_values=FLAGS)
flags.DEFINE_bool("mirror", None, "Mirror augmentation (random horizontal flips).", flag_values=FLAGS)
flags.DEFINE_enum("loss", None, ["logistic", "wgan-gp", "hinge"], "Loss pair: logistic (non-saturating G, "
                  "logistic D with R1), wgan-gp, hinge (with GP).", flag_values=FLAGS)
flags.DEFINE_float("r1_gamma", None, "R1 regularization weight (logistic loss).", lower_bound=0, flag_values=FLAGS)
flags.DEFINE_float("lrate", None, "Learning rate of G and D at every resolution.", lower_bound=0, flag_values=FLAGS)
flags.DEFINE_integer("minibatch", None, "Global minibatch at every resolution.", lower_bound=1, flag_values=FLAGS)
flags.DEFINE_integer("D_repeats", None, "D steps (each on its own minibatch) per G step.", lower_bound=1,
                     flag_values=FLAGS)
flags.DEFINE_float("tick_kimg", None, "Kimg between ticks (log line, TensorBoard, grids, checkpoints) at every "
                   "resolution (default: the preset's, official 160 at 4x4 down to 20 at 1024x1024).",
                   lower_bound=0.001, flag_values=FLAGS)
flags.DEFINE_float("G_smoothing_kimg", None, "Half-life (kimg) of Gs, the moving average of G that snapshots and "
                   "metrics use (0: Gs = G; official 10).", lower_bound=0, flag_values=FLAGS)
flags.DEFINE_float("G_smoothing_rampup", None, "Gs's half-life is at most this fraction of the images shown so far "
                   "(StyleGAN2-ADA's ema_rampup, 0.05 there; 0: no ramp-up, as official StyleGAN).", lower_bound=0,
                   flag_values=FLAGS)
flags.DEFINE_bool("xla", None, "Compile the training step with XLA.", flag_values=FLAGS)
flags.DEFINE_bool("mixed_precision", None, "mixed_float16 networks with dynamic loss scaling.", flag_values=FLAGS)
flags.DEFINE_enum("bfloat16", None, ["on", "off", "auto"], "G and D compute in bfloat16 (float32 variables; Gs stays "
                  "float32). auto: where the hardware has bfloat16 units (a CPU with AMX-BF16 or AVX512-BF16, a GPU "
                  "of compute capability 8.0+). Default: the preset's (auto in quickstart, off in the others).",
                  flag_values=FLAGS)
flags.DEFINE_enum("data_format", None, ["auto", "NCHW", "NHWC"], "Internal layout (auto: NCHW on GPU).",
                  flag_values=FLAGS)
flags.DEFINE_integer("seed", None, "Random seed (initialization, latents, data order).", flag_values=FLAGS)
flags.DEFINE_string("resume", None, "Run directory to continue from its newest intact checkpoint.",
                    flag_values=FLAGS)
flags.DEFINE_string("resume_pkl", None, "Network pickle (official format) a new run starts from, e.g. to "
                    "fine-tune.", flag_values=FLAGS)
flags.DEFINE_float("resume_kimg", None, "Progress (kimg) that --resume_pkl starts at (sets lod and schedule).",
                   lower_bound=0, flag_values=FLAGS)
flags.DEFINE_integer("snapshot_ticks", None, "Network snapshot (.pkl) every N ticks (0: only at the end).",
                     lower_bound=0, flag_values=FLAGS)
flags.DEFINE_integer("image_snapshot_ticks", None, "Image grid every N ticks (0: none).", lower_bound=0,
                     flag_values=FLAGS)
flags.DEFINE_list("metrics", None, "Metrics evaluated at each network snapshot, e.g. fid50k,ppl_wend,swd (see "
                  "stylegan-metrics --help); results in metric-<name>.txt and TensorBoard.", flag_values=FLAGS)
flags.DEFINE_enum("augment", None, list(AUGMENT_MODES), "Discriminator augmentation (StyleGAN2-ADA): ada (the "
                  "probability p tuned so that E[sign(D(reals))] stays at --target), fixed (p = --augment_p), none. "
                  "Default: the preset's (none in the official presets).", flag_values=FLAGS)
flags.DEFINE_string("augpipe", None, "Augmentation pipeline, an official augpipe name: blit, geom, color, filter, "
                    "noise, cutout, bg, bgc (default), bgcf, bgcfn, bgcfnc.", flag_values=FLAGS)
flags.DEFINE_float("augment_p", None, "Augmentation probability of --augment=fixed.", lower_bound=0, upper_bound=1,
                   flag_values=FLAGS)
flags.DEFINE_float("target", None, "ADA target of E[sign(D(reals))] (default 0.6).", lower_bound=0, upper_bound=1,
                   flag_values=FLAGS)
flags.DEFINE_float("ada_kimg", None, "ADA speed: kimg for p to move by 1 at most (default 500).", lower_bound=0.001,
                   flag_values=FLAGS)
flags.DEFINE_integer("lod_initial_resolution", None, "Resolution progressive growing starts at (official "
                     "lod_initial_resolution; the dataset's resolution or more: no growing). Default: the preset's.",
                     flag_values=FLAGS)
flags.DEFINE_bool("dry_run", False, "Print the resolved options (and, with --resume, the checkpoint it would "
                  "continue from) and exit.", flag_values=FLAGS)

#: the flags that change a preset: `training.presets.resolve`'s arguments of the same names
OPTION_FLAGS = ("config", "data", "mirror", "loss", "r1_gamma", "lrate", "minibatch", "D_repeats", "tick_kimg",
                "G_smoothing_kimg", "G_smoothing_rampup", "xla", "mixed_precision", "bfloat16", "data_format", "seed",
                "resume_pkl", "resume_kimg", "snapshot_ticks", "image_snapshot_ticks", "metrics", "augment", "augpipe",
                "augment_p", "target", "ada_kimg", "lod_initial_resolution")


def _resume_command(run_dir):
    return f"{COMMAND.name} --resume={run_dir}"


def main(args):
    del args  # none (checked by cli.base)
    from training import launch, presets, resume
    from training.errors import TrainingError, TrainingInterrupted
    if FLAGS.resume:
        ignored = [f"--{name}" for name in OPTION_FLAGS if FLAGS[name].present]
        if ignored:
            options_file = os.path.join(FLAGS.resume, run_files.OPTIONS)
            raise base.UsageError(f"{', '.join(ignored)} cannot change a resumed run (its options are in "
                                  f"{options_file}); only --total_kimg and --gpus apply")
    try:
        if FLAGS.resume and FLAGS.dry_run:
            point = resume.resume_point(FLAGS.resume, FLAGS.total_kimg)
            print(point.options.to_json() + "\n".join(point.describe()))
        elif FLAGS.resume:
            launch.resume(FLAGS.resume, total_kimg=FLAGS.total_kimg, gpus=FLAGS.gpus)
        else:
            changes = {name: FLAGS[name].value for name in OPTION_FLAGS[1:] if FLAGS[name].value is not None}
            changes["total_kimg"] = FLAGS.total_kimg
            options = presets.resolve(FLAGS.config, **changes)
            if FLAGS.dry_run:
                print(options.to_json(), end="")
            else:
                launch.start(options, FLAGS.outdir, gpus=FLAGS.gpus)
    except TrainingInterrupted as stop:
        print(f"\n{stop}", file=sys.stderr)
        if stop.resume_dir:
            print(f"To continue: {_resume_command(stop.resume_dir)}", file=sys.stderr)
        raise KeyboardInterrupt from None
    except TrainingError as error:
        if error.resume_dir:
            raise TrainingError(f"{error} (to continue: {_resume_command(error.resume_dir)})") from None
        raise
    return 0


COMMAND = base.Command("stylegan-train", __doc__, FLAGS, main)


def run_main(argv=None):
    """Console script `stylegan-train`."""
    base.run(COMMAND, argv)


if __name__ == "__main__":
    run_main()
