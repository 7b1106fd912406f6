"""stylegan-export: write a network's generator (Gs) as a TensorFlow SavedModel, usable without stylegan-tf.

    stylegan-export --network=PKL_OR_RUN_DIR --out=DIR [--keras_file=Gs.keras] [--overwrite]

The SavedModel is built in NHWC, so it runs on any CPU (and GPU), whatever layout the network was trained in. Load
it with `m = tf.saved_model.load(DIR)`; its functions (also signatures, with keyword arguments; generate is also
serving_default):
  generate(latents [N, latent_size] float32, labels [N, label_size] float32,
           truncation_psi [] float32, truncation_cutoff [] int32, randomize_noise [] bool)
      -> {'images': uint8 [N, R, R, C]}     (psi 1 or cutoff <= 0: no truncation;
                                            the network's defaults are psi 0.7, cutoff 8)
  mapping(latents, labels) -> {'dlatents': float32 [N, num_layers, dlatent_size]} (not truncated)
  synthesis(dlatents, randomize_noise) -> {'images': uint8 [N, R, R, C]}
  sizes() -> {'latent_size', 'label_size', 'dlatent_size', 'num_layers', 'resolution', 'num_channels'} (int32)
randomize_noise=False uses the stored noise (the official default for figures); True draws fresh noise on every
call. An input of the wrong shape fails with a message naming the expected shape. The SavedModel appears complete
or not at all; an existing one is replaced only with --overwrite. --keras_file also writes Gs as a Keras file;
loading it needs stylegan-tf: `import stylegan_tf; keras.saving.load_model(path)`. Also `python -m cli.export`.
"""
from absl import flags

from cli import base
from stylegan_tf import export, network_files

FLAGS = flags.FlagValues()
flags.DEFINE_string("network", None, base.NETWORK_HELP, flag_values=FLAGS)
flags.DEFINE_string("out", None, "Directory to write the SavedModel to.", flag_values=FLAGS)
flags.DEFINE_string("keras_file", None, "Also write Gs as a Keras file (name ending in .keras).", flag_values=FLAGS)
flags.DEFINE_bool("overwrite", False, "Replace an existing SavedModel at --out (and an existing --keras_file).",
                  flag_values=FLAGS)


def main(args):
    del args  # none (checked by cli.base)
    f = FLAGS
    if f.network is None or f.out is None:
        raise base.UsageError("--network and --out are required")
    export.saved_model_directory(f.out, f.overwrite)  # checks --out before the network is loaded
    if f.keras_file is not None:
        export.check_keras_path(f.keras_file, f.overwrite)
    network = network_files.resolve_network(f.network)
    Gs = network_files.load_Gs(network, data_format="NHWC")  # noqa: N806
    print(f"loaded {network}: {Gs.build_func_name}", flush=True)
    export.export_saved_model(Gs, f.out, overwrite=f.overwrite)
    print(f"wrote SavedModel {f.out} (signatures: {', '.join(export.SIGNATURES)})")
    if f.keras_file is not None:
        export.save_keras(Gs, f.keras_file, overwrite=f.overwrite)
        print(f"wrote {f.keras_file}")
    return 0


COMMAND = base.Command("stylegan-export", __doc__, FLAGS, main)


def run_main(argv=None):
    """Console script `stylegan-export`."""
    base.run(COMMAND, argv)


if __name__ == "__main__":
    run_main()
