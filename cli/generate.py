"""stylegan-generate: images, grids, interpolations and the StyleGAN paper figures from a network's generator.

    stylegan-generate --network=PKL_OR_RUN_DIR [--mode=MODE] [--seeds=0-99,123] [--outdir=out] [flags]

Modes (files written to --outdir):
  images        one PNG per seed, seed0042.png (official latents: RandomState(seed).randn)
  style_mixing  style_mixing.png, the paper's figure-3 layout (--row_seeds, --col_seeds, --styles)
  truncation    truncation.png, rows = seeds, columns = --psis
  noise         noise.png, per seed 4 noise draws, their mean and standard deviation
  interpolate   interpolate.gif and interpolate/frame0000.png ... (--space, --frames, --fps)
  figures       the official generate_figures.py set (--figures), scaled to the network
ProGAN networks (G_paper) have no mapping network: --mode=images and --mode=interpolate (in z).
Projected images (stylegan-project): --dlatents=out/projected_w.npz,... in place of seeds for images (projected0000.png
...), style_mixing (the rows, or with --dlatents_as=cols the columns) and interpolate.
Speed: python -m stylegan_tf.bench --network=... (images/second by layout, XLA and batch). Also
`python -m cli.generate`.
"""
import math
import os

import numpy as np
from absl import flags

from cli import base
from stylegan_tf import figures, images, network_files, sampling, seeds
from training import projector_files, projector_synthesis
from stylegan_tf.errors import InputError
from stylegan_tf.fileio import check_directory_path
from stylegan_tf.progress import Progress

MODES = ("images", "style_mixing", "truncation", "noise", "interpolate", "figures")
DLATENTS_MODES = ("images", "style_mixing", "interpolate")
DEFAULT_SEEDS = {"images": "0-7", "truncation": "91,388", "noise": "1157,1012", "interpolate": "0-3"}
MAX_ABS_PSI = 2.0

FLAGS = flags.FlagValues()
flags.DEFINE_string("network", None, base.NETWORK_HELP, flag_values=FLAGS)
flags.DEFINE_enum("mode", "images", MODES, "What to generate.", flag_values=FLAGS)
flags.DEFINE_string("outdir", "out", "Directory to write to (created if needed).", flag_values=FLAGS)
flags.DEFINE_string("seeds", None, "Seeds, e.g. 0-99,123. Default per mode: " + ", ".join(
    f"{mode} {text}" for mode, text in DEFAULT_SEEDS.items()) + ".", flag_values=FLAGS)
flags.DEFINE_float("trunc", None, "Truncation psi (1 disables). Default: the network's (official StyleGAN 0.7, "
                   "StyleGAN2 0.5). --mode=figures uses the official settings instead.", flag_values=FLAGS)
flags.DEFINE_integer("trunc_cutoff", None, "Truncate the layers below this one (<= 0 disables). Default: the "
                     "network's (official StyleGAN 8; StyleGAN2 none: every layer).", flag_values=FLAGS)
flags.DEFINE_enum("noise_mode", "const", list(sampling.NOISE_MODES), "Noise inputs: const = the network's stored "
                  "noise, random = fresh noise seeded from the seed, none = no noise.", flag_values=FLAGS)
flags.DEFINE_integer("class", None, "Class index for a conditional network (one-hot label).", lower_bound=0,
                     flag_values=FLAGS)
flags.DEFINE_integer("batch", 8, "Images per batch.", lower_bound=1, flag_values=FLAGS)
flags.DEFINE_bool("force", False, f"Allow a truncation psi outside [-{MAX_ABS_PSI:g}, {MAX_ABS_PSI:g}].",
                  flag_values=FLAGS)
flags.DEFINE_list("psis", [str(p) for p in figures.OFFICIAL_PSIS], "truncation mode: the psi of each column.",
                  flag_values=FLAGS)
flags.DEFINE_string("row_seeds", ",".join(map(str, figures.OFFICIAL_STYLE_MIXING["row_seeds"])),
                    "style_mixing: seeds of the rows (they give the styles not taken from the columns).",
                    flag_values=FLAGS)
flags.DEFINE_string("col_seeds", ",".join(map(str, figures.OFFICIAL_STYLE_MIXING["col_seeds"])),
                    "style_mixing: seeds of the columns.", flag_values=FLAGS)
flags.DEFINE_list("styles", None, "style_mixing: per row, the style layers taken from the column seeds: coarse, "
                  "middle, fine or a layer range like 0-3. Default: the official 3 coarse, 2 middle, 1 fine rows, "
                  "in proportion to the number of rows.", flag_values=FLAGS)
flags.DEFINE_enum("space", "w", list(figures.SPACES), "interpolate: lerp in W or slerp in Z (ProGAN networks: Z).",
                  flag_values=FLAGS)
flags.DEFINE_integer("frames", 60, "interpolate: number of frames.", lower_bound=2, flag_values=FLAGS)
flags.DEFINE_integer("fps", 24, "interpolate: GIF frames per second.", lower_bound=1, flag_values=FLAGS)
flags.DEFINE_integer("noise_samples", 100, "noise: draws per seed for the mean and standard deviation.",
                     lower_bound=4, flag_values=FLAGS)
flags.DEFINE_list("figures", [str(n) for n in figures.PAPER_FIGURES], "figures: which official figures.",
                  flag_values=FLAGS)
flags.DEFINE_list("dlatents", None, "Projected dlatents in place of seeds: projected_w.npz files of stylegan-project "
                  "(or directories holding one, or holding one per subdirectory: a projected folder), for "
                  "--mode=images, style_mixing and interpolate (a path in W through them). Their images use the noise "
                  "maps saved with them (--noise_mode=none: no noise); --trunc applies to seeds only.",
                  flag_values=FLAGS)
flags.DEFINE_enum("dlatents_as", "rows", ["rows", "cols"], "style_mixing with --dlatents: the projected images "
                  "are the rows (the columns come from --col_seeds) or the columns (rows from --row_seeds).",
                  flag_values=FLAGS)
flags.DEFINE_bool("xla", False, "Compile generation with XLA (jit_compile).", flag_values=FLAGS)
flags.DEFINE_enum("data_format", "auto", ["auto", "NCHW", "NHWC"], "Internal layout of the network (NCHW on a "
                  "CPU needs --xla); auto = NCHW with a GPU, else NHWC.", flag_values=FLAGS)


# ----------------------------------------------------------------------------
# Checking the command line.

def check_psi(psi, what):
    """`psi` if it is a finite number within [-MAX_ABS_PSI, MAX_ABS_PSI] (any finite one with --force)."""
    if not math.isfinite(psi):
        raise InputError(f"{what} {psi} is not a finite number")
    if abs(psi) > MAX_ABS_PSI and not FLAGS.force:
        raise InputError(f"{what} {psi:g} is outside [-{MAX_ABS_PSI:g}, {MAX_ABS_PSI:g}] (pass --force to allow it)")
    return psi


def parse_psis(values):
    """The numbers of --psis, checked."""
    psis = []
    for text in values:
        try:
            psis.append(float(text))
        except ValueError:
            raise InputError(f"malformed psi {text!r} in --psis: expected numbers like 1,0.7,0.5") from None
    if not psis:
        raise InputError("--psis is empty")
    return [check_psi(p, "psi") for p in psis]


def parse_settings():
    """What the flags ask for, checked before the network is loaded: `{seeds, row_seeds, col_seeds, psis,
    figures}` as they apply to --mode."""
    f = FLAGS
    if f.network is None:
        raise base.UsageError("--network is required (an official-format .pkl, a checkpoint or a run directory)")
    settings = {}
    if f.dlatents is not None:
        check_dlatents_flags()
    elif f.mode in DEFAULT_SEEDS:
        settings["seeds"] = seeds.parse_seeds(f.seeds if f.seeds is not None else DEFAULT_SEEDS[f.mode])
    elif f.seeds is not None:
        raise base.UsageError(f"--seeds does not apply to --mode={f.mode}"
                              + (" (use --row_seeds and --col_seeds)" if f.mode == "style_mixing" else ""))
    if f.mode == "interpolate" and len(settings.get("seeds", [0, 1])) < 2:
        raise InputError("--mode=interpolate needs at least 2 seeds")
    if f.mode == "style_mixing":
        settings["row_seeds"], settings["col_seeds"] = seeds.parse_seeds(f.row_seeds), seeds.parse_seeds(f.col_seeds)
    if f.mode == "truncation":
        settings["psis"] = parse_psis(f.psis)
    if f.mode == "figures":
        try:
            settings["figures"] = [int(n) for n in f.figures]
        except ValueError:
            raise InputError(f"malformed --figures {','.join(f.figures)!r}: expected figure numbers") from None
        unknown = sorted(set(settings["figures"]) - set(figures.PAPER_FIGURES))
        if unknown:
            raise InputError(f"no official figure {unknown[0]} (the set is "
                             f"{', '.join(map(str, figures.PAPER_FIGURES))})")
    if f.trunc is not None:
        check_psi(f.trunc, "--trunc")
    check_directory_path(f.outdir, "--outdir")
    return settings


def check_dlatents_flags():
    """--dlatents takes the place of the seeds of --mode=images and interpolate, and of one axis of style_mixing."""
    f = FLAGS
    if f.mode not in DLATENTS_MODES:
        raise base.UsageError(f"--dlatents does not apply to --mode={f.mode} (only to {', '.join(DLATENTS_MODES)})")
    if f.seeds is not None:
        raise base.UsageError("--seeds does not apply with --dlatents (the projected images take their place)")
    if f.noise_mode == "random":
        raise base.UsageError("--noise_mode=random does not apply to --dlatents (projected images are drawn with "
                              "their saved noise maps, or with --noise_mode=none without noise)")
    if f.mode == "interpolate" and f["space"].present and f.space == "z":
        raise base.UsageError("--space=z does not apply to --dlatents (projected images have no latents: the path "
                              "is in W)")


def check_without_mapping(build_func_name):
    """A generator without a mapping network (ProGAN): only images and interpolation in z."""
    f = FLAGS
    given = [flag for flag, used in ((f"--mode={f.mode}", f.mode not in ("images", "interpolate")),
                                     ("--space=w", f.mode == "interpolate" and f["space"].present and f.space == "w"),
                                     ("--trunc", f.trunc is not None), ("--trunc_cutoff", f.trunc_cutoff is not None),
                                     ("--dlatents", f.dlatents is not None),
                                     (f"--noise_mode={f.noise_mode}", f.noise_mode != "const")) if used]
    if given:
        raise InputError(f"{given[0]} needs a StyleGAN network (mapping network, truncation, noise inputs); this is "
                         f"a {build_func_name} (ProGAN) network: use --mode=images or --mode=interpolate (in z)")


def prepare():
    """Check the flags and load the network: `(sampler, settings)`, settings completed with the truncation and,
    for style mixing, the row styles."""
    import tensorflow as tf  # here, not above: cli.base quiets its start-up first
    f = FLAGS
    settings = parse_settings()
    if f.data_format == "NCHW" and not f.xla and not tf.config.list_logical_devices("GPU"):
        raise InputError("--data_format=NCHW needs --xla on a machine without a GPU")
    network = network_files.resolve_network(f.network)
    Gs = network_files.load_Gs(network, data_format=f.data_format)  # noqa: N806
    _, num_channels, resolution, _ = Gs.official_output_shape
    print(f"loaded {network}: {Gs.build_func_name}, {resolution}x{resolution}, {num_channels} channel(s)",
          flush=True)
    if getattr(Gs, "mapping", None) is None:
        check_without_mapping(Gs.build_func_name)
    label_size = Gs.input_shapes[1][1]
    if label_size and f["class"].value is None:
        raise InputError(f"the network is conditional: pass --class (0-{label_size - 1})")
    labels = None if f["class"].value is None else seeds.one_hot(f["class"].value, label_size)
    settings["truncation_psi"] = Gs.kwargs.get("truncation_psi") if f.trunc is None else f.trunc
    settings["truncation_cutoff"] = Gs.kwargs.get("truncation_cutoff") if f.trunc_cutoff is None else f.trunc_cutoff
    if f.dlatents is not None:
        settings["projected"] = load_projected(Gs)
    if f.mode == "style_mixing":
        projected_rows = f.dlatents is not None and f.dlatents_as == "rows"
        num_rows = len(settings["projected"][0]) if projected_rows else len(settings["row_seeds"])
        names = f.styles or figures.default_row_styles(num_rows)
        settings["row_styles"] = [figures.parse_style_range(text, Gs.num_layers) for text in names]
        if len(settings["row_styles"]) != num_rows:
            raise InputError(f"--styles gives {len(settings['row_styles'])} style ranges for {num_rows} "
                             f"{'projected images' if projected_rows else 'row seeds'} (one per row)")
    sampler = sampling.make_sampler(Gs, batch_size=f.batch, jit_compile=f.xla, labels=labels)
    return sampler, settings


# ----------------------------------------------------------------------------
# The modes.

def write(image, path):
    images.save_image(image, path)
    print(f"wrote {path} ({image.shape[1]}x{image.shape[0]})", flush=True)


def generate_images(sampler, s, outdir):
    seed_list, step = s["seeds"], sampler.batch_size
    names = [f"seed{seed:04d}.png" for seed in seed_list]
    with Progress(len(seed_list), "generating", unit="img") as progress:
        for start in range(0, len(seed_list), step):
            chunk = seed_list[start:start + step]
            batch = sampler.images_for_seeds(chunk, s["truncation_psi"], s["truncation_cutoff"], FLAGS.noise_mode)
            for name, image in zip(names[start:start + step], batch):
                images.save_image(image, os.path.join(outdir, name))
            progress.update(len(chunk))
    shown = names[0] if len(names) == 1 else f"{names[0]} ... {names[-1]}"
    print(f"wrote {len(names)} image(s) to {outdir} ({shown})", flush=True)


def interpolate(sampler, s, outdir):
    space = FLAGS.space if sampler.has_mapping else "z"
    frames = figures.interpolation_frames(sampler, s["seeds"], FLAGS.frames, space, s["truncation_psi"],
                                          s["truncation_cutoff"], FLAGS.noise_mode)
    write_frames(frames, outdir)


def write_frames(frames, outdir):
    frame_dir = os.path.join(outdir, "interpolate")
    os.makedirs(frame_dir, exist_ok=True)
    for i, frame in enumerate(frames):
        images.save_image(frame, os.path.join(frame_dir, f"frame{i:04d}.png"))
    images.save_gif(frames, os.path.join(outdir, "interpolate.gif"), fps=FLAGS.fps)
    print(f"wrote {os.path.join(outdir, 'interpolate.gif')} and {len(frames)} frames in {frame_dir}", flush=True)


def run_mode(sampler, s, outdir):
    f = FLAGS
    psi, cutoff = s["truncation_psi"], s["truncation_cutoff"]
    if f.dlatents is not None:
        run_projected(sampler, s, outdir)
    elif f.mode == "images":
        generate_images(sampler, s, outdir)
    elif f.mode == "style_mixing":
        write(figures.style_mixing_figure(sampler, s["row_seeds"], s["col_seeds"], s["row_styles"], psi, cutoff,
                                          f.noise_mode), os.path.join(outdir, "style_mixing.png"))
    elif f.mode == "truncation":
        write(figures.truncation_figure(sampler, s["seeds"], s["psis"], cutoff, f.noise_mode),
              os.path.join(outdir, "truncation.png"))
    elif f.mode == "noise":
        write(figures.stochastic_variation_figure(sampler, s["seeds"], f.noise_samples, 4, psi, cutoff),
              os.path.join(outdir, "noise.png"))
    elif f.mode == "interpolate":
        interpolate(sampler, s, outdir)
    else:
        for number in s["figures"]:
            print(f"figure {number}: {figures.PAPER_FIGURES[number][1]}", flush=True)
            name, image = figures.paper_figure(number, sampler)
            write(image, os.path.join(outdir, name))


# ----------------------------------------------------------------------------
# Projected dlatents (--dlatents).

def load_projected(Gs):  # noqa: N803
    """`(dlatents [N, L, D], noise maps [N, 1, H, W] per layer)` of --dlatents (zero maps with --noise_mode=none)."""
    dlatents, noises = projector_files.load_projected_ws(FLAGS.dlatents, Gs)
    if FLAGS.noise_mode == "none":
        noises = [np.zeros_like(m) for m in noises]
    if FLAGS.mode == "interpolate" and len(dlatents) < 2:
        raise InputError(f"--mode=interpolate needs at least 2 projected dlatents, got {len(dlatents)}")
    return dlatents, noises


def run_projected(sampler, s, outdir):
    """The modes with --dlatents: each projected image drawn with its own noise maps."""
    f = FLAGS
    dlatents, noises = s["projected"]
    drawer = projector_synthesis.NoiseMapSampler(sampler.Gs, f.batch, f.xla)
    if f.mode == "images":
        names = [f"projected{i:04d}.png" for i in range(len(dlatents))]
        for name, image in zip(names, drawer.synthesize(dlatents, noises)):
            images.save_image(image, os.path.join(outdir, name))
        shown = names[0] if len(names) == 1 else f"{names[0]} ... {names[-1]}"
        print(f"wrote {len(names)} image(s) to {outdir} ({shown})", flush=True)
    elif f.mode == "interpolate":
        write_frames(projector_synthesis.interpolation_frames(drawer, dlatents, noises, f.frames), outdir)
    else:
        seed_list = s["col_seeds"] if f.dlatents_as == "rows" else s["row_seeds"]
        seed_dlatents = sampler.dlatents(seeds.latents_from_seeds(seed_list, sampler.latent_size),
                                         s["truncation_psi"], s["truncation_cutoff"])
        seed_noises = [np.repeat(m if f.noise_mode == "const" else np.zeros_like(m), len(seed_list), axis=0)
                       for m in projector_synthesis.stored_noise_maps(sampler.Gs.synthesis)]
        projected, from_seeds = (dlatents, noises), (seed_dlatents, seed_noises)
        rows, cols = (projected, from_seeds) if f.dlatents_as == "rows" else (from_seeds, projected)
        write(projector_synthesis.style_mixing_figure(drawer, rows, cols, s["row_styles"]),
              os.path.join(outdir, "style_mixing.png"))


def main(args):
    del args  # none (checked by cli.base)
    sampler, settings = prepare()
    os.makedirs(FLAGS.outdir, exist_ok=True)
    run_mode(sampler, settings, FLAGS.outdir)
    return 0


COMMAND = base.Command("stylegan-generate", __doc__, FLAGS, main)


def run_main(argv=None):
    """Console script `stylegan-generate`."""
    base.run(COMMAND, argv)


if __name__ == "__main__":
    run_main()
