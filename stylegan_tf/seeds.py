"""Seeds: seed lists from text, the official latents of seeds, one-hot labels and the keys of per-image noise.

The latent of seed `s` is `np.random.RandomState(s).randn(1, latent_size)`, as the official examples draw it, so
official seeds give the official images. Latents are `[N, latent_size]` float32, labels `[label_size]` float32.
"""
import re

import numpy as np

from stylegan_tf.errors import InputError

MAX_SEED = 2 ** 32 - 1  # what np.random.RandomState accepts
_RANGE = re.compile(r"\s*(\d+)\s*(?:-\s*(\d+)\s*)?")


def parse_range(text, what="range", expected="a non-negative integer or a range like 2-5"):
    """`'3'` -> `range(3, 4)`, `'2-5'` -> `range(2, 6)` (inclusive, non-negative). Anything else is an `InputError`
    naming the value as `what` and saying what was `expected`."""
    match = _RANGE.fullmatch(text)
    if match is None:
        shown = text.strip()
        if re.fullmatch(r"-\s*\d+", shown):
            raise InputError(f"{what} {shown} is negative: expected {expected}")
        if not shown:
            raise InputError(f"empty {what}: expected {expected}")
        raise InputError(f"malformed {what} {shown!r}: expected {expected}")
    lo = int(match.group(1))
    hi = lo if match.group(2) is None else int(match.group(2))
    if hi < lo:
        raise InputError(f"malformed {what} {text.strip()!r}: the range is reversed")
    return range(lo, hi + 1)


def parse_seeds(text):
    """`'0-99,123'` -> `[0, 1, ..., 99, 123]` (ranges inclusive, order kept).

    Raises `InputError` for malformed text or seeds outside `[0, MAX_SEED]`."""
    if not text or not text.strip():
        raise InputError("no seeds given (expected e.g. 0-99,123)")
    ranges = [parse_range(part, "seed") for part in text.split(",")]
    top = max(r.stop - 1 for r in ranges)
    if top > MAX_SEED:
        raise InputError(f"seed {top} is out of range: seeds must be in [0, {MAX_SEED}]")
    return [seed for r in ranges for seed in r]


def latents_from_seeds(seeds, latent_size):
    """`[len(seeds), latent_size]` float32; row i is `np.random.RandomState(seeds[i]).randn(1, latent_size)`."""
    rows = [np.random.RandomState(seed).randn(1, latent_size) for seed in seeds]
    return np.concatenate(rows).astype(np.float32) if rows else np.zeros([0, latent_size], np.float32)


def one_hot(class_idx, label_size):
    """The `[label_size]` one-hot label of `class_idx`; `InputError` when out of range."""
    if not label_size:
        raise InputError("a class was given, but the network is unconditional (label_size 0)")
    if not 0 <= class_idx < label_size:
        raise InputError(f"class {class_idx} is out of range: the network has {label_size} classes "
                         f"(0-{label_size - 1})")
    return np.eye(label_size, dtype=np.float32)[class_idx]


def noise_seeds(seeds, draws=0):
    """`[N, 2]` int64 keys `(seed, draw)` of the per-image noise of noise mode 'random' (`seeds` and `draws`
    broadcast); see `stylegan_tf.sampling.NoiseImages`."""
    seeds, draws = np.broadcast_arrays(np.asarray(seeds, np.int64), np.asarray(draws, np.int64))
    return np.stack([seeds.ravel(), draws.ravel()], axis=1)
