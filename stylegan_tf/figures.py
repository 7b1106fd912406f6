"""The figures drawn from a generator: interpolation, style mixing, truncation and noise grids, and the paper figures.

Every function takes a sampler (`stylegan_tf.sampling.Sampler`, or for interpolation in z a `ProGANSampler`) and
returns uint8 NHWC images: frames `[F, R, R, C]` or one figure `[H, W, C]` (R: the network's resolution, C: its
channels). `PAPER_FIGURES` are the figures of the official `generate_figures.py`, with its seeds and layouts, scaled
from the paper's resolution to the network's.
"""
import numpy as np
import PIL.Image

from stylegan_tf.errors import InputError
from stylegan_tf.images import assemble_grid, from_pil, to_pil
from stylegan_tf.ops import lerp
from stylegan_tf.seeds import latents_from_seeds, noise_seeds, parse_range

SPACES = ("w", "z")
OFFICIAL_PSIS = (1, 0.7, 0.5, 0, -0.5, -1)  # figure 8
OFFICIAL_STYLE_MIXING = dict(row_seeds=(888, 829, 1898, 1733, 1614, 845),  # figure 3
                             col_seeds=(639, 701, 687, 615, 2268))


# ----------------------------------------------------------------------------
# Interpolation.

def slerp(a, b, t):
    """Spherical interpolation along the last axis: `a [..., Z]`, `b [..., Z]`, `t`
    broadcastable to `[..., 1]`; moves at constant angular speed and falls back to `lerp`
    where `a` and `b` are (nearly) parallel."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    t = np.asarray(t, np.float64)
    t = t[..., None] if t.ndim == a.ndim - 1 else t
    cos = np.sum(a * b, -1, keepdims=True) / (np.linalg.norm(a, axis=-1, keepdims=True)
                                              * np.linalg.norm(b, axis=-1, keepdims=True))
    omega = np.arccos(np.clip(cos, -1, 1))
    sin = np.sin(omega)
    parallel = sin < 1e-6
    safe = np.where(parallel, 1.0, sin)
    out = (np.sin((1 - t) * omega) * a + np.sin(t * omega) * b) / safe
    return np.where(parallel, lerp(a, b, t), out)


def path_positions(num_points, num_frames):
    """Where `num_frames` evenly spaced frames lie on the path through `num_points` points (the first and last
    frames on the first and last points): `(segment [F] int, fraction [F, 1])`, frame f being
    `lerp(point[segment[f]], point[segment[f] + 1], fraction[f])`."""
    pos = np.linspace(0, num_points - 1, num_frames)
    seg = np.minimum(np.floor(pos).astype(int), num_points - 2)
    return seg, (pos - seg)[:, None]


def interpolation_frames(sampler, seeds, num_frames, space="w", truncation_psi=None, truncation_cutoff=None,
                         noise_mode="const"):
    """`num_frames` uint8 images `[F, R, R, C]` along the path through `seeds` (first
    and last frames are the first and last seeds): `space='w'` lerps the (truncated)
    dlatents, `'z'` slerps the latents. Random noise is keyed `(seeds[0], 0)` for every
    frame, so it does not flicker."""
    if space not in SPACES:
        raise InputError(f"space must be one of {SPACES}, got {space!r}")
    if space == "w" and not sampler.has_mapping:
        raise InputError(f"{sampler.Gs.build_func_name} has no mapping network (no w space): interpolate in z")
    if len(seeds) < 2 or num_frames < 2:
        raise InputError("interpolation needs at least 2 seeds and 2 frames")
    seg, frac = path_positions(len(seeds), num_frames)
    latents = latents_from_seeds(seeds, sampler.latent_size)
    keys = noise_seeds(np.full(num_frames, seeds[0]))
    if space == "z":
        path = slerp(latents[seg], latents[seg + 1], frac).astype(np.float32)
        return sampler.generate(path, truncation_psi, truncation_cutoff, noise_mode, keys)
    ends = sampler.dlatents(latents, truncation_psi, truncation_cutoff)
    dlatents = lerp(ends[seg], ends[seg + 1], frac[:, :, None]).astype(np.float32)
    return sampler.synthesize(dlatents, noise_mode, keys)


# ----------------------------------------------------------------------------
# Grids of the generate modes.

def style_ranges(num_layers):
    """Coarse, middle and fine style layers, in the proportions of the official 1024x1024
    (18 layers) figure 3: `[0, 4)`, `[4, 8)`, `[8, 18)`, scaled to `num_layers`."""
    coarse = max(1, round(num_layers * 4 / 18))
    middle = min(max(coarse + 1, round(num_layers * 8 / 18)), num_layers)
    return {"coarse": range(0, coarse), "middle": range(coarse, middle), "fine": range(middle, num_layers)}


def default_row_styles(num_rows):
    """Style-range names for `num_rows` style-mixing rows in the official proportions
    (3 coarse, 2 middle, 1 fine for 6 rows)."""
    coarse, middle = round(num_rows / 2), round(num_rows / 3)
    return ["coarse"] * coarse + ["middle"] * middle + ["fine"] * (num_rows - coarse - middle)


def parse_style_range(text, num_layers):
    """`'coarse'`, `'middle'`, `'fine'` (see `style_ranges`) or layers `'a-b'` / `'a'` (inclusive) -> a range of
    style layers; `InputError`, saying what is valid, for anything else."""
    named = style_ranges(num_layers)
    if text.strip() in named:
        return named[text.strip()]
    valid = (f"{', '.join(named)} or style layers like 0-3 (the network has {num_layers} style layers, "
             f"0-{num_layers - 1})")
    layers = parse_range(text, "style range", expected=valid)
    if layers.stop > num_layers:
        raise InputError(f"style range {text.strip()!r} is out of range: expected {valid}")
    return layers


def style_mixing_grid(row_dlatents, col_dlatents, row_styles, synthesize):
    """The official figure-3 layout, uint8 `[(rows + 1) R, (cols + 1) R, C]`, of dlatents `[rows, L, D]` and
    `[cols, L, D]`: the top row shows the columns, the left column the rows, and cell (i, j) row i's dlatents with
    the layers `row_styles[i]` (ranges) taken from column j. `synthesize(dlatents [M, L, D], sources [M])` draws
    uint8 `[M, R, R, C]`, image m with the noise of source `sources[m]` (0 ... rows - 1: the rows, then the
    columns); a cell has its row's noise."""
    rows, cols = len(row_dlatents), len(col_dlatents)
    if len(row_styles) != rows:
        raise InputError(f"one style range per row is needed ({rows} rows, {len(row_styles)} style ranges)")
    mixed = []
    for i, layers in enumerate(row_styles):
        w = np.repeat(row_dlatents[i:i + 1], cols, axis=0)
        w[:, list(layers)] = col_dlatents[:, list(layers)]
        mixed.append(w)
    sources = np.concatenate([np.arange(rows + cols), np.repeat(np.arange(rows), cols)])
    images = synthesize(np.concatenate([row_dlatents, col_dlatents] + mixed), sources)
    row_img, col_img = images[:rows], images[rows:rows + cols]
    cells = images[rows + cols:].reshape([rows, cols, *images.shape[1:]])
    return assemble_grid([[None] + list(col_img)] + [[row_img[i]] + list(cells[i]) for i in range(rows)])


def style_mixing_figure(sampler, row_seeds, col_seeds, row_styles, truncation_psi=None, truncation_cutoff=None,
                        noise_mode="const"):
    """`style_mixing_grid` of seeds: the (truncated) dlatents of `row_seeds` and `col_seeds`, each image with the
    noise of its seed (random noise keyed `(seed, 0)`), a cell with its row seed's."""
    seeds = list(row_seeds) + list(col_seeds)
    dlatents = sampler.dlatents(latents_from_seeds(seeds, sampler.latent_size), truncation_psi, truncation_cutoff)
    keys = noise_seeds(seeds)
    return style_mixing_grid(dlatents[:len(row_seeds)], dlatents[len(row_seeds):], row_styles,
                             lambda dlatents, sources: sampler.synthesize(dlatents, noise_mode, keys[sources]))


def truncation_figure(sampler, seeds, psis, truncation_cutoff=None, noise_mode="const"):
    """Psi sweep, uint8 `[len(seeds) R, len(psis) R, C]`: row = seed, column = psi."""
    latents = latents_from_seeds(seeds, sampler.latent_size)
    dlatents = np.stack([sampler.dlatents(latents, psi, truncation_cutoff) for psi in psis], axis=1)
    keys = np.repeat(noise_seeds(seeds), len(psis), axis=0)
    images = sampler.synthesize(dlatents.reshape([-1, *dlatents.shape[2:]]), noise_mode, keys)
    return assemble_grid([list(row) for row in images.reshape([len(seeds), len(psis), *images.shape[1:]])])


def noise_std_map(images):
    """Official figure-4 standard deviation image of uint8 `[S, H, W, C]` samples:
    `std over samples of the channel mean, * 4`, rounded -> uint8 `[H, W]`."""
    std = np.std(np.mean(images, axis=3), axis=0) * 4
    return np.clip(std + 0.5, 0, 255).astype(np.uint8)


def _noise_samples(sampler, seed, num_samples, truncation_psi, truncation_cutoff):
    latents = np.repeat(latents_from_seeds([seed], sampler.latent_size), num_samples, axis=0)
    return sampler.generate(latents, truncation_psi, truncation_cutoff, "random",
                            noise_seeds(seed, np.arange(num_samples)))


def stochastic_variation_figure(sampler, seeds, num_samples=100, num_shown=4, truncation_psi=None,
                                truncation_cutoff=None):
    """Noise draws per seed, uint8 `[len(seeds) R, (num_shown + 2) R, C]`: each row shows
    `num_shown` random-noise draws of one seed, then the mean and the (official figure-4)
    standard deviation of `num_samples` draws (draw d uses noise keys `(seed, d)`)."""
    if num_samples < max(num_shown, 2):
        raise InputError(f"num_samples must be >= max(num_shown, 2), got {num_samples}")
    rows = []
    for seed in seeds:
        images = _noise_samples(sampler, seed, num_samples, truncation_psi, truncation_cutoff)
        mean = np.clip(np.mean(images, axis=0) + 0.5, 0, 255).astype(np.uint8)
        std = np.repeat(noise_std_map(images)[:, :, None], images.shape[3], axis=2)
        rows.append(list(images[:num_shown]) + [mean, std])
    return assemble_grid(rows)


# ----------------------------------------------------------------------------
# The figures of the StyleGAN paper (official generate_figures.py), scaled to any resolution.

def _canvas(width, height, channels):
    return PIL.Image.new("L" if channels == 1 else "RGB", (width, height), "white")


def uncurated_figure(sampler, seed, rows, lods, crop=None, truncation_psi=None, truncation_cutoff=None):
    """Figures 2, 10, 11, 12: columns of uncurated images, a column at `lod` holding
    `rows * 2**lod` images shrunk `2**lod` times (Lanczos). Latents are
    `RandomState(seed).randn(total, latent_size)` in one stream, as official; random noise
    keyed `(seed, index)`. `crop`: `(x, y, w, h)` of each image (default: all of it).
    Size `sum(w >> lod) x rows * h`."""
    cx, cy, cw, ch = crop or (0, 0, sampler.resolution, sampler.resolution)
    total = sum(rows * 2 ** lod for lod in lods)
    latents = np.random.RandomState(seed).randn(total, sampler.latent_size).astype(np.float32)
    images = iter(sampler.generate(latents, truncation_psi, truncation_cutoff, "random",
                                   noise_seeds(seed, np.arange(total))))
    sizes = [(max(cw >> lod, 1), max(ch >> lod, 1)) for lod in lods]
    canvas = _canvas(sum(w for w, _ in sizes), rows * ch, sampler.num_channels)
    x = 0
    for lod, (w, h) in zip(lods, sizes):
        for row in range(rows * 2 ** lod):
            image = to_pil(next(images)).crop((cx, cy, cx + cw, cy + ch)).resize((w, h), PIL.Image.Resampling.LANCZOS)
            canvas.paste(image, (x, row * h))
        x += w
    return from_pil(canvas, sampler.num_channels)


def noise_detail_figure(sampler, seeds=(1157, 1012), num_samples=100):
    """Figure 4 (stochastic variation), uint8 `[len(seeds) R, 3 R, C]`: per seed the first
    draw, four draws zoomed 2x on the official crop (650, 180)-(906, 436) of 1024, scaled,
    and the standard deviation of `num_samples` draws. No truncation, random noise."""
    res, channels = sampler.resolution, sampler.num_channels
    box = [round(v * res / 1024) for v in (650, 180, 906, 436)]
    box[2:] = [max(box[2], box[0] + 1), max(box[3], box[1] + 1)]
    half = max(res // 2, 1)
    canvas = _canvas(3 * res, len(seeds) * res, channels)
    for row, seed in enumerate(seeds):
        images = _noise_samples(sampler, seed, num_samples, 1, None)
        canvas.paste(to_pil(images[0]), (0, row * res))
        for i in range(4):
            crop = to_pil(images[i + 1]).crop(box).resize((half, half), PIL.Image.Resampling.NEAREST)
            canvas.paste(crop, (res + (i % 2) * half, row * res + (i // 2) * half))
        canvas.paste(PIL.Image.fromarray(noise_std_map(images), "L"), (2 * res, row * res))
    return from_pil(canvas, channels)


def noise_components_figure(sampler, seeds=(1967, 1555), flips=(1,)):
    """Figure 5 (noise in which layers), uint8 `[2 R, len(seeds) R, C]`: per seed (one
    column; `flips` mirrored) the left half of the image with noise in all layers and the
    right half with none (top), the left half with noise in the fine layers and the right
    half with noise in the coarse ones (bottom). Coarse/fine split as `style_ranges`
    (coarse + middle | fine; 4-32 px | 64-1024 px at 1024 px). No truncation, stored noise."""
    fine = style_ranges(sampler.num_layers)["fine"]
    coarse = range(0, fine.start)
    dlatents = sampler.dlatents(latents_from_seeds(seeds, sampler.latent_size), 1, None)
    ranges = [range(sampler.num_layers), range(0), fine, coarse]
    variants = [sampler.synthesize(dlatents, "const", noise_layers=r) for r in ranges]
    for images in variants:
        images[list(flips)] = images[list(flips), :, ::-1]
    res, half = sampler.resolution, sampler.resolution // 2
    out = np.zeros([2 * res, len(seeds) * res, sampler.num_channels], np.uint8)
    for col in range(len(seeds)):
        x = col * res
        out[:res, x:x + half] = variants[0][col][:, :half]
        out[:res, x + half:x + res] = variants[1][col][:, half:]
        out[res:, x:x + half] = variants[2][col][:, :half]
        out[res:, x + half:x + res] = variants[3][col][:, half:]
    return out


def _figure_specs():
    """`{number: (file name, what it shows, draw(sampler) -> uint8 [H, W, C])}`."""
    def uncurated(official_res, crop, rows, lods, seed):
        def draw(sampler):
            crop_at_res = [round(v * sampler.resolution / official_res) for v in crop]
            psi, cutoff = sampler.Gs.kwargs["truncation_psi"], sampler.Gs.kwargs["truncation_cutoff"]
            return uncurated_figure(sampler, seed, rows, lods, crop_at_res, psi, cutoff)
        return draw

    def style_mixing(sampler):
        spec = OFFICIAL_STYLE_MIXING
        named = style_ranges(sampler.num_layers)
        styles = [named[name] for name in default_row_styles(len(spec["row_seeds"]))]
        return style_mixing_figure(sampler, spec["row_seeds"], spec["col_seeds"], styles)

    def truncation(sampler):
        return truncation_figure(sampler, [91, 388], OFFICIAL_PSIS, sampler.num_layers)

    return {
        2: ("figure02-uncurated.png", "uncurated images (FFHQ layout: 3 rows, lods 0,1,2,2,3,3, seed 5; "
            "network's truncation, random noise), 2.25R x 3R",
            uncurated(1024, (0, 0, 1024, 1024), 3, [0, 1, 2, 2, 3, 3], 5)),
        3: ("figure03-style-mixing.png", "style mixing (official seeds; rows take coarse x3, middle x2, fine "
            "styles from the columns; no truncation, stored noise), 6R x 7R", style_mixing),
        4: ("figure04-noise-detail.png", "stochastic variation (seeds 1157, 1012; 100 random-noise draws: "
            "first draw, 4 zoomed crops, standard deviation; no truncation), 3R x 2R",
            lambda sampler: noise_detail_figure(sampler)),
        5: ("figure05-noise-components.png", "noise in all / no / fine / coarse layers (seeds 1967, 1555; "
            "no truncation), 2R x 2R", lambda sampler: noise_components_figure(sampler)),
        8: ("figure08-truncation-trick.png", "truncation psi 1, 0.7, 0.5, 0, -0.5, -1 on all layers "
            "(seeds 91, 388; stored noise), 6R x 2R", truncation),
        10: ("figure10-uncurated-bedrooms.png", "uncurated, LSUN-bedroom layout (5 rows, lods 0,0,1,1,2,2,2, "
             "seed 0), 3.75R x 5R", uncurated(256, (0, 0, 256, 256), 5, [0, 0, 1, 1, 2, 2, 2], 0)),
        11: ("figure11-uncurated-cars.png", "uncurated, LSUN-car layout (crop y 64-448 of 512, 4 rows, "
             "lods 0,1,2,2,3,3, seed 2), 2.25R x 3R", uncurated(512, (0, 64, 512, 384), 4, [0, 1, 2, 2, 3, 3], 2)),
        12: ("figure12-uncurated-cats.png", "uncurated, LSUN-cat layout (5 rows, lods 0,0,1,1,2,2,2, seed 1), "
             "3.75R x 5R", uncurated(256, (0, 0, 256, 256), 5, [0, 0, 1, 1, 2, 2, 2], 1)),
    }


PAPER_FIGURES = _figure_specs()


def paper_figure(number, sampler):
    """Draw official figure `number` (a key of `PAPER_FIGURES`) for `sampler`'s network:
    `(file name, uint8 [H, W, C])`."""
    if number not in PAPER_FIGURES:
        raise InputError(f"no figure {number}: the official set is {sorted(PAPER_FIGURES)}")
    name, _, draw = PAPER_FIGURES[number]
    return name, draw(sampler)
