"""Tests of generation (stylegan_tf: network_files, seeds, sampling, images, figures) and the stylegan-generate
tool (cli/generate.py)."""
import os

import numpy as np
import PIL.Image
import pytest
import tensorflow as tf

import stylegan_tf
from cli import generate as cli
from stylegan_tf import figures, network_files, sampling
from stylegan_tf.errors import InputError
from stylegan_tf.images import convert_images_to_uint8
from stylegan_tf.seeds import MAX_SEED, latents_from_seeds, noise_seeds, parse_seeds

R = 32  # resolution of the fixture network


@pytest.fixture(scope="module")
def pkl(fixtures_dir):
    return str(fixtures_dir / "official_stylegan" / "network-snapshot.pkl")


@pytest.fixture(scope="module")
def Gs(pkl):  # noqa: N802
    return network_files.load_Gs(pkl, data_format="NHWC")


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
    assert parse_seeds("0-3,7, 2") == [0, 1, 2, 3, 7, 2]
    assert parse_seeds(str(MAX_SEED)) == [MAX_SEED]
    for bad in ["", "a", "1-", "-1", "5-3", "1,,2", "1.5", str(MAX_SEED + 1), "0-4294967296"]:
        with pytest.raises(ValueError):
            parse_seeds(bad)


def test_latents_are_the_official_draws():
    latents = latents_from_seeds([5, 42], 64)
    assert latents.dtype == np.float32 and latents.shape == (2, 64)
    np.testing.assert_array_equal(latents[1], np.random.RandomState(42).randn(1, 64)[0].astype(np.float32))


def test_convert_images_to_uint8_rounds_and_saturates():
    x = tf.constant([-2.0, -1.0, -1 + 0.49 / 127.5, -1 + 0.51 / 127.5, 0.0, 1.0, 3.0])  # 127.5 x + 128
    out = convert_images_to_uint8(tf.reshape(x, [1, 1, 1, 7])).numpy().ravel()
    np.testing.assert_array_equal(out, [0, 0, 0, 1, 128, 255, 255])
    nchw = tf.random.uniform([2, 3, 4, 5], -1, 1)
    nhwc = convert_images_to_uint8(nchw, nchw_to_nhwc=True)
    assert nhwc.shape == (2, 4, 5, 3) and nhwc.dtype == tf.uint8


def test_slerp():
    a, b = np.array([1.0, 0.0]), np.array([0.0, 2.0])
    np.testing.assert_allclose(figures.slerp(a, b, 0.0), a, atol=1e-12)
    np.testing.assert_allclose(figures.slerp(a, b, 1.0), b, atol=1e-12)
    np.testing.assert_allclose(figures.slerp(a, a, 0.3), a)  # parallel: lerp
    mid = figures.slerp(a, np.array([0.0, 1.0]), 0.5)
    np.testing.assert_allclose(mid, [np.sqrt(0.5), np.sqrt(0.5)])


def test_seed_messages_name_the_problem():
    for text, message in [("-1", "seed -1 is negative"), ("1,,2", "empty seed"), ("1-x", "malformed seed '1-x'"),
                          ("5-3", "reversed"), ("0-4294967296", "out of range")]:
        with pytest.raises(InputError, match=message):
            parse_seeds(text)


def test_style_ranges():
    official = figures.style_ranges(18)
    assert (official["coarse"], official["middle"], official["fine"]) == (range(0, 4), range(4, 8), range(8, 18))
    assert figures.default_row_styles(6) == ["coarse"] * 3 + ["middle"] * 2 + ["fine"]
    assert figures.parse_style_range("2-5", 8) == range(2, 6)
    with pytest.raises(ValueError):
        figures.parse_style_range("4-8", 8)
    with pytest.raises(InputError, match="'bogus': expected coarse, middle, fine or style layers like 0-3 "
                                         r"\(the network has 8 style layers, 0-7\)"):
        figures.parse_style_range("bogus", 8)


def test_resolve_network(tmp_path, pkl):
    assert network_files.resolve_network(pkl) == pkl
    for kimg in (100, 1000, 20):
        (tmp_path / f"network-snapshot-{kimg:06d}.pkl").write_bytes(b"")
    (tmp_path / "network-snapshot-notanumber.pkl").write_bytes(b"")
    assert network_files.resolve_network(tmp_path).endswith("network-snapshot-001000.pkl")
    with pytest.raises(ValueError, match="no network-snapshot"):
        network_files.resolve_network(tmp_path / "..")
    (tmp_path / "model.h5").write_bytes(b"")
    with pytest.raises(ValueError, match="unknown network file type"):
        network_files.resolve_network(tmp_path / "model.h5")


# ----------------------------------------------------------------------------
# Generation.

def test_sampler_equals_Gs(Gs):  # noqa: N802
    seeds = [0, 1, 2, 42, 123]
    latents = latents_from_seeds(seeds, 64)
    sampler = sampling.Sampler(Gs, batch_size=2)
    for psi, cutoff in [(0.5, 8), (1.0, None), (0.7, 3)]:
        ref = convert_images_to_uint8(Gs(latents, None, truncation_psi=psi, truncation_cutoff=cutoff,
                                         randomize_noise=False), nchw_to_nhwc=True).numpy()
        got = sampler.images_for_seeds(seeds, psi, cutoff)
        diff = np.abs(got.astype(int) - ref)
        assert diff.max() <= 1 and np.mean(diff > 0) < 1e-3


def test_noise_modes(Gs):  # noqa: N802
    sampler = sampling.Sampler(Gs, batch_size=3)
    const = sampler.images_for_seeds([7, 8], noise_mode="const")
    random = sampler.images_for_seeds([7, 8], noise_mode="random")
    none = sampler.images_for_seeds([7, 8], noise_mode="none")
    assert not np.array_equal(const, random) and not np.array_equal(const, none)
    # 'none' equals the stored noise with every layer masked out, 'const' with none masked.
    dlatents = sampler.dlatents(latents_from_seeds([7, 8], 64))
    np.testing.assert_array_equal(sampler.synthesize(dlatents, "const", noise_layers=[]), none)
    np.testing.assert_array_equal(sampler.synthesize(dlatents, "const", noise_layers=range(8)), const)
    # Random noise depends on the key only: same seed, other draw -> other image.
    keys = noise_seeds([7, 7], [0, 1])
    pair = sampler.synthesize(np.repeat(dlatents[:1], 2, axis=0), "random", keys)
    np.testing.assert_array_equal(pair[0], random[0])
    assert not np.array_equal(pair[0], pair[1])
    # Gs itself is left as it was.
    assert float(Gs.synthesis.noise_vars[0].numpy().std()) > 0


def test_non_finite_psi_is_refused(Gs):  # noqa: N803
    """A psi of nan or inf would give blank images: the library refuses it."""
    sampler = sampling.Sampler(Gs, batch_size=2)
    latents = latents_from_seeds([1], 64)
    for psi in (float("nan"), float("inf"), float("-inf")):
        with pytest.raises(InputError, match="not a finite number"):
            sampler.dlatents(latents, psi, 8)
    with pytest.raises(InputError, match="not a finite number"):
        figures.truncation_figure(sampler, [1], [1.0, float("nan")])


def test_images_cli_says_what_it_loaded_and_where_it_wrote(tmp_path, capsys, pkl):
    assert run_cli(f"--network={pkl}", f"--outdir={tmp_path}", "--seeds=3,5") == 0
    out = capsys.readouterr().out.splitlines()
    assert out == [f"loaded {pkl}: G_style, 32x32, 3 channel(s)",
                   f"wrote 2 image(s) to {tmp_path} (seed0003.png ... seed0005.png)"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["seed0003.png", "seed0005.png"]


def test_images_cli_reproducible_and_official(tmp_path, pkl, Gs):  # noqa: N803
    seeds = [0, 1, 2, 42]
    for name, batch in [("a", 3), ("b", 3), ("c", 1)]:
        assert run_cli(f"--network={pkl}", f"--outdir={tmp_path / name}", "--seeds=0-2,42", "--trunc=0.5",
                       f"--batch={batch}") == 0
    latents = latents_from_seeds(seeds, 64)
    ref = convert_images_to_uint8(Gs(latents, None, truncation_psi=0.5, randomize_noise=False),
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
    assert set(expected) == set(figures.PAPER_FIGURES)
    assert run_cli(f"--network={pkl}", f"--outdir={tmp_path}", "--mode=figures", "--batch=32") == 0
    for number, size in expected.items():
        assert PIL.Image.open(tmp_path / figures.PAPER_FIGURES[number][0]).size == size, number


def test_benchmark_times_the_generate_path(Gs):  # noqa: N803
    """The benchmark's generation batch is stylegan-generate's: same images for the same seeds."""
    from stylegan_tf import benchmark
    call, work = benchmark.generation_batch(Gs, batch=3, xla=False, truncation_psi=0.7)
    np.testing.assert_array_equal(call(), sampling.Sampler(Gs, batch_size=3).images_for_seeds(range(3), 0.7))
    assert work > 0


def test_xla_and_nchw_give_the_same_images(pkl, Gs):  # noqa: N803
    plain = sampling.Sampler(Gs, batch_size=4)
    xla = sampling.Sampler(network_files.load_Gs(pkl, data_format="NCHW"), batch_size=4, jit_compile=True)
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
    (["--seeds=-1"], "seed -1 is negative"),
    (["--trunc=nan"], "--trunc nan is not a finite number"),
    (["--trunc=inf", "--force"], "--trunc inf is not a finite number"),
    (["--mode=truncation", "--psis=1,nan,inf"], "psi nan is not a finite number"),
    (["--trunc=2.5"], "--force"),
    (["--mode=truncation", "--psis=1,-3"], "--force"),
    (["--mode=truncation", "--psis=1,x"], "malformed psi"),
    (["--class=1"], "unconditional"),
    (["--batch=0"], "--batch"),
    (["--mode=style_mixing", "--seeds=1"], "--row_seeds"),
    (["--mode=style_mixing", "--styles=coarse"], "one per row"),
    (["--mode=style_mixing", "--styles=0-99,1,1,1,1,1"], "out of range"),
    (["--mode=style_mixing", "--styles=bogus,1,1,1,1,1"], "'bogus': expected coarse, middle, fine or style layers"),
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


def test_outdir_that_is_a_file(tmp_path, capsys, pkl):
    (tmp_path / "taken").write_bytes(b"")
    for outdir, message in [("taken", "{tmp}/taken is a file"),
                            ("taken/sub", "{tmp}/taken/sub: {tmp}/taken is a file")]:
        assert run_cli(f"--network={pkl}", f"--outdir={tmp_path / outdir}") == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert err == ["error: --outdir " + message.format(tmp=tmp_path) + ", not a directory"]


def test_bad_class_on_conditional_network(tmp_path, capsys, small_pkl):
    for args, message in [([], "pass --class"), (["--class=3"], "out of range")]:
        assert run_cli(f"--network={small_pkl}", f"--outdir={tmp_path}", *args) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and err[0].startswith("error: ") and message in err[0], err


def test_psi_beyond_range_with_force(tmp_path, pkl):
    assert run_cli(f"--network={pkl}", f"--outdir={tmp_path}", "--seeds=1", "--trunc=2.5", "--force") == 0
    assert (tmp_path / "seed0001.png").exists()


# ----------------------------------------------------------------------------
# --dlatents: projected images (projected_w.npz of stylegan-project).

def assert_same_image(a, b):
    """Equal to one uint8 level (float rounding depends on the batch) in a few pixels at most."""
    diff = np.abs(a.astype(int) - b)
    assert diff.max() <= 1 and np.mean(diff > 0) < 1e-3, (diff.max(), np.mean(diff > 0))


def _projected_w(path, dlatents, noises=None):
    from training.projector_files import save_projected_w
    save_projected_w(str(path), dlatents, [] if noises is None else noises)
    return str(path)


@pytest.fixture(scope="module")
def seed_dlatents(Gs):  # noqa: N803
    """Untruncated dlatents of seeds 1-5 and the network's stored noise maps, `[5, 1, H, W]` per layer."""
    dlatents = sampling.Sampler(Gs).dlatents(latents_from_seeds(range(1, 6), 64))
    stored = [np.repeat(var.numpy(), 5, axis=0) for var in Gs.synthesis.noise_vars]
    return dlatents, stored


def test_dlatents_images_equal_the_seeds_images(tmp_path, pkl, seed_dlatents):
    """Dlatents saved with the stored noise maps, or without maps, draw the images of their seeds."""
    w, maps = seed_dlatents
    with_maps = _projected_w(tmp_path / "a.npz", w[2:3], [m[2:3] for m in maps])  # seed 3
    without = _projected_w(tmp_path / "b.npz", w[4:5])  # seed 5
    assert run_cli(f"--network={pkl}", f"--outdir={tmp_path / 'w'}", f"--dlatents={with_maps},{without}") == 0
    assert run_cli(f"--network={pkl}", f"--outdir={tmp_path / 's'}", "--seeds=3,5", "--trunc=1") == 0
    assert sorted(os.listdir(tmp_path / "w")) == ["projected0000.png", "projected0001.png"]
    assert_same_image(png(tmp_path / "w" / "projected0000.png"), png(tmp_path / "s" / "seed0003.png"))
    assert_same_image(png(tmp_path / "w" / "projected0001.png"), png(tmp_path / "s" / "seed0005.png"))
    # The output of a projected folder: one directory per image, taken in sorted order.
    for name, i in (("b_seed5", 4), ("a_seed3", 2)):
        (tmp_path / "folder" / name).mkdir(parents=True)
        _projected_w(tmp_path / "folder" / name / "projected_w.npz", w[i:i + 1], [m[i:i + 1] for m in maps])
    assert run_cli(f"--network={pkl}", f"--outdir={tmp_path / 'f'}", f"--dlatents={tmp_path / 'folder'}") == 0
    assert_same_image(png(tmp_path / "f" / "projected0000.png"), png(tmp_path / "s" / "seed0003.png"))
    assert_same_image(png(tmp_path / "f" / "projected0001.png"), png(tmp_path / "s" / "seed0005.png"))
    # Their own noise maps change the image; --noise_mode=none draws it without noise.
    rng = np.random.RandomState(0)
    other = _projected_w(tmp_path / "c.npz", w[2:3], [rng.randn(*m[2:3].shape) for m in maps])
    assert run_cli(f"--network={pkl}", f"--outdir={tmp_path / 'o'}", f"--dlatents={other}") == 0
    assert not np.array_equal(png(tmp_path / "o" / "projected0000.png"), png(tmp_path / "s" / "seed0003.png"))
    assert run_cli(f"--network={pkl}", f"--outdir={tmp_path / 'n'}", f"--dlatents={other}", "--noise_mode=none") == 0
    assert run_cli(f"--network={pkl}", f"--outdir={tmp_path / 'sn'}", "--seeds=3", "--trunc=1",
                   "--noise_mode=none") == 0
    assert_same_image(png(tmp_path / "n" / "projected0000.png"), png(tmp_path / "sn" / "seed0003.png"))


def test_dlatents_style_mixing_and_interpolation_equal_the_seeds_figures(tmp_path, pkl, seed_dlatents):
    w, maps = seed_dlatents
    rows = _projected_w(tmp_path / "rows.npz", w[:2], [m[:2] for m in maps])  # seeds 1, 2
    cols = _projected_w(tmp_path / "cols.npz", w[3:5], [m[3:5] for m in maps])  # seeds 4, 5
    common = [f"--network={pkl}", "--mode=style_mixing", "--styles=coarse,fine", "--trunc=1"]
    assert run_cli(*common, f"--outdir={tmp_path / 'seeds'}", "--row_seeds=1,2", "--col_seeds=4,5") == 0
    assert run_cli(*common, f"--outdir={tmp_path / 'rows'}", f"--dlatents={rows}", "--col_seeds=4,5") == 0
    assert run_cli(*common, f"--outdir={tmp_path / 'cols'}", f"--dlatents={cols}", "--dlatents_as=cols",
                   "--row_seeds=1,2") == 0
    expected = png(tmp_path / "seeds" / "style_mixing.png")
    assert expected.shape == (3 * R, 3 * R, 3)
    assert_same_image(png(tmp_path / "rows" / "style_mixing.png"), expected)
    assert_same_image(png(tmp_path / "cols" / "style_mixing.png"), expected)
    # A path in W through two projected images, their noise maps lerped (here equal): the seeds' W interpolation.
    ends = [_projected_w(tmp_path / f"{i}.npz", w[i:i + 1], [m[i:i + 1] for m in maps]) for i in (0, 2)]
    assert run_cli(f"--network={pkl}", f"--outdir={tmp_path / 'pw'}", f"--dlatents={','.join(ends)}",
                   "--mode=interpolate", "--frames=5") == 0
    assert run_cli(f"--network={pkl}", f"--outdir={tmp_path / 'sw'}", "--seeds=1,3", "--mode=interpolate",
                   "--frames=5", "--trunc=1") == 0
    for i in range(5):
        name = f"frame{i:04d}.png"
        assert_same_image(png(tmp_path / "pw" / "interpolate" / name), png(tmp_path / "sw" / "interpolate" / name))


@pytest.mark.parametrize("make, args, message", [
    (None, ["--dlatents={tmp}/missing.npz"], "missing.npz: no such file"),
    (None, ["--dlatents={tmp}"], "no projected_w.npz in this directory nor in its subdirectories"),
    ("junk", [], "not a readable .npz file"),
    ("short", [], "dlatents of shape [1, 4, 64] do not fit the network (expected [N, 8, 64])"),
    ("one_map", [], "noise map noise1 is missing"),
    ("extra", [], "unexpected array(s) w"),
    ("ok", ["--mode=truncation"], "--dlatents does not apply to --mode=truncation"),
    ("ok", ["--seeds=1"], "--seeds does not apply with --dlatents"),
    ("ok", ["--noise_mode=random"], "--noise_mode=random does not apply to --dlatents"),
    ("ok", ["--mode=interpolate", "--space=z"], "--space=z does not apply to --dlatents"),
    ("ok", ["--mode=interpolate"], "needs at least 2 projected dlatents, got 1"),
    ("ok", ["--mode=style_mixing", "--styles=coarse,fine"], "2 style ranges for 1 projected images"),
])
def test_bad_dlatents(tmp_path, capsys, pkl, seed_dlatents, make, args, message):
    w, maps = seed_dlatents
    path = tmp_path / "p.npz"
    if make == "junk":
        path.write_bytes(b"not an npz")
    elif make == "short":
        _projected_w(path, w[:1, :4])
    elif make == "one_map":
        _projected_w(path, w[:1], [maps[0][:1]])
    elif make == "extra":
        np.savez(path, dlatents=w[:1], w=w[:1])
    elif make == "ok":
        _projected_w(path, w[:1], [m[:1] for m in maps])
    args = [a.format(tmp=tmp_path) for a in args]
    if not any(a.startswith("--dlatents") for a in args):
        args.append(f"--dlatents={path}")
    assert run_cli(f"--network={pkl}", *args, f"--outdir={tmp_path / 'out'}") == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and message in err[0], err
    assert not (tmp_path / "out").exists()
