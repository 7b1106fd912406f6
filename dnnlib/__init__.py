"""Official-compatible facade: ``dnnlib.EasyDict``, ``dnnlib.util``, ``dnnlib.tflib``.

Scripts written for NVIDIA's official StyleGAN keep working: ``pickle.load`` of an
official network pickle (after ``import dnnlib``) yields ``dnnlib.tflib.Network``
objects backed by our Keras networks (the pickled module source is never executed).
"""
from dnnlib import util
from dnnlib.util import EasyDict

__all__ = ["EasyDict", "util"]
