"""Measuring what training produced: the metrics of every network snapshot of some runs, as records and a plot.

A run's snapshots are listed in its `snapshots.jsonl` (file, kimg, training time, CPU time; `stylegan_tf.run_dir`);
runs written without it (older runs, other tools) fall back to their `network-snapshot-<kimg>.pkl` files, kimg from
the name and no times. Each snapshot is evaluated with `metrics.evaluate` (the reals' features are cached, so only
the generated images cost), which also appends the results to the run's `metric-<name>.txt/.jsonl` and writes
`Metrics/<name>` to its TensorBoard events at step kimg. A record (one per run, snapshot and metric result):

    {"label": "quickstart", "run_dir": "...", "snapshot": "network-snapshot-000040.pkl", "kimg": 40.0,
     "wall_sec": 312.5, "cpu_sec": 590.1, "result": "fid3k", "value": 48.2}

`plot(records, path, result)` draws the chosen result against kimg, training time and CPU time, one line per run,
runs of one label in one colour (matplotlib, an optional dependency: `pip install "stylegan-tf[plot]"`).
"""
import json
import os

from metrics.evaluate import evaluate
from stylegan_tf import run_dir as run_files
from stylegan_tf.errors import InputError
from stylegan_tf.network_files import load_Gs


def snapshots_of(run_dir):
    """`[{"snapshot", "kimg", "wall_sec", "cpu_sec"}]` of a run's network snapshots, in training order, one per kimg
    (the snapshot log, or the snapshot files when there is none); `InputError` if the run has none."""
    records, kimgs = [], set()
    for r in run_files.read_snapshot_log(run_dir):  # the final network repeats the last snapshot's kimg: once
        if r["kimg"] not in kimgs and os.path.isfile(os.path.join(run_dir, r["snapshot"])):
            records.append(r)
            kimgs.add(r["kimg"])
    if not records:
        found = [(nimg, name) for name in os.listdir(run_dir) if (nimg := run_files.snapshot_nimg(name)) is not None]
        records = [{"snapshot": name, "kimg": nimg / 1000, "wall_sec": None, "cpu_sec": None}
                   for nimg, name in sorted(found)]
    if not records:
        raise InputError(f"{run_dir}: no network snapshots (network-snapshot-<kimg>.pkl) to evaluate")
    return records


def evaluate_run(run_dir, label, metric_names, dataset, log=print, **metric_kwargs):
    """Evaluate `metric_names` on every snapshot of the run `run_dir` against `dataset`; returns the records (see
    the module docstring), labelled `label`. `metric_kwargs`: `num_images`, `minibatch_size`, `seed`,
    `cache_dir`."""
    import tensorflow as tf
    writer = tf.summary.create_file_writer(run_dir)
    records = []
    for snap in snapshots_of(run_dir):
        log(f"{label}: {snap['snapshot']} (kimg {snap['kimg']:g})")
        Gs = load_Gs(os.path.join(run_dir, snap["snapshot"]))  # noqa: N806
        results = evaluate(metric_names, Gs, dataset, run_dir=run_dir, snapshot_name=snap["snapshot"],
                           summary_writer=writer, step=int(round(snap["kimg"])), **metric_kwargs)
        records += [dict(label=label, run_dir=run_dir, **snap, result=name, value=float(value))
                    for name, value in results.items()]
    writer.close()
    return records


def write_records(records, path):
    """Append `records` to the JSON-lines file `path`."""
    with open(path, "a", encoding="utf-8") as f:
        for record in records:
            f.write(json.dumps(record) + "\n")


def read_records(path):
    """The records of the JSON-lines file `path`."""
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def plot(records, path, result, title=None):
    """Write a PNG of `result` (e.g. 'fid3k') against kimg, training time and CPU time (minutes), one line per run,
    the runs of one label in one colour with the label once in the legend. Raises `InputError` if no record has
    that result or matplotlib is missing."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise InputError('the plot needs matplotlib: pip install "stylegan-tf[plot]" (or matplotlib)') from None
    chosen = [r for r in records if r["result"] == result]
    if not chosen:
        raise InputError(f"no records of {result!r} to plot (results: {sorted({r['result'] for r in records})})")
    runs = {}
    for r in chosen:
        runs.setdefault((r["label"], r["run_dir"]), []).append(r)
    labels = list(dict.fromkeys(label for label, _ in runs))
    colours = {label: f"C{i % 10}" for i, label in enumerate(labels)}
    axes_spec = [("kimg", "kimg", 1.0), ("wall_sec", "training time (min)", 60.0), ("cpu_sec", "CPU time (min)", 60.0)]
    axes_spec = [a for a in axes_spec if any(r[a[0]] is not None for r in chosen)]
    figure, axes = plt.subplots(1, len(axes_spec), figsize=(5 * len(axes_spec), 4), squeeze=False)
    for ax, (key, name, scale) in zip(axes[0], axes_spec):
        shown = set()
        for (label, _), points in runs.items():
            points = sorted((p[key] / scale, p["value"]) for p in points if p[key] is not None)
            if points:
                ax.plot(*zip(*points), marker="o", markersize=3, color=colours[label],
                        label=None if label in shown else label)
                shown.add(label)
        ax.set_xlabel(name)
        ax.set_ylabel(result)
        ax.grid(alpha=0.3)
    axes[0][0].legend()
    if title:
        figure.suptitle(title)
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return path
