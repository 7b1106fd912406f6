"""stylegan-project: find the dlatents (and noise maps) with which a network reproduces a real image.

    stylegan-project --network=PKL_OR_RUN_DIR --target=photo.png [--outdir=out] [--num_steps=1000] [flags]

NVIDIA's StyleGAN2 projector on our networks: W starts at the average of 10,000 mapped samples and is optimized with
the noise maps (Adam, learning-rate ramps, W noise over the first 3/4 of the steps, noise-map regularizer) to
minimize the LPIPS-VGG16 distance to the target. The target is center-cropped and resized to the network's
resolution as the dataset tool does; a grayscale network takes grayscale targets. --target may be a folder: every
image in it is projected (into --outdir/<name>/), unusable files are skipped and named.

Writes target.png, proj.png, projected_w.npz (dlatents [1, num_layers, dlatent_size] and noise maps) and with
--save_video proj.gif (target | progress; proj.mp4 too if imageio-ffmpeg is installed). Use the result:
stylegan-generate --network=... --dlatents=out/projected_w.npz [--mode=style_mixing|interpolate]. Needs the LPIPS
weights (stylegan-metrics fetch-weights). Also `python -m cli.project`.
"""
import math
import os

import numpy as np
from absl import flags

from cli import base
from stylegan_tf import network_files
from stylegan_tf.errors import InputError
from stylegan_tf.fileio import check_directory_path, printable
from stylegan_tf.progress import Progress, format_time
from training import projector as projector_lib
from training import projector_files

FLAGS = flags.FlagValues()
flags.DEFINE_string("network", None, base.NETWORK_HELP, flag_values=FLAGS)
flags.DEFINE_string("target", None, "Target image file, or a folder: every image in it.", flag_values=FLAGS)
flags.DEFINE_string("outdir", "out", "Directory to write to (created if needed).", flag_values=FLAGS)
flags.DEFINE_integer("num_steps", 1000, "Optimization steps per target.", lower_bound=1, flag_values=FLAGS)
flags.DEFINE_integer("seed", 303, "Random seed (initial noise maps, W noise).", lower_bound=0, flag_values=FLAGS)
flags.DEFINE_bool("save_video", False, f"Also write proj.gif: the target beside the projection after up to "
                  f"{projector_files.MAX_VIDEO_FRAMES} evenly spaced steps ({projector_files.VIDEO_FPS} fps); and "
                  f"proj.mp4 if imageio-ffmpeg is installed.", flag_values=FLAGS)
flags.DEFINE_bool("w_plus", False, "Optimize one W per layer (W+) instead of one W for all layers.",
                  flag_values=FLAGS)
flags.DEFINE_bool("xla", False, "Compile the optimization step with XLA (jit_compile).", flag_values=FLAGS)
flags.DEFINE_enum("data_format", "auto", ["auto", "NCHW", "NHWC"], "Internal layout of the network (NCHW on a "
                  "CPU needs --xla); auto = NCHW with a GPU, else NHWC.", flag_values=FLAGS)


def psnr(a, b):
    """Peak signal-to-noise ratio of two uint8 images in dB (inf when equal)."""
    mse = np.mean(np.square(a.astype(np.float64) - b))
    return math.inf if mse == 0 else 10 * math.log10(255 ** 2 / mse)


def prepare():
    """Check the flags, load the network and the targets: `(projector, targets, skipped)`."""
    import tensorflow as tf  # here, not above: cli.base quiets its start-up first
    f = FLAGS
    if f.network is None or f.target is None:
        raise base.UsageError("--network and --target are required")
    check_directory_path(f.outdir, "--outdir")
    if f.data_format == "NCHW" and not f.xla and not tf.config.list_logical_devices("GPU"):
        raise InputError("--data_format=NCHW needs --xla on a machine without a GPU")
    if not os.path.exists(f.target):
        raise InputError(f"--target {printable(f.target)}: no such file or directory")
    network = network_files.resolve_network(f.network)
    Gs = network_files.load_Gs(network, data_format=f.data_format)  # noqa: N806
    _, channels, resolution, _ = Gs.official_output_shape
    print(f"loaded {network}: {Gs.build_func_name}, {resolution}x{resolution}, {channels} channel(s)", flush=True)
    targets, skipped = projector_files.read_targets(f.target, resolution, channels)
    options = projector_lib.ProjectorOptions(num_steps=f.num_steps, w_plus=f.w_plus)
    projector = projector_lib.Projector(Gs, options, jit_compile=f.xla)
    return projector, targets, skipped


def project_one(projector, name, target, outdir):
    """Project one target with a progress bar and write its files to `outdir`; prints a summary line."""
    f = FLAGS
    with Progress(f.num_steps, name, unit="step") as progress:
        def report(step, num_steps, distance):
            progress.desc = f"{name} LPIPS {distance:.4f}"
            progress.set(step)

        frame_steps = projector_files.video_steps(f.num_steps) if f.save_video else ()
        result = projector_lib.project(projector, target, f.seed, frame_steps, report)
    written = projector_files.save_projection(outdir, result, f.save_video)
    print(f"projected {name}: LPIPS {result.lpips_distance:.4f}, PSNR {psnr(result.image, target):.2f} dB, "
          f"{f.num_steps} steps in {format_time(progress.elapsed)} ({progress.rate:.2f} steps/s); wrote "
          f"{', '.join(written)} to {outdir}", flush=True)


def main(args):
    del args  # none (checked by cli.base)
    projector, targets, skipped = prepare()
    for name, reason in sorted(skipped.items()):
        print(f"skipped {printable(name)}: {printable(reason)}", flush=True)
    folder = os.path.isdir(FLAGS.target)
    used = set()
    for name, target in targets:
        outdir = FLAGS.outdir
        if folder:
            stem = os.path.splitext(name)[0]
            stem = stem if stem not in used else name  # a.png and a.jpg
            used.add(stem)
            outdir = os.path.join(FLAGS.outdir, stem)
        project_one(projector, printable(name), target, outdir)
    return 0


COMMAND = base.Command("stylegan-project", __doc__, FLAGS, main)


def run_main(argv=None):
    """Console script `stylegan-project`."""
    base.run(COMMAND, argv)


if __name__ == "__main__":
    run_main()
