"""Common machinery of the metrics (official ``metric_base``): running one, its results, the result files.

A metric compares a generator ``Gs`` (or any image source, see ``metrics.sources``) with a dataset. Its
``run()`` times ``_evaluate()``, which reports one or more results (``_report_result(value, suffix)``), then:

- prints the official result line and appends it to ``<run_dir>/metric-<name>.txt``::

      network-snapshot-000100        time 1m 03s       fid50k 12.3456

- appends a JSON record to ``<run_dir>/metric-<name>.jsonl``:
  ``{"snapshot": ..., "metric": ..., "time_sec": ..., "num_images": ..., "results": {"fid50k": 12.3456}}``;
- writes the scalars ``Metrics/<name><suffix>`` to a TensorBoard summary writer when one is given.
"""
import json
import os
import sys
import time

import tensorflow as tf

from metrics.sources import DatasetImages, GeneratorImages, MetricError, check_compatible
from metrics.weights import weights_path
from stylegan_tf.progress import Progress, format_time
from stylegan_tf.run_dir import metric_names


def progress_bar(total, desc, unit="img"):
    """A `stylegan_tf.progress.Progress` on stdout for `total` items of work `desc` (a redrawn line on a terminal,
    a plain line every 30 seconds in logs)."""
    return Progress(total, desc, unit=unit, stream=sys.stdout, log_interval=30.0)


class MetricBase:
    """A metric. Subclasses implement ``_evaluate(Gs, reals)`` and call ``_report_result``.

    Args:
        name: the metric's name, e.g. ``fid50k`` (results are named ``name + suffix``).
        num_images: images (or samples) the metric uses.
        minibatch_size: images per batch of the generator and the feature networks.
        seed: seed of the generated images (``GeneratorImages``) and of any other random draw.
        cache_dir: weights and real-feature cache (default ``metrics.weights.default_cache_dir()``).
    """
    uses_reals = True  # whether _evaluate reads num_images real images

    def __init__(self, name, num_images, minibatch_size=32, seed=0, cache_dir=None):
        self.name = name
        self.num_images = int(num_images)
        self.minibatch_size = int(minibatch_size)
        self.seed = seed
        self.cache_dir = cache_dir
        self._results = []
        self._memo = None
        self._eval_time = 0.0

    def run(self, Gs, dataset, snapshot_name=None, run_dir=None, summary_writer=None, step=None,  # noqa: N803
            memo=None):
        """Evaluate ``Gs`` (a ``G_style``, or an image source such as ``DatasetImages``) against ``dataset``
        (a ``training.dataset.TFRecordDataset``); log the results; return ``{result name: value}``.

        ``snapshot_name``: the first column of the result line (default ``Gs``'s name); ``run_dir``: where the
        result files go (none when None); ``summary_writer``/``step``: TensorBoard scalars; ``memo``: a dict
        shared by the metrics of one evaluation (features of the generated images are computed once).
        Raises ``MetricError`` (or ``WeightsMissingError``) with a one-line reason.
        """
        if self.num_images < 1:
            raise MetricError(f"{self.name}: the number of images must be positive, got {self.num_images}")
        self.check(dataset)
        self._results = []
        self._memo = memo
        time_begin = time.time()
        self._evaluate(Gs, DatasetImages(dataset))
        self._eval_time = time.time() - time_begin
        results = {self.name + suffix: value for value, suffix, _ in self._results}
        self._log(snapshot_name or getattr(Gs, "name", "network"), results, run_dir, summary_writer, step)
        return results

    def required_weights(self):
        """Keys of ``metrics.weights.WEIGHTS`` the metric needs."""
        return ()

    def check(self, dataset):
        """Raise ``MetricError`` / ``WeightsMissingError`` now if ``dataset`` has too few images or the weights
        are missing, rather than after a long computation."""
        if self.uses_reals:
            DatasetImages(dataset).check_count(self.num_images, self.name)
        for key in self.required_weights():
            weights_path(key, self.cache_dir)

    def _evaluate(self, Gs, reals):  # noqa: N803
        raise NotImplementedError

    def _report_result(self, value, suffix="", fmt="%-10.4f"):
        self._results.append((float(value), suffix, fmt))

    def _fakes(self, Gs, reals):  # noqa: N803
        """The image source of ``Gs`` (``GeneratorImages``, or ``Gs`` itself when it is a source), checked
        against ``reals`` for resolution and, for a dataset, for having ``num_images`` images."""
        fakes = GeneratorImages(Gs, reals.dataset, self.seed) if hasattr(Gs, "build_func_name") else Gs
        check_compatible(fakes, reals)
        if hasattr(fakes, "check_count"):
            fakes.check_count(self.num_images, self.name)
        return fakes

    def get_result_str(self, snapshot_name):
        """The official result line (name padded to 30, time, each result)."""
        name = os.path.splitext(os.path.basename(snapshot_name))[0]
        if len(name) > 29:
            name = "..." + name[-26:]
        line = f"{name:<30s} time {format_time(self._eval_time):<12s}"
        for value, suffix, fmt in self._results:
            line += f" {self.name}{suffix} {fmt % value}"
        return line

    def _log(self, snapshot_name, results, run_dir, summary_writer, step):
        line = self.get_result_str(snapshot_name)
        print(line, flush=True)
        if run_dir is not None:
            text_name, json_name = metric_names(self.name)
            with open(os.path.join(run_dir, text_name), "a", encoding="utf-8") as f:
                f.write(line + "\n")
            record = dict(snapshot=snapshot_name, metric=self.name, time_sec=round(self._eval_time, 3),
                          num_images=self.num_images, results=results)
            with open(os.path.join(run_dir, json_name), "a", encoding="utf-8") as f:
                f.write(json.dumps(record) + "\n")
        if summary_writer is not None:
            with summary_writer.as_default():
                for name, value in results.items():
                    tf.summary.scalar(f"Metrics/{name}", value, step=step)
            summary_writer.flush()
