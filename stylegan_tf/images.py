"""Images for files: the official float -> uint8 conversion, PIL images, image files, grids and GIFs.

Networks give float images `[N, C, H, W]` (NCHW) in about [-1, 1]; what this module writes and assembles is uint8
NHWC `[N, H, W, C]` (single images `[H, W, C]`, C = 1, 3 or 4), as the official
`convert_images_to_uint8(..., nchw_to_nhwc=True)` gives them. Files are written atomically (complete or not at all).
"""
import os

import numpy as np
import PIL.Image
import tensorflow as tf

from stylegan_tf.errors import InputError
from stylegan_tf.fileio import atomic_write


def convert_images_to_uint8(images, drange=(-1, 1), nchw_to_nhwc=False, shrink=1):
    """Official conversion of float images `[N, C, H, W]` in `drange` to uint8 (usable inside `tf.function`).

    `x * s + (0.5 - lo * s)` with `s = 255 / (hi - lo)`, then a saturating cast (clip to [0, 255], truncate), i.e.
    rounding half up. `shrink`: box-downscale first; `nchw_to_nhwc`: return `[N, H, W, C]`.
    """
    images = tf.cast(images, tf.float32)
    if shrink > 1 or nchw_to_nhwc:
        images = tf.transpose(images, [0, 2, 3, 1])  # NHWC: what CPU pooling supports
    if shrink > 1:
        images = tf.nn.avg_pool2d(images, shrink, shrink, "VALID")
        images = images if nchw_to_nhwc else tf.transpose(images, [0, 3, 1, 2])
    scale = 255 / (drange[1] - drange[0])
    return tf.saturate_cast(images * scale + (0.5 - drange[0] * scale), tf.uint8)


def to_pil(image):
    """uint8 `[H, W, C]` -> a PIL image ('L' for 1 channel, 'RGB' for 3, 'RGBA' for 4)."""
    image = np.asarray(image, np.uint8)
    return PIL.Image.fromarray(image[:, :, 0] if image.shape[2] == 1 else image)


def from_pil(image, channels):
    """A PIL image -> uint8 `[H, W, channels]`."""
    array = np.asarray(image, np.uint8)
    return array[:, :, None] if array.ndim == 2 else array[:, :, :channels]


def _image_format(path):
    """The PIL format of `path`'s extension (`.png` -> 'PNG'); `InputError` for an unknown one."""
    extension = os.path.splitext(os.fspath(path))[1].lower()
    image_format = PIL.Image.registered_extensions().get(extension)
    if image_format is None:
        raise InputError(f"{path}: unknown image file extension {extension or '(none)'!r} (use e.g. .png or .jpg)")
    return image_format


def save_image(image, path):
    """Write uint8 `[H, W, C]` as an image file, its format from the extension of `path`."""
    image_format = _image_format(path)
    with atomic_write(path) as f:
        to_pil(image).save(f, format=image_format)


def save_gif(frames, path, fps=24):
    """Write uint8 frames `[F, H, W, C]` as a looping GIF (Pillow merges a frame identical to the previous one into
    it)."""
    images = [to_pil(f) for f in frames]
    with atomic_write(path) as f:
        images[0].save(f, format="GIF", save_all=True, append_images=images[1:], duration=1000 / fps, loop=0)


def assemble_grid(rows, fill=255):
    """A grid of equally sized uint8 `[H, W, C]` cells (`rows`: list of lists; `None` cells and missing cells at
    the end of short rows are filled with `fill`, white by default) -> uint8 `[rows * H, cols * W, C]`."""
    sample = next(cell for row in rows for cell in row if cell is not None)
    blank = np.full_like(sample, fill)
    cols = max(len(row) for row in rows)
    return np.concatenate([np.concatenate([blank if c is None else c for c in list(row) + [None] * (cols - len(row))],
                                          axis=1) for row in rows], axis=0)
