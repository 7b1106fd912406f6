"""Evaluating several metrics of one generator against one dataset: what training and `stylegan-metrics` call."""
from metrics.metric_defaults import check_metrics


def evaluate(metric_names, Gs, dataset, run_dir=None, snapshot_name=None, summary_writer=None, step=None,  # noqa: N803
             num_images=None, **metric_kwargs):
    """Evaluate `metric_names` (list, or comma-separated string) of the generator `Gs` (or an image source such as
    `metrics.sources.DatasetImages`) against `dataset` (the caller's dataset object, see `metrics.sources`); returns
    `{result name: value}` (`fid50k`, or for SWD `swd_32` ... `swd_avg`).

    Each result line is printed and, with `run_dir`, appended to `metric-<name>.txt` and `.jsonl` there;
    `summary_writer`: TensorBoard scalars `Metrics/<result name>` at `step`. `num_images`: override every metric's
    count. `metric_kwargs`: `minibatch_size`, `seed`, `cache_dir`. Every metric is checked (`check_metrics`: names,
    weights, enough images) before any runs. Raises `MetricError` / `WeightsMissingError` with a one-line reason.
    """
    metrics = check_metrics(metric_names, dataset, num_images, **metric_kwargs)
    results, memo = {}, {}
    for metric in metrics:
        results.update(metric.run(Gs, dataset, snapshot_name=snapshot_name, run_dir=run_dir,
                                  summary_writer=summary_writer, step=step, memo=memo))
    return results
