"""stylegan-dataset: create datasets in the official multi-resolution TFRecord format, and inspect them.

A dataset is a folder holding one <name>-rNN.tfrecords file per resolution (r02 = 4x4 up to the images' own) and,
for class labels, <name>-rxx.labels: byte for byte what NVIDIA's dataset_tool.py writes. It is written into a hidden
temporary folder beside the target and renamed into place only when complete; an existing folder is replaced only
with --overwrite, only if it is a dataset, and never if it contains the source.

examples:
  stylegan-dataset create_mnist datasets/fashion_mnist /usr/share/datasets/fashion-mnist --split=all
  stylegan-dataset create_from_images datasets/faces ~/photos/faces --resize=256 --crop
  stylegan-dataset info datasets/fashion_mnist
  stylegan-dataset display datasets/fashion_mnist --output=grid.png

Also `python -m cli.dataset` or `python -m training.dataset_tool`. From Python: the functions of the same names in
training.dataset_create (create_*) and training.dataset_inspect (info, display, extract, compare).
"""
from absl import flags

from cli import base
from training import dataset_create, dataset_inspect
from training.dataset_sources import SPLITS

FLAGS = flags.FlagValues()
flags.DEFINE_integer("resize", None, "Scale every image to NxN (N a power of two) with a Lanczos filter.",
                     lower_bound=4, flag_values=FLAGS)
flags.DEFINE_bool("crop", None, "Center-crop images to a square: before --resize, or without it to the largest "
                  "power-of-two square that fits.", flag_values=FLAGS)
flags.DEFINE_integer("channels", None, "1 = grayscale, 3 = RGB; images are converted as needed. Unset: 1 if all "
                     "images are grayscale, else 3.", lower_bound=1, upper_bound=3, flag_values=FLAGS)
flags.DEFINE_bool("shuffle", None, "Store the images in the official shuffled order (np.random.RandomState(123)); "
                  "--noshuffle (or --shuffle=0) keeps the source order.", flag_values=FLAGS)
flags.DEFINE_integer("max_images", None, "Use at most N images: the first N, or from a labeled source a "
                     "class-balanced subset (round-robin over the classes in source order).", lower_bound=1,
                     flag_values=FLAGS)
flags.DEFINE_bool("strict", None, "Stop with an error at the first unusable file instead of skipping it.",
                  flag_values=FLAGS)
flags.DEFINE_integer("num_threads", None, "Threads decoding images in parallel.", lower_bound=1, flag_values=FLAGS)
flags.DEFINE_bool("overwrite", None, "Replace the output if it exists (only once the new one is complete, and only "
                  "an output this tool could have written).", flag_values=FLAGS)
flags.DEFINE_enum("split", None, list(SPLITS), "Part of the source: train (as official), test, or all (both).",
                  flag_values=FLAGS)
flags.DEFINE_integer("resolution", None, "Output resolution (a power of two).", lower_bound=4, flag_values=FLAGS)
flags.DEFINE_integer("cx", None, "Horizontal center of the 128x128 CelebA crop.", flag_values=FLAGS)
flags.DEFINE_integer("cy", None, "Vertical center of the 128x128 CelebA crop.", flag_values=FLAGS)
flags.DEFINE_string("output", None, "PNG file to write (default: <dataset name>-display.png here).",
                    flag_values=FLAGS)
flags.DEFINE_integer("lod", None, "Level of detail: 0 = full resolution, 1 = half, ...", lower_bound=0,
                     flag_values=FLAGS)
flags.DEFINE_bool("ignore_labels", None, "Compare images only.", flag_values=FLAGS)
flags.DEFINE_bool("verify", None, "Read every record and check its checksum (unset: when the dataset is at most "
                  "1 GiB).", flag_values=FLAGS)

_CREATED = {"tfrecord_dir": "dataset directory to create (refused if it exists and is not empty, unless --overwrite)"}
_READ = {"tfrecord_dir": "dataset directory (in the official multi-resolution TFRecord format)"}


def _create(function, source_help, example):
    return base.Subcommand(function, example, {**_CREATED, **source_help})


SUBCOMMANDS = {
    "create_from_images": _create(dataset_create.create_from_images, {"image_dir": "folder of image files"},
                                  "datasets/faces ~/photos/faces --resize=256 --crop"),
    "create_mnist": _create(dataset_create.create_mnist, {"mnist_dir": "folder with the IDX files"},
                            "datasets/fashion_mnist /usr/share/datasets/fashion-mnist --split=all"),
    "create_cifar10": _create(dataset_create.create_cifar10,
                              {"cifar10_dir": "the extracted cifar-10-batches-py folder"},
                              "datasets/cifar10 ~/downloads/cifar-10-batches-py"),
    "create_cifar100": _create(dataset_create.create_cifar100,
                               {"cifar100_dir": "the extracted cifar-100-python folder"},
                               "datasets/cifar100 ~/downloads/cifar-100-python"),
    "create_svhn": _create(dataset_create.create_svhn,
                           {"svhn_dir": "folder with train_32x32.mat or train_1.pkl .. train_3.pkl"},
                           "datasets/svhn ~/downloads/svhn"),
    "create_lsun": _create(dataset_create.create_lsun, {"lmdb_dir": "LSUN LMDB folder (holding data.mdb)"},
                           "datasets/lsun-bedroom ~/downloads/lsun/bedroom_train_lmdb --resolution=256"),
    "create_celeba": _create(dataset_create.create_celeba,
                             {"celeba_dir": "CelebA folder (holding img_align_celeba_png/ or img_align_celeba/)"},
                             "datasets/celeba ~/downloads/celeba"),
    "create_from_hdf5": _create(dataset_create.create_from_hdf5, {"hdf5_filename": "ProGAN HDF5 file"},
                                "datasets/celebahq ~/downloads/celeba-hq-1024x1024.h5"),
    "display": base.Subcommand(dataset_inspect.display, "datasets/fashion_mnist --output=grid.png", _READ),
    "extract": base.Subcommand(dataset_inspect.extract, "datasets/fashion_mnist /tmp/fashion_mnist_png",
                               {**_READ, "output_dir": "folder to create for the PNG files"}),
    "compare": base.Subcommand(dataset_inspect.compare, "datasets/mine datasets/theirs",
                               {"tfrecord_dir_a": "first dataset directory",
                                "tfrecord_dir_b": "second dataset directory"}),
    "info": base.Subcommand(dataset_inspect.info, "datasets/fashion_mnist --verify", _READ),
}


def main(name, args):
    """Runs subcommand `name` with its positional `args` and the flags given; returns its exit status."""
    return SUBCOMMANDS[name].function(*args, **base.flag_kwargs(COMMAND, name))


COMMAND = base.Command("stylegan-dataset", __doc__, FLAGS, main, subcommands=SUBCOMMANDS)


def run_main(argv=None):
    """Console script `stylegan-dataset`."""
    base.run(COMMAND, argv)


if __name__ == "__main__":
    run_main()
