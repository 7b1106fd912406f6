"""Official-compatible facade: ``dnnlib.EasyDict``, ``dnnlib.util``, ``dnnlib.tflib``.

Scripts written for NVIDIA's official StyleGAN keep working: ``pickle.load`` of an official network pickle (after
``import dnnlib``) yields ``dnnlib.tflib.Network`` objects backed by our Keras networks, and the pickled module
source is never executed. ``pickle.load`` itself, however, runs whatever code a hostile file names: open files you
did not make with ``dnnlib.util.load_pkl(path_or_url)``, which gives the same networks through a restricted
unpickler that executes nothing.
"""
from dnnlib import util
from dnnlib.util import EasyDict

__all__ = ["EasyDict", "util"]
