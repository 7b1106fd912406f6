"""The accelerator suite of `stylegan-bench`: training and generation speed of the official networks on whatever
device TensorFlow finds, within a hard time limit.

Rows, in this order (`--suite_scale=official`; `tiny` runs the same rows at 16 and 32 px with small networks, a CPU
dry run):

- `input`: images/second of the input pipeline (`training.dataset`) at 1024 px (32 px tiny);
- `mirrored`: the 256 px training iteration under `MirroredStrategy` over two logical devices carved out of the first
  device (two logical GPUs of one GPU, or two logical CPUs), against one device on the same global batch: the largest
  difference of the weights after three iterations with the same draws fed in (`training.benchmark.replica_check`,
  relative to each variable's scale: the replica path on real kernels) and the speed ratio of the real iteration (its
  overhead). Logical devices must exist before TensorFlow starts: this row runs in a subprocess;
- `train`: one whole official iteration (D step with R1, Gs update, G step) of `G_style` / `D_basic` with the
  official keyword arguments at 256 and 1024 px, on the official minibatch per GPU of the ffhq presets (8 at 256 px,
  4 at 1024 px), for XLA off/on x float32/mixed precision, in NCHW on a GPU (NHWC without XLA on a CPU);
- `generate`: `stylegan-generate`'s path (mapping, truncation, synthesis, uint8) on the same networks and settings.

Each row reports img/s, sec/kimg, the first call (trace and compile) in seconds, peak device memory (MiB; peak RSS
of the process on a CPU); it is printed as one JSON line and appended to `<out>/results.jsonl`; a markdown table of
all rows ends the run (and is written to `<out>/results.md`). A row that would start after `time_limit` seconds is
reported as skipped.
"""
import json
import os
import subprocess
import sys
import tempfile
import textwrap
import time

#: per scale: resolutions, network keyword arguments (beyond resolution and channels), minibatch per device
SCALES = {
    "official": dict(resolutions=(256, 1024), G={}, D={}, minibatch={256: 8, 1024: 4}, gen_batch=16),
    "tiny": dict(resolutions=(16, 32), G=dict(fmap_base=64, fmap_max=16, latent_size=16, dlatent_size=16,
                                              mapping_fmaps=16, mapping_layers=2),
                 D=dict(fmap_base=64, fmap_max=16), minibatch={16: 8, 32: 4}, gen_batch=8),
}
SETTINGS = [(False, False), (True, False), (False, True), (True, True)]  # (xla, mixed precision)

MIRRORED_ROW = textwrap.dedent("""
    import json, sys, time
    import numpy as np
    import tensorflow as tf
    kind = "GPU" if tf.config.list_physical_devices("GPU") else "CPU"
    device = tf.config.list_physical_devices(kind)[0]
    config = [tf.config.LogicalDeviceConfiguration(memory_limit=40000)] * 2 if kind == "GPU" else \\
        [tf.config.LogicalDeviceConfiguration()] * 2
    tf.config.set_logical_device_configuration(device, config)
    from training.benchmark import replica_check, training_iteration
    G, D, layout, batch, seconds = json.loads(sys.argv[1])
    logical = [d.name for d in tf.config.list_logical_devices(kind)]
    one, two = tf.distribute.OneDeviceStrategy(logical[0]), tf.distribute.MirroredStrategy(logical[:2])
    D_check = dict(D, mbstd_group_size=0)  # minibatch-stddev groups stay within a replica by design
    a, b = (replica_check(G, D_check, layout, batch, s) for s in (one, two))
    diff = max(float(np.max(np.abs(a[k] - b[k]))) / max(float(np.max(np.abs(a[k]))), 1.0) for k in a)
    speed = {}
    for name, strategy in (("one", one), ("two", two)):
        call, _ = training_iteration(G, D, layout, batch, False, strategy=strategy)
        call(); call()
        start, calls = time.perf_counter(), 0
        while time.perf_counter() - start < seconds or calls < 2:
            call(); calls += 1
        speed[name] = calls * batch / (time.perf_counter() - start)
    print(json.dumps(dict(max_rel_diff=diff, img_s=speed["two"], overhead=speed["one"] / speed["two"], device=kind)))
""")


def _device():
    import tensorflow as tf
    gpus = tf.config.list_logical_devices("GPU")
    return ("GPU", tf.config.experimental.get_device_details(tf.config.list_physical_devices("GPU")[0]).get(
        "device_name", "GPU")) if gpus else ("CPU", f"{os.cpu_count()} CPU cores")


def _timed_row(kind, resolution, batch, xla, mixed, make_call, seconds):
    from stylegan_tf import benchmark
    benchmark.device_peak_mb(reset=True)
    call = make_call()
    timing = benchmark.time_calls(call, seconds)
    img_s = timing["calls_s"] * batch
    memory = benchmark.device_peak_mb()
    return dict(row=kind, resolution=resolution, batch=batch, xla=xla, mixed_precision=mixed, img_s=img_s,
                sec_per_kimg=1000.0 / img_s, first_call_s=timing["first_s"],
                peak_memory_mb=memory if memory is not None else benchmark.peak_rss_mb(),
                memory_kind="device" if memory is not None else "process RSS")


def _rows(scale, seconds, layout):
    """`(description, thunk)` of every row of the suite, in order."""
    from stylegan_tf import benchmark
    from stylegan_tf.networks_stylegan import G_style
    from training.benchmark import training_iteration
    spec = SCALES[scale]
    res = spec["resolutions"][0]
    G = dict(num_channels=3, resolution=res, label_size=0, **spec["G"])  # noqa: N806
    D = dict(num_channels=3, resolution=res, label_size=0, **spec["D"])  # noqa: N806
    yield f"input pipeline {spec['resolutions'][-1]}px", lambda: _input_row(spec["resolutions"][-1], seconds)
    yield f"mirrored 2 logical devices {res}px", lambda: _mirrored_row(G, D, layout, 2 * spec["minibatch"][res],
                                                                     seconds)
    for resolution in spec["resolutions"]:
        G = dict(num_channels=3, resolution=resolution, label_size=0, **spec["G"])  # noqa: N806
        D = dict(num_channels=3, resolution=resolution, label_size=0, **spec["D"])  # noqa: N806
        batch = spec["minibatch"][resolution]
        for xla, mixed in SETTINGS:
            fmt = "NCHW" if xla or layout == "NCHW" else "NHWC"
            yield (f"train {resolution}px xla={xla} mixed={mixed}", lambda G=G, D=D, b=batch, x=xla, m=mixed, f=fmt:
                   _timed_row("train", G["resolution"], b, x, m,
                              lambda: training_iteration(G, D, f, b, x, "float16" if m else "float32")[0],
                              seconds))
        for xla, mixed in SETTINGS:
            fmt = "NCHW" if xla or layout == "NCHW" else "NHWC"

            def generation(G=G, x=xla, m=mixed, f=fmt, b=spec["gen_batch"]):  # noqa: N803
                Gs = G_style(name="Gs", data_format=f, dtype="float16" if m else "float32", **G)  # noqa: N806
                return _timed_row("generate", G["resolution"], b, x, m,
                                  lambda: benchmark.generation_batch(Gs, b, x, 0.7)[0], seconds)
            yield f"generate {resolution}px xla={xla} mixed={mixed}", generation


def _mirrored_row(G, D, layout, batch, seconds):  # noqa: N803
    out = subprocess.run([sys.executable, "-c", MIRRORED_ROW, json.dumps([G, D, layout, batch, seconds])],
                         capture_output=True, text=True, timeout=600, env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"))
    if out.returncode != 0:
        raise RuntimeError((out.stderr.strip().splitlines() or ["no output"])[-1])
    result = json.loads(out.stdout.strip().splitlines()[-1])
    return dict(row="mirrored", resolution=G["resolution"], batch=batch, xla=False, mixed_precision=False,
                img_s=result["img_s"], sec_per_kimg=1000.0 / result["img_s"], replicas=2,
                max_rel_diff_vs_one_device=result["max_rel_diff"], overhead_vs_one_device=result["overhead"])


def _input_row(resolution, seconds):
    from training.bench_dataset import measure, write_random_dataset
    from training.dataset import TFRecordDataset
    with tempfile.TemporaryDirectory(prefix="bench_suite-") as temp:
        write_random_dataset(f"{temp}/random", resolution=resolution, channels=3, num_images=64)
        rate = measure(TFRecordDataset(f"{temp}/random", shuffle_mb=64), batch_size=4, seconds=seconds,
                       warmup_batches=4)
    return dict(row="input", resolution=resolution, batch=4, img_s=rate, sec_per_kimg=1000.0 / rate)


def markdown(rows):
    """The rows as a markdown table."""
    lines = ["| row | px | batch | XLA | mixed precision | img/s | sec/kimg | first call s | peak memory MiB | notes |",
             "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for r in rows:
        if "skipped" in r or "error" in r:
            lines.append(f"| {r['what']} | | | | | | | | | {r.get('skipped') or r.get('error')} |")
            continue
        notes = ""
        if r["row"] == "mirrored":
            notes = (f"2 replicas: max relative weight difference {r['max_rel_diff_vs_one_device']:.1e}, "
                     f"{r['overhead_vs_one_device']:.2f}x the time of one device")
        memory = f"{r['peak_memory_mb']:.0f} ({r['memory_kind']})" if "peak_memory_mb" in r else ""
        first = f"{r['first_call_s']:.1f}" if "first_call_s" in r else ""
        lines.append(f"| {r['row']} | {r['resolution']} | {r['batch']} | {'on' if r.get('xla') else 'off'} | "
                     f"{'on' if r.get('mixed_precision') else 'off'} | {r['img_s']:.1f} | {r['sec_per_kimg']:.1f} | "
                     f"{first} | {memory} | {notes} |")
    return "\n".join(lines)


def run_suite(scale, time_limit, out_dir, seconds):
    """Run every row within `time_limit` seconds; print and write the results. Returns 0."""
    start = time.perf_counter()
    kind, name = _device()
    layout = "NCHW" if kind == "GPU" else "NHWC"
    print(f"accelerator suite ({scale}) on {name}; time limit {time_limit:.0f} s", flush=True)
    if out_dir:
        os.makedirs(out_dir, exist_ok=True)
    rows = []
    for what, thunk in _rows(scale, seconds, layout):
        if time.perf_counter() - start > time_limit:
            row = dict(what=what, skipped=f"time limit of {time_limit:.0f} s reached")
        else:
            try:
                row = dict(what=what, device=name, **thunk())
            except Exception as error:  # noqa: BLE001 - one failed row (e.g. out of memory) must not end the suite
                row = dict(what=what, error=f"{type(error).__name__}: {' '.join(str(error).split())[:300]}")
        rows.append(row)
        print(json.dumps(row), flush=True)
        if out_dir:
            with open(os.path.join(out_dir, "results.jsonl"), "a", encoding="utf-8") as f:
                f.write(json.dumps(row) + "\n")
    table = markdown(rows)
    print(table)
    if out_dir:
        with open(os.path.join(out_dir, "results.md"), "w", encoding="utf-8") as f:
            f.write(f"Accelerator suite ({scale}) on {name}\n\n{table}\n")
    return 0
