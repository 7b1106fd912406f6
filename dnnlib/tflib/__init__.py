"""Official ``dnnlib.tflib`` API on TensorFlow 2: ``Network``, ``init_tf``,
``convert_images_to_uint8``."""
from dnnlib.tflib import network, tfutil
from dnnlib.tflib.network import Network
from dnnlib.tflib.tfutil import convert_images_to_uint8, init_tf, is_tf_expression, lerp, lerp_clip

__all__ = ["Network", "convert_images_to_uint8", "init_tf", "is_tf_expression", "lerp", "lerp_clip",
           "network", "tfutil"]
