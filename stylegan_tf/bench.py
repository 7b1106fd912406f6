"""Benchmarks: images/second and achieved GFLOP/s of the real training step and of generation,
for each layout, XLA setting and batch size, against this machine's measured peak.

    python -m stylegan_tf.bench --threads=1
    python -m stylegan_tf.bench --mode=generate --network=network-snapshot.pkl --batch=1,64 --data_format=NHWC,NCHW
    python -m stylegan_tf.bench --mode=train --train_config=quickstart --batch=32

``train`` times one whole official iteration (D step with R1, Gs update, G step;
``training.train_step``) at full resolution on a fixed minibatch, for the standard workload
(32x32 RGB, latent = dlatent = 128, 8 mapping layers, 128 feature maps; batch 16) or the
quickstart networks. ``generate`` times ``stylegan-generate``'s path (mapping, truncation,
synthesis, uint8 conversion; batch 64), for a random workload generator or ``--network``.
GFLOP/s counts the useful work of ``stylegan_tf.flops`` (12.03 GFLOP per trained and 0.802 per
generated workload image); ``util`` divides it by the single-op peak (a 3x3 convolution of the
workload's largest layer) measured at the start of the same run with the same threads.
Every row is measured in the same process: compare ratios (absolute numbers depend on the
machine and its load). NCHW without XLA is skipped on CPU, where TensorFlow has no NCHW
convolution kernels.
"""
import itertools
import os
import resource
import sys
import time

from absl import app, flags

FLAGS = flags.FLAGS
flags.DEFINE_list("mode", ["train", "generate"], "What to measure: train and/or generate.")
flags.DEFINE_string("network", None, "generate: a network pickle, checkpoint or run directory; default: a "
                                     "random benchmark-workload G.")
flags.DEFINE_enum("train_config", "workload", ["workload", "quickstart"],
                  "train: the networks (workload: 32x32 RGB, 128 feature maps; quickstart: the preset's).")
flags.DEFINE_list("batch", None, "Batch sizes to measure (default: the workload's, 16 for train and 64 for "
                                 "generate).")
flags.DEFINE_list("data_format", ["NHWC"], "Layouts to measure: NHWC, NCHW.")
flags.DEFINE_list("xla", ["off", "on"], "XLA settings to measure: off, on.")
flags.DEFINE_float("truncation_psi", 0.7, "generate: truncation psi.")
flags.DEFINE_float("seconds", 5.0, "Minimum timed duration per row.", lower_bound=0.1)
flags.DEFINE_bool("peak", True, "Measure the machine's single-op peak GFLOP/s first (conv3x3 and matmul) "
                                "and report utilization against it.")
flags.DEFINE_integer("threads", 0, "Pin TensorFlow to this many intra-op threads (0: TensorFlow's default).",
                     lower_bound=0)
flags.DEFINE_bool("worker", False, "Serve the JSON-lines benchmark protocol on stdin/stdout (see "
                                   "stylegan_tf.bench_worker); uses the first --data_format and --xla values.")
flags.DEFINE_string("worker_name", "stylegan-tf", "worker: the name reported in the ready line.")
flags.DEFINE_integer("worker_train_batch", 16, "worker: images per training iteration.", lower_bound=1)
flags.DEFINE_integer("worker_gen_batch", 64, "worker: images per generation batch.", lower_bound=1)

#: the fixed benchmark workload (issue "Speed"): G and D at 32x32 with 128 feature maps everywhere
WORKLOAD_G = dict(num_channels=3, resolution=32, label_size=0, latent_size=128, dlatent_size=128,
                  mapping_layers=8, mapping_fmaps=128, fmap_base=4096, fmap_max=128)
WORKLOAD_D = dict(num_channels=3, resolution=32, label_size=0, fmap_base=4096, fmap_max=128)
#: the workload's minibatch sizes: images per training iteration and per generation batch
WORKLOAD_BATCH = {"train": 16, "generate": 64}


def peak_rss_mb():
    """Peak resident memory of this process so far, in MiB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _bool(value):
    if value not in ("on", "off"):
        raise app.UsageError(f"--xla takes 'on' and/or 'off', got {value!r}")
    return value == "on"


def load_generator(network, data_format):
    """``Gs`` of a network (a pickle, checkpoint or run directory; ``generate.load_Gs``), or a random
    generator of the benchmark workload."""
    import stylegan_tf
    from stylegan_tf import generate
    if network:
        return generate.load_Gs(network, data_format=data_format)
    return stylegan_tf.G_style(name="Gs", data_format=data_format, **WORKLOAD_G)


def training_networks(train_config):
    """``(G_kwargs, D_kwargs)`` of a training benchmark configuration."""
    if train_config == "workload":
        return WORKLOAD_G, WORKLOAD_D
    from training.presets import PRESETS  # the quickstart preset on the bundled 32x32 grayscale data
    options = PRESETS["quickstart"]()
    shape = dict(num_channels=1, resolution=32, label_size=0)
    return {**shape, **options.G_args}, {**shape, **options.D_args}


def training_iteration(train_config, data_format, batch, xla):
    """``(call, flops_per_image)``: a callable running one whole official iteration (D step with
    R1 gamma 10, Gs update, G step; style mixing off; Adam(0.001, 0, 0.99, 1e-8)) at full
    resolution on a fixed uint8 minibatch of ``batch`` images and returning its stats as NumPy,
    and the useful work of one trained image (``stylegan_tf.flops.training_flops``)."""
    import keras
    import numpy as np
    import tensorflow as tf

    import stylegan_tf
    from stylegan_tf import flops
    from training import loss
    from training.train_step import TrainStep, gs_beta

    G_kwargs, D_kwargs = training_networks(train_config)  # noqa: N806
    G = stylegan_tf.G_style(name="G", data_format=data_format, **G_kwargs)  # noqa: N806
    D = stylegan_tf.D_basic(name="D", data_format=data_format, **D_kwargs)  # noqa: N806
    Gs = stylegan_tf.G_style(name="Gs", data_format=data_format, **G_kwargs)  # noqa: N806
    adam = dict(learning_rate=0.001, beta_1=0.0, beta_2=0.99, epsilon=1e-8)
    step = TrainStep(G, D, Gs, keras.optimizers.Adam(**adam), keras.optimizers.Adam(**adam),
                     loss.G_logistic_nonsaturating, loss.D_logistic_simplegp, tf.distribute.get_strategy(),
                     D_loss_args={"r1_gamma": 10.0}, style_mixing=False, xla=xla)
    res = D_kwargs["resolution"]
    iteration = step.iteration_function(res, batch)
    reals = tf.constant(np.random.RandomState(0).randint(0, 256, [batch, D_kwargs["num_channels"], res, res]),
                        tf.uint8)
    args = (reals, tf.zeros([batch, 0]), tf.constant(0.0), tf.constant(0.001), tf.constant(0.001),
            tf.constant(gs_beta(batch, 10.0)))
    return (lambda: {k: v.numpy() for k, v in iteration(*args).items()}), flops.training_flops(G, D)[2]


def generation_batch(Gs, batch, xla, truncation_psi):  # noqa: N803
    """``(call, flops_per_image)``: a callable generating one batch of ``batch`` uint8 images on
    ``stylegan-generate``'s path (``generate.Sampler``: mapping, truncation, synthesis with the
    stored noise, uint8), and the useful work of one image (a forward pass of ``Gs``)."""
    from stylegan_tf import flops, generate
    sampler = generate.make_sampler(Gs, batch_size=batch, jit_compile=xla)
    psi = truncation_psi if sampler.has_mapping else None  # ProGAN generators have no truncation
    return (lambda: sampler.images_for_seeds(range(batch), psi)), flops.forward_flops(Gs)


def time_calls(call, seconds):
    """``dict(calls_s, first_s)``: steady-state calls/second of ``call()`` over at least
    ``seconds`` (and 3 calls), after a first call (tracing, compilation) and a warm-up call."""
    start = time.perf_counter()
    call()
    first_s = time.perf_counter() - start
    call()  # warm-up
    calls, start = 0, time.perf_counter()
    while True:
        call()
        calls += 1
        elapsed = time.perf_counter() - start
        if elapsed >= seconds and calls >= 3:
            return {"calls_s": calls / elapsed, "first_s": first_s}


def measure_peaks(seconds, data_format):
    """This machine's single-op throughput at the current thread setting, in GFLOP/s:
    ``{"conv3x3": ..., "matmul": ...}`` for the workload's largest convolution (16 images of
    32x32x128 -> 128 feature maps, 'SAME') and a 1024 x 1024 x 1024 matrix product."""
    import tensorflow as tf

    from stylegan_tf import flops, ops

    rng = tf.random.Generator.from_seed(0)
    shape = [16, 128, 32, 32] if data_format == "NCHW" else [16, 32, 32, 128]
    x, w = rng.normal(shape), rng.normal([3, 3, 128, 128])
    a, b = rng.normal([1024, 1024]), rng.normal([1024, 1024])
    kernels = {"conv3x3": tf.function(lambda: ops.conv2d(x, w, data_format)),
               "matmul": tf.function(lambda: tf.matmul(a, b))}
    peaks = {}
    for name, kernel in kernels.items():
        work = flops.graph_flops(kernel.get_concrete_function().graph)
        # reading one element back waits for the op without timing a large copy to the host
        rate = time_calls(lambda k=kernel: k()[0, 0].numpy(), seconds)["calls_s"]
        peaks[name] = rate * work / 1e9
    return peaks


def configure_threads():
    """Apply ``--threads`` (must run before TensorFlow executes anything)."""
    import tensorflow as tf
    if FLAGS.threads:
        tf.config.threading.set_intra_op_parallelism_threads(FLAGS.threads)
        tf.config.threading.set_inter_op_parallelism_threads(1)


def serve_worker():
    """``--worker``: the benchmark protocol on stdin/stdout."""
    from stylegan_tf import bench_worker
    layout, xla = FLAGS.data_format[0].upper(), _bool(FLAGS.xla[0])
    info = {"train_config": FLAGS.train_config, "network": FLAGS.network or "workload", "data_format": layout,
            "xla": xla, "threads": FLAGS.threads, "train_batch": FLAGS.worker_train_batch,
            "gen_batch": FLAGS.worker_gen_batch, "cpus": os.cpu_count()}
    return bench_worker.run_worker(
        FLAGS.worker_name, configure_threads,
        lambda: training_iteration(FLAGS.train_config, layout, FLAGS.worker_train_batch, xla),
        lambda: generation_batch(load_generator(FLAGS.network, layout), FLAGS.worker_gen_batch, xla,
                                 FLAGS.truncation_psi),
        info, sys.stdin, sys.stdout, FLAGS.worker_train_batch, FLAGS.worker_gen_batch)


def _parse_flags():
    """``(modes, batches or None, layouts, xla settings)`` from the flags, or UsageError."""
    modes = FLAGS.mode
    if not modes or any(m not in WORKLOAD_BATCH for m in modes):
        raise app.UsageError(f"--mode takes train and/or generate, got {FLAGS.mode}")
    try:
        batches = None if FLAGS.batch is None else [int(b) for b in FLAGS.batch]
    except ValueError:
        raise app.UsageError(f"--batch takes integers, got {FLAGS.batch}") from None
    if batches is not None and (not batches or min(batches) < 1):
        raise app.UsageError(f"--batch takes positive integers, got {FLAGS.batch}")
    layouts = [f.upper() for f in FLAGS.data_format]
    if not layouts or any(f not in ("NHWC", "NCHW") for f in layouts):
        raise app.UsageError(f"--data_format takes NHWC and/or NCHW, got {FLAGS.data_format}")
    return modes, batches, layouts, [_bool(x) for x in FLAGS.xla]


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {' '.join(argv[1:])}")
    if FLAGS.network:
        from stylegan_tf import generate
        try:
            generate.resolve_network(FLAGS.network)
        except ValueError as e:
            print(f"error: {e}", file=sys.stderr)
            return 2
    if FLAGS.worker:
        return serve_worker()
    modes, batches, layouts, xlas = _parse_flags()
    import tensorflow as tf
    configure_threads()
    gpu = bool(tf.config.list_logical_devices("GPU"))
    threads = FLAGS.threads or "TensorFlow's default"
    peak = None
    if FLAGS.peak:
        peaks = measure_peaks(min(FLAGS.seconds, 3.0), "NCHW" if gpu else "NHWC")
        peak = peaks["conv3x3"]
        print(f"peak at {threads} thread(s): conv3x3 {peaks['conv3x3']:.1f} GFLOP/s (16x32x32x128 -> 128), "
              f"matmul {peaks['matmul']:.1f} GFLOP/s (1024^3)")
    print(f"{'mode':8s} {'layout':6s} {'xla':4s} {'batch':>5s} {'img/s':>8s} {'GFLOP/s':>8s} {'util':>5s} "
          f"{'ratio':>6s} {'first call s':>12s} {'peak RSS MiB':>12s}", flush=True)
    generators = {}
    for mode in modes:
        first = None
        for layout, xla, batch in itertools.product(layouts, xlas, batches or [WORKLOAD_BATCH[mode]]):
            label = f"{mode:8s} {layout:6s} {'on' if xla else 'off':4s} {batch:5d}"
            if layout == "NCHW" and not xla and not gpu:
                print(f"{label}  skipped: no NCHW kernels on CPU without XLA")
                continue
            if mode == "train":
                call, work = training_iteration(FLAGS.train_config, layout, batch, xla)
            else:
                if layout not in generators:
                    try:
                        generators[layout] = load_generator(FLAGS.network, layout)
                    except ValueError as e:
                        print(f"error: {e}", file=sys.stderr)
                        return 2
                call, work = generation_batch(generators[layout], batch, xla, FLAGS.truncation_psi)
            timing = time_calls(call, FLAGS.seconds)
            img_s = timing["calls_s"] * batch
            first = first or img_s
            gflop_s = img_s * work / 1e9
            util = f"{gflop_s / peak:5.0%}" if peak else f"{'-':>5s}"
            print(f"{label} {img_s:8.1f} {gflop_s:8.1f} {util} {img_s / first:6.2f} {timing['first_s']:12.2f} "
                  f"{peak_rss_mb():12.0f}", flush=True)
    return 0


def run_main():
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    app.run(main)


if __name__ == "__main__":
    run_main()
