"""Tests of the dataset tool: the create commands (training.dataset_create), the inspection commands
(training.dataset_inspect) and the command line (cli.dataset, python -m training.dataset_tool)."""
import gzip
import os
import pickle
import struct
import subprocess
import sys

import numpy as np
import PIL.Image
import pytest

from cli import dataset as dataset_cli
from training import dataset_create, dataset_inspect
from training.dataset import DatasetError, TFRecordDataset

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FASHION_MNIST = "/usr/share/datasets/fashion-mnist"


def save_png(path, array, mode=None):
    """Writes uint8 `array` ([H, W] or [H, W, C]) as a PNG and returns it."""
    PIL.Image.fromarray(array, mode).save(path)
    return array


def random_pngs(folder, num, size=16, channels=3, seed=0):
    """`num` random PNGs img000.png ... in `folder`; returns their pixels as CHW uint8 [num, C, size, size]."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    shape = [size, size] if channels == 1 else [size, size, channels]
    arrays = [save_png(folder / f"img{i:03d}.png", rng.integers(0, 256, shape, dtype=np.uint8)) for i in range(num)]
    return np.stack([a[None] if channels == 1 else a.transpose(2, 0, 1) for a in arrays])


def read_dataset(path, lod=0):
    """(images, labels) of a dataset directory in stored order."""
    dataset = TFRecordDataset(str(path), max_label_size="full", repeat=False, shuffle_mb=0)
    batches = list(dataset.make_dataset(lod, 1000).as_numpy_iterator())
    return np.concatenate([b[0] for b in batches]), np.concatenate([b[1] for b in batches])


def leftovers(parent):
    """Hidden temporary directories left in `parent` by an export."""
    return [name for name in os.listdir(parent) if name.startswith(".")]


def cli(capsys, *args):
    """Runs the command line in this process; returns (exit status, stdout, stderr)."""
    try:
        dataset_cli.run_main(["stylegan-dataset", *map(str, args)])
    except SystemExit as exit_:
        status = exit_.code
    captured = capsys.readouterr()
    return status or 0, captured.out, captured.err


def write_idx(path, array):
    header = struct.pack(">BBBB", 0, 0, 8, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    with gzip.open(path, "wb") as file:
        file.write(header + array.astype(np.uint8).tobytes())


@pytest.fixture
def mnist_dir(tmp_path):
    """Fake (Fashion-)MNIST IDX files: 50 train + 20 test images whose centre pixels encode the class."""
    folder = tmp_path / "mnist"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for prefix, num in (("train", 50), ("t10k", 20)):
        labels = rng.integers(0, 10, num)
        labels[:10] = np.arange(10)
        images = np.zeros([num, 28, 28], np.uint8)
        images[:, 4:24, 4:24] = (labels * 25 + 5)[:, None, None]
        images[:, 0, 0] = 255
        write_idx(folder / f"{prefix}-images-idx3-ubyte.gz", images)
        write_idx(folder / f"{prefix}-labels-idx1-ubyte.gz", labels)
    return folder


# ---------------------------------------------------------------------------------------------------------------------
# create_from_images

@pytest.mark.parametrize("channels", [1, 3])
def test_image_round_trip_is_byte_exact(tmp_path, channels):
    pixels = random_pngs(tmp_path / "src", 12, channels=channels)
    dataset_create.create_from_images(str(tmp_path / "plain"), str(tmp_path / "src"), shuffle=False)
    dataset_inspect.extract(str(tmp_path / "plain"), str(tmp_path / "out"))
    extracted = sorted(os.listdir(tmp_path / "out"))
    assert extracted == [f"img{i:08d}.png" for i in range(12)]
    for i, name in enumerate(extracted):
        image = PIL.Image.open(tmp_path / "out" / name)
        assert image.mode == ("L" if channels == 1 else "RGB")
        array = np.asarray(image)
        np.testing.assert_array_equal(array[None] if channels == 1 else array.transpose(2, 0, 1), pixels[i])
    dataset_create.create_from_images(str(tmp_path / "shuffled"), str(tmp_path / "src"))
    images, labels = read_dataset(tmp_path / "shuffled")
    np.testing.assert_array_equal(images, pixels[np.random.RandomState(123).permutation(12)])
    assert labels.shape == (12, 0)


def test_mixed_modes_are_converted_and_reported(tmp_path, capsys):
    src = tmp_path / "src"
    src.mkdir()
    rng = np.random.default_rng(1)
    rgb = save_png(src / "a_rgb.png", rng.integers(0, 256, [8, 8, 3], dtype=np.uint8))
    gray = save_png(src / "b_gray.png", rng.integers(0, 256, [8, 8], dtype=np.uint8))
    rgba = rng.integers(0, 256, [8, 8, 4], dtype=np.uint8)
    rgba[..., 3] = np.where(np.arange(8) < 4, 0, 255)[None, :]  # left half transparent, right half opaque
    save_png(src / "c_rgba.png", rgba)
    palette_image = PIL.Image.fromarray(rng.integers(0, 4, [8, 8], dtype=np.uint8), "P")
    palette_image.putpalette([10, 20, 30, 40, 50, 60, 70, 80, 90, 100, 110, 120] + [0] * 756)
    palette_image.save(src / "d_palette.png")
    dataset_create.create_from_images(str(tmp_path / "rgb"), str(src), shuffle=False)
    images, _ = read_dataset(tmp_path / "rgb")
    assert images.shape == (4, 3, 8, 8)
    np.testing.assert_array_equal(images[0], rgb.transpose(2, 0, 1))
    np.testing.assert_array_equal(images[1], np.stack([gray] * 3))
    np.testing.assert_array_equal(images[2][:, :, :4], 0)  # transparent: flattened onto black
    np.testing.assert_array_equal(images[2][:, :, 4:], rgba[:, 4:, :3].transpose(2, 0, 1))
    expected_palette = np.array([[10, 20, 30], [40, 50, 60], [70, 80, 90], [100, 110, 120]], np.uint8)
    np.testing.assert_array_equal(images[3], expected_palette[np.asarray(palette_image)].transpose(2, 0, 1))
    out = capsys.readouterr().out
    assert "Wrote 4 images" in out and "3 channel(s)" in out
    assert "1 L->RGB" in out and "1 RGBA->RGB" in out and "1 P->RGB" in out

    dataset_create.create_from_images(str(tmp_path / "gray"), str(src), shuffle=False, channels=1)
    images, _ = read_dataset(tmp_path / "gray")
    assert images.shape == (4, 1, 8, 8)
    np.testing.assert_array_equal(images[0, 0], np.asarray(PIL.Image.open(src / "a_rgb.png").convert("L")))
    np.testing.assert_array_equal(images[1, 0], gray)
    with pytest.raises(DatasetError, match="--channels=2"):
        dataset_create.create_from_images(str(tmp_path / "two"), str(src), channels=2)


@pytest.fixture
def messy_dir(tmp_path):
    """4 good 8x8 PNGs, a text file, an empty .png, and a PNG whose pixel data is cut off."""
    src = tmp_path / "messy"
    random_pngs(src, 4, size=8)
    (src / "notes.txt").write_text("not an image")
    (src / "empty.png").write_bytes(b"")
    big = tmp_path / "big.png"
    save_png(big, np.random.default_rng(2).integers(0, 256, [64, 64, 3], dtype=np.uint8))
    save_png(big, np.asarray(PIL.Image.open(big).resize((8, 8))))
    (src / "truncated.png").write_bytes(big.read_bytes()[:-60])
    return src


def test_unusable_files_are_skipped_and_listed(tmp_path, messy_dir, capsys):
    dataset_create.create_from_images(str(tmp_path / "out"), str(messy_dir))
    out = capsys.readouterr().out
    assert "Wrote 4 images" in out and "Skipped 3 file(s):" in out
    assert "  notes.txt: not an image" in out and "  empty.png: not an image" in out
    assert "  truncated.png: corrupt" in out
    assert read_dataset(tmp_path / "out")[0].shape == (4, 3, 8, 8)


def test_strict_stops_at_unusable_files_and_writes_nothing(tmp_path, messy_dir):
    with pytest.raises(DatasetError, match="2 unusable file\\(s\\).*empty.png.*--strict"):
        dataset_create.create_from_images(str(tmp_path / "out"), str(messy_dir), strict=True)
    assert not (tmp_path / "out").exists() and not leftovers(tmp_path)
    for name in ("notes.txt", "empty.png"):  # only the truncated file is left: found while writing
        os.remove(messy_dir / name)
    with pytest.raises(DatasetError, match="truncated.png: corrupt.*nothing was written"):
        dataset_create.create_from_images(str(tmp_path / "deep" / "out"), str(messy_dir), strict=True)
    assert not (tmp_path / "deep").exists() and not leftovers(tmp_path)


def test_missing_or_empty_source(tmp_path):
    with pytest.raises(DatasetError, match="does not exist"):
        dataset_create.create_from_images(str(tmp_path / "out"), str(tmp_path / "nowhere"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(DatasetError, match="is empty: no input images found"):
        dataset_create.create_from_images(str(tmp_path / "out"), str(tmp_path / "empty"))
    (tmp_path / "text").mkdir()
    (tmp_path / "text" / "a.txt").write_text("hello")
    with pytest.raises(DatasetError, match="no usable images.*a.txt: not an image"):
        dataset_create.create_from_images(str(tmp_path / "out"), str(tmp_path / "text"))
    with pytest.raises(DatasetError, match="does not exist"):
        dataset_create.create_mnist(str(tmp_path / "out"), str(tmp_path / "nowhere"))
    assert sorted(os.listdir(tmp_path)) == ["empty", "text"]


def test_sizes_need_resize_or_crop(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    wide = save_png(src / "wide.png", np.random.default_rng(3).integers(0, 256, [16, 20, 3], dtype=np.uint8))
    with pytest.raises(DatasetError, match="1 image \\(wide.png 20x16\\) is not square; pass --crop"):
        dataset_create.create_from_images(str(tmp_path / "out"), str(src))
    dataset_create.create_from_images(str(tmp_path / "cropped"), str(src), crop=True)
    np.testing.assert_array_equal(read_dataset(tmp_path / "cropped")[0][0], wide[:, 2:18].transpose(2, 0, 1))

    save_png(src / "odd.png", np.zeros([12, 12, 3], np.uint8))
    os.remove(src / "wide.png")
    with pytest.raises(DatasetError, match="1 image \\(odd.png 12x12\\) is not of a power-of-two "
                                           "size; pass --resize"):
        dataset_create.create_from_images(str(tmp_path / "out"), str(src))
    save_png(src / "big.png", np.zeros([32, 32, 3], np.uint8))
    save_png(src / "small.png", np.zeros([16, 16, 3], np.uint8))
    os.remove(src / "odd.png")
    with pytest.raises(DatasetError, match="different sizes \\(1 at 16x16, 1 at 32x32\\); pass --resize"):
        dataset_create.create_from_images(str(tmp_path / "out"), str(src))
    with pytest.raises(DatasetError, match="--resize=24: the resolution must be a power of two"):
        dataset_create.create_from_images(str(tmp_path / "out"), str(src), resize=24)
    assert not (tmp_path / "out").exists() and not leftovers(tmp_path)

    save_png(src / "wide.png", wide)
    dataset_create.create_from_images(str(tmp_path / "resized"), str(src), resize=8, crop=True, shuffle=False)
    images, _ = read_dataset(tmp_path / "resized")
    assert images.shape == (3, 3, 8, 8)
    square = PIL.Image.fromarray(wide).crop((2, 0, 18, 16)).resize((8, 8), PIL.Image.LANCZOS)
    np.testing.assert_array_equal(images[2], np.asarray(square).transpose(2, 0, 1))


def test_existing_output_is_refused_unless_overwrite(tmp_path):
    random_pngs(tmp_path / "a", 3, seed=1)
    random_pngs(tmp_path / "b", 5, seed=2)
    dataset_create.create_from_images(str(tmp_path / "out"), str(tmp_path / "a"))
    before = {name: (tmp_path / "out" / name).read_bytes() for name in os.listdir(tmp_path / "out")}
    with pytest.raises(DatasetError, match="already exists; pass --overwrite"):
        dataset_create.create_from_images(str(tmp_path / "out"), str(tmp_path / "b"))
    assert {name: (tmp_path / "out" / name).read_bytes() for name in os.listdir(tmp_path / "out")} == before
    png = (tmp_path / "b" / "img000.png").read_bytes()
    (tmp_path / "b" / "img999.png").write_bytes(png[:len(png) // 2])  # fails while writing, not while checking
    with pytest.raises(DatasetError, match="img999.png: corrupt"):  # a failing overwrite keeps the old dataset
        dataset_create.create_from_images(str(tmp_path / "out"), str(tmp_path / "b"), strict=True, overwrite=True)
    assert {name: (tmp_path / "out" / name).read_bytes() for name in os.listdir(tmp_path / "out")} == before
    dataset_create.create_from_images(str(tmp_path / "out"), str(tmp_path / "b"), overwrite=True)
    assert TFRecordDataset(str(tmp_path / "out")).num_images == 5  # img999.png skipped
    assert not leftovers(tmp_path)
    (tmp_path / "empty").mkdir()  # an empty directory is not "existing output"
    dataset_create.create_from_images(str(tmp_path / "empty"), str(tmp_path / "a"))
    assert TFRecordDataset(str(tmp_path / "empty")).num_images == 3


# ---------------------------------------------------------------------------------------------------------------------
# Other sources

def test_create_mnist_pads_labels_and_balances(tmp_path, mnist_dir):
    dataset_create.create_mnist(str(tmp_path / "train"), str(mnist_dir))
    images, labels = read_dataset(tmp_path / "train")
    assert images.shape == (50, 1, 32, 32) and labels.shape == (50, 10)
    assert np.all(images[:, :, :2] == 0) and np.all(images[:, :, :, 30:] == 0) and np.all(images[:, 0, 2, 2] == 255)
    np.testing.assert_array_equal(images[:, 0, 16, 16], np.argmax(labels, axis=1) * 25 + 5)

    dataset_create.create_mnist(str(tmp_path / "subset"), str(mnist_dir), split="all", max_images=30)
    images, labels = read_dataset(tmp_path / "subset")
    assert images.shape == (30, 1, 32, 32) and list(labels.sum(axis=0)) == [3] * 10
    np.testing.assert_array_equal(images[:, 0, 16, 16], np.argmax(labels, axis=1) * 25 + 5)


def test_create_mnist_rejects_broken_files(tmp_path, mnist_dir):
    data = (mnist_dir / "train-images-idx3-ubyte.gz").read_bytes()
    (mnist_dir / "train-images-idx3-ubyte.gz").write_bytes(data[:len(data) // 2])
    with pytest.raises(DatasetError, match="cannot read .*train-images-idx3-ubyte.gz"):
        dataset_create.create_mnist(str(tmp_path / "out"), str(mnist_dir))
    with gzip.open(mnist_dir / "train-images-idx3-ubyte.gz", "wb") as file:
        file.write(struct.pack(">BBBBIII", 0, 0, 8, 3, 50, 28, 28) + bytes(100))
    with pytest.raises(DatasetError, match="truncated or corrupt: its header announces \\[50, 28, 28\\]"):
        dataset_create.create_mnist(str(tmp_path / "out"), str(mnist_dir))
    os.remove(mnist_dir / "train-images-idx3-ubyte.gz")
    with pytest.raises(DatasetError, match="has none of: train-images-idx3-ubyte.gz, train-images-idx3-ubyte"):
        dataset_create.create_mnist(str(tmp_path / "out"), str(mnist_dir))
    assert not (tmp_path / "out").exists()


def test_create_cifar_and_svhn(tmp_path):
    rng = np.random.default_rng(4)

    def batch(num, num_classes):
        class_ids = rng.integers(0, num_classes, num)
        data = np.repeat((class_ids * 2).astype(np.uint8)[:, None], 3072, axis=1)
        return data, class_ids

    cifar10 = tmp_path / "cifar10"
    cifar10.mkdir()
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        data, class_ids = batch(4, 10)
        with open(cifar10 / name, "wb") as file:  # bytes keys, as Python 2 wrote them
            pickle.dump({b"data": data, b"labels": class_ids.tolist()}, file, protocol=2)
    dataset_create.create_cifar10(str(tmp_path / "c10"), str(cifar10), split="all")
    images, labels = read_dataset(tmp_path / "c10")
    assert images.shape == (24, 3, 32, 32) and labels.shape == (24, 10)
    np.testing.assert_array_equal(images[:, 2, 5, 7], np.argmax(labels, axis=1) * 2)

    cifar100 = tmp_path / "cifar100"
    cifar100.mkdir()
    data, class_ids = batch(6, 100)
    with open(cifar100 / "train", "wb") as file:
        pickle.dump({"data": data, "fine_labels": class_ids.tolist(), "coarse_labels": [0] * 6}, file, protocol=5)
    dataset_create.create_cifar100(str(tmp_path / "c100"), str(cifar100))
    images, labels = read_dataset(tmp_path / "c100")
    assert labels.shape == (6, 100)
    np.testing.assert_array_equal(images[:, 0, 0, 0], np.argmax(labels, axis=1) * 2)

    svhn = tmp_path / "svhn"
    svhn.mkdir()
    for i in (1, 2, 3):
        data, class_ids = batch(3, 10)
        with open(svhn / f"train_{i}.pkl", "wb") as file:
            pickle.dump((data.reshape(-1, 3, 32, 32), class_ids), file)
    dataset_create.create_svhn(str(tmp_path / "svhn_pkl"), str(svhn))
    images, labels = read_dataset(tmp_path / "svhn_pkl")
    assert images.shape == (9, 3, 32, 32)
    np.testing.assert_array_equal(images[:, 1, 3, 3], np.argmax(labels, axis=1) * 2)

    scipy_io = pytest.importorskip("scipy.io")
    digits = np.array([1, 10, 3, 10])  # the .mat files label digit 0 as 10
    hwcn = np.broadcast_to((digits * 20).astype(np.uint8), (32, 32, 3, 4))
    scipy_io.savemat(svhn / "train_32x32.mat", {"X": hwcn, "y": digits[:, None]})
    dataset_create.create_svhn(str(tmp_path / "svhn_mat"), str(svhn), shuffle=False)
    images, labels = read_dataset(tmp_path / "svhn_mat")
    assert list(np.argmax(labels, axis=1)) == [1, 0, 3, 0] and list(images[:, 0, 0, 0]) == [20, 200, 60, 200]


def test_pickled_sources_cannot_run_code(tmp_path):
    (tmp_path / "cifar100").mkdir()
    with open(tmp_path / "cifar100" / "train", "wb") as file:
        pickle.dump({"data": os.getcwd}, file)  # any callable reference is refused
    with pytest.raises(DatasetError, match="refusing to load.*posix.getcwd"):
        dataset_create.create_cifar100(str(tmp_path / "out"), str(tmp_path / "cifar100"))


def test_create_celeba_crops_the_official_box(tmp_path):
    folder = tmp_path / "celeba" / "img_align_celeba_png"
    folder.mkdir(parents=True)
    rng = np.random.default_rng(5)
    faces = [save_png(folder / f"{i:06d}.png", rng.integers(0, 256, [218, 178, 3], dtype=np.uint8))
             for i in range(3)]
    save_png(folder / "999999.png", np.zeros([100, 100, 3], np.uint8))
    dataset_create.create_celeba(str(tmp_path / "out"), str(tmp_path / "celeba"), shuffle=False)
    images, _ = read_dataset(tmp_path / "out")
    assert images.shape == (3, 3, 128, 128)
    for image, face in zip(images, faces):
        np.testing.assert_array_equal(image, face[121 - 64:121 + 64, 89 - 64:89 + 64].transpose(2, 0, 1))


def test_create_from_hdf5_uses_the_largest_level_and_labels(tmp_path):
    h5py = pytest.importorskip("h5py")
    rng = np.random.default_rng(6)
    images = rng.integers(0, 256, [6, 3, 16, 16], dtype=np.uint8)
    with h5py.File(tmp_path / "faces.h5", "w") as file:
        file["data4x4"] = images[:, :, ::4, ::4]
        file["data16x16"] = images
        file["data8x8"] = images[:, :, ::2, ::2]
    labels = np.eye(6, dtype=np.float32)
    np.save(tmp_path / "faces-labels.npy", labels)
    dataset_create.create_from_hdf5(str(tmp_path / "out"), str(tmp_path / "faces.h5"))
    got_images, got_labels = read_dataset(tmp_path / "out")
    order = np.random.RandomState(123).permutation(6)
    np.testing.assert_array_equal(got_images, images[order])
    np.testing.assert_array_equal(got_labels, labels[order])
    np.save(tmp_path / "faces-labels.npy", labels[:5])
    with pytest.raises(DatasetError, match="faces-labels.npy holds \\[5, 6\\]; expected \\[6, label_size\\]"):
        dataset_create.create_from_hdf5(str(tmp_path / "out2"), str(tmp_path / "faces.h5"))


def test_create_lsun(tmp_path):
    lmdb = pytest.importorskip("lmdb")
    rng = np.random.default_rng(7)
    with lmdb.open(str(tmp_path / "lmdb"), map_size=1 << 24) as env, env.begin(write=True) as txn:
        for i in range(4):
            buffer = tmp_path / "tmp.webp"
            PIL.Image.fromarray(rng.integers(0, 256, [24, 40, 3], dtype=np.uint8)).save(buffer, "WEBP")
            txn.put(f"key{i}".encode(), buffer.read_bytes())
        txn.put(b"key9", b"garbage")
    dataset_create.create_lsun(str(tmp_path / "out"), str(tmp_path / "lmdb"), resolution=16)
    images, _ = read_dataset(tmp_path / "out")
    assert images.shape == (4, 3, 16, 16)


# ---------------------------------------------------------------------------------------------------------------------
# Inspection commands

def test_display_info_and_compare(tmp_path, mnist_dir, capsys, monkeypatch):
    dataset_create.create_mnist(str(tmp_path / "a"), str(mnist_dir))
    dataset_create.create_mnist(str(tmp_path / "b"), str(mnist_dir))
    dataset_create.create_mnist(str(tmp_path / "c"), str(mnist_dir), shuffle=False)
    capsys.readouterr()
    monkeypatch.chdir(tmp_path)
    dataset_inspect.display(str(tmp_path / "a"), max_images=10)
    grid = np.asarray(PIL.Image.open(tmp_path / "a-display.png"))
    assert grid.shape == (3 * 32, 4 * 32)
    images, labels = read_dataset(tmp_path / "a")
    np.testing.assert_array_equal(grid[32:64, 32:64], images[5, 0])
    out = capsys.readouterr().out
    assert "as a 4x3 grid" in out and " ".join(f"{c:3d}" for c in np.argmax(labels[:4], 1)) in out
    with pytest.raises(DatasetError, match="a-display.png already exists"):
        dataset_inspect.display(str(tmp_path / "a"))
    dataset_inspect.display(str(tmp_path / "a"), lod=2, output="small.png")
    assert np.asarray(PIL.Image.open(tmp_path / "small.png")).shape == (7 * 8, 8 * 8)  # 50 images: 8 x 7

    dataset_inspect.info(str(tmp_path / "a"))
    out = capsys.readouterr().out
    assert "50, 32x32, 1 channel(s)" in out and "lod 3:    4x4" in out and "a-r05.tfrecords" in out
    assert "classes:" in out and "size 10" in out

    assert dataset_inspect.compare(str(tmp_path / "a"), str(tmp_path / "b")) == 0
    assert "Identical images: 50 of 50" in capsys.readouterr().out
    assert dataset_inspect.compare(str(tmp_path / "a"), str(tmp_path / "c")) == 1
    assert "The datasets differ." in capsys.readouterr().out


# ---------------------------------------------------------------------------------------------------------------------
# Command line

def test_help_lists_every_command_and_each_command_its_flags(capsys):
    status, out, _ = cli(capsys, "--help")
    assert status == 0 and out.startswith("usage: ")
    for name in dataset_cli.SUBCOMMANDS:
        assert f"  {name} <tfrecord_dir" in out
    for name, command in dataset_cli.SUBCOMMANDS.items():
        status, out, _ = cli(capsys, name, "--help")
        assert status == 0 and f"{name} " + " ".join(f"<{a}>" for a in command.args) + " [flags]" in out
        assert "example:" in out and "arguments:" in out
        for flag in command.flags:
            assert f"--{flag}=" in out or f"--[no]{flag}" in out


def test_command_line_runs_commands_and_reports_errors_in_one_line(tmp_path, mnist_dir, capsys):
    status, out, err = cli(capsys, "create_mnist", tmp_path / "m", mnist_dir, "--max_images=20", "--noshuffle")
    assert status == 0 and "Wrote 20 images" in out
    status, out, err = cli(capsys, "create_mnist", tmp_path / "m", mnist_dir)
    assert status == 2 and err.startswith("error: ") and "already exists; pass --overwrite" in err
    status, _, err = cli(capsys, "info", tmp_path / "m", "--crop")
    assert status == 2 and "error: --crop does not apply to info" in err
    status, _, err = cli(capsys, "info")
    assert status == 2 and "error: info takes 1 argument(s): <tfrecord_dir> (got 0)" in err
    status, _, err = cli(capsys, "make_dataset", "x")
    assert status == 2 and "error: unknown command 'make_dataset'" in err
    status, _, err = cli(capsys, "info", tmp_path / "m", "--max_images=0")
    assert status == 2 and "error: flag --max_images=0" in err
    status, out, _ = cli(capsys, "compare", tmp_path / "m", tmp_path / "m")
    assert status == 0 and "identical" in out


def test_module_runs_as_a_program(tmp_path):
    run = [sys.executable, "-m", "training.dataset_tool"]
    result = subprocess.run(run + ["--help"], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0 and "create_from_images <tfrecord_dir> <image_dir>" in result.stdout
    result = subprocess.run(run + ["create_from_images", str(tmp_path / "out"), str(tmp_path / "missing")],
                            cwd=REPO, capture_output=True, text=True, timeout=120)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert f"error: image directory {tmp_path / 'missing'} does not exist\n" in result.stderr
    assert not (tmp_path / "out").exists()


# ---------------------------------------------------------------------------------------------------------------------
# Real Fashion-MNIST (Debian package dataset-fashion-mnist)

needs_fashion_mnist = pytest.mark.skipif(not os.path.isdir(FASHION_MNIST),
                                         reason="apt-get install dataset-fashion-mnist")


@needs_fashion_mnist
def test_bundled_dataset_is_reproducible_from_the_debian_files(tmp_path):
    from training.dataset import DEFAULT_DATASET
    dataset_create.create_mnist(str(tmp_path / "fashion_mnist_32"), FASHION_MNIST, max_images=3000)
    for name in sorted(os.listdir(tmp_path / "fashion_mnist_32")):
        assert (tmp_path / "fashion_mnist_32" / name).read_bytes() == (DEFAULT_DATASET / name).read_bytes(), name


@needs_fashion_mnist
def test_full_fashion_mnist(tmp_path):
    dataset_create.create_mnist(str(tmp_path / "fm"), FASHION_MNIST, split="all")
    dataset = TFRecordDataset(str(tmp_path / "fm"), max_label_size="full")
    assert (dataset.num_images, dataset.shape, dataset.label_size) == (70000, [1, 32, 32], 10)
    assert list(np.load(dataset.label_file).sum(axis=0)) == [7000] * 10
    images, labels = next(iter(dataset.make_dataset(0, 256, seed=0)))
    assert images.shape == (256, 1, 32, 32) and labels.shape == (256, 10)
