"""StyleGAN2 networks downstream of loading: sampling (truncation, noise modes), stylegan-generate in every mode,
stylegan-export, stylegan-convert, the metrics' image source and the generation benchmark, on the official
StyleGAN2 fixture pickle (``G_main``, 32x32 RGB, 8 style layers, 7 noise layers)."""
import json

import keras
import numpy as np
import PIL.Image
import pytest
import tensorflow as tf

import stylegan_tf
from cli import base, bench as bench_cli, convert, export as export_cli, generate as generate_cli
from metrics.sources import GeneratorImages
from stylegan_tf import benchmark, checkpoints, figures, network_files, networks_stylegan2, sampling
from stylegan_tf.official import read_pickle
from stylegan_tf.seeds import latents_from_seeds, noise_seeds

R, SEEDS = 32, [0, 1, 42]


@pytest.fixture(scope="module")
def pkl(fixtures_dir):
    return str(fixtures_dir / "official_stylegan2" / "network-snapshot.pkl")


@pytest.fixture(scope="module")
def Gs(pkl):  # noqa: N802
    return network_files.load_Gs(pkl, data_format="NHWC")


@pytest.fixture(scope="module")
def sampler(Gs):  # noqa: N803
    return sampling.Sampler(Gs, batch_size=4)


def run_cli(module, *args):
    with pytest.raises(SystemExit) as exit_info:
        module.run_main(["tool", *args])
    return exit_info.value.code or 0


def test_sampler_truncates_every_layer_when_the_cutoff_is_none(Gs, sampler):  # noqa: N803
    """StyleGAN2's cutoff None is every layer (StyleGAN's is none); the sampler equals ``Gs`` itself."""
    latents = latents_from_seeds(SEEDS, 64)
    for psi, cutoff in [(0.5, None), (0.7, 4), (None, None), (-0.4, None)]:
        expected = Gs(tf.constant(latents), truncation_psi=psi, truncation_cutoff=cutoff, randomize_noise=False)
        uint8 = np.clip(np.rint(np.transpose(expected.numpy(), [0, 2, 3, 1]) * 127.5 + 127.5), 0, 255)
        got = sampler.images_for_seeds(SEEDS, psi, cutoff)
        assert np.abs(got.astype(int) - uint8).max() <= 1, (psi, cutoff)
    assert not np.array_equal(sampler.images_for_seeds(SEEDS, 0.5, None), sampler.images_for_seeds(SEEDS))
    assert Gs.truncation.layers_below(None, Gs.num_layers) == 8


def test_noise_images_follow_the_stylegan2_layers(Gs, sampler):  # noqa: N803
    """One noise layer at 4x4, two at each larger resolution: the stored noise through ``NoiseImages`` (with a mask
    keeping every layer) is exactly ``randomize_noise=False``; masks select layers; random noise is reproducible
    per seed and differs between seeds and from the stored noise."""
    dlatents = sampler.dlatents(latents_from_seeds(SEEDS, 64))
    stored = sampler.synthesize(dlatents, "const")
    np.testing.assert_array_equal(sampler.synthesize(dlatents, "const", noise_layers=range(Gs.num_layers)), stored)
    requests = []

    class Recorder(sampling.NoiseImages):
        def normal(self, shape, dtype=tf.float32):
            noise = super().normal(shape, dtype)
            requests.append((shape[1:3], noise.numpy()[0, :, :, 0]))
            return noise

    Gs.synthesis(tf.constant(dlatents[:1]), randomize_noise=True, rng=Recorder(Gs.synthesis, "const"))
    assert [shape for shape, _ in requests] == [[4, 4], [8, 8], [8, 8], [16, 16], [16, 16], [32, 32], [32, 32]]
    for (_, noise), var in zip(requests, Gs.synthesis.noise_vars):
        np.testing.assert_array_equal(noise, var.numpy()[0, 0])
    none = sampler.synthesize(dlatents, "none")
    first_only = sampler.synthesize(dlatents, "const", noise_layers=[0])
    assert not np.array_equal(first_only, none) and not np.array_equal(first_only, stored)
    keys = noise_seeds(SEEDS)
    random = sampler.synthesize(dlatents, "random", keys)
    np.testing.assert_array_equal(random, sampler.synthesize(dlatents, "random", keys))
    assert not np.array_equal(random, stored)
    assert not np.array_equal(random[:1], sampler.synthesize(dlatents[:1], "random", noise_seeds([7])))


def test_generate_cli_every_mode(tmp_path, pkl):
    out = str(tmp_path)
    assert run_cli(generate_cli, f"--network={pkl}", "--seeds=0-2", f"--outdir={out}") == 0
    assert run_cli(generate_cli, f"--network={pkl}", "--mode=truncation", "--psis=1,0.5,-0.5", f"--outdir={out}") == 0
    assert run_cli(generate_cli, f"--network={pkl}", "--mode=style_mixing", "--row_seeds=1,2", "--col_seeds=3,4,5",
                   "--styles=coarse,fine", f"--outdir={out}") == 0
    assert run_cli(generate_cli, f"--network={pkl}", "--mode=noise", "--seeds=5", "--noise_samples=6",
                   f"--outdir={out}") == 0
    assert run_cli(generate_cli, f"--network={pkl}", "--mode=interpolate", "--seeds=1,2", "--frames=3",
                   f"--outdir={out}") == 0
    assert run_cli(generate_cli, f"--network={pkl}", "--mode=figures", "--figures=3,5,8", f"--outdir={out}") == 0
    sizes = {name: PIL.Image.open(tmp_path / name).size for name in (
        "seed0002.png", "truncation.png", "style_mixing.png", "noise.png", "interpolate.gif",
        "figure03-style-mixing.png", "figure05-noise-components.png", "figure08-truncation-trick.png")}
    assert sizes == {"seed0002.png": (R, R), "truncation.png": (3 * R, 2 * R), "style_mixing.png": (4 * R, 3 * R),
                     "noise.png": (6 * R, R), "interpolate.gif": (R, R), "figure03-style-mixing.png": (6 * R, 7 * R),
                     "figure05-noise-components.png": (2 * R, 2 * R), "figure08-truncation-trick.png": (6 * R, 2 * R)}


def test_generate_cli_uses_the_networks_truncation(tmp_path, pkl, sampler):
    """By default ``stylegan-generate`` applies ``Gs``'s own truncation: StyleGAN2's psi 0.5 on every layer."""
    assert run_cli(generate_cli, f"--network={pkl}", "--seeds=42", f"--outdir={tmp_path}") == 0
    image = np.asarray(PIL.Image.open(tmp_path / "seed0042.png"))
    np.testing.assert_array_equal(image, sampler.images_for_seeds([42], 0.5, None)[0])
    frames = figures.interpolation_frames(sampler, [1, 2], 3, "z")
    np.testing.assert_array_equal(frames[0], sampler.images_for_seeds([1])[0])


def test_export_saved_model_and_keras_file(tmp_path, pkl, sampler):
    saved, keras_file = tmp_path / "saved_model", tmp_path / "Gs.keras"
    assert run_cli(export_cli, f"--network={pkl}", f"--out={saved}", f"--keras_file={keras_file}") == 0
    m = tf.saved_model.load(str(saved))
    assert {k: int(v) for k, v in m.sizes().items()} == dict(latent_size=64, label_size=0, dlatent_size=64,
                                                            num_layers=8, resolution=R, num_channels=3)
    z, labels = latents_from_seeds(SEEDS, 64), np.zeros([3, 0], np.float32)
    images = m.generate(z, labels, 0.5, 8, False)["images"].numpy()
    assert np.abs(images.astype(int) - sampler.images_for_seeds(SEEDS, 0.5, None)).max() <= 1
    synthesized = m.synthesis(m.mapping(z, labels)["dlatents"], False)["images"].numpy()
    assert np.abs(synthesized.astype(int) - sampler.images_for_seeds(SEEDS)).max() <= 1
    assert not np.array_equal(m.generate(z, labels, 1.0, 8, True)["images"].numpy(), synthesized)
    model = keras.saving.load_model(keras_file)
    assert type(model) is networks_stylegan2.G_main and type(model.mapping) is networks_stylegan2.G_mapping
    np.testing.assert_allclose(model(tf.constant(z), randomize_noise=False).numpy(),
                               sampler.Gs(tf.constant(z), randomize_noise=False).numpy(), atol=1e-5)


def test_convert_round_trip(tmp_path, pkl):
    assert run_cli(convert, f"--network={pkl}", f"--out={tmp_path / 'ckpt'}") == 0
    config = json.loads((tmp_path / "ckpt" / "networks.json").read_text())
    assert [config[k]["build_func_name"] for k in ("G", "D", "Gs")] == ["G_main", "D_stylegan2", "G_main"]
    keys = dict(tf.train.list_variables(str(tmp_path / "ckpt" / "networks")))
    assert keys["Gs/G_synthesis/32x32/Conv1/noise_strength/.ATTRIBUTES/VARIABLE_VALUE"] == []
    G, _, _ = checkpoints.load_checkpoint(str(tmp_path / "ckpt"), data_format="NHWC")  # noqa: N806
    assert type(G.mapping) is networks_stylegan2.G_mapping
    assert run_cli(convert, f"--checkpoint={tmp_path / 'ckpt'}", f"--out={tmp_path / 'back.pkl'}") == 0
    for a, b in zip(read_pickle(pkl), read_pickle(tmp_path / "back.pkl")):
        for x, y in [(a.state, b.state)] + [(a.state["components"][k].state, b.state["components"][k].state)
                                            for k in a.state["components"]]:
            assert (x["build_func_name"], x["static_kwargs"]) == (y["build_func_name"], y["static_kwargs"])
            assert [n for n, _ in x["variables"]] == [n for n, _ in y["variables"]]
            for (name, u), (_, v) in zip(x["variables"], y["variables"]):
                assert np.array_equal(u, v), name


def test_metrics_draw_unconditional_untruncated_images(Gs):  # noqa: N803
    """The metrics' generator source: official validation mode (no truncation), random noise keyed per image,
    independent of the batch size."""
    a = np.concatenate(list(GeneratorImages(Gs, seed=1).iterate(5, 2)))
    b = np.concatenate(list(GeneratorImages(Gs, seed=1).iterate(5, 5)))
    assert a.shape == (5, 3, R, R) and a.dtype == np.uint8
    assert np.abs(a.astype(int) - b).max() <= 1
    latents = np.random.RandomState(1).randn(5, 64).astype(np.float32)
    keys = np.stack([np.ones(5), np.arange(5)], axis=1).astype(np.int64)
    dlatents = sampling.Sampler(Gs).dlatents(latents)  # no truncation
    expected = sampling.Sampler(Gs).synthesize(dlatents, "random", keys)
    assert np.abs(np.transpose(a, [0, 2, 3, 1]).astype(int) - expected).max() <= 1


def test_benchmark_builds_both_families_at_the_workload_size():
    v1, v2 = (benchmark.load_generator(None, "NHWC", family) for family in ("stylegan", "stylegan2"))
    assert (v1.build_func_name, v2.build_func_name) == ("G_style", "G_main")
    assert v1.official_output_shape == v2.official_output_shape == [None, 3, 32, 32]
    assert v1.input_shapes == v2.input_shapes == [[None, 128], [None, 0]]
    call, flops_per_image = benchmark.generation_batch(v2, 4, False, 0.7)
    images = call()
    assert images.shape == (4, 32, 32, 3) and images.dtype == np.uint8 and flops_per_image > 0
    np.testing.assert_array_equal(images, sampling.make_sampler(v2, 4).images_for_seeds(range(4), 0.7))


@pytest.mark.parametrize("args, message", [(["--gen_family=stylegan3"], "--gen_family takes stylegan and/or stylegan2"),
                                           (["--gen_family=stylegan2", "--network=x.pkl"], "its own family")])
def test_bench_gen_family_flag_is_checked(args, message):
    bench_cli.FLAGS(["stylegan-bench", *args])
    try:
        with pytest.raises(base.UsageError, match=message):
            bench_cli.check_flags()
    finally:
        bench_cli.FLAGS.unparse_flags()


def test_random_networks_of_every_architecture_run_and_round_trip(tmp_path):
    """'orig', 'skip', 'resnet' generators and discriminators, the revised networks of configs B-D, a conditional
    network: built from the official keyword arguments, pickled and loaded back with the same outputs."""
    small = dict(resolution=16, num_channels=3, fmap_base=64, fmap_max=16, latent_size=16, dlatent_size=16,
                 mapping_fmaps=16, mapping_layers=2)
    z = tf.constant(np.random.RandomState(0).randn(4, 16).astype(np.float32))
    labels = tf.constant(np.eye(3, dtype=np.float32)[[0, 1, 2, 0]])
    cases = [(dict(architecture=a), dict(architecture=a), 0) for a in ("orig", "skip", "resnet")]
    cases.append((dict(synthesis_func="G_synthesis_stylegan_revised"), "D_stylegan", 0))
    cases.append(({}, {}, 3))
    for g_kwargs, d_kwargs, label_size in cases:
        G = stylegan_tf.G_main(name="G", data_format="NHWC", label_size=label_size, **small, **g_kwargs)  # noqa: N806
        d_cls = stylegan_tf.D_stylegan if d_kwargs == "D_stylegan" else stylegan_tf.D_stylegan2
        D = d_cls(name="D", data_format="NHWC", label_size=label_size,  # noqa: N806
                  **{k: small[k] for k in ("resolution", "num_channels", "fmap_base", "fmap_max")},
                  **(d_kwargs if isinstance(d_kwargs, dict) else {}))
        rng = np.random.RandomState(1)
        for _, var in G.all_official_variables() + D.all_official_variables():
            var.assign(rng.normal(0, 0.5, var.shape).astype(np.float32))
        y = labels[:, :label_size]
        images = G(z, y, randomize_noise=False)
        scores = D(images, y)
        assert images.shape == (4, 3, 16, 16) and scores.shape == (4, 1)
        assert np.all(np.isfinite(images.numpy())) and np.all(np.isfinite(scores.numpy()))
        path = tmp_path / "net.pkl"
        stylegan_tf.save_network_pkl((G, D, G), path)
        G2, D2, _ = stylegan_tf.load_network_pkl(path, data_format="NHWC")  # noqa: N806
        np.testing.assert_array_equal(G2(z, y, randomize_noise=False).numpy(), images.numpy())
        np.testing.assert_array_equal(D2(images, y).numpy(), scores.numpy())
