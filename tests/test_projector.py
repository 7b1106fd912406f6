"""Tests of the projector (training/projector.py, projector_synthesis.py, projector_files.py) and stylegan-project
(cli/project.py): the schedules and the noise regularizer against their closed forms, noise maps as network inputs,
the recovery of images the network generated from known dlatents, targets, files and the command line.

They need the LPIPS weights (`stylegan-metrics fetch-weights`): skipped locally without them, an error in CI."""
import os

import numpy as np
import PIL.Image
import pytest
import tensorflow as tf

import stylegan_tf
from cli import project as cli
from metrics.lpips import load_lpips
from metrics.weights import WeightsMissingError, weights_path
from stylegan_tf import network_files, sampling
from stylegan_tf.errors import InputError
from stylegan_tf.seeds import latents_from_seeds
from training import projector, projector_files, projector_synthesis
from training.projector import ProjectorOptions

LEGACY_RUN = os.path.join(os.path.dirname(__file__), "data", "legacy_run", "00000-legacy-1replica")
#: the quickstart network trained for 120 kimg (tests/data/fmnist_quickstart/README.md)
TRAINED_PKL = os.path.join(os.path.dirname(__file__), "data", "fmnist_quickstart", "network-snapshot-000120.064.pkl")


@pytest.fixture(scope="module")
def lpips_model():
    try:
        weights_path("lpips_vgg16")
    except WeightsMissingError as error:
        if os.environ.get("CI"):
            pytest.fail(str(error))
        pytest.skip(str(error))
    return load_lpips("vgg16")


@pytest.fixture(scope="module")
def fixture_pkl(fixtures_dir):
    return str(fixtures_dir / "official_stylegan" / "network-snapshot.pkl")


@pytest.fixture(scope="module")
def Gs(fixture_pkl):  # noqa: N802
    """The official fixture network: 32x32 RGB, 8 layers, random weights."""
    return network_files.load_Gs(fixture_pkl, data_format="NHWC")


@pytest.fixture(scope="module")
def trained_Gs():  # noqa: N802
    """A network trained by the project: 32x32 grayscale Fashion-MNIST, latent and dlatent size 64."""
    return network_files.load_Gs(TRAINED_PKL, data_format="NHWC")


@pytest.fixture(scope="module")
def legacy_Gs():  # noqa: N802
    """A network trained by the project (briefly): 32x32 grayscale."""
    return network_files.load_Gs(LEGACY_RUN, data_format="NHWC")


def psnr(a, b):
    return 10 * np.log10(255 ** 2 / np.mean(np.square(a.astype(np.float64) - b)))


# ----------------------------------------------------------------------------
# Schedules and regularizer: closed forms.

def test_learning_rate_schedule():
    o = ProjectorOptions(num_steps=1000)
    # Ramp-up: linear over the first 5% of the steps, from 0 at step 0.
    for step, expected in [(0, 0.0), (10, 0.02), (25, 0.05), (49, 0.098)]:
        assert projector.learning_rate_at(step, o) == pytest.approx(expected, abs=1e-12)
    # Flat at 0.1 from 5% to 75%.
    for step in (50, 300, 750):
        assert projector.learning_rate_at(step, o) == pytest.approx(0.1, abs=1e-12)
    # Cosine ramp-down over the last 25%: 0.1 * sin^2(pi (1 - t) / (2 * 0.25)).
    for step in (760, 875, 900, 999):
        t = step / 1000
        assert projector.learning_rate_at(step, o) == pytest.approx(0.1 * np.sin(np.pi * (1 - t) / 0.5) ** 2,
                                                                    abs=1e-12)
    assert projector.learning_rate_at(875, o) == pytest.approx(0.05)
    assert projector.learning_rate_at(1000, o) == 0.0


def test_dlatent_noise_schedule():
    o = ProjectorOptions(num_steps=200)
    std = 3.0
    for step, expected in [(0, 0.15), (75, 0.15 * 0.25), (150, 0.0), (199, 0.0)]:
        assert projector.dlatent_noise_at(step, std, o) == pytest.approx(expected, abs=1e-12)
    # Quadratic decay: (1 - t / 0.75) ** 2.
    assert projector.dlatent_noise_at(50, std, o) == pytest.approx(0.15 * (1 - 0.25 / 0.75) ** 2)


def _official_regularizer(maps):
    """The official loop in numpy: squared mean autocorrelations at one-pixel cyclic shifts, 2x2 means to 8x8."""
    total = 0.0
    for v in maps:
        v = np.asarray(v, np.float64)
        while True:
            total += np.mean(v * np.roll(v, 1, axis=3)) ** 2 + np.mean(v * np.roll(v, 1, axis=2)) ** 2
            if v.shape[2] <= 8:
                break
            s = v.shape[2] // 2
            v = v.reshape(1, 1, s, 2, s, 2).mean(axis=(3, 5))
    return total


def test_noise_regularization_closed_forms():
    def reg(*maps):
        return float(projector.noise_regularization([tf.constant(m, tf.float32) for m in maps]))

    y, x = np.mgrid[:32, :32]
    checker = ((-1.0) ** (x + y))[None, None]
    stripes = ((-1.0) ** x)[None, None]
    # A checkerboard: both one-pixel autocorrelations are -1 (-> 1 + 1); its 2x2 means are 0.
    assert reg(checker) == pytest.approx(2.0)
    assert reg(checker[:, :, :8, :8]) == pytest.approx(2.0)
    # Stripes along x: -1 in x, +1 in y; their 2x2 means are 0.
    assert reg(stripes) == pytest.approx(2.0)
    # A constant c: c^2 at every shift and scale; 32 -> 16 -> 8 is 3 scales, 4x4 one.
    assert reg(np.full([1, 1, 32, 32], 0.5)) == pytest.approx(3 * 2 * 0.5 ** 4)
    assert reg(np.full([1, 1, 4, 4], 2.0)) == pytest.approx(2 * 2.0 ** 4)
    # Maps add up; random maps as the official loop computes them.
    assert reg(checker, np.full([1, 1, 4, 4], 2.0)) == pytest.approx(2 + 32)
    rng = np.random.RandomState(0)
    maps = [rng.randn(1, 1, s, s) for s in (4, 8, 16, 64)]
    assert reg(*maps) == pytest.approx(_official_regularizer(maps), rel=1e-5)


def test_noise_maps_are_renormalized():
    noise = tf.constant(np.random.RandomState(1).randn(1, 1, 16, 16) * 3 + 2, tf.float32)
    out = projector.normalized(noise).numpy()
    assert abs(out.mean()) < 1e-6 and out.std() == pytest.approx(1.0, rel=1e-5)


def test_lpips_input():
    assert [projector.lpips_resolution(r) for r in (4, 8, 32, 64, 128, 256, 512, 1024)] == [
        64, 64, 64, 64, 128, 256, 256, 256]
    rng = np.random.RandomState(2)
    big = rng.uniform(-1, 1, [1, 3, 512, 512]).astype(np.float32)
    np.testing.assert_allclose(projector.lpips_input(tf.constant(big), 256).numpy(),
                               big.reshape(1, 3, 256, 2, 256, 2).mean(axis=(3, 5)), atol=1e-6)
    small = rng.uniform(-1, 1, [2, 1, 32, 32]).astype(np.float32)
    up = projector.lpips_input(tf.constant(small), 64).numpy()
    # Bilinear with half-pixel centres: output pixel i samples the input at (i + 0.5) / 2 - 0.5, clamped.
    src = np.clip((np.arange(64) + 0.5) / 2 - 0.5, 0, 31)
    lo = np.floor(src).astype(int)
    weights = np.zeros([64, 32])
    weights[np.arange(64), lo] = 1 - (src - lo)
    weights[np.arange(64), np.minimum(lo + 1, 31)] += src - lo
    np.testing.assert_allclose(up, weights @ small @ weights.T, atol=1e-6)
    same = rng.uniform(-1, 1, [1, 3, 128, 128]).astype(np.float32)
    np.testing.assert_array_equal(projector.lpips_input(tf.constant(same), 128).numpy(), same)


def test_dlatent_stats(Gs):  # noqa: N803
    avg, std = projector.dlatent_stats(Gs, num_samples=300, batch_size=128)
    w = Gs.mapping(np.random.RandomState(123).randn(300, 64).astype(np.float32), None).numpy()[:, 0]
    np.testing.assert_allclose(avg, w.mean(axis=0), rtol=1e-5, atol=1e-6)
    assert std == pytest.approx(np.sqrt(np.sum((w - w.mean(axis=0)) ** 2) / 300), rel=1e-5)


# ----------------------------------------------------------------------------
# Noise maps as inputs of the synthesis network.

@pytest.mark.parametrize("data_format", ["NHWC", "NCHW"])
def test_stored_noise_maps_give_the_networks_images(fixture_pkl, data_format):
    """Fed its own noise variables, the network computes exactly what it computes with randomize_noise=False (NCHW
    under XLA: there are no NCHW convolutions on CPUs)."""
    Gs = network_files.load_Gs(fixture_pkl, data_format=data_format)  # noqa: N806
    dlatents = Gs.mapping(latents_from_seeds([1, 2, 3], 64), None)
    maps = projector_synthesis.stored_noise_maps(Gs.synthesis)

    def both(w):
        return (Gs.synthesis(w, randomize_noise=False),
                projector_synthesis.synthesize(Gs, w, maps, Gs.lod))

    plain, fed = tf.function(both, jit_compile=data_format == "NCHW")(dlatents)
    np.testing.assert_array_equal(fed.numpy(), plain.numpy())


def test_noise_maps_per_image_equal_the_network_with_those_maps_stored(fixture_pkl):
    """Two images with their own maps = each drawn by a network whose noise variables hold those maps."""
    Gs = network_files.load_Gs(fixture_pkl, data_format="NHWC")  # noqa: N806
    dlatents = Gs.mapping(latents_from_seeds([4, 5], 64), None).numpy()
    rng = np.random.RandomState(3)
    maps = [rng.randn(2, *shape[1:]).astype(np.float32)
            for shape in projector_synthesis.noise_map_shapes(Gs.synthesis)]
    got = projector_synthesis.NoiseMapSampler(Gs, batch_size=3).synthesize(dlatents, maps)
    for i in range(2):
        for var, m in zip(Gs.synthesis.noise_vars, maps):
            var.assign(m[i:i + 1])
        expected = sampling.Sampler(Gs).synthesize(dlatents[i:i + 1])
        np.testing.assert_array_equal(got[i], expected[0])


def test_noise_map_requests_find_their_layer():
    """Layers are found by size and order, also when a trace asks twice, and with one map at 4x4 (StyleGAN2)."""
    for sizes in ([4, 4, 8, 8, 16, 16], [4, 8, 8, 16, 16]):
        maps = [np.full([1, 1, s, s], i, np.float32) for i, s in enumerate(sizes)]
        for layout in ("NCHW", "NHWC"):
            feeder = projector_synthesis.NoiseMaps(maps)
            for _ in range(2):  # a second trace with the same instance
                for i, s in enumerate(sizes):
                    shape = [3, 1, s, s] if layout == "NCHW" else [3, s, s, 1]
                    out = feeder.normal(shape, tf.float32)
                    assert out.shape == [1, *shape[1:]] and float(tf.reduce_max(out)) == i
    with pytest.raises(InputError, match="no noise map of 32x32"):
        projector_synthesis.NoiseMaps(maps).normal([1, 1, 32, 32])


# ----------------------------------------------------------------------------
# Recovering images the network generated from known dlatents.

def project_generated(Gs, lpips_model, seed, num_steps, w_plus=False, data_format=None,  # noqa: N803
                      jit_compile=False):
    """Project the image of `seed` (untruncated dlatents, the stored noise): `(LPIPS, PSNR)` of the projector's
    starting point (the average W, random noise maps) and of its result."""
    sampler = sampling.Sampler(Gs)
    target = sampler.synthesize(sampler.dlatents(latents_from_seeds([seed], 64)))[0]
    proj = projector.Projector(Gs, ProjectorOptions(num_steps=num_steps, w_plus=w_plus), lpips=lpips_model,
                               jit_compile=jit_compile)
    proj.start(target, seed=0)
    start_image, start_distance = proj.get_images()
    result = projector.project(proj, target, seed=0)
    return (start_distance, psnr(start_image[0], target)), (result.lpips_distance, psnr(result.image, target))


def test_projection_recovers_a_generated_image(lpips_model, trained_Gs):  # noqa: N803
    """100 steps on the image of seed 12. Measured (CPU, NHWC): from LPIPS 0.333 and PSNR 11.9 dB at the start to
    LPIPS 0.033 and PSNR 26.7 dB (seeds 11 and 13: 0.046 / 26.8 dB, 0.043 / 29.6 dB)."""
    (lpips0, psnr0), (lpips1, psnr1) = project_generated(trained_Gs, lpips_model, 12, 100)
    assert lpips0 > 0.25 and psnr0 < 15  # far from the target at the start
    assert lpips1 < 0.07 and psnr1 > 22


@pytest.mark.slow
def test_projection_recovers_hard_images_and_w_plus_fits_closer(lpips_model, trained_Gs):  # noqa: N803
    """500 steps on the two hardest of seeds 10-15. Measured: seed 10 LPIPS 0.031 / PSNR 25.4 dB in W and
    0.011 / 30.6 dB in W+; seed 14 0.056 / 22.0 dB in W (from 0.36 / 11.6 dB and 0.46 / 9.1 dB)."""
    _, (lpips_w, psnr_w) = project_generated(trained_Gs, lpips_model, 10, 500)
    _, (lpips_wp, psnr_wp) = project_generated(trained_Gs, lpips_model, 10, 500, w_plus=True)
    _, (lpips_14, psnr_14) = project_generated(trained_Gs, lpips_model, 14, 500)
    assert lpips_w < 0.06 and psnr_w > 22
    assert lpips_wp < 0.025 and psnr_wp > 27 and lpips_wp < lpips_w
    assert lpips_14 < 0.1 and psnr_14 > 19


@pytest.mark.slow
def test_projection_in_nchw_under_xla(lpips_model):
    """The NCHW layout (under XLA on a CPU) projects as well: measured 150 steps on seed 12, LPIPS 0.029 / PSNR
    27.8 dB (NHWC without XLA: 0.029 / 28.3 dB)."""
    Gs = network_files.load_Gs(TRAINED_PKL, data_format="NCHW")  # noqa: N806
    _, (lpips1, psnr1) = project_generated(Gs, lpips_model, 12, 150, jit_compile=True)
    assert lpips1 < 0.06 and psnr1 > 24


def test_w_and_w_plus(lpips_model, legacy_Gs):  # noqa: N803
    """W: one dlatent broadcast to every layer; W+: one per layer, each moved from the average."""
    target = sampling.Sampler(legacy_Gs).images_for_seeds([3])[0]
    for w_plus in (False, True):
        proj = projector.Projector(legacy_Gs, ProjectorOptions(num_steps=5, w_plus=w_plus), lpips=lpips_model)
        dlatents = projector.project(proj, target).dlatents
        assert dlatents.shape == (1, 8, 16)
        assert np.abs(dlatents - proj.dlatent_avg).max() > 0
        assert (np.abs(dlatents[0] - dlatents[0, :1]).max() > 0) == w_plus


def test_small_conditional_network(lpips_model):
    """An 8x8 conditional network: LPIPS sees 64x64 upscales; the W statistics take random classes."""
    G = stylegan_tf.G_style(name="G", num_channels=1, resolution=8, label_size=3,  # noqa: N806
                            fmap_base=32, fmap_max=16, latent_size=16, dlatent_size=16, mapping_fmaps=16)
    avg, std = projector.dlatent_stats(G, num_samples=200)
    classes = np.random.RandomState(123)
    classes.randn(200, 16)
    labels = np.eye(3, dtype=np.float32)[classes.randint(3, size=200)]
    w = G.mapping(np.random.RandomState(123).randn(200, 16).astype(np.float32), labels).numpy()[:, 0]
    np.testing.assert_allclose(avg, w.mean(axis=0), rtol=1e-5, atol=1e-6)
    target = np.random.RandomState(6).randint(0, 256, [8, 8, 1], dtype=np.uint8)
    proj = projector.Projector(G, ProjectorOptions(num_steps=3, dlatent_avg_samples=200), lpips=lpips_model)
    assert proj.lpips_resolution == 64
    result = projector.project(proj, target, seed=1)
    assert result.image.shape == (8, 8, 1) and result.dlatents.shape == (1, 4, 16) and len(result.noises) == 4


def test_projector_errors(lpips_model, legacy_Gs, fixtures_dir):  # noqa: N803
    progan = network_files.load_Gs(fixtures_dir / "official_progan" / "network-snapshot.pkl", data_format="NHWC")
    with pytest.raises(InputError, match="G_paper has no mapping network"):
        projector.Projector(progan, lpips=lpips_model)
    proj = projector.Projector(legacy_Gs, ProjectorOptions(num_steps=2), lpips=lpips_model)
    with pytest.raises(InputError, match="call start"):
        proj.step()
    with pytest.raises(InputError, match=r"uint8 image of shape \[32, 32, 1\].*got uint8 \[32, 32, 3\]"):
        proj.start(np.zeros([32, 32, 3], np.uint8))


# ----------------------------------------------------------------------------
# Targets.

def _save(array_or_image, path):
    image = array_or_image if isinstance(array_or_image, PIL.Image.Image) else PIL.Image.fromarray(array_or_image)
    image.save(path)
    return str(path)


def test_targets_are_cropped_and_resized_as_the_dataset_tool_does(tmp_path):
    rng = np.random.RandomState(4)
    wide = rng.randint(0, 256, [30, 40, 3], dtype=np.uint8)  # 40x30
    path = _save(wide, tmp_path / "wide.png")
    expected = PIL.Image.fromarray(wide).crop((5, 0, 35, 30)).resize((32, 32), PIL.Image.LANCZOS)
    np.testing.assert_array_equal(projector_files.read_target(path, 32, 3), np.asarray(expected))
    # Grayscale networks take grayscale images, and RGB files whose channels are equal; not colour.
    level = rng.randint(0, 256, [32, 32], dtype=np.uint8)
    rgb_gray = _save(np.repeat(level[:, :, None], 3, axis=2), tmp_path / "rgb_gray.png")
    np.testing.assert_array_equal(projector_files.read_target(rgb_gray, 32, 1)[:, :, 0], level)
    with pytest.raises(InputError, match="wide.png: a color image .RGB., but the network is grayscale"):
        projector_files.read_target(path, 32, 1)
    # A grayscale image for an RGB network is replicated; transparency is flattened onto black.
    assert np.array_equal(*np.moveaxis(projector_files.read_target(rgb_gray, 32, 3), 2, 0)[:2])
    rgba = np.zeros([8, 8, 4], np.uint8)
    rgba[..., :3], rgba[..., 3] = 200, 0
    assert projector_files.read_target(_save(rgba, tmp_path / "clear.png"), 8, 3).max() == 0


def test_bad_targets(tmp_path):
    (tmp_path / "notes.txt").write_text("not an image")
    with pytest.raises(InputError, match="notes.txt: not an image"):
        projector_files.read_targets(str(tmp_path / "notes.txt"), 32, 1)
    with pytest.raises(InputError, match="no such file"):
        projector_files.read_targets(str(tmp_path / "missing.png"), 32, 1)
    with pytest.raises(InputError, match="no usable target images .* notes.txt: not an image"):
        projector_files.read_targets(str(tmp_path), 32, 1)
    with pytest.raises(InputError, match="1 or 3 channels"):
        projector_files.read_targets(str(tmp_path), 32, 4)
    _save(np.zeros([16, 16], np.uint8), tmp_path / "black.png")
    targets, skipped = projector_files.read_targets(str(tmp_path), 8, 1)
    assert [name for name, _ in targets] == ["black.png"] and targets[0][1].shape == (8, 8, 1)
    assert list(skipped) == ["notes.txt"]


# ----------------------------------------------------------------------------
# stylegan-project.

def run_cli(*args):
    """Run stylegan-project in this process; returns the exit status."""
    with pytest.raises(SystemExit) as exit_info:
        cli.run_main(["stylegan-project", *args])
    return exit_info.value.code or 0


@pytest.fixture(scope="module")
def legacy_target(tmp_path_factory, legacy_Gs):  # noqa: N803
    """An image the legacy network generated (seed 5), as a PNG file."""
    path = tmp_path_factory.mktemp("targets") / "seed5.png"
    stylegan_tf.images.save_image(sampling.Sampler(legacy_Gs).images_for_seeds([5])[0], str(path))
    return str(path)


def test_api_and_cli_give_the_same_result(tmp_path, capsys, lpips_model, legacy_Gs, legacy_target):  # noqa: N803
    assert run_cli(f"--network={LEGACY_RUN}", f"--target={legacy_target}", f"--outdir={tmp_path}",
                   "--num_steps=12", "--seed=7") == 0
    target = projector_files.read_target(legacy_target, 32, 1)
    result = projector.project(projector.Projector(legacy_Gs, ProjectorOptions(num_steps=12), lpips=lpips_model),
                               target, seed=7)
    with np.load(tmp_path / "projected_w.npz") as npz:
        assert sorted(npz.files) == ["dlatents"] + [f"noise{i}" for i in range(8)]
        np.testing.assert_array_equal(npz["dlatents"], result.dlatents)
        for i, noise in enumerate(result.noises):
            np.testing.assert_array_equal(npz[f"noise{i}"], noise)
    assert result.dlatents.shape == (1, 8, 16)
    np.testing.assert_array_equal(np.asarray(PIL.Image.open(tmp_path / "proj.png")), result.image[:, :, 0])
    np.testing.assert_array_equal(np.asarray(PIL.Image.open(tmp_path / "target.png")), target[:, :, 0])
    out = capsys.readouterr().out
    assert f"projected seed5.png: LPIPS {result.lpips_distance:.4f}, PSNR {psnr(result.image, target):.2f} dB" in out


def test_cli_folder_skips_bad_files_and_writes_videos(tmp_path, capsys, lpips_model, legacy_Gs):  # noqa: N803
    targets = tmp_path / "targets"
    targets.mkdir()
    for seed in (1, 2):
        stylegan_tf.images.save_image(sampling.Sampler(legacy_Gs).images_for_seeds([seed])[0],
                                      str(targets / f"seed{seed}.png"))
    (targets / "notes.txt").write_text("not an image")
    _save(np.full([20, 20, 3], [200, 10, 10], np.uint8), targets / "red.png")
    assert run_cli(f"--network={LEGACY_RUN}", f"--target={targets}", f"--outdir={tmp_path / 'out'}",
                   "--num_steps=4", "--save_video") == 0
    out = capsys.readouterr().out
    assert "skipped notes.txt: not an image" in out and "skipped red.png: a color image (RGB)" in out
    assert sorted(os.listdir(tmp_path / "out")) == ["seed1", "seed2"]
    for name in ("seed1", "seed2"):
        assert sorted(os.listdir(tmp_path / "out" / name)) == ["proj.gif", "proj.png", "projected_w.npz",
                                                               "target.png"]
        gif = PIL.Image.open(tmp_path / "out" / name / "proj.gif")
        assert gif.size == (64, 32) and 2 <= gif.n_frames <= 4  # target | projection after steps 1-4


@pytest.mark.parametrize("args, message", [
    (["--target={tmp}/notes.txt"], "notes.txt: not an image"),
    (["--target={tmp}/red.png"], "red.png: a color image (RGB), but the network is grayscale"),
    (["--target={tmp}/missing.png"], "--target {tmp}/missing.png: no such file or directory"),
    (["--target={tmp}/empty"], "is empty"),
    ([], "--network and --target are required"),
    (["--target={tmp}/red.png", "--network={progan}"], "G_paper has no mapping network"),
    (["--target={tmp}/red.png", "--num_steps=0"], "--num_steps"),
    (["--target={tmp}/red.png", "--network={tmp}/missing.pkl"], "no such file"),
])
def test_cli_bad_input(tmp_path, capsys, fixtures_dir, args, message):
    (tmp_path / "notes.txt").write_text("not an image")
    (tmp_path / "empty").mkdir()
    _save(np.full([20, 20, 3], [200, 10, 10], np.uint8), tmp_path / "red.png")
    progan = fixtures_dir / "official_progan" / "network-snapshot.pkl"
    args = [a.format(tmp=tmp_path, progan=progan) for a in args]
    if args and not any(a.startswith("--network") for a in args):
        args.append(f"--network={LEGACY_RUN}")
    assert run_cli(*args, f"--outdir={tmp_path / 'out'}") == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and message.format(tmp=tmp_path) in err[0], err
    assert not (tmp_path / "out").exists()


def test_cli_without_lpips_weights(tmp_path, capsys, monkeypatch, legacy_target):
    monkeypatch.setenv("STYLEGAN_TF_CACHE_DIR", str(tmp_path / "cache"))
    assert run_cli(f"--network={LEGACY_RUN}", f"--target={legacy_target}", f"--outdir={tmp_path / 'out'}") == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "LPIPS v0.1 VGG16 weights not found" in err[0]
    assert "stylegan-metrics fetch-weights" in err[0]


def test_mp4_when_imageio_ffmpeg_is_installed(tmp_path):
    imageio_ffmpeg = pytest.importorskip("imageio_ffmpeg")
    frames = np.random.RandomState(5).randint(0, 256, [6, 32, 64, 1], dtype=np.uint8)
    assert projector_files.save_mp4(frames, str(tmp_path / "v.mp4"))
    reader = imageio_ffmpeg.read_frames(str(tmp_path / "v.mp4"))
    meta = next(reader)
    assert meta["size"] == (64, 32) and sum(1 for _ in reader) == 6
