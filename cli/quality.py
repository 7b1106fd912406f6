"""stylegan-quality: train a preset for a given length (several seeds), evaluate FID/KID/SWD at every network
snapshot, and write the results as JSON lines and a plot of the metric against kimg, training time and CPU time.

    stylegan-quality --config=quickstart --seeds=0,1,2 --metrics=fid3k,swd --outdir=quality/quickstart
    stylegan-quality --config=quickstart --seeds=0,1 --train_flags="--mirror --r1_gamma=1" --label=mirror --outdir=q/m
    stylegan-quality --runs=results/00003-quickstart-1replica,results/00004-quickstart-1replica --label=old --outdir=q/o
    stylegan-quality --plot=q/m/quality.jsonl,q/o/quality.jsonl --outdir=q/compare          # one plot of several

Each seed trains in its own process (`stylegan-train --config=... --seed=S --outdir=<outdir>/runs` plus
--total_kimg and --train_flags), so the times are those of a plain run; the snapshots are evaluated afterwards (the
real images' features are cached after the first evaluation). Written to --outdir: `runs/` (the run directories,
each with its metric-<name>.txt/.jsonl and TensorBoard Metrics/*), `quality.jsonl` (one line per run, snapshot and
result: label, run_dir, snapshot, kimg, wall_sec, cpu_sec, result, value) and `quality-<result>.png` for the first
metric's main result (or --result). Also `python -m cli.quality`.
"""
import os
import shlex
import subprocess
import sys
import time

from absl import flags

from cli import base

FLAGS = flags.FlagValues()
flags.DEFINE_string("config", "quickstart", "Training preset to measure (see stylegan-train --help).",
                    flag_values=FLAGS)
flags.DEFINE_list("seeds", ["0"], "Training seeds: one run each.", flag_values=FLAGS)
flags.DEFINE_float("total_kimg", None, "Length of each run (default: the preset's).", lower_bound=0,
                   flag_values=FLAGS)
flags.DEFINE_string("train_flags", "", "More stylegan-train flags for every run, e.g. \"--mirror --r1_gamma=1\".",
                    flag_values=FLAGS)
flags.DEFINE_string("data", None, "Dataset of the training and of the metrics' real images (default: the bundled "
                    "Fashion-MNIST subset).", flag_values=FLAGS)
flags.DEFINE_list("metrics", ["fid3k", "swd"], "Metrics evaluated at every snapshot (see stylegan-metrics --help).",
                  flag_values=FLAGS)
flags.DEFINE_integer("num_images", None, "Override the metrics' number of images.", lower_bound=1,
                     flag_values=FLAGS)
flags.DEFINE_list("runs", None, "Instead of training: evaluate these existing run directories.", flag_values=FLAGS)
flags.DEFINE_list("plot", None, "Instead of training or evaluating: plot these quality.jsonl files together.",
                  flag_values=FLAGS)
flags.DEFINE_string("label", None, "Name of these runs in the plot (default: the preset's name).", flag_values=FLAGS)
flags.DEFINE_string("result", None, "The result to plot (default: the first metric's, e.g. fid3k or swd_avg).",
                    flag_values=FLAGS)
flags.DEFINE_string("outdir", "quality", "Where runs/, quality.jsonl and the plot are written.", flag_values=FLAGS)
flags.DEFINE_string("cache_dir", None, "Metric weights and real-feature cache (default $STYLEGAN_TF_CACHE_DIR or "
                    "~/.cache/stylegan-tf).", flag_values=FLAGS)
flags.DEFINE_integer("batch", 32, "Images per batch of the metrics.", lower_bound=1, flag_values=FLAGS)


def _train(seed, runs_dir):
    """Train one seed in its own process; returns its run directory."""
    before = set(os.listdir(runs_dir)) if os.path.isdir(runs_dir) else set()
    command = [sys.executable, "-m", "cli.train", f"--config={FLAGS.config}", f"--seed={seed}", f"--outdir={runs_dir}"]
    command += [f"--total_kimg={FLAGS.total_kimg:g}"] if FLAGS.total_kimg is not None else []
    command += [f"--data={FLAGS.data}"] if FLAGS.data else []
    command += shlex.split(FLAGS.train_flags)
    print(f"training seed {seed}: {' '.join(shlex.quote(c) for c in command[2:])}", flush=True)
    start = time.time()
    status = subprocess.run(command).returncode
    if status != 0:
        raise base.UsageError(f"stylegan-train failed (exit status {status}) for seed {seed}; see its output above")
    created = sorted(set(os.listdir(runs_dir)) - before)
    print(f"seed {seed}: trained in {time.time() - start:.0f} s of wall time, {os.path.join(runs_dir, created[-1])}",
          flush=True)
    return os.path.join(runs_dir, created[-1])


def _default_result(records):
    first = FLAGS.metrics[0].strip()
    names = list(dict.fromkeys(r["result"] for r in records))
    return next((n for n in names if n == first or n.startswith(first) and n.endswith("_avg")), names[0])


def main(args):
    del args
    from training import quality
    os.makedirs(FLAGS.outdir, exist_ok=True)
    out = os.path.join(FLAGS.outdir, "quality.jsonl")
    if FLAGS.plot:
        records = [r for path in FLAGS.plot for r in quality.read_records(path)]
    else:
        from training.dataset import DEFAULT_DATASET, load_dataset
        if FLAGS.runs:
            run_dirs = FLAGS.runs
        else:
            seeds = [int(s) for s in FLAGS.seeds] if all(s.strip().isdigit() for s in FLAGS.seeds) else None
            if not seeds:
                raise base.UsageError(f"--seeds takes non-negative integers, got {','.join(FLAGS.seeds)}")
            run_dirs = [_train(seed, os.path.join(FLAGS.outdir, "runs")) for seed in seeds]
        dataset = load_dataset(FLAGS.data or DEFAULT_DATASET)
        label = FLAGS.label or FLAGS.config
        records = []
        for run_dir in run_dirs:
            found = quality.evaluate_run(run_dir, label, FLAGS.metrics, dataset, num_images=FLAGS.num_images,
                                         minibatch_size=FLAGS.batch, cache_dir=FLAGS.cache_dir)
            quality.write_records(found, out)
            records += found
        print(f"wrote {len(records)} records to {out}")
    result = FLAGS.result or _default_result(records)
    path = quality.plot(records, os.path.join(FLAGS.outdir, f"quality-{result}.png"), result)
    print(f"wrote {path}")
    return 0


COMMAND = base.Command("stylegan-quality", __doc__, FLAGS, main)


def run_main(argv=None):
    """Console script `stylegan-quality`."""
    base.run(COMMAND, argv)


if __name__ == "__main__":
    run_main()
