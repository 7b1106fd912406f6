"""stylegan-train: train StyleGAN with progressive growing.

    stylegan-train --config=quickstart                       # bundled Fashion-MNIST subset, CPU, minutes
    stylegan-train --config=ffhq-4gpu --data=datasets/ffhq --mirror
    stylegan-train --resume=results/00003-quickstart         # continue where it stopped

Presets mirror the official train.py (StyleGAN, FFHQ-style, 1/2/4/8 GPUs). One process
drives every visible GPU (MirroredStrategy, or --gpus=N); with TF_CONFIG set, every
process is one worker of a MultiWorkerMirroredStrategy.
"""
import json
import os
import sys

from absl import app, flags, logging

from training.presets import PRESETS

FLAGS = flags.FLAGS
flags.DEFINE_enum("config", "quickstart", sorted(PRESETS), "Training preset.")
flags.DEFINE_string("data", None, "Dataset directory (official multi-resolution TFRecords); default: the "
                                  "bundled Fashion-MNIST subset.")
flags.DEFINE_string("outdir", "results", "Where run directories (NNNNN-<desc>) are created.")
flags.DEFINE_float("total_kimg", None, "Length of training in thousands of real images shown.", lower_bound=0)
flags.DEFINE_integer("gpus", None, "GPUs to use (default: all visible). Ignored when TF_CONFIG is set.",
                     lower_bound=0)
flags.DEFINE_bool("mirror", None, "Mirror augmentation (random horizontal flips).")
flags.DEFINE_enum("loss", None, ["logistic", "wgan-gp", "hinge"],
                  "Loss pair: logistic (non-saturating G, logistic D with R1), wgan-gp, hinge (with GP).")
flags.DEFINE_float("r1_gamma", None, "R1 regularization weight (logistic loss).", lower_bound=0)
flags.DEFINE_float("lrate", None, "Learning rate of G and D at every resolution.", lower_bound=0)
flags.DEFINE_integer("minibatch", None, "Global minibatch at every resolution.", lower_bound=1)
flags.DEFINE_integer("D_repeats", None, "D steps (each on its own minibatch) per G step.", lower_bound=1)
flags.DEFINE_bool("xla", None, "Compile the training step with XLA.")
flags.DEFINE_bool("mixed_precision", None, "mixed_float16 networks with dynamic loss scaling.")
flags.DEFINE_enum("data_format", None, ["auto", "NCHW", "NHWC"], "Internal layout (auto: NCHW on GPU).")
flags.DEFINE_integer("seed", None, "Random seed (initialization, latents, data order).")
flags.DEFINE_string("resume", None, "Run directory to continue from its latest checkpoint.")
flags.DEFINE_string("resume_pkl", None, "Network pickle (official format) to start from, e.g. to fine-tune.")
flags.DEFINE_float("resume_kimg", None, "Progress (kimg) that --resume_pkl starts at (sets lod and schedule).",
                   lower_bound=0)
flags.DEFINE_integer("snapshot_ticks", None, "Network snapshot (.pkl) every N ticks (0: only at the end).",
                     lower_bound=0)
flags.DEFINE_integer("image_snapshot_ticks", None, "Image grid every N ticks.", lower_bound=0)
flags.DEFINE_float("tick_kimg", None, "Kimg between ticks (log line, TensorBoard, grids, checkpoints) at "
                   "every resolution (default: the preset's, official 160 at 4x4 down to 20 at 1024x1024).",
                   lower_bound=0.001)
flags.DEFINE_list("metrics", None, "Metrics evaluated at each network snapshot, e.g. fid50k,ppl_wend,swd "
                                   "(see stylegan-metrics --help); results in metric-<name>.txt and TensorBoard.")
flags.DEFINE_bool("dry_run", False, "Print the resolved options and exit.")

_LOSSES = {"logistic": ("G_logistic_nonsaturating", "D_logistic_simplegp"),
           "wgan-gp": ("G_wgan", "D_wgan_gp"), "hinge": ("G_logistic_nonsaturating", "D_hinge_gp")}


def resolve_options():
    """Options from the preset, overridden by the flags that were given."""
    o = PRESETS[FLAGS.config]()
    if FLAGS.data is not None:
        o.data = FLAGS.data
    if o.data is None:
        from training.dataset import DEFAULT_DATASET
        o.data = str(DEFAULT_DATASET)
    simple = {"total_kimg": "total_kimg", "mirror": "mirror_augment", "xla": "xla", "seed": "seed",
              "mixed_precision": "mixed_precision", "data_format": "data_format", "resume_pkl": "resume_pkl",
              "resume_kimg": "resume_kimg", "snapshot_ticks": "network_snapshot_ticks",
              "image_snapshot_ticks": "image_snapshot_ticks", "D_repeats": "D_repeats", "metrics": "metrics"}
    for flag, key in simple.items():
        if getattr(FLAGS, flag) is not None:
            o[key] = getattr(FLAGS, flag)
    if FLAGS.loss is not None:
        o.G_loss, o.D_loss = _LOSSES[FLAGS.loss]
        o.G_loss_args, o.D_loss_args = {}, ({"r1_gamma": 10.0} if FLAGS.loss == "logistic" else {})
    if FLAGS.r1_gamma is not None:
        if o.D_loss != "D_logistic_simplegp":
            raise app.UsageError("--r1_gamma applies to the logistic loss only")
        o.D_loss_args["r1_gamma"] = FLAGS.r1_gamma
    if FLAGS.lrate is not None:
        o.sched_args.update(G_lrate_base=FLAGS.lrate, D_lrate_base=FLAGS.lrate, G_lrate_dict={}, D_lrate_dict={})
    if FLAGS.minibatch is not None:
        o.sched_args.update(minibatch_base=FLAGS.minibatch, minibatch_dict={}, max_minibatch_per_gpu={})
    if FLAGS.tick_kimg is not None:
        o.sched_args.update(tick_kimg_base=FLAGS.tick_kimg, tick_kimg_dict={})
    return o


def make_strategy(gpus):
    """MultiWorkerMirrored with TF_CONFIG; Mirrored over several GPUs; else the default strategy."""
    import tensorflow as tf
    if os.environ.get("TF_CONFIG"):
        return tf.distribute.MultiWorkerMirroredStrategy()
    visible = tf.config.list_logical_devices("GPU")
    gpus = len(visible) if gpus is None else gpus
    if gpus > len(visible):
        raise app.UsageError(f"--gpus={gpus}, but {len(visible)} GPU(s) are visible")
    if gpus <= 1:
        return tf.distribute.OneDeviceStrategy(visible[0].name) if gpus == 1 else tf.distribute.get_strategy()
    return tf.distribute.MirroredStrategy([d.name for d in visible[:gpus]])


def check_minibatches(options, resolution_log2, replicas):
    """Every resolution's global minibatch must be a positive multiple of the replica count."""
    s = options.sched_args
    for r in range(2, resolution_log2 + 1):
        res = 2 ** r
        minibatch = s.get("minibatch_dict", {}).get(res, s.get("minibatch_base", 4))
        if minibatch % replicas:
            raise app.UsageError(f"the minibatch at {res}x{res} ({minibatch}) must be a multiple of the "
                                 f"{replicas} replicas")


def _check_outdir(outdir):
    try:
        os.makedirs(outdir, exist_ok=True)
        probe = os.path.join(outdir, ".write-test")
        with open(probe, "w"):
            pass
        os.remove(probe)
    except OSError as e:
        raise app.UsageError(f"--outdir={outdir} is not writable: {e.strerror}") from None


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {' '.join(argv[1:])}")
    if not FLAGS["verbosity"].present:
        logging.set_verbosity(logging.WARNING)  # no TensorFlow INFO lines (one per checkpoint); --verbosity=0 shows them
    from metrics.sources import MetricError
    from stylegan_tf import NetworkPickleError
    from training.dataset import DatasetError
    from training.training_loop import TrainingError, TrainingLoop, load_options

    try:
        if FLAGS.resume:
            options = load_options(FLAGS.resume)
            if FLAGS.total_kimg is not None:
                options.total_kimg = FLAGS.total_kimg
        else:
            options = resolve_options()
        if FLAGS.dry_run:
            print(json.dumps(options, indent=2, sort_keys=True))
            return 0
        strategy = make_strategy(FLAGS.gpus)
        run_dir, log = _run_dir(options, strategy)
        loop = TrainingLoop(options, run_dir, strategy, log)
        loop.restore(FLAGS.resume)
        loop.run()
    except (DatasetError, TrainingError, NetworkPickleError, MetricError, FileNotFoundError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0


def _run_dir(options, strategy):
    """``(run_dir, log)`` of this process: the resumed or a new numbered run directory for the
    chief, a private ``<outdir>/.worker<id>`` for the other workers of a multi-worker run."""
    from training.dataset import load_dataset
    from training.run_dir import RunLog, create_run_dir
    from training.training_loop import is_chief, save_options

    if not is_chief(strategy):
        run_dir = os.path.join(FLAGS.outdir, f".worker{strategy.cluster_resolver.task_id}")
        os.makedirs(run_dir, exist_ok=True)
        return run_dir, RunLog(None)
    if FLAGS.resume:
        return FLAGS.resume, RunLog(FLAGS.resume)
    _check_outdir(FLAGS.outdir)
    probe = load_dataset(options.data)
    check_minibatches(options, probe.resolution_log2, strategy.num_replicas_in_sync)
    probe.close()
    run_dir = create_run_dir(FLAGS.outdir, f"{FLAGS.config}-{strategy.num_replicas_in_sync}replica")
    save_options(options, run_dir)
    log = RunLog(run_dir)
    log(f"Run directory: {run_dir}")
    return run_dir, log


def run_main():
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    app.run(main)


if __name__ == "__main__":
    run_main()
