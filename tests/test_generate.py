"""Tests of stylegan_tf/generate.py and the stylegan-generate tool (training/generate.py)."""
import os

import numpy as np
import PIL.Image
import pytest
import tensorflow as tf

import stylegan_tf
from stylegan_tf import generate as gen
from training import generate as cli

R = 32  # resolution of the fixture network


@pytest.fixture(scope="module")
def pkl(fixtures_dir):
    return str(fixtures_dir / "official_stylegan" / "network-snapshot.pkl")


@pytest.fixture(scope="module")
def Gs(pkl):  # noqa: N802
    return gen.load_Gs(pkl, data_format="NHWC")


@pytest.fixture(scope="module")
def small_pkl(tmp_path_factory):
    """A conditional (3 classes), grayscale 8x8 network with random weights."""
    kwargs = dict(num_channels=1, resolution=8, label_size=3, fmap_base=32, fmap_max=16)
    G = stylegan_tf.G_style(name="G", latent_size=16, dlatent_size=16, mapping_fmaps=16, **kwargs)  # noqa: N806
    D = stylegan_tf.D_basic(name="D", **kwargs)  # noqa: N806
    rng = np.random.RandomState(1)
    for _, var in G.all_official_variables():
        var.assign(rng.normal(0, 0.5, var.shape).astype(np.float32))
    path = tmp_path_factory.mktemp("small") / "network-snapshot-000123.pkl"
    stylegan_tf.save_network_pkl((G, D, G), str(path))
    return str(path)


def run_cli(*args):
    """Run stylegan-generate in this process; returns the exit status."""
    with pytest.raises(SystemExit) as exit_info:
        cli.run_main(["stylegan-generate", *args])
    return exit_info.value.code or 0


def png(path):
    return np.asarray(PIL.Image.open(path))


# ----------------------------------------------------------------------------
# Helpers.

def test_parse_seeds():
    assert gen.parse_seeds("0-3,7, 2") == [0, 1, 2, 3, 7, 2]
    assert gen.parse_seeds(str(gen.MAX_SEED)) == [gen.MAX_SEED]
    for bad in ["", "a", "1-", "-1", "5-3", "1,,2", "1.5", str(gen.MAX_SEED + 1), "0-4294967296"]:
        with pytest.raises(ValueError):
            gen.parse_seeds(bad)


def test_latents_are_the_official_draws():
    latents = gen.latents_from_seeds([5, 42], 64)
    assert latents.dtype == np.float32 and latents.shape == (2, 64)
    np.testing.assert_array_equal(latents[1], np.random.RandomState(42).randn(1, 64)[0].astype(np.float32))


def test_convert_images_to_uint8_rounds_and_saturates():
    x = tf.constant([-2.0, -1.0, -1 + 0.49 / 127.5, -1 + 0.51 / 127.5, 0.0, 1.0, 3.0])  # 127.5 x + 128
    out = gen.convert_images_to_uint8(tf.reshape(x, [1, 1, 1, 7])).numpy().ravel()
    np.testing.assert_array_equal(out, [0, 0, 0, 1, 128, 255, 255])
    nchw = tf.random.uniform([2, 3, 4, 5], -1, 1)
    nhwc = gen.convert_images_to_uint8(nchw, nchw_to_nhwc=True)
    assert nhwc.shape == (2, 4, 5, 3) and nhwc.dtype == tf.uint8


def test_slerp():
    a, b = np.array([1.0, 0.0]), np.array([0.0, 2.0])
    np.testing.assert_allclose(gen.slerp(a, b, 0.0), a, atol=1e-12)
    np.testing.assert_allclose(gen.slerp(a, b, 1.0), b, atol=1e-12)
    np.testing.assert_allclose(gen.slerp(a, a, 0.3), a)  # parallel: lerp
    mid = gen.slerp(a, np.array([0.0, 1.0]), 0.5)
    np.testing.assert_allclose(mid, [np.sqrt(0.5), np.sqrt(0.5)])


def test_style_ranges():
    official = gen.style_ranges(18)
    assert (official["coarse"], official["middle"], official["fine"]) == (range(0, 4), range(4, 8), range(8, 18))
    assert gen.default_row_styles(6) == ["coarse"] * 3 + ["middle"] * 2 + ["fine"]
    assert gen.parse_style_range("2-5", 8) == range(2, 6)
    with pytest.raises(ValueError):
        gen.parse_style_range("4-8", 8)


def test_resolve_network(tmp_path, pkl):
    assert gen.resolve_network(pkl) == pkl
    for kimg in (100, 1000, 20):
        (tmp_path / f"network-snapshot-{kimg:06d}.pkl").write_bytes(b"")
    (tmp_path / "network-snapshot-notanumber.pkl").write_bytes(b"")
    assert gen.resolve_network(tmp_path).endswith("network-snapshot-001000.pkl")
    with pytest.raises(ValueError, match="no network-snapshot"):
        gen.resolve_network(tmp_path / "..")
    (tmp_path / "model.h5").write_bytes(b"")
    with pytest.raises(ValueError, match="unknown network file type"):
        gen.resolve_network(tmp_path / "model.h5")


# ----------------------------------------------------------------------------
# Generation.

def test_sampler_equals_Gs(Gs):  # noqa: N802
    seeds = [0, 1, 2, 42, 123]
    latents = gen.latents_from_seeds(seeds, 64)
    sampler = gen.Sampler(Gs, batch_size=2)
    for psi, cutoff in [(0.5, 8), (1.0, None), (0.7, 3)]:
        ref = gen.convert_images_to_uint8(Gs(latents, None, truncation_psi=psi, truncation_cutoff=cutoff,
                                              randomize_noise=False), nchw_to_nhwc=True).numpy()
        got = sampler.images_for_seeds(seeds, psi, cutoff)
        diff = np.abs(got.astype(int) - ref)
        assert diff.max() <= 1 and np.mean(diff > 0) < 1e-3


def test_noise_modes(Gs):  # noqa: N802
    sampler = gen.Sampler(Gs, batch_size=3)
    const = sampler.images_for_seeds([7, 8], noise_mode="const")
    random = sampler.images_for_seeds([7, 8], noise_mode="random")
    none = sampler.images_for_seeds([7, 8], noise_mode="none")
    assert not np.array_equal(const, random) and not np.array_equal(const, none)
    # 'none' equals the stored noise with every layer masked out, 'const' with none masked.
    dlatents = sampler.dlatents(gen.latents_from_seeds([7, 8], 64))
    np.testing.assert_array_equal(sampler.synthesize(dlatents, "const", noise_layers=[]), none)
    np.testing.assert_array_equal(sampler.synthesize(dlatents, "const", noise_layers=range(8)), const)
    # Random noise depends on the key only: same seed, other draw -> other image.
    keys = gen.noise_seeds([7, 7], [0, 1])
    pair = sampler.synthesize(np.repeat(dlatents[:1], 2, axis=0), "random", keys)
    np.testing.assert_array_equal(pair[0], random[0])
    assert not np.array_equal(pair[0], pair[1])
    # Gs itself is left as it was.
    assert float(Gs.synthesis.noise_vars[0].numpy().std()) > 0


def test_images_cli_reproducible_and_official(tmp_path, pkl, Gs):  # noqa: N803
    seeds = [0, 1, 2, 42]
    for name, batch in [("a", 3), ("b", 3), ("c", 1)]:
        assert run_cli(f"--network={pkl}", f"--outdir={tmp_path / name}", "--seeds=0-2,42", "--trunc=0.5",
                       f"--batch={batch}") == 0
    latents = gen.latents_from_seeds(seeds, 64)
    ref = gen.convert_images_to_uint8(Gs(latents, None, truncation_psi=0.5, randomize_noise=False),
                                      nchw_to_nhwc=True).numpy()
    for i, seed in enumerate(seeds):
        name = f"seed{seed:04d}.png"
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
        a, c = png(tmp_path / "a" / name), png(tmp_path / "c" / name)
        assert a.shape == (R, R, 3)
        assert np.abs(a.astype(int) - c).max() <= 1
        assert np.abs(a.astype(int) - ref[i]).max() <= 1


def test_random_noise_cli_reproducible_across_batch_sizes(tmp_path, pkl):
    for name, batch in [("a", 4), ("b", 4), ("c", 1)]:
        assert run_cli(f"--network={pkl}", f"--outdir={tmp_path / name}", "--seeds=3-5", "--noise_mode=random",
                       f"--batch={batch}") == 0
    for seed in (3, 4, 5):
        name = f"seed{seed:04d}.png"
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
        assert np.abs(png(tmp_path / "a" / name).astype(int) - png(tmp_path / "c" / name)).max() <= 1


def test_conditional_grayscale_network(tmp_path, small_pkl):
    run_dir = os.path.dirname(small_pkl)  # holds network-snapshot-000123.pkl
    assert run_cli(f"--network={small_pkl}", f"--outdir={tmp_path}", "--seeds=1,2", "--class=2") == 0
    image = PIL.Image.open(tmp_path / "seed0001.png")
    assert image.mode == "L" and image.size == (8, 8)
    assert run_cli(f"--network={run_dir}", f"--outdir={tmp_path / 'dir'}", "--seeds=1", "--class=0") == 0
    assert (tmp_path / "dir" / "seed0001.png").exists()


def test_modes_write_documented_sizes(tmp_path, pkl):
    def size(path):
        return PIL.Image.open(path).size  # (width, height)

    common = [f"--network={pkl}", f"--outdir={tmp_path}", "--batch=16"]
    assert run_cli(*common, "--mode=style_mixing", "--row_seeds=1-3", "--col_seeds=4,5",
                   "--styles=coarse,0-1,fine") == 0
    assert size(tmp_path / "style_mixing.png") == (3 * R, 4 * R)
    assert run_cli(*common, "--mode=truncation", "--seeds=1,2", "--psis=1,0.5,0,-1") == 0
    assert size(tmp_path / "truncation.png") == (4 * R, 2 * R)
    assert run_cli(*common, "--mode=noise", "--seeds=3", "--noise_samples=8") == 0
    assert size(tmp_path / "noise.png") == (6 * R, R)
    assert run_cli(*common, "--mode=interpolate", "--seeds=1-3", "--frames=7", "--space=z") == 0
    gif = PIL.Image.open(tmp_path / "interpolate.gif")
    assert gif.n_frames == 7 and gif.size == (R, R)
    assert len(list((tmp_path / "interpolate").glob("frame*.png"))) == 7


def test_figures(tmp_path, pkl):
    expected = {2: (72, 96), 3: (6 * R, 7 * R), 4: (3 * R, 2 * R), 5: (2 * R, 2 * R), 8: (6 * R, 2 * R),
                10: (120, 160), 11: (72, 96), 12: (120, 160)}  # (width, height), see PAPER_FIGURES
    assert set(expected) == set(gen.PAPER_FIGURES)
    assert run_cli(f"--network={pkl}", f"--outdir={tmp_path}", "--mode=figures", "--batch=32") == 0
    for number, size in expected.items():
        assert PIL.Image.open(tmp_path / gen.PAPER_FIGURES[number][0]).size == size, number


def test_benchmark_times_the_generate_path(Gs):  # noqa: N803
    """The benchmark's generation batch is stylegan-generate's: same images for the same seeds."""
    from stylegan_tf import bench
    call, work = bench.generation_batch(Gs, batch=3, xla=False, truncation_psi=0.7)
    np.testing.assert_array_equal(call(), gen.Sampler(Gs, batch_size=3).images_for_seeds(range(3), 0.7))
    assert work > 0


def test_xla_and_nchw_give_the_same_images(pkl, Gs):  # noqa: N803
    plain = gen.Sampler(Gs, batch_size=4)
    xla = gen.Sampler(gen.load_Gs(pkl, data_format="NCHW"), batch_size=4, jit_compile=True)
    for mode in ("const", "random"):
        a = plain.images_for_seeds([1, 2, 3], noise_mode=mode)
        b = xla.images_for_seeds([1, 2, 3], noise_mode=mode)
        assert np.abs(a.astype(int) - b).max() <= 1


# ----------------------------------------------------------------------------
# Bad input: one line `error: ...`, exit status 2.

@pytest.mark.parametrize("args, message", [
    (["--network={tmp}/model.h5"], "unknown network file type"),
    (["--network={tmp}/missing.pkl"], "no such file"),
    (["--network={tmp}"], "no network-snapshot"),
    (["--network={tmp}/junk.pkl"], "not a valid network pickle"),
    (["--seeds=1-x"], "malformed seed"),
    (["--seeds=5-2"], "reversed"),
    (["--seeds=4294967296"], "out of range"),
    (["--trunc=2.5"], "--force"),
    (["--mode=truncation", "--psis=1,-3"], "--force"),
    (["--mode=truncation", "--psis=1,x"], "malformed psi"),
    (["--class=1"], "unconditional"),
    (["--batch=0"], "--batch"),
    (["--mode=style_mixing", "--seeds=1"], "--row_seeds"),
    (["--mode=style_mixing", "--styles=coarse"], "one per row"),
    (["--mode=style_mixing", "--styles=0-99,1,1,1,1,1"], "out of range"),
    (["--mode=interpolate", "--seeds=3"], "at least 2 seeds"),
    (["--mode=figures", "--figures=6"], "no official figure 6"),
    (["stray"], "unexpected argument"),
    (["--data_format=NCHW"], "needs --xla"),
])
def test_bad_input(tmp_path, capsys, pkl, args, message):
    if message == "needs --xla" and tf.config.list_logical_devices("GPU"):
        pytest.skip("NCHW runs without XLA on a GPU")
    (tmp_path / "model.h5").write_bytes(b"")
    (tmp_path / "junk.pkl").write_bytes(b"not a pickle")
    args = [a.format(tmp=tmp_path) for a in args]
    if not any(a.startswith("--network") for a in args):
        args.append(f"--network={pkl}")
    assert run_cli(*args, f"--outdir={tmp_path / 'out'}") == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and message in err[0], err
    assert not (tmp_path / "out").exists()


def test_bad_class_on_conditional_network(tmp_path, capsys, small_pkl):
    for args, message in [([], "pass --class"), (["--class=3"], "out of range")]:
        assert run_cli(f"--network={small_pkl}", f"--outdir={tmp_path}", *args) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and err[0].startswith("error: ") and message in err[0], err


def test_psi_beyond_range_with_force(tmp_path, pkl):
    assert run_cli(f"--network={pkl}", f"--outdir={tmp_path}", "--seeds=1", "--trunc=2.5", "--force") == 0
    assert (tmp_path / "seed0001.png").exists()
