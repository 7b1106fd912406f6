"""Exporting a StyleGAN or StyleGAN2 generator `Gs` as a TensorFlow SavedModel that runs without this package, or as a
Keras file.

The SavedModel is built in NHWC, so it runs on any CPU (and GPU) whatever layout the network was trained in; `Gs`'s
`lod` is baked in. Loaded with `m = tf.saved_model.load(path)`, it has these functions, also signatures for TF
Serving (`m.signatures[name]`, keyword arguments; `generate` is also `serving_default`):

- `generate(latents [N, latent_size] float32, labels [N, label_size] float32, truncation_psi [] float32,
  truncation_cutoff [] int32, randomize_noise [] bool)` -> `{'images': uint8 [N, R, R, C]}`;
- `mapping(latents, labels)` -> `{'dlatents': float32 [N, num_layers, dlatent_size]}` (not truncated);
- `synthesis(dlatents [N, num_layers, dlatent_size] float32, randomize_noise)` -> `{'images': uint8 [N, R, R, C]}`;
- `sizes()` -> int32 scalars `latent_size`, `label_size`, `dlatent_size`, `num_layers`, `resolution`, `num_channels`.

Psi 1 or cutoff <= 0 disables truncation (the network's defaults: psi 0.7, cutoff 8 for StyleGAN's `G_style`; psi
0.5 on every layer, cutoff `num_layers`, for StyleGAN2's `G_main`); `randomize_noise=False`
uses the stored noise, `True` draws fresh noise on every call (a `tf.cond`: only the chosen branch runs). An input of
the wrong shape, or a psi that is not finite, fails with an `InvalidArgumentError` whose message names the expected
shape (`latents must be [N, 512] float32, got shape [1 256]`).
"""
import io
import os
import tempfile

import keras
import tensorflow as tf

from stylegan_tf.errors import InputError
from stylegan_tf.fileio import AtomicDirectory, check_directory_path
from stylegan_tf.images import convert_images_to_uint8
from stylegan_tf.official import dumps_networks, load_pkl
from stylegan_tf.sampling import truncate

SIGNATURES = ("generate", "mapping", "synthesis", "sizes")


def nhwc_twin(net):
    """`net` if it runs in NHWC, else a copy of it that does (same variables)."""
    return net if net.data_format == "NHWC" else load_pkl(io.BytesIO(dumps_networks(net)), data_format="NHWC")


def is_saved_model(path):
    """Whether the directory `path` holds a SavedModel."""
    return os.path.isfile(os.path.join(path, "saved_model.pb"))


def saved_model_directory(path, overwrite=False):
    """The `AtomicDirectory` a SavedModel at `path` is written through. Checks `path` now, before any work:
    `InputError` if it or a parent is a file, or it is an existing non-empty directory and not `overwrite`, or not a
    SavedModel."""
    check_directory_path(path, "SavedModel directory")
    return AtomicDirectory(path, overwrite=overwrite, is_replaceable=is_saved_model, what="SavedModel")


def _checked(tensor, shape, what, note=""):
    """`tensor` with its static shape set to `shape` (entries: sizes, or scalar tensors such as the batch size of
    another input, shown as N), after an assertion that it has that shape: a wrong shape fails with `<what> must be
    [N, 512] float32<note>, got shape [1 256]` before anything uses it."""
    actual = tf.shape(tensor)
    padded = tf.concat([actual, tf.fill([len(shape)], -1)], 0)[:len(shape)]
    ok = tf.equal(tf.size(actual), len(shape))
    for i, size in enumerate(shape):
        ok = tf.logical_and(ok, tf.equal(padded[i], size))
    expected = ", ".join(str(size) if isinstance(size, int) else "N" for size in shape)
    check = tf.debugging.Assert(ok, [f"{what} must be [{expected}] float32{note}, got shape", actual])
    with tf.control_dependencies([check]):
        return tf.ensure_shape(tf.identity(tensor), [size if isinstance(size, int) else None for size in shape])


def export_saved_model(Gs, path, overwrite=False):  # noqa: N803
    """Write `Gs` (a StyleGAN or StyleGAN2 generator) as a SavedModel at `path` (see the module docstring),
    atomically: the directory appears complete or not at all. An existing SavedModel is replaced only with
    `overwrite`."""
    if getattr(Gs, "mapping", None) is None:
        raise InputError(f"{Gs.build_func_name} networks have no mapping network; a SavedModel is exported from "
                         f"StyleGAN and StyleGAN2 generators (G_style, G_main)")
    target = saved_model_directory(path, overwrite)
    Gs = nhwc_twin(Gs)  # noqa: N806
    kwargs = Gs.mapping.kwargs
    latent_size, label_size, dlatent_size = kwargs["latent_size"], kwargs["label_size"], kwargs["dlatent_size"]
    _, num_channels, resolution, _ = Gs.official_output_shape
    lod = float(Gs.lod.numpy())

    def checked_inputs(latents, labels):
        n = tf.shape(latents)[0]
        return (_checked(latents, [n, latent_size], "latents"),
                _checked(labels, [n, label_size], "labels", note=" (N: the number of latents)"))

    def synthesis_uint8(dlatents, randomize_noise):
        dlatents = _checked(dlatents, [tf.shape(dlatents)[0], Gs.num_layers, dlatent_size], "dlatents")
        images = tf.cond(randomize_noise,
                         lambda: Gs.synthesis(dlatents, lod=lod, randomize_noise=True),
                         lambda: Gs.synthesis(dlatents, lod=lod, randomize_noise=False))
        return convert_images_to_uint8(images, nchw_to_nhwc=True)

    def generate(latents, labels, truncation_psi, truncation_cutoff, randomize_noise):
        latents, labels = checked_inputs(latents, labels)
        truncation_psi = tf.debugging.assert_all_finite(truncation_psi, "truncation_psi must be a finite number")
        dlatents = truncate(Gs, Gs.mapping(latents, labels), truncation_psi, truncation_cutoff)
        return {"images": synthesis_uint8(dlatents, randomize_noise)}

    def mapping(latents, labels):
        return {"dlatents": Gs.mapping(*checked_inputs(latents, labels))}

    def synthesis(dlatents, randomize_noise):
        return {"images": synthesis_uint8(dlatents, randomize_noise)}

    def sizes():
        return {name: tf.constant(value, tf.int32) for name, value in [
            ("latent_size", latent_size), ("label_size", label_size), ("dlatent_size", dlatent_size),
            ("num_layers", Gs.num_layers), ("resolution", resolution), ("num_channels", num_channels)]}

    # Shapes are checked inside the functions (a readable message), not by the signatures (a long TypeError).
    latents = tf.TensorSpec(None, tf.float32, name="latents")
    labels = tf.TensorSpec(None, tf.float32, name="labels")
    noise = tf.TensorSpec([], tf.bool, name="randomize_noise")
    archive = keras.export.ExportArchive()
    archive.add_endpoint("generate", generate, input_signature=[
        latents, labels, tf.TensorSpec([], tf.float32, name="truncation_psi"),
        tf.TensorSpec([], tf.int32, name="truncation_cutoff"), noise])
    archive.add_endpoint("mapping", mapping, input_signature=[latents, labels])
    archive.add_endpoint("synthesis", synthesis,
                         input_signature=[tf.TensorSpec(None, tf.float32, name="dlatents"), noise])
    archive.add_endpoint("sizes", sizes, input_signature=[])
    # Inference only: the custom gradients of the network ops are not saved.
    options = tf.saved_model.SaveOptions(experimental_custom_gradients=False)
    with target as temp:
        archive.write_out(temp, options=options, verbose=False)


def check_keras_path(path, overwrite=False):
    """`InputError` unless `path` can take a Keras file: a name ending in `.keras`, not a directory, not an existing
    file unless `overwrite`."""
    if not os.fspath(path).endswith(".keras"):
        raise InputError(f"{path}: a Keras file name must end in .keras")
    if os.path.isdir(path):
        raise InputError(f"{path} is a directory: give a file name for the Keras file")
    if os.path.lexists(path) and not overwrite:
        raise InputError(f"{path} already exists; pass --overwrite to replace it")


def save_keras(Gs, path, overwrite=False):  # noqa: N803
    """Write `Gs` as a Keras file `path` (atomically); loading it needs this package (`import stylegan_tf;
    keras.saving.load_model(path)`)."""
    check_keras_path(path, overwrite)
    parent, name = os.path.split(os.path.abspath(path))
    os.makedirs(parent, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=f".{name}.tmp-", dir=parent) as temp:  # Keras saves to a path only
        keras.saving.save_model(Gs, os.path.join(temp, name))
        os.replace(os.path.join(temp, name), path)
