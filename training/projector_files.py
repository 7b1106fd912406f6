"""The projector's files: target images in, `projected_w.npz` (dlatents and noise maps), pictures and videos out.

Targets are read with the dataset tool's code (`training.image_files`): any image Pillow opens, transparency flattened
onto black, center-cropped to a square and resized (Lanczos) to the network's resolution, converted to its channels.
A grayscale network takes grayscale targets only (a color image is refused; an RGB file whose channels are equal is
gray). Images are uint8 NHWC `[R, R, C]`.

`projected_w.npz` holds `dlatents` `[N, num_layers, dlatent_size]` float32 and, per noise layer `i` of the synthesis
network, `noise<i>` `[N, 1, H, W]` float32 (the official names and shapes of the network's noise variables).
"""
import os

import numpy as np

from stylegan_tf.errors import InputError
from stylegan_tf.fileio import atomic_write, printable
from stylegan_tf.images import save_gif, save_image
from training import image_files
from training.projector_synthesis import noise_map_shapes, stored_noise_maps

PROJECTED_W = "projected_w.npz"
TARGET_PNG, PROJ_PNG, PROJ_GIF, PROJ_MP4 = "target.png", "proj.png", "proj.gif", "proj.mp4"
VIDEO_FPS = 10
MAX_VIDEO_FRAMES = 100


# ----------------------------------------------------------------------------
# Targets.

def _has_color(image):
    rgb = np.asarray(image.convert("RGB"))
    return not (np.array_equal(rgb[..., 0], rgb[..., 1]) and np.array_equal(rgb[..., 0], rgb[..., 2]))


def target_converter(resolution, channels):
    """`prepare(PIL image) -> (uint8 [R, R, C], notes)` or `(None, reason)`, for `training.image_files.load`."""
    if channels not in (1, 3):
        raise InputError(f"only networks with 1 or 3 channels take target images; this one has {channels}")
    convert = image_files.Converter(resolution, channels, crop=True, scale=True)

    def prepare(image):
        if channels == 1 and not image_files.is_grayscale(image.mode) and _has_color(image):
            return None, f"a color image ({image.mode}), but the network is grayscale: convert it to grayscale first"
        array, notes = convert(image)
        return array.transpose(1, 2, 0), notes

    return prepare


def read_target(path, resolution, channels):
    """The target image at `path` as uint8 `[resolution, resolution, channels]`; `InputError` saying why not."""
    if not os.path.isfile(path):
        raise InputError(f"target {path}: " + ("is not a file" if os.path.exists(path) else "no such file"))
    image, reason = image_files.load(os.fspath(path), target_converter(resolution, channels))
    if image is None:
        raise InputError(f"target {printable(os.fspath(path))}: {reason}")
    return image


def read_targets(path, resolution, channels):
    """`([(name, uint8 [R, R, C]), ...], {name: reason})`: the image file `path`, or every file directly in the
    folder `path` (sorted; hidden files left out) with the unusable ones skipped and named. `InputError` when
    `path` is a file that cannot be used, or a folder without one usable image."""
    if not os.path.isdir(path):
        return [(os.path.basename(path), read_target(path, resolution, channels))], {}
    prepare = target_converter(resolution, channels)
    targets, skipped = [], {}
    for file in image_files.list_files(path):
        image, reason = image_files.load(file, prepare)
        if image is None:
            skipped[os.path.basename(file)] = reason
        else:
            targets.append((os.path.basename(file), image))
    if not targets:
        name, reason = min(skipped.items())
        raise InputError(f"no usable target images in {printable(os.fspath(path))}: none of its {len(skipped)} "
                         f"file(s) can be used, e.g. {printable(name)}: {reason}")
    return targets, skipped


# ----------------------------------------------------------------------------
# projected_w.npz.

def save_projected_w(path, dlatents, noises):
    """Write `projected_w.npz`: `dlatents [N, L, D]`, `noise<i>` `[N, 1, H, W]` (atomically)."""
    arrays = {"dlatents": np.asarray(dlatents, np.float32)}
    arrays.update({f"noise{i}": np.asarray(noise, np.float32) for i, noise in enumerate(noises)})
    with atomic_write(path) as f:
        np.savez(f, **arrays)


def projected_w_files(path):
    """The `projected_w.npz` files `path` stands for: the file itself, the one in the directory `path`, or (the
    output of a folder of targets) those in its subdirectories, sorted. `InputError` when there is none."""
    path = os.fspath(path)
    if os.path.isfile(path):
        return [path]
    if os.path.isdir(path):
        if os.path.isfile(os.path.join(path, PROJECTED_W)):
            return [os.path.join(path, PROJECTED_W)]
        found = sorted(os.path.join(entry.path, PROJECTED_W) for entry in os.scandir(path)
                       if entry.is_dir() and os.path.isfile(os.path.join(entry.path, PROJECTED_W)))
        if found:
            return found
        raise InputError(f"{printable(path)}: no {PROJECTED_W} in this directory nor in its subdirectories")
    raise InputError(f"{printable(path)}: no such file (expected a {PROJECTED_W} of stylegan-project, or a "
                     f"directory holding one)")


def load_projected_w(path, Gs):  # noqa: N803
    """`(dlatents [N, num_layers, D], noises)` of the `projected_w.npz` file `path`, checked against the StyleGAN
    generator `Gs`; `noises` is a list of `[N, 1, H, W]` per noise layer, or None when the file holds no noise
    maps. `InputError` naming the problem for anything else."""
    shown = printable(os.fspath(path))
    try:
        with np.load(path, allow_pickle=False) as npz:
            arrays = {name: npz[name] for name in npz.files}
    except Exception as error:  # noqa: BLE001 (zipfile, ValueError, OSError ...: a damaged or foreign file)
        raise InputError(f"{shown}: not a readable .npz file ({type(error).__name__}: {error})") from None
    num_layers, dlatent_size = Gs.num_layers, int(Gs.synthesis.dlatents_shape[2])
    dlatents = arrays.get("dlatents")
    if dlatents is None:
        raise InputError(f"{shown}: no 'dlatents' array (it has {', '.join(sorted(arrays)) or 'none'})")
    if dlatents.ndim != 3 or dlatents.shape[1:] != (num_layers, dlatent_size) or not len(dlatents):
        raise InputError(f"{shown}: dlatents of shape {list(dlatents.shape)} do not fit the network (expected "
                         f"[N, {num_layers}, {dlatent_size}])")
    if not np.issubdtype(dlatents.dtype, np.floating) or not np.all(np.isfinite(dlatents)):
        raise InputError(f"{shown}: the dlatents are not finite floating-point numbers")
    shapes = noise_map_shapes(Gs.synthesis)
    extra = sorted(set(arrays) - {"dlatents"} - {f"noise{i}" for i in range(len(shapes))})
    if extra:
        raise InputError(f"{shown}: unexpected array(s) {', '.join(extra)} (this network has {len(shapes)} noise "
                         f"maps)")
    if len(arrays) == 1:
        return dlatents.astype(np.float32), None
    noises = []
    for i, shape in enumerate(shapes):
        noise = arrays.get(f"noise{i}")
        expected = (len(dlatents), *shape[1:])
        if noise is None or noise.shape != expected:
            found = "missing" if noise is None else f"of shape {list(noise.shape)}"
            raise InputError(f"{shown}: noise map noise{i} is {found} (expected {list(expected)} for this network)")
        noises.append(noise.astype(np.float32))
    return dlatents.astype(np.float32), noises


def load_projected_ws(paths, Gs):  # noqa: N803
    """`(dlatents [N, num_layers, D], noises)` of the `projected_w.npz` files `paths` stand for (see
    `projected_w_files`, `load_projected_w`), concatenated in order; a file without noise maps gets the network's
    stored ones. `noises`: `[N, 1, H, W]` per noise layer."""
    if not paths:
        raise InputError("no projected_w.npz given")
    stored = stored_noise_maps(Gs.synthesis)
    dlatents, noises = [], []
    for path in [file for given in paths for file in projected_w_files(given)]:
        w, maps = load_projected_w(path, Gs)
        dlatents.append(w)
        noises.append(maps if maps is not None else [np.repeat(m, len(w), axis=0) for m in stored])
    return np.concatenate(dlatents), [np.concatenate(layer) for layer in zip(*noises)]


# ----------------------------------------------------------------------------
# Pictures and videos.

def video_steps(num_steps, max_frames=MAX_VIDEO_FRAMES):
    """The steps (1 ... num_steps) after which a video frame is taken: at most `max_frames`, evenly spaced, the
    last step included."""
    count = min(num_steps, max_frames)
    return sorted({round(num_steps * (i + 1) / count) for i in range(count)})


def side_by_side(target, frames):
    """uint8 `[F, R, 2R, C]`: the target left of each frame."""
    return np.stack([np.concatenate([target, frame], axis=1) for frame in frames])


def save_mp4(frames, path, fps=VIDEO_FPS):
    """Write uint8 frames `[F, H, W, C]` as an H.264 MP4 if the optional package imageio-ffmpeg is installed;
    returns whether it was."""
    try:
        import imageio_ffmpeg
    except ImportError:
        return False
    frames = np.asarray(frames)
    if frames.shape[3] == 1:
        frames = np.repeat(frames, 3, axis=3)
    partial = f"{path}.partial.mp4"
    writer = imageio_ffmpeg.write_frames(partial, (frames.shape[2], frames.shape[1]), fps=fps, codec="libx264",
                                         pix_fmt_in="rgb24", macro_block_size=1, quality=8)
    try:
        writer.send(None)
        for frame in frames:
            writer.send(np.ascontiguousarray(frame))
    finally:
        writer.close()
    os.replace(partial, path)
    return True


def save_projection(outdir, projection, save_video=False):
    """Write `projection` (a `training.projector.Projection`) to `outdir`: `target.png`, `proj.png`,
    `projected_w.npz` and with `save_video` `proj.gif` (target | progress, `VIDEO_FPS`) and, if imageio-ffmpeg is
    installed, `proj.mp4`. Returns the names written."""
    os.makedirs(outdir, exist_ok=True)
    save_image(projection.target, os.path.join(outdir, TARGET_PNG))
    save_image(projection.image, os.path.join(outdir, PROJ_PNG))
    save_projected_w(os.path.join(outdir, PROJECTED_W), projection.dlatents, projection.noises)
    written = [TARGET_PNG, PROJ_PNG, PROJECTED_W]
    if save_video and projection.frames:
        frames = side_by_side(projection.target, projection.frames)
        save_gif(frames, os.path.join(outdir, PROJ_GIF), fps=VIDEO_FPS)
        written.append(PROJ_GIF)
        if save_mp4(frames, os.path.join(outdir, PROJ_MP4)):
            written.append(PROJ_MP4)
    return written
