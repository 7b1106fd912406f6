"""stylegan-tf: the official StyleGAN (v1), StyleGAN2 and ProGAN networks for TensorFlow 2 / Keras 3.

Public entry points::

    G, D, Gs = stylegan_tf.load_network_pkl("network-snapshot.pkl")
    images = Gs(latents, labels, truncation_psi=0.7)       # NCHW, [-1, 1]
    stylegan_tf.save_network_pkl((G, D, Gs), "copy.pkl")
"""
from stylegan_tf.network_base import OfficialNetwork
from stylegan_tf.networks_progan import D_paper, G_paper
from stylegan_tf.networks_stylegan import D_basic, G_mapping, G_style, G_synthesis
from stylegan_tf.networks_stylegan2 import G_main, G_synthesis_stylegan2, G_synthesis_stylegan_revised
from stylegan_tf.networks_stylegan2_d import D_stylegan, D_stylegan2
from stylegan_tf.official import NetworkPickleError, load_network_pkl, load_pkl, save_network_pkl

__all__ = ["D_basic", "D_paper", "D_stylegan", "D_stylegan2", "G_main", "G_mapping", "G_paper", "G_style",
           "G_synthesis", "G_synthesis_stylegan2", "G_synthesis_stylegan_revised", "NetworkPickleError",
           "OfficialNetwork", "load_network_pkl", "load_pkl", "save_network_pkl"]
__version__ = "0.1.0"
