"""The benchmark worker: the project's real training iteration and generator behind a JSON-lines
protocol, for comparisons driven by an external harness.

    stylegan-bench --worker --threads=1 [--worker_name=NAME]

Start-up builds both, warms up (3 training iterations, 2 generation batches) and prints one
line ``{"event": "ready", "worker", "import_s", "build_s", "first_iter_s", "first_gen_s",
"peak_rss_mb", "info": {...}}``. Then every command read on stdin is answered with one line
once its work is done:

- ``train N``: N training iterations of ``--worker_train_batch`` images (default 16) ->
  ``{"event": "train", "n", "seconds", "per_call_s": [...], "img_s", "gflop_s", "cpu_s", "cpu_per_wall",
  "peak_rss_mb"}``
- ``gen N``: N generation batches of ``--worker_gen_batch`` images (default 64) -> ``{"event": "gen", ...}``
- ``quit`` (or end of input) -> ``{"event": "final", "peak_rss_mb"}``

``info`` carries the useful work per image, ``gflop_per_train_image`` and ``gflop_per_gen_image``
(``stylegan_tf.flops``), from which ``gflop_s`` is computed. Only protocol lines go to stdout;
a malformed command gets ``{"event": "error", "message"}``.
"""
import json
import os
import resource
import time


def _seconds_since_process_start():
    """Wall time since this process started (Linux ``/proc``), else None."""
    try:
        with open("/proc/self/stat") as f:
            start_ticks = int(f.read().rsplit(")", 1)[1].split()[19])
        with open("/proc/stat") as f:
            boot_time = next(int(line.split()[1]) for line in f if line.startswith("btime"))
    except (OSError, ValueError, IndexError, StopIteration):
        return None
    return time.time() - (boot_time + start_ticks / os.sysconf("SC_CLK_TCK"))


def _cpu_seconds():
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _peak_rss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _emit(out, **fields):
    out.write(json.dumps(fields) + "\n")
    out.flush()


def _run_calls(call, n, batch, flops_per_image=0.0):
    """Run ``call`` n times; the protocol's timing fields."""
    cpu0, per_call = _cpu_seconds(), []
    for _ in range(n):
        start = time.perf_counter()
        call()
        per_call.append(time.perf_counter() - start)
    seconds, cpu = sum(per_call), _cpu_seconds() - cpu0
    img_s = n * batch / seconds if seconds else 0.0
    return {"n": n, "seconds": seconds, "per_call_s": per_call, "img_s": img_s,
            "gflop_s": img_s * flops_per_image / 1e9, "cpu_s": cpu, "cpu_per_wall": cpu / seconds if seconds else 0.0,
            "peak_rss_mb": _peak_rss_mb()}


def run_worker(name, setup, make_train, make_gen, info, stdin, stdout, train_batch=16, gen_batch=64):
    """Serve the protocol. ``setup()`` configures TensorFlow (e.g. threads) before anything runs;
    ``make_train()`` / ``make_gen()`` build ``(call, flops_per_image)`` for one training iteration /
    one generation batch. ``import_s`` is the time from process start to here."""
    import tensorflow as tf  # noqa: F401 (usually imported already, with the stylegan_tf package)

    import stylegan_tf  # noqa: F401
    import_s = _seconds_since_process_start()  # interpreter start and every import up to here
    setup()
    start = time.perf_counter()
    (train, train_flops), (gen, gen_flops) = make_train(), make_gen()
    build_s = time.perf_counter() - start
    info = {**info, "gflop_per_train_image": train_flops / 1e9, "gflop_per_gen_image": gen_flops / 1e9}
    first_iter_s = _run_calls(train, 1, train_batch)["seconds"]
    _run_calls(train, 2, train_batch)
    first_gen_s = _run_calls(gen, 1, gen_batch)["seconds"]
    _run_calls(gen, 1, gen_batch)
    _emit(stdout, event="ready", worker=name, import_s=import_s, build_s=build_s, first_iter_s=first_iter_s,
          first_gen_s=first_gen_s, peak_rss_mb=_peak_rss_mb(), info=info)
    commands = {"train": (train, train_batch, train_flops), "gen": (gen, gen_batch, gen_flops)}
    for line in stdin:
        words = line.split()
        if not words:
            continue
        if words == ["quit"]:
            break
        if len(words) == 2 and words[0] in commands and words[1].isdigit() and int(words[1]) > 0:
            call, batch, flops = commands[words[0]]
            _emit(stdout, event=words[0], **_run_calls(call, int(words[1]), batch, flops))
        else:
            _emit(stdout, event="error", message=f"unknown command {line.strip()!r}: use 'train N', 'gen N' or 'quit'")
    _emit(stdout, event="final", peak_rss_mb=_peak_rss_mb())
    return 0
