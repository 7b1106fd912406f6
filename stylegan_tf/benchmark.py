"""Timing generation: the fixed benchmark workload, steady-state timing of a call, this machine's single-op peak and
peak memory.

The workload generator can be built as StyleGAN's `G_style` or StyleGAN2's `G_main` (`GENERATOR_FAMILIES`), to time
the two families at the same size.

The standard workload is fixed so that figures compare across time: 32x32 RGB at full resolution, latent = dlatent =
128, 8 mapping layers, 128 feature maps at 4/8/16/32, fp32, style mixing off; 16 images per training iteration and
64 per generation batch. Useful work is counted in the traced graphs by `stylegan_tf.flops` (0.802 GFLOP per forward
pass of G or D per workload image). The training iteration's timing needs the training package:
`training.benchmark`.
"""
import resource
import time

import tensorflow as tf

from stylegan_tf import flops, network_files, ops, sampling
from stylegan_tf.networks_stylegan import G_style
from stylegan_tf.networks_stylegan2 import G_main

#: the fixed benchmark workload: G and D at 32x32 with 128 feature maps everywhere
WORKLOAD_G = dict(num_channels=3, resolution=32, label_size=0, latent_size=128, dlatent_size=128,
                  mapping_layers=8, mapping_fmaps=128, fmap_base=4096, fmap_max=128)
WORKLOAD_D = dict(num_channels=3, resolution=32, label_size=0, fmap_base=4096, fmap_max=128)
#: the workload's minibatch sizes: images per training iteration and per generation batch
WORKLOAD_BATCH = {"train": 16, "generate": 64}
#: the generator families a random workload generator is built in: StyleGAN's `G_style` and StyleGAN2's `G_main`
#: (official defaults: 'skip' synthesis, modulated convolutions), both from `WORKLOAD_G`
GENERATOR_FAMILIES = {"stylegan": G_style, "stylegan2": G_main}


def peak_rss_mb():
    """Peak resident memory of this process so far, in MiB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def device_peak_mb(reset=False):
    """Peak memory of the first GPU since the last reset, in MiB (and reset it); None without a GPU."""
    if not tf.config.list_logical_devices("GPU"):
        return None
    peak = tf.config.experimental.get_memory_info("GPU:0")["peak"] / 2 ** 20
    if reset:
        tf.config.experimental.reset_memory_stats("GPU:0")
    return peak


def time_calls(call, seconds):
    """`dict(calls_s, first_s)`: steady-state calls/second of `call()` over at least `seconds` (and 3 calls),
    after a first call (tracing, compilation) and a warm-up call."""
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
    """This machine's single-op throughput at the current thread setting, in GFLOP/s: `{"conv3x3": ...,
    "matmul": ...}` for the workload's largest convolution (16 images of 32x32x128 -> 128 feature maps, 'SAME') and
    a 1024 x 1024 x 1024 matrix product."""
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


def load_generator(network, data_format, family="stylegan", **workload):
    """`Gs` of a network (a pickle, checkpoint or run directory; `network_files.load_Gs`), or a random generator of
    the benchmark workload in `family` (a key of `GENERATOR_FAMILIES`), with `workload` keyword arguments overriding
    it (e.g. `resolution=1024`)."""
    if network:
        return network_files.load_Gs(network, data_format=data_format)
    return GENERATOR_FAMILIES[family](name="Gs", data_format=data_format, **{**WORKLOAD_G, **workload})


def generation_batch(Gs, batch, xla, truncation_psi):  # noqa: N803
    """`(call, flops_per_image)`: a callable generating one batch of `batch` uint8 images on `stylegan-generate`'s
    path (`sampling.make_sampler`: mapping, truncation, synthesis with the stored noise, uint8), and the useful work
    of one image (a forward pass of `Gs`)."""
    sampler = sampling.make_sampler(Gs, batch_size=batch, jit_compile=xla)
    psi = truncation_psi if sampler.has_mapping else None  # ProGAN generators have no truncation
    return (lambda: sampler.images_for_seeds(range(batch), psi)), flops.forward_flops(Gs)
