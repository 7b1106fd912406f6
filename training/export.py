"""Export a network's generator (Gs) as a TensorFlow SavedModel, usable without stylegan-tf.

Usage: stylegan-export --network=PKL_OR_RUN_DIR --out=DIR [--keras_file=Gs.keras]
       (or python -m training.export ...)

The SavedModel is built in NHWC, so it runs on any CPU (and GPU), whatever layout the network
was trained in. Load it with `m = tf.saved_model.load(DIR)`; signatures (also callable as
`m.generate(...)` etc. with positional arguments):
  generate(latents [N, latent_size] float32, labels [N, label_size] float32,
           truncation_psi [] float32, truncation_cutoff [] int32, randomize_noise [] bool)
      -> {'images': uint8 [N, R, R, C]}     (psi 1 or cutoff <= 0: no truncation;
                                            the network's defaults are psi 0.7, cutoff 8)
  mapping(latents, labels) -> {'dlatents': float32 [N, num_layers, dlatent_size]} (not truncated)
  synthesis(dlatents, randomize_noise) -> {'images': uint8 [N, R, R, C]}
randomize_noise=False uses the stored noise (the official default for figures); True draws fresh
noise on every call (tf.cond: only the chosen branch runs). The first signature, generate, is also
`serving_default`. --keras_file also writes Gs as a Keras file; loading it needs stylegan-tf:
`import stylegan_tf; keras.saving.load_model(path)`.
"""
import io
import os

import keras
import tensorflow as tf
from absl import app, flags

from stylegan_tf import generate as gen
from stylegan_tf.official import dumps_networks, load_pkl
from training._cli import fail, flags_parser

_FLAGS = flags.FlagValues()
flags.DEFINE_string("network", None, gen.NETWORK_FLAG_HELP, flag_values=_FLAGS)
flags.DEFINE_string("out", None, "Directory to write the SavedModel to.", flag_values=_FLAGS)
flags.DEFINE_string("keras_file", None, "Also write Gs as a Keras file (name ending in .keras).",
                    flag_values=_FLAGS)


def nhwc_twin(net):
    """``net`` if it runs in NHWC, else a copy of it that does (same variables)."""
    return net if net.data_format == "NHWC" else load_pkl(io.BytesIO(dumps_networks(net)), data_format="NHWC")


def export_saved_model(Gs, path):  # noqa: N803
    """Write ``Gs`` as a SavedModel at ``path`` with the signatures ``generate``, ``mapping``
    and ``synthesis`` (see the module docstring), built in NHWC whatever ``Gs``'s layout, so
    that it runs on CPUs. ``Gs``'s ``lod`` is baked in."""
    Gs = nhwc_twin(Gs)  # noqa: N806
    latent_size, label_size = Gs.mapping.kwargs["latent_size"], Gs.mapping.kwargs["label_size"]
    lod = float(Gs.lod.numpy())

    def synthesis_uint8(dlatents, randomize_noise):
        images = tf.cond(randomize_noise,
                         lambda: Gs.synthesis(dlatents, lod=lod, randomize_noise=True),
                         lambda: Gs.synthesis(dlatents, lod=lod, randomize_noise=False))
        return gen.convert_images_to_uint8(images, nchw_to_nhwc=True)

    def generate(latents, labels, truncation_psi, truncation_cutoff, randomize_noise):
        dlatents = gen.truncate(Gs, Gs.mapping(latents, labels), truncation_psi, truncation_cutoff)
        return {"images": synthesis_uint8(dlatents, randomize_noise)}

    def mapping(latents, labels):
        return {"dlatents": Gs.mapping(latents, labels)}

    def synthesis(dlatents, randomize_noise):
        return {"images": synthesis_uint8(dlatents, randomize_noise)}

    latents = tf.TensorSpec([None, latent_size], tf.float32, name="latents")
    labels = tf.TensorSpec([None, label_size], tf.float32, name="labels")
    noise = tf.TensorSpec([], tf.bool, name="randomize_noise")
    dlatents = tf.TensorSpec([None, Gs.num_layers, Gs.mapping.kwargs["dlatent_size"]], tf.float32, name="dlatents")
    archive = keras.export.ExportArchive()
    archive.add_endpoint("generate", generate, input_signature=[
        latents, labels, tf.TensorSpec([], tf.float32, name="truncation_psi"),
        tf.TensorSpec([], tf.int32, name="truncation_cutoff"), noise])
    archive.add_endpoint("mapping", mapping, input_signature=[latents, labels])
    archive.add_endpoint("synthesis", synthesis, input_signature=[dlatents, noise])
    # Inference only: the custom gradients of the network ops are not saved.
    options = tf.saved_model.SaveOptions(experimental_custom_gradients=False)
    archive.write_out(os.fspath(path), options=options, verbose=False)


def main(argv):
    del argv
    f = _FLAGS
    try:
        if f.network is None or f.out is None:
            raise ValueError("--network and --out are required")
        if f.keras_file is not None and not f.keras_file.endswith(".keras"):
            raise ValueError(f"--keras_file {f.keras_file!r} must end in .keras")
        Gs = gen.load_Gs(f.network, data_format="NHWC")  # noqa: N806
        if Gs.build_func_name != "G_style":
            raise ValueError(f"{f.network}: {Gs.build_func_name} networks have no mapping network; "
                             f"stylegan-export supports StyleGAN generators (G_style)")
    except ValueError as error:
        fail(error)
    export_saved_model(Gs, f.out)
    print(f"wrote SavedModel {f.out} (signatures: generate, mapping, synthesis)")
    if f.keras_file is not None:
        Gs.save(f.keras_file)
        print(f"wrote {f.keras_file}")
    return 0


def run_main(argv=None):
    """Console script ``stylegan-export``."""
    app.run(main, argv=argv, flags_parser=flags_parser(_FLAGS, __doc__))


if __name__ == "__main__":
    run_main()
