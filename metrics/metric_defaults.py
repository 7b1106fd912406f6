"""The metric registry (official ``metric_defaults``): metric names -> configured metric objects.

- ``fid50k``, ``fid10k``, any ``fid<N>k`` or ``fid<N>``: Fréchet Inception Distance of N generated and N real
  images (official fid50k);
- ``kid<N>k``: Kernel Inception Distance, same images (the value as StyleGAN2-ADA reports it, not x1e3);
- ``ppl_zfull``, ``ppl_wfull``, ``ppl_zend``, ``ppl_wend``: perceptual path length, 10,000 pairs (the StyleGAN
  paper used 100,000), official epsilon 1e-4, face crop, LPIPS-VGG16; ``_nocrop`` (whole image) and ``_alex``
  (LPIPS-AlexNet) variants, e.g. ``ppl_wend_nocrop_alex``;
- ``swd``, ``swd<N>k``: ProGAN's multi-scale sliced Wasserstein distance, 16,384 images by default; results per
  pyramid level (x1e3) and their average;
- ``pr<N>k3``: improved precision and recall with k = 3, on Inception features.

``num_images`` overrides the count; a metric named by its count is then named by the new one (``fid50k`` with
10,000 images is reported as ``fid10k``).
"""
import re

from metrics.frechet_inception_distance import FID
from metrics.kernel_inception_distance import KID
from metrics.perceptual_path_length import PPL
from metrics.precision_recall import PR
from metrics.sliced_wasserstein import SWD
from metrics.sources import MetricError, count_name

# (name pattern with the count's digits and 'k', class, count when the name has none, name with a count)
_COUNTED = [(re.compile(r"fid(\d+)(k?)"), FID, None, "fid{}"),
            (re.compile(r"kid(\d+)(k?)"), KID, None, "kid{}"),
            (re.compile(r"pr(\d+)(k?)3"), PR, None, "pr{}3"),
            (re.compile(r"swd(?:(\d+)(k?))?"), SWD, 16384, "swd{}")]
_PPL_NAME = re.compile(r"ppl_([zw])(full|end)(_nocrop)?(_alex)?")
PPL_SAMPLES = 10000


def create_metric(name, num_images=None, **kwargs):
    """The metric called ``name`` (see the table in the module docstring). ``num_images`` overrides its count;
    ``kwargs`` go to the metric class (``minibatch_size``, ``seed``, ``cache_dir``, ...).

    Raises ``MetricError`` for an unknown name.
    """
    for pattern, cls, default_count, with_count in _COUNTED:
        match = pattern.fullmatch(name)
        if match:
            digits, thousands = match.groups()
            if num_images is not None:
                count = int(num_images)
            else:
                count = int(digits) * (1000 if thousands else 1) if digits else default_count
            counted = count_name(count)
            if with_count.endswith("}3") and not counted.endswith("k"):
                counted += "_"  # pr1500_3, not pr15003
            named = with_count.format(counted) if digits or num_images is not None else name
            return cls(named, count, **kwargs)
    match = _PPL_NAME.fullmatch(name)
    if match:
        space, sampling, nocrop, alex = match.groups()
        return PPL(name, PPL_SAMPLES if num_images is None else int(num_images), space=space, sampling=sampling,
                   crop=not nocrop, net="alexnet" if alex else "vgg16", **kwargs)
    raise MetricError(f"unknown metric '{name}'; known: fid<N>k (e.g. fid50k), kid<N>k, ppl_zfull, ppl_wfull, "
                      f"ppl_zend, ppl_wend (each optionally + _nocrop, _alex), swd, swd<N>k, pr<N>k3")


def check_metrics(metric_names, dataset, num_images=None, **kwargs):
    """The metrics ``metric_names`` (a list, or a comma-separated string) as ``create_metric`` makes them, each
    checked against ``dataset`` (``MetricBase.check``: weights present, enough images) before anything long runs.

    Raises ``MetricError`` (unknown name, too few images) or ``WeightsMissingError``, with a one-line reason.
    """
    names = metric_names.split(",") if isinstance(metric_names, str) else metric_names
    metrics = [create_metric(name.strip(), num_images, **kwargs) for name in names if name.strip()]
    for metric in metrics:
        metric.check(dataset)
    return metrics
