"""Image files (PNG, JPEG, BMP, ... anything Pillow reads) to uint8 CHW arrays, for the dataset tool.

Listing and probing a folder, choosing one square power-of-two resolution for all images, converting modes,
center-cropping and resizing, and decoding many images in parallel threads (Pillow releases the GIL while decoding
and resampling). Problems with single files are returned as reasons, so the caller can skip and list them; file
names in messages go through `stylegan_tf.fileio.printable` (a newline or terminal escape code is shown escaped).
"""
import collections
import concurrent.futures
import dataclasses
import io
import os

import numpy as np
import PIL.Image

from stylegan_tf.fileio import printable
from training.dataset import DatasetError, require_dir

_SIXTEEN_BIT_MODES = {"I", "I;16", "I;16B", "I;16L", "I;16N"}
_GRAYSCALE_MODES = {"1", "L", "LA"} | _SIXTEEN_BIT_MODES
_ALPHA_MODES = {"RGBA", "RGBa", "LA", "PA"}
_SUPPORTED_MODES = {"P", "PA", "RGB", "RGBA", "RGBa", "RGBX", "CMYK", "YCbCr", "HSV"} | _GRAYSCALE_MODES


def parallel_map(fn, items, num_threads):
    """Yields `fn(item)` for every item, in order, computing at most `4 * num_threads` results ahead."""
    num_threads = max(int(num_threads), 1)
    pool = concurrent.futures.ThreadPoolExecutor(num_threads)
    pending = collections.deque()
    try:
        for item in items:
            pending.append(pool.submit(fn, item))
            if len(pending) >= 4 * num_threads:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def list_files(image_dir):
    """Sorted paths of the regular, non-hidden files directly inside `image_dir`; DatasetError if none."""
    require_dir(image_dir, "image directory")
    files = sorted(entry.path for entry in os.scandir(image_dir)
                   if entry.is_file() and not entry.name.startswith("."))
    if not files:
        raise DatasetError(f"image directory {image_dir} is empty: no input images found")
    return files


@dataclasses.dataclass(frozen=True)
class Probe:
    """What an image header says: `size` is (width, height), `mode` the Pillow mode."""
    path: str
    size: tuple
    mode: str


def probe(path):
    """Reads only the header of `path`; returns a Probe, or a string saying why the file cannot be used."""
    try:
        with PIL.Image.open(path) as image:
            found = Probe(path, image.size, image.mode)
    except PIL.UnidentifiedImageError:
        return "not an image (unknown format)"
    except Exception as error:  # Pillow's plugins raise many exception types for malformed headers
        return f"corrupt header ({error})"
    if found.mode not in _SUPPORTED_MODES:
        return f"unsupported image mode {found.mode}"
    return found


def is_grayscale(mode):
    return mode in _GRAYSCALE_MODES


def _pow2_floor(n):
    return 1 << (int(n).bit_length() - 1)


def choose_resolution(probes, resize=None, crop=False):
    """The one output resolution for all `probes`; DatasetError naming offending files when there is none.

    With `resize`, images are scaled to `resize` (non-square ones need `crop`). Without it, images must already be
    (or, with `crop`, be center-cropped to) squares of one power-of-two size.
    """
    def examples(group):
        """'1 image (a.png 20x16) is' / '5 images (a.png 20x16, b.png 30x10, c.png 9x9, ...) are'."""
        shown = ", ".join(f"{printable(os.path.basename(p.path))} {p.size[0]}x{p.size[1]}" for p in group[:3])
        if len(group) == 1:
            return f"1 image ({shown}) is"
        return f"{len(group)} images ({shown}{', ...' if len(group) > 3 else ''}) are"

    if resize is not None and (resize < 4 or resize & (resize - 1)):
        raise DatasetError(f"--resize={resize}: the resolution must be a power of two >= 4")
    if not crop:
        non_square = [p for p in probes if p.size[0] != p.size[1]]
        if non_square:
            raise DatasetError(f"{examples(non_square)} not square; pass --crop to center-crop them"
                               + ("" if resize else " (and --resize=N to scale them to one size)"))
    if resize is not None:
        return resize
    sides = collections.defaultdict(list)
    for p in probes:
        side = min(p.size)
        sides[_pow2_floor(side) if crop else side].append(p)
    odd = [p for side, group in sides.items() if side & (side - 1) for p in group]
    if odd:
        raise DatasetError(f"{examples(odd)} not of a power-of-two size; pass --resize=N to scale them")
    if len(sides) > 1:
        counts = ", ".join(f"{len(group)} at {side}x{side}" for side, group in sorted(sides.items()))
        raise DatasetError(f"images have different sizes ({counts}); pass --resize=N to scale them to one size")
    resolution = next(iter(sides))
    if resolution < 4:
        raise DatasetError(f"images are {resolution}x{resolution}; the format needs at least 4x4 (use --resize)")
    return resolution


@dataclasses.dataclass(frozen=True)
class Converter:
    """Turns a Pillow image into uint8 `[channels, resolution, resolution]`.

    Steps: 16-bit grayscale scaled to 8 bits; transparency flattened onto black; mode converted to L or RGB;
    with `crop`, a center crop to a square (of side min(w, h) when `scale`, else of side `resolution`); with `scale`,
    a Lanczos resize when the size differs. Images already in the right mode and size pass through unchanged.
    """
    resolution: int
    channels: int
    crop: bool = False
    scale: bool = False

    def __call__(self, image):
        """Returns `(array, notes)`; `notes` lists what was done (e.g. 'L->RGB', 'cropped', 'resized')."""
        notes = []
        target_mode = "L" if self.channels == 1 else "RGB"
        if image.mode != target_mode:
            notes.append(f"{image.mode}->{target_mode}")
        if image.mode in _SIXTEEN_BIT_MODES:
            image = PIL.Image.fromarray(np.rint(np.asarray(image, np.float64) / 257).clip(0, 255).astype(np.uint8))
        if image.mode in _ALPHA_MODES or "transparency" in image.info:
            image = PIL.Image.alpha_composite(PIL.Image.new("RGBA", image.size, (0, 0, 0, 255)),
                                              image.convert("RGBA"))
        image = image.convert(target_mode)
        width, height = image.size
        side = min(width, height) if self.scale else self.resolution
        if self.crop and (width, height) != (side, side):
            image = image.crop(((width - side) // 2, (height - side) // 2, (width + side) // 2, (height + side) // 2))
            notes.append("cropped")
        if self.scale and image.size != (self.resolution, self.resolution):
            image = image.resize((self.resolution, self.resolution), PIL.Image.LANCZOS)
            notes.append("resized")
        array = np.asarray(image, np.uint8)
        array = array[np.newaxis] if array.ndim == 2 else array.transpose(2, 0, 1)
        return array, notes


def load(source, prepare):
    """Opens `source` (a path or the bytes of an encoded image), decodes it fully and applies `prepare`.

    Returns `(array, notes)` from `prepare`, or `(None, reason)` if the image cannot be decoded or used.
    """
    try:
        image = PIL.Image.open(source if isinstance(source, str) else io.BytesIO(source))
        image.load()
    except PIL.UnidentifiedImageError:
        return None, "not an image (unknown format)"
    except Exception as error:  # truncated or corrupt data: Pillow raises OSError, SyntaxError, ValueError, ...
        return None, f"corrupt ({error})"
    with image:
        if image.mode not in _SUPPORTED_MODES:
            return None, f"unsupported image mode {image.mode}"
        return prepare(image)
