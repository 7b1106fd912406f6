"""Official `dnnlib.util` helpers: `EasyDict`, `format_time`, `open_url`, and `load_pkl`, the safe way to open a
network pickle from an official-style script."""
import hashlib
import io
import os
import re
import urllib.error
import urllib.parse
import urllib.request

from stylegan_tf import fileio, official
from stylegan_tf.progress import format_time  # noqa: F401 (the official dnnlib.util.format_time)


class EasyDict(dict):
    """A dict whose items are also attributes (``d.key`` is ``d['key']``)."""

    def __getattr__(self, name):
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None

    def __setattr__(self, name, value):
        self[name] = value

    def __delattr__(self, name):
        del self[name]


def default_cache_dir():
    """``$DNNLIB_CACHE_DIR``, else ``~/.cache/dnnlib``."""
    return os.environ.get("DNNLIB_CACHE_DIR") or os.path.join(os.path.expanduser("~"), ".cache", "dnnlib")


def _looks_like_html(data):
    head = data[:512].lstrip().lower()
    return head.startswith((b"<!doctype html", b"<html", b"<head", b"<body"))


def open_url(url, cache_dir=None, num_attempts=3, verbose=True):
    """Open a local path, a ``file://`` URL or an ``http(s)://`` URL as a binary file object.

    Downloads are cached in ``cache_dir`` (default: ``default_cache_dir()``) under a name
    derived from the URL, written atomically. A response that is an HTML page (e.g. a
    quota or sign-in page instead of the file) is an error, and is not cached.
    """
    scheme = urllib.parse.urlparse(str(url)).scheme
    if scheme in ("", "file") or re.match(r"^[A-Za-z]:[\\/]", str(url)):
        path = urllib.request.url2pathname(urllib.parse.urlparse(url).path) if scheme == "file" else url
        if not os.path.isfile(path):
            raise FileNotFoundError(f"no such file: {path}")
        return open(path, "rb")
    if scheme not in ("http", "https"):
        raise ValueError(f"unsupported URL scheme '{scheme}' in {url}")

    cache_dir = cache_dir or default_cache_dir()
    url_md5 = hashlib.md5(url.encode("utf-8")).hexdigest()
    name = re.sub(r"[^0-9A-Za-z._-]", "_", os.path.basename(urllib.parse.urlparse(url).path)) or "download"
    cache_file = os.path.join(cache_dir, f"{url_md5}_{name}")
    if os.path.isfile(cache_file):
        return open(cache_file, "rb")

    data, error = None, None
    for _attempt in range(num_attempts):
        try:
            if verbose:
                print(f"Downloading {url} ...", flush=True)
            with urllib.request.urlopen(url, timeout=60) as response:
                data = response.read()
            break
        except urllib.error.HTTPError as e:  # a definite answer: do not retry
            raise OSError(f"cannot download {url}: HTTP {e.code} {e.reason}") from None
        except (urllib.error.URLError, OSError) as e:
            error = e
    if data is None:
        raise OSError(f"cannot download {url}: {error}")
    if _looks_like_html(data):
        raise OSError(f"{url} returned an HTML page instead of the file (a quota, sign-in or error page?); "
                      f"download it by hand and pass the local path")
    os.makedirs(cache_dir, exist_ok=True)
    fileio.write_bytes(cache_file, data)
    return io.BytesIO(data)


def load_pkl(file_or_url, data_format="auto"):
    """Open a network pickle safely: the structure it holds (for a snapshot the tuple `(G, D, Gs)`) with every
    network as a `dnnlib.tflib.Network`, read with the restricted unpickler of `stylegan_tf.official` (nothing in
    the file is executed). `file_or_url`: a path, a `file://` or `http(s)://` URL, or a binary file object.

    This is what official-style scripts should call for files they did not make: `pickle.load` after
    `import dnnlib` builds the same networks, but `pickle.load` itself runs whatever other code a hostile file asks
    for before any network is reached. Raises `stylegan_tf.NetworkPickleError` with a one-line reason.
    """
    from dnnlib.tflib.network import Network

    def wrap(obj):
        if isinstance(obj, (tuple, list)):
            return type(obj)(wrap(o) for o in obj)
        if isinstance(obj, dict):
            return {k: wrap(v) for k, v in obj.items()}
        return Network.from_model(obj) if hasattr(obj, "build_func_name") else obj

    if hasattr(file_or_url, "read"):
        return wrap(official.load_pkl(file_or_url, data_format))
    with open_url(file_or_url) as f:
        return wrap(official.load_pkl(f, data_format))
