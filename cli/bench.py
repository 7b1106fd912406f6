"""stylegan-bench: images/second and achieved GFLOP/s of the real training step and of generation, against this
machine's measured peak; the accelerator suite; the benchmark worker.

    stylegan-bench --threads=1                                     # the standard workload, one core
    stylegan-bench --mode=generate --network=net.pkl --batch=1,64 --data_format=NHWC,NCHW
    stylegan-bench --mode=generate --gen_family=stylegan,stylegan2         # StyleGAN next to StyleGAN2, same size
    stylegan-bench --mode=train --train_config=quickstart --batch=32 --dtype=float32,bfloat16
    stylegan-bench --suite=accelerator --out=results/               # official networks at 256 and 1024 px (GPU)
    stylegan-bench --worker --threads=1                             # JSON-lines protocol (cli/bench_worker.py)

`train` times one whole official iteration (D step with R1, Gs update, G step; `training.benchmark`) at full
resolution on a fixed minibatch, for the standard workload (32x32 RGB, latent = dlatent = 128, 8 mapping layers,
128 feature maps; batch 16) or the quickstart networks. `generate` times `stylegan-generate`'s path (mapping,
truncation, synthesis, uint8 conversion; batch 64) for a random workload generator (StyleGAN's G_style and/or
StyleGAN2's G_main, --gen_family; their rows are labelled generate and generate/stylegan2) or --network. GFLOP/s
counts the
useful work of `stylegan_tf.flops` (12.03 GFLOP per trained and 0.802 per generated workload image); `util` divides
it by the single-op peak (a 3x3 convolution of the workload's largest layer) measured at the start of the same run
with the same threads. Every row is measured in the same process: compare ratios. NCHW without XLA is skipped on a
CPU, where TensorFlow has no NCHW convolution kernels. The accelerator suite is described in `cli/bench_suite.py`.
Also `python -m cli.bench`.
"""
import itertools
import os
import sys

from absl import flags

from cli import base

FLAGS = flags.FlagValues()
flags.DEFINE_list("mode", ["train", "generate"], "What to measure: train and/or generate.", flag_values=FLAGS)
flags.DEFINE_string("network", None, "generate: " + base.NETWORK_HELP + " Default: a random benchmark-workload G.",
                    flag_values=FLAGS)
flags.DEFINE_list("gen_family", ["stylegan"], "generate: the families of the random workload generator: stylegan "
                  "(G_style) and/or stylegan2 (G_main, official defaults), built at the same size.", flag_values=FLAGS)
flags.DEFINE_enum("train_config", "workload", ["workload", "quickstart"],
                  "train: the networks (workload: 32x32 RGB, 128 feature maps; quickstart: the preset's).",
                  flag_values=FLAGS)
flags.DEFINE_list("batch", None, "Batch sizes to measure (default: the workload's, 16 for train and 64 for "
                                 "generate).", flag_values=FLAGS)
flags.DEFINE_list("data_format", ["NHWC"], "Layouts to measure: NHWC, NCHW.", flag_values=FLAGS)
flags.DEFINE_list("xla", ["off", "on"], "XLA settings to measure: off, on.", flag_values=FLAGS)
flags.DEFINE_list("dtype", ["float32"], "train: arithmetic of G and D to measure: float32, bfloat16 (as "
                  "stylegan-train --bfloat16=on; Gs in float32), float16 (as --mixed_precision).", flag_values=FLAGS)
flags.DEFINE_float("truncation_psi", 0.7, "generate: truncation psi.", flag_values=FLAGS)
flags.DEFINE_float("seconds", 5.0, "Minimum timed duration per row.", lower_bound=0.1, flag_values=FLAGS)
flags.DEFINE_bool("peak", True, "Measure the machine's single-op peak GFLOP/s first (conv3x3 and matmul) and report "
                                "utilization against it.", flag_values=FLAGS)
flags.DEFINE_integer("threads", 0, "Pin TensorFlow to this many intra-op threads (0: TensorFlow's default).",
                     lower_bound=0, flag_values=FLAGS)
flags.DEFINE_enum("suite", None, ["accelerator"], "Run a suite instead of the table: accelerator = the official "
                  "networks at 256 and 1024 px, XLA and mixed precision on and off, MirroredStrategy on two "
                  "logical devices, the input pipeline (see cli/bench_suite.py).", flag_values=FLAGS)
flags.DEFINE_enum("suite_scale", "official", ["official", "tiny"], "accelerator suite: official = 256 and 1024 px "
                  "official networks; tiny = 32 and 64 px small networks (a CPU dry run of the suite).",
                  flag_values=FLAGS)
flags.DEFINE_float("time_limit", 420.0, "accelerator suite: seconds for the whole suite; rows that would start "
                   "later are skipped and reported.", lower_bound=1, flag_values=FLAGS)
flags.DEFINE_string("out", None, "accelerator suite: directory for results.jsonl and results.md.",
                    flag_values=FLAGS)
flags.DEFINE_bool("worker", False, "Serve the JSON-lines benchmark protocol on stdin/stdout (see "
                                   "cli/bench_worker.py); uses the first --data_format, --xla and --gen_family "
                                   "values.",
                  flag_values=FLAGS)
flags.DEFINE_string("worker_name", "stylegan-tf", "worker: the name reported in the ready line.", flag_values=FLAGS)
flags.DEFINE_integer("worker_train_batch", 16, "worker: images per training iteration.", lower_bound=1,
                     flag_values=FLAGS)
flags.DEFINE_integer("worker_gen_batch", 64, "worker: images per generation batch.", lower_bound=1,
                     flag_values=FLAGS)

BATCH = {"train": 16, "generate": 64}
GEN_FAMILIES = ("stylegan", "stylegan2")  # the keys of stylegan_tf.benchmark.GENERATOR_FAMILIES
DTYPES = ("float32", "bfloat16", "float16")


def _xla_settings(values):
    if not values or any(v not in ("on", "off") for v in values):
        raise base.UsageError(f"--xla takes 'on' and/or 'off', got {','.join(values)}")
    return [v == "on" for v in values]


def check_flags():
    """`(modes, batches or None, layouts, xla settings, train dtypes)` from the flags; `UsageError` for bad
    values."""
    f = FLAGS
    if not f.mode or any(m not in BATCH for m in f.mode):
        raise base.UsageError(f"--mode takes train and/or generate, got {','.join(f.mode)}")
    try:
        batches = None if f.batch is None else [int(b) for b in f.batch]
    except ValueError:
        raise base.UsageError(f"--batch takes integers, got {','.join(f.batch)}") from None
    if batches is not None and (not batches or min(batches) < 1):
        raise base.UsageError(f"--batch takes positive integers, got {','.join(f.batch)}")
    layouts = [v.upper() for v in f.data_format]
    if not layouts or any(v not in ("NHWC", "NCHW") for v in layouts):
        raise base.UsageError(f"--data_format takes NHWC and/or NCHW, got {','.join(f.data_format)}")
    if not f.gen_family or any(v not in GEN_FAMILIES for v in f.gen_family):
        raise base.UsageError(f"--gen_family takes {' and/or '.join(GEN_FAMILIES)}, got {','.join(f.gen_family)}")
    if not f.dtype or any(v not in DTYPES for v in f.dtype):
        raise base.UsageError(f"--dtype takes {', '.join(DTYPES)}, got {','.join(f.dtype)}")
    if f.network:
        if f["gen_family"].present:
            raise base.UsageError("--gen_family builds random workload generators; --network is its own family")
        from stylegan_tf import network_files
        network_files.resolve_network(f.network)  # a bad path is one line before anything is built
    return f.mode, batches, layouts, _xla_settings(f.xla), f.dtype


def configure_threads():
    """Apply --threads (before TensorFlow executes anything)."""
    import tensorflow as tf
    if FLAGS.threads:
        tf.config.threading.set_intra_op_parallelism_threads(FLAGS.threads)
        tf.config.threading.set_inter_op_parallelism_threads(1)


def serve_worker():
    """--worker: the benchmark protocol on stdin/stdout."""
    from cli import bench_worker
    from stylegan_tf import benchmark
    from training.benchmark import training_iteration, training_networks
    layout, xla = FLAGS.data_format[0].upper(), _xla_settings(FLAGS.xla[:1])[0]
    info = {"train_config": FLAGS.train_config, "network": FLAGS.network or "workload",
            "gen_family": None if FLAGS.network else FLAGS.gen_family[0], "data_format": layout,
            "xla": xla, "threads": FLAGS.threads, "train_batch": FLAGS.worker_train_batch,
            "gen_batch": FLAGS.worker_gen_batch, "cpus": os.cpu_count()}
    return bench_worker.run_worker(
        FLAGS.worker_name, configure_threads,
        lambda: training_iteration(*training_networks(FLAGS.train_config), layout, FLAGS.worker_train_batch, xla),
        lambda: benchmark.generation_batch(benchmark.load_generator(FLAGS.network, layout, FLAGS.gen_family[0]),
                                           FLAGS.worker_gen_batch, xla, FLAGS.truncation_psi),
        info, sys.stdin, sys.stdout, FLAGS.worker_train_batch, FLAGS.worker_gen_batch)


def table(modes, batches, layouts, xlas, dtypes):
    """The standard table: one row per mode, layout, XLA setting, dtype (train) and batch size."""
    import tensorflow as tf

    from stylegan_tf import benchmark
    from training.benchmark import training_iteration, training_networks
    gpu = bool(tf.config.list_logical_devices("GPU"))
    threads = FLAGS.threads or "TensorFlow's default"
    peak = None
    if FLAGS.peak:
        peaks = benchmark.measure_peaks(min(FLAGS.seconds, 3.0), "NCHW" if gpu else "NHWC")
        peak = peaks["conv3x3"]
        print(f"peak at {threads} thread(s): conv3x3 {peaks['conv3x3']:.1f} GFLOP/s (16x32x32x128 -> 128), "
              f"matmul {peaks['matmul']:.1f} GFLOP/s (1024^3)")
    print(f"{'mode':8s} {'layout':6s} {'xla':4s} {'dtype':8s} {'batch':>5s} {'img/s':>8s} {'GFLOP/s':>8s} {'util':>5s} "
          f"{'ratio':>6s} {'first call s':>12s} {'peak RSS MiB':>12s}", flush=True)
    generators = {}
    for mode in modes:
        first = None
        families = FLAGS.gen_family if mode == "generate" else ["stylegan"]
        mode_dtypes = dtypes if mode == "train" else ["float32"]
        for family, layout, xla, dtype, batch in itertools.product(families, layouts, xlas, mode_dtypes,
                                                                   batches or [BATCH[mode]]):
            name = mode if family == "stylegan" else f"{mode}/{family}"
            label = f"{name:8s} {layout:6s} {'on' if xla else 'off':4s} {dtype:8s} {batch:5d}"
            if layout == "NCHW" and not xla and not gpu:
                print(f"{label}  skipped: no NCHW kernels on CPU without XLA")
                continue
            if mode == "train":
                call, work = training_iteration(*training_networks(FLAGS.train_config), layout, batch, xla, dtype)
            else:
                if (family, layout) not in generators:
                    generators[family, layout] = benchmark.load_generator(FLAGS.network, layout, family)
                call, work = benchmark.generation_batch(generators[family, layout], batch, xla,
                                                        FLAGS.truncation_psi)
            timing = benchmark.time_calls(call, FLAGS.seconds)
            img_s = timing["calls_s"] * batch
            first = first or img_s
            gflop_s = img_s * work / 1e9
            util = f"{gflop_s / peak:5.0%}" if peak else f"{'-':>5s}"
            print(f"{label} {img_s:8.1f} {gflop_s:8.1f} {util} {img_s / first:6.2f} {timing['first_s']:12.2f} "
                  f"{benchmark.peak_rss_mb():12.0f}", flush=True)


def main(args):
    del args
    if FLAGS.suite == "accelerator":
        from cli import bench_suite
        return bench_suite.run_suite(FLAGS.suite_scale, FLAGS.time_limit, FLAGS.out, FLAGS.seconds)
    checked = check_flags()
    if FLAGS.worker:
        return serve_worker()
    configure_threads()
    table(*checked)
    return 0


COMMAND = base.Command("stylegan-bench", __doc__, FLAGS, main)


def run_main(argv=None):
    """Console script `stylegan-bench`."""
    base.run(COMMAND, argv)


if __name__ == "__main__":
    run_main()
