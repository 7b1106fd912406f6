"""Generate images, grids, interpolations and the StyleGAN paper figures from a network.

Usage: stylegan-generate --network=PKL_OR_RUN_DIR --mode=MODE [flags]
       (or python -m training.generate ...)

Modes (files written to --outdir):
  images        one PNG per seed, seed0042.png (official latents: RandomState(seed).randn)
  style_mixing  style_mixing.png, the paper's figure-3 layout (--row_seeds, --col_seeds, --styles)
  truncation    truncation.png, rows = seeds, columns = --psis
  noise         noise.png, per seed 4 noise draws, their mean and standard deviation
  interpolate   interpolate.gif and interpolate/frame0000.png ... (--space, --frames, --fps)
  figures       the official generate_figures.py set (--figures), scaled to the network
ProGAN networks (G_paper) have no mapping network: --mode=images and --mode=interpolate (in z).
Speed: python -m stylegan_tf.bench --network=... (images/second by layout, XLA and batch).
Bad input gives one line `error: ...` on stderr and exit status 2.
"""
import os

import tensorflow as tf
from absl import app, flags

from stylegan_tf import generate as gen
from training._cli import fail, flags_parser
from training._progress import Progress

_FLAGS = flags.FlagValues()  # this tool's own flags: importing the module registers nothing globally
flags.DEFINE_string("network", None, gen.NETWORK_FLAG_HELP, flag_values=_FLAGS)
flags.DEFINE_enum("mode", "images", ["images", "style_mixing", "truncation", "noise", "interpolate", "figures"],
                  "What to generate.", flag_values=_FLAGS)
flags.DEFINE_string("outdir", "out", "Directory to write to (created if needed).", flag_values=_FLAGS)
flags.DEFINE_string("seeds", None, "Seeds, e.g. 0-99,123. Default per mode: images 0-7, truncation 91,388, "
                    "noise 1157,1012, interpolate 0-3.", flag_values=_FLAGS)
flags.DEFINE_float("trunc", None, "Truncation psi (1 disables). Default: the network's (official 0.7). "
                   "--mode=figures uses the official settings instead.", flag_values=_FLAGS)
flags.DEFINE_integer("trunc_cutoff", None, "Truncate the layers below this one (<= 0 disables). Default: the "
                     "network's (official 8).", flag_values=_FLAGS)
flags.DEFINE_enum("noise_mode", "const", list(gen.NOISE_MODES), "Noise inputs: const = the network's stored "
                  "noise, random = fresh noise seeded from the seed, none = no noise.", flag_values=_FLAGS)
flags.DEFINE_integer("class", None, "Class index for a conditional network (one-hot label).", lower_bound=0,
                     flag_values=_FLAGS)
flags.DEFINE_integer("batch", 8, "Images per batch.", lower_bound=1, flag_values=_FLAGS)
flags.DEFINE_bool("force", False, "Allow a truncation psi outside [-2, 2].", flag_values=_FLAGS)
flags.DEFINE_list("psis", [str(p) for p in gen.OFFICIAL_PSIS], "truncation mode: the psi of each column.",
                  flag_values=_FLAGS)
flags.DEFINE_string("row_seeds", ",".join(map(str, gen.OFFICIAL_STYLE_MIXING["row_seeds"])),
                    "style_mixing: seeds of the rows (they give the styles not taken from the columns).",
                    flag_values=_FLAGS)
flags.DEFINE_string("col_seeds", ",".join(map(str, gen.OFFICIAL_STYLE_MIXING["col_seeds"])),
                    "style_mixing: seeds of the columns.", flag_values=_FLAGS)
flags.DEFINE_list("styles", None, "style_mixing: per row, the style layers taken from the column seeds: coarse, "
                  "middle, fine or a layer range like 0-3. Default: the official 3 coarse, 2 middle, 1 fine rows, "
                  "in proportion to the number of rows.", flag_values=_FLAGS)
flags.DEFINE_enum("space", "w", list(gen.SPACES), "interpolate: lerp in W or slerp in Z (ProGAN networks: Z).",
                  flag_values=_FLAGS)
flags.DEFINE_integer("frames", 60, "interpolate: number of frames.", lower_bound=2, flag_values=_FLAGS)
flags.DEFINE_integer("fps", 24, "interpolate: GIF frames per second.", lower_bound=1, flag_values=_FLAGS)
flags.DEFINE_integer("noise_samples", 100, "noise: draws per seed for the mean and standard deviation.",
                     lower_bound=4, flag_values=_FLAGS)
flags.DEFINE_list("figures", [str(n) for n in gen.PAPER_FIGURES], "figures: which official figures.",
                  flag_values=_FLAGS)
flags.DEFINE_bool("xla", False, "Compile generation with XLA (jit_compile).", flag_values=_FLAGS)
flags.DEFINE_enum("data_format", "auto", ["auto", "NCHW", "NHWC"], "Internal layout of the network (NCHW on a "
                  "CPU needs --xla); auto = NCHW with a GPU, else NHWC.", flag_values=_FLAGS)

_DEFAULT_SEEDS = {"images": "0-7", "truncation": "91,388", "noise": "1157,1012", "interpolate": "0-3"}
MAX_ABS_PSI = 2.0




# ----------------------------------------------------------------------------
# Checking the command line.

def _check_psi(psi, what):
    if abs(psi) > MAX_ABS_PSI and not _FLAGS.force:
        raise ValueError(f"{what} {psi:g} is outside [-{MAX_ABS_PSI:g}, {MAX_ABS_PSI:g}] (pass --force to allow it)")
    return psi


def _parse_psis(values):
    psis = []
    for text in values:
        try:
            psis.append(float(text))
        except ValueError:
            raise ValueError(f"malformed psi {text!r} in --psis: expected numbers like 1,0.7,0.5") from None
    if not psis:
        raise ValueError("--psis is empty")
    return [_check_psi(p, "psi") for p in psis]


def _prepare():
    """Check the flags and load the network: ``(sampler, settings)``. Raises ValueError."""
    f = _FLAGS
    if f.network is None:
        raise ValueError("--network is required (an official-format .pkl or a run directory)")
    settings = {}
    if f.mode in _DEFAULT_SEEDS:
        settings["seeds"] = gen.parse_seeds(f.seeds if f.seeds is not None else _DEFAULT_SEEDS[f.mode])
    elif f.seeds is not None:
        raise ValueError(f"--seeds does not apply to --mode={f.mode}"
                         + (" (use --row_seeds and --col_seeds)" if f.mode == "style_mixing" else ""))
    if f.mode == "interpolate" and len(settings["seeds"]) < 2:
        raise ValueError("--mode=interpolate needs at least 2 seeds")
    if f.mode == "style_mixing":
        settings["row_seeds"], settings["col_seeds"] = gen.parse_seeds(f.row_seeds), gen.parse_seeds(f.col_seeds)
    if f.mode == "truncation":
        settings["psis"] = _parse_psis(f.psis)
    if f.mode == "figures":
        try:
            settings["figures"] = [int(n) for n in f.figures]
        except ValueError:
            raise ValueError(f"malformed --figures {','.join(f.figures)!r}: expected figure numbers") from None
        unknown = sorted(set(settings["figures"]) - set(gen.PAPER_FIGURES))
        if unknown:
            raise ValueError(f"no official figure {unknown[0]} (the set is {', '.join(map(str, gen.PAPER_FIGURES))})")
    if f.trunc is not None:
        _check_psi(f.trunc, "--trunc")
    if f.data_format == "NCHW" and not f.xla and not tf.config.list_logical_devices("GPU"):
        raise ValueError("--data_format=NCHW needs --xla on a machine without a GPU")

    Gs = gen.load_Gs(f.network, data_format=f.data_format)  # noqa: N806
    if getattr(Gs, "mapping", None) is None:
        _check_without_mapping(Gs.build_func_name)
    label_size = Gs.input_shapes[1][1]
    if f["class"].value is not None and not label_size:
        raise ValueError("--class was given, but the network is unconditional (label_size 0)")
    if label_size and f["class"].value is None:
        raise ValueError(f"the network is conditional: pass --class (0-{label_size - 1})")
    labels = None if f["class"].value is None else gen.one_hot(f["class"].value, label_size)
    settings["truncation_psi"] = Gs.kwargs.get("truncation_psi") if f.trunc is None else f.trunc
    settings["truncation_cutoff"] = Gs.kwargs.get("truncation_cutoff") if f.trunc_cutoff is None else f.trunc_cutoff
    if f.mode == "style_mixing":
        names = f.styles or gen.default_row_styles(len(settings["row_seeds"]))
        settings["row_styles"] = [gen.parse_style_range(text, Gs.num_layers) for text in names]
        if len(settings["row_styles"]) != len(settings["row_seeds"]):
            raise ValueError(f"--styles gives {len(settings['row_styles'])} style ranges for "
                             f"{len(settings['row_seeds'])} row seeds (one per row)")
    sampler = gen.make_sampler(Gs, batch_size=f.batch, jit_compile=f.xla, labels=labels)
    return sampler, settings


def _check_without_mapping(build_func_name):
    """A generator without a mapping network (ProGAN): only images and interpolation in z."""
    f = _FLAGS
    given = [flag for flag, used in ((f"--mode={f.mode}", f.mode not in ("images", "interpolate")),
                                     ("--space=w", f.mode == "interpolate" and f["space"].present and f.space == "w"),
                                     ("--trunc", f.trunc is not None), ("--trunc_cutoff", f.trunc_cutoff is not None),
                                     (f"--noise_mode={f.noise_mode}", f.noise_mode != "const")) if used]
    if given:
        raise ValueError(f"{given[0]} needs a StyleGAN network (mapping network, truncation, noise inputs); this is "
                         f"a {build_func_name} (ProGAN) network: use --mode=images or --mode=interpolate (in z)")


# ----------------------------------------------------------------------------
# The modes.

def _write(image, path):
    gen.save_image(image, path)
    print(f"wrote {path} ({image.shape[1]}x{image.shape[0]})")


def _images(sampler, s, outdir):
    seeds, step = s["seeds"], sampler.batch_size
    with Progress(len(seeds), "generating", unit="img") as progress:
        for start in range(0, len(seeds), step):
            chunk = seeds[start:start + step]
            images = sampler.images_for_seeds(chunk, s["truncation_psi"], s["truncation_cutoff"], _FLAGS.noise_mode)
            for seed, image in zip(chunk, images):
                gen.save_image(image, os.path.join(outdir, f"seed{seed:04d}.png"))
            progress.update(len(chunk))


def _interpolate(sampler, s, outdir):
    space = _FLAGS.space if sampler.has_mapping else "z"
    frames = gen.interpolation_frames(sampler, s["seeds"], _FLAGS.frames, space, s["truncation_psi"],
                                      s["truncation_cutoff"], _FLAGS.noise_mode)
    os.makedirs(os.path.join(outdir, "interpolate"), exist_ok=True)
    for i, frame in enumerate(frames):
        gen.save_image(frame, os.path.join(outdir, "interpolate", f"frame{i:04d}.png"))
    gen.save_gif(frames, os.path.join(outdir, "interpolate.gif"), fps=_FLAGS.fps)
    print(f"wrote {os.path.join(outdir, 'interpolate.gif')} and {len(frames)} frames in "
          f"{os.path.join(outdir, 'interpolate')}")


def _run(sampler, s, outdir):
    f = _FLAGS
    psi, cutoff = s["truncation_psi"], s["truncation_cutoff"]
    if f.mode == "images":
        _images(sampler, s, outdir)
    elif f.mode == "style_mixing":
        _write(gen.style_mixing_figure(sampler, s["row_seeds"], s["col_seeds"], s["row_styles"], psi, cutoff,
                                       f.noise_mode), os.path.join(outdir, "style_mixing.png"))
    elif f.mode == "truncation":
        _write(gen.truncation_figure(sampler, s["seeds"], s["psis"], cutoff, f.noise_mode),
               os.path.join(outdir, "truncation.png"))
    elif f.mode == "noise":
        _write(gen.stochastic_variation_figure(sampler, s["seeds"], f.noise_samples, 4, psi, cutoff),
               os.path.join(outdir, "noise.png"))
    elif f.mode == "interpolate":
        _interpolate(sampler, s, outdir)
    else:
        for number in s["figures"]:
            print(f"figure {number}: {gen.PAPER_FIGURES[number][1]}", flush=True)
            name, image = gen.paper_figure(number, sampler)
            _write(image, os.path.join(outdir, name))


def main(argv):
    del argv  # no positional arguments (checked by the flags parser)
    try:
        sampler, settings = _prepare()
        os.makedirs(_FLAGS.outdir, exist_ok=True)
    except (ValueError, OSError) as error:
        fail(error)
    _run(sampler, settings, _FLAGS.outdir)
    return 0


def run_main(argv=None):
    """Console script ``stylegan-generate``."""
    app.run(main, argv=argv, flags_parser=flags_parser(_FLAGS, __doc__))


if __name__ == "__main__":
    run_main()
