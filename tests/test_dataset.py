"""Tests of training.dataset: the official TFRecord format and the tf.data pipeline reading it."""
import json
import os
import struct
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import tensorflow as tf

from training import bench_dataset, dataset_writer
from training.dataset import DEFAULT_DATASET, DatasetError, TFRecordDataset, load_dataset, parse_tfrecord_np
from training.synthetic_dataset import SyntheticDataset

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def write_official(tfrecord_dir, images, labels=None):
    """Reference writer, independent of training.dataset_writer: a plain re-statement of NVIDIA's exporter.

    `images` uint8 [N, C, H, W] are written in the given order; each lower level is the float32 2x2 box filter of
    the unrounded level above, stored rounded half-to-even.
    """
    os.makedirs(tfrecord_dir)
    prefix = os.path.join(tfrecord_dir, os.path.basename(tfrecord_dir))
    log2 = int(np.log2(images.shape[-1]))
    writers = [tf.io.TFRecordWriter(f"{prefix}-r{log2 - lod:02d}.tfrecords") for lod in range(log2 - 1)]
    for img in images:
        for lod, writer in enumerate(writers):
            if lod:
                img = img.astype(np.float32)
                img = (img[:, 0::2, 0::2] + img[:, 0::2, 1::2] + img[:, 1::2, 0::2] + img[:, 1::2, 1::2]) * 0.25
            quant = np.rint(img).clip(0, 255).astype(np.uint8)
            example = tf.train.Example(features=tf.train.Features(feature={
                "shape": tf.train.Feature(int64_list=tf.train.Int64List(value=quant.shape)),
                "data": tf.train.Feature(bytes_list=tf.train.BytesList(value=[quant.tobytes()]))}))
            writer.write(example.SerializeToString())
    for writer in writers:
        writer.close()
    if labels is not None:
        with open(prefix + "-rxx.labels", "wb") as file:
            np.save(file, labels.astype(np.float32))


def box_pyramid(image, levels):
    """Closed form of the official pyramid: level k = rint(mean over 2^k x 2^k blocks), computed in float64."""
    channels, size, _ = image.shape
    result = []
    for k in range(levels):
        block = 2 ** k
        means = image.astype(np.float64).reshape(channels, size // block, block, size // block, block).mean((2, 4))
        result.append(np.rint(means).clip(0, 255).astype(np.uint8))
    return result


def read_records(path):
    return [parse_tfrecord_np(record.numpy()) for record in tf.data.TFRecordDataset(path)]


def indexed_images(num, channels=1, size=16):
    """Constant images whose pixel value is their index (survives downscaling, mirroring and shuffling)."""
    return np.broadcast_to(np.arange(num, dtype=np.uint8)[:, None, None, None], (num, channels, size, size)).copy()


@pytest.fixture
def indexed_dataset(tmp_path):
    """200 constant 16x16 images (value = index) with label [index] -- written by the reference writer."""
    path = str(tmp_path / "indexed")
    write_official(path, indexed_images(200), np.arange(200, dtype=np.float32)[:, None])
    return path


def take(dataset, batches):
    images, labels = zip(*[(x.numpy(), y.numpy()) for x, y in dataset.take(batches)])
    return np.concatenate(images), np.concatenate(labels)


# ---------------------------------------------------------------------------------------------------------------------
# Format.

def test_pyramid_equals_official_box_filter(tmp_path):
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, [3, 32, 32], dtype=np.uint8)
    image[:, :2, :2] = [[0, 0], [1, 1]]  # a block mean of 0.5: official rounding is half-to-even (-> 0)
    image[:, :2, 2:4] = [[1, 1], [2, 2]]  # 1.5 -> 2
    with dataset_writer.TFRecordExporter(str(tmp_path / "d"), 1, print_progress=False) as tfr:
        tfr.add_image(image)
    stored = [read_records(tmp_path / "d" / f"d-r{r:02d}.tfrecords")[0] for r in (5, 4, 3, 2)]
    for got, expected in zip(stored, box_pyramid(image, 4)):
        np.testing.assert_array_equal(got, expected)
    assert stored[1][0, 0, 0] == 0 and stored[1][0, 0, 1] == 2
    assert [s.shape for s in stored] == [(3, 32, 32), (3, 16, 16), (3, 8, 8), (3, 4, 4)]


def test_tool_writes_the_same_records_as_the_official_exporter(tmp_path):
    """Same files, same records (as messages: protobuf may serialize the feature map in either
    order, from one process to the next; ours is always `shape`, `data`), same labels bytes."""
    rng = np.random.default_rng(1)
    images = rng.integers(0, 256, [7, 3, 16, 16], dtype=np.uint8)
    labels = np.eye(4, dtype=np.float32)[rng.integers(0, 4, 7)]
    write_official(str(tmp_path / "ref" / "same"), images, labels)
    with dataset_writer.TFRecordExporter(str(tmp_path / "ours" / "same"), 7, print_progress=False) as tfr:
        for image in images:
            tfr.add_image(image)
        tfr.add_labels(labels)
    names = sorted(os.listdir(tmp_path / "ref" / "same"))
    assert names == ["same-r02.tfrecords", "same-r03.tfrecords", "same-r04.tfrecords", "same-rxx.labels"]
    assert sorted(os.listdir(tmp_path / "ours" / "same")) == names
    for name in names:
        ref, ours = tmp_path / "ref" / "same" / name, tmp_path / "ours" / "same" / name
        if name.endswith(".labels"):
            assert ref.read_bytes() == ours.read_bytes()
            continue
        ref_records = [tf.train.Example.FromString(r.numpy()) for r in tf.data.TFRecordDataset(str(ref))]
        our_records = [tf.train.Example.FromString(r.numpy()) for r in tf.data.TFRecordDataset(str(ours))]
        assert len(ref_records) == 7 and our_records == ref_records
        assert ours.stat().st_size == ref.stat().st_size


def test_loads_dataset_written_by_the_official_exporter(tmp_path):
    rng = np.random.default_rng(2)
    images = rng.integers(0, 256, [10, 3, 16, 16], dtype=np.uint8)
    labels = np.eye(3, dtype=np.float32)[rng.integers(0, 3, 10)]
    write_official(str(tmp_path / "official"), images, labels)
    dataset = TFRecordDataset(str(tmp_path / "official"), max_label_size="full", shuffle_mb=0, repeat=False)
    assert (dataset.name, dataset.shape, dataset.resolution, dataset.resolution_log2) == ("official", [3, 16, 16],
                                                                                        16, 4)
    assert (dataset.num_channels, dataset.num_images, dataset.level_resolutions) == (3, 10, [16, 8, 4])
    assert (dataset.label_size, dataset.label_dtype, dataset.dynamic_range) == (3, "float32", [0, 255])
    pyramids = [box_pyramid(image, 3) for image in images]
    for lod in range(3):
        got_images, got_labels = take(dataset.make_dataset(lod, 4), 10)
        assert got_images.dtype == np.uint8 and got_images.shape == (10, 3, 16 >> lod, 16 >> lod)
        np.testing.assert_array_equal(got_images, np.stack([p[lod] for p in pyramids]))
        np.testing.assert_array_equal(got_labels, labels)
    # max_label_size: 0 = no labels, N = first N components.
    assert TFRecordDataset(str(tmp_path / "official")).label_size == 0
    assert TFRecordDataset(str(tmp_path / "official"), max_label_size=2).label_size == 2


# ---------------------------------------------------------------------------------------------------------------------
# Pipeline.

def test_labels_stay_aligned_with_images_after_shuffling(indexed_dataset):
    dataset = TFRecordDataset(indexed_dataset, max_label_size="full", mirror_augment=True, num_threads=2)
    for lod in (0, 1.5, 2):
        images, labels = take(dataset.make_dataset(lod, 16, seed=7), 25)  # two epochs
        assert images.shape == (400, 1, 16 >> int(lod), 16 >> int(lod)) and labels.shape == (400, 1)
        np.testing.assert_array_equal(images[:, 0, 0, 0], labels[:, 0])
        first_epoch = labels[:192, 0]  # 12 full batches; the shuffle is over the whole dataset
        assert len(set(first_epoch)) == 192 and not np.all(np.diff(first_epoch) > 0)


def test_shuffle_covers_each_image_once_per_epoch_and_is_seeded(indexed_dataset):
    dataset = TFRecordDataset(indexed_dataset, max_label_size="full")
    epoch, _ = take(dataset.make_dataset(0, 8, seed=5), 25)
    assert sorted(epoch[:, 0, 0, 0]) == list(range(200))
    again, _ = take(dataset.make_dataset(0, 8, seed=5), 25)
    other, _ = take(dataset.make_dataset(0, 8, seed=6), 25)
    np.testing.assert_array_equal(epoch, again)
    assert not np.array_equal(epoch, other)


def test_mirror_augment_flips_about_half_of_the_images(tmp_path):
    ramp = np.broadcast_to(np.arange(0, 256, 16, dtype=np.uint8), (64, 3, 16, 16)).copy()
    write_official(str(tmp_path / "ramp"), ramp)
    dataset = TFRecordDataset(str(tmp_path / "ramp"), mirror_augment=True)
    images, _ = take(dataset.make_dataset(0, 32, seed=0), 4)
    flipped = np.array([np.array_equal(image, ramp[0, :, :, ::-1]) for image in images])
    plain = np.array([np.array_equal(image, ramp[0]) for image in images])
    assert np.all(flipped ^ plain) and 32 < flipped.sum() < 96
    again, _ = take(dataset.make_dataset(0, 32, seed=0), 4)
    np.testing.assert_array_equal(images, again)
    plain, _ = take(TFRecordDataset(str(tmp_path / "ramp")).make_dataset(0, 32, seed=0), 4)
    assert np.all(plain == ramp[0])


def test_repeat_false_yields_every_image_once_with_a_short_last_batch(indexed_dataset):
    dataset = TFRecordDataset(indexed_dataset, repeat=False, shuffle_mb=0, prefetch_mb=0, cache=True)
    for _ in range(2):  # the second pass reads the in-memory cache
        sizes = [x.shape[0] for x, _ in dataset.make_dataset(1, 64)]
        assert sizes == [64, 64, 64, 8]
    images, _ = take(dataset.make_dataset(1, 64), 4)
    assert list(images[:, 0, 0, 0]) == list(range(200))


def test_lod_selects_the_level_and_rejects_missing_levels(indexed_dataset):
    dataset = TFRecordDataset(indexed_dataset)
    for lod, size in [(0, 16), (0.99, 16), (1, 8), (1.5, 8), (2, 4)]:
        images, labels = next(iter(dataset.make_dataset(lod, 2)))
        assert images.shape == (2, 1, size, size) and labels.shape == (2, 0) and labels.dtype == tf.float32
    with pytest.raises(ValueError, match="lod 3 is out of range"):
        dataset.make_dataset(3, 2)
    lower = TFRecordDataset(indexed_dataset, resolution=8)
    assert (lower.resolution, lower.shape, lower.level_resolutions) == (8, [1, 8, 8], [8, 4])
    assert next(iter(lower.make_dataset(0, 2)))[0].shape == (2, 1, 8, 8)


def test_input_context_shards_records_between_pipelines(indexed_dataset):
    dataset = TFRecordDataset(indexed_dataset, repeat=False, shuffle_mb=0)
    shards = []
    for pipeline in range(2):
        context = tf.distribute.InputContext(num_input_pipelines=2, input_pipeline_id=pipeline,
                                             num_replicas_in_sync=2)
        images, _ = take(dataset.make_dataset(0, 10, input_context=context), 100)
        shards.append(set(images[:, 0, 0, 0]))
    assert not shards[0] & shards[1] and shards[0] | shards[1] == set(range(200))


def test_distribute_gives_per_replica_batches_on_two_devices(indexed_dataset):
    script = textwrap.dedent("""
        import json, sys
        import tensorflow as tf
        cpu = tf.config.list_physical_devices("CPU")[0]
        tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
        from training.dataset import TFRecordDataset
        from training.synthetic_dataset import SyntheticDataset
        strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
        dataset = TFRecordDataset(sys.argv[1], max_label_size="full")
        images, labels = next(iter(dataset.distribute(strategy, lod=1, global_batch_size=8, seed=0)))
        replicas = [(list(x.shape), x.device, x.numpy()[:, 0, 0, 0].tolist(), y.numpy()[:, 0].tolist())
                    for x, y in zip(strategy.experimental_local_results(images),
                                    strategy.experimental_local_results(labels))]
        synthetic = SyntheticDataset(32, 3, label_size=5).distribute(strategy, lod=0, global_batch_size=4)
        synthetic_shapes = [list(x.shape) for x in strategy.experimental_local_results(next(iter(synthetic))[0])]
        try:
            dataset.distribute(strategy, lod=0, global_batch_size=7)
            error = None
        except ValueError as e:
            error = str(e)
        print("RESULT " + json.dumps({"replicas": replicas, "synthetic": synthetic_shapes, "error": error}))
    """)
    result = subprocess.run([sys.executable, "-c", script, indexed_dataset], cwd=REPO, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-3000:]
    found = json.loads(result.stdout.split("RESULT ", 1)[1])
    (shape0, device0, pixels0, labels0), (shape1, device1, pixels1, labels1) = found["replicas"]
    assert shape0 == shape1 == [4, 1, 8, 8]
    assert device0.endswith("CPU:0") and device1.endswith("CPU:1")
    assert pixels0 == labels0 and pixels1 == labels1 and not set(pixels0) & set(pixels1)
    assert found["synthetic"] == [[2, 3, 32, 32], [2, 3, 32, 32]]
    assert "not divisible by the 2 replicas" in found["error"]


def test_random_labels_and_numpy_minibatches(tmp_path):
    labels = np.eye(4, dtype=np.float32)[[0, 1, 1, 3, 3, 3, 3, 3]]
    write_official(str(tmp_path / "l"), indexed_images(8, size=4), labels)
    dataset = TFRecordDataset(str(tmp_path / "l"), max_label_size="full")
    for rng in (np.random.default_rng(0), np.random.RandomState(0)):
        drawn = dataset.get_random_labels_np(500, rng)
        assert drawn.shape == (500, 4) and drawn.dtype == np.float32
        assert set(map(tuple, drawn)) == {(1, 0, 0, 0), (0, 1, 0, 0), (0, 0, 0, 1)}
        assert 0.5 < drawn[:, 3].mean() < 0.75  # 5 of the 8 rows
    drawn_tf = dataset.get_random_labels_tf(100)
    assert drawn_tf.shape == (100, 4) and drawn_tf.dtype == tf.float32
    assert np.all(drawn_tf.numpy().sum(axis=1) == 1) and np.all(drawn_tf.numpy()[:, 2] == 0)
    images, batch_labels = dataset.get_minibatch_np(3)
    assert isinstance(images, np.ndarray) and images.shape == (3, 1, 4, 4) and batch_labels.shape == (3, 4)
    np.testing.assert_array_equal(batch_labels, labels[images[:, 0, 0, 0]])
    dataset.close()
    unlabeled = TFRecordDataset(str(tmp_path / "l"))
    assert unlabeled.get_random_labels_np(3, np.random.default_rng()).shape == (3, 0)
    assert unlabeled.get_random_labels_tf(3).shape == (3, 0)


def test_synthetic_dataset_has_the_same_interface():
    dataset = SyntheticDataset(resolution=64, num_channels=3, label_size=10)
    assert (dataset.shape, dataset.resolution_log2, dataset.level_resolutions) == ([3, 64, 64], 6,
                                                                                  [64, 32, 16, 8, 4])
    images, labels = next(iter(dataset.make_dataset(2, 5, seed=1)))
    assert images.dtype == tf.uint8 and images.shape == (5, 3, 16, 16)
    assert labels.shape == (5, 10) and np.all(labels.numpy().sum(axis=1) == 1)
    again, _ = next(iter(dataset.make_dataset(2, 5, seed=1)))
    np.testing.assert_array_equal(images, again)
    assert dataset.get_minibatch_np(2, lod=4)[0].shape == (2, 3, 4, 4)
    assert dataset.get_random_labels_np(7, np.random.default_rng()).shape == (7, 10)
    floats = SyntheticDataset(8, 1, dtype="float32", dynamic_range=[-1, 1])
    images, labels = next(iter(floats.make_dataset(0, 64)))
    assert images.dtype == tf.float32 and -1 <= images.numpy().min() < images.numpy().max() <= 1
    assert labels.shape == (64, 0)


def test_bundled_default_dataset():
    total = sum(path.stat().st_size for path in DEFAULT_DATASET.iterdir())
    assert total <= 5_000_000
    dataset = load_dataset(DEFAULT_DATASET, max_label_size="full", shuffle_mb=0, repeat=False)
    assert (dataset.name, dataset.shape, dataset.num_images, dataset.label_size) == ("fashion_mnist_32", [1, 32, 32],
                                                                                    3000, 10)
    images, labels = take(dataset.make_dataset(0, 1000), 3)
    assert np.all(images[:, :, :2, :] == 0) and np.all(images[:, :, :, -2:] == 0)  # zero padding 28 -> 32
    assert images.max() == 255
    assert list(labels.sum(axis=0)) == [300] * 10


def test_benchmark_measures_a_random_dataset(tmp_path):
    bench_dataset.write_random_dataset(str(tmp_path / "random"), resolution=8, channels=3, num_images=64)
    dataset = TFRecordDataset(str(tmp_path / "random"))
    assert dataset.shape == [3, 8, 8] and dataset.num_images == 64
    assert bench_dataset.measure(dataset, batch_size=16, seconds=0.2, warmup_batches=2) > 0


# ---------------------------------------------------------------------------------------------------------------------
# Bad datasets.

def test_missing_or_empty_dataset_directory(tmp_path):
    with pytest.raises(DatasetError, match="does not exist.*stylegan-dataset"):
        load_dataset(tmp_path / "nothing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(DatasetError, match="contains no \\*.tfrecords"):
        load_dataset(tmp_path / "empty")


def test_truncated_tfrecords_file_names_the_file_and_record(indexed_dataset):
    path = os.path.join(indexed_dataset, "indexed-r04.tfrecords")
    data = open(path, "rb").read()
    record_size = len(data) // 200
    with open(path, "wb") as file:
        file.write(data[:record_size * 123 + record_size // 2])
    with pytest.raises(DatasetError, match="indexed-r04.tfrecords is truncated: record 123 "):
        TFRecordDataset(indexed_dataset)
    with open(path, "wb") as file:  # cut at a record boundary: fewer images than the other levels
        file.write(data[:record_size * 150])
    with pytest.raises(DatasetError, match="different numbers of images.*indexed-r04.tfrecords: 150"):
        TFRecordDataset(indexed_dataset)


def test_labels_file_of_the_wrong_length(tmp_path):
    write_official(str(tmp_path / "d"), indexed_images(5, size=4), np.eye(5, dtype=np.float32))
    np.save(tmp_path / "d" / "d-rxx.labels.npy", np.eye(6, dtype=np.float32))
    os.replace(tmp_path / "d" / "d-rxx.labels.npy", tmp_path / "d" / "d-rxx.labels")
    with pytest.raises(DatasetError, match="has 6 rows but the dataset has 5 images"):
        TFRecordDataset(str(tmp_path / "d"), max_label_size="full")
    assert TFRecordDataset(str(tmp_path / "d")).label_size == 0  # labels unused: not read
    with pytest.raises(DatasetError, match="labels file elsewhere.labels not found"):
        TFRecordDataset(str(tmp_path / "d"), label_file="elsewhere.labels", max_label_size="full")


def test_inconsistent_levels_are_rejected(tmp_path):
    write_official(str(tmp_path / "d"), indexed_images(3, size=16))
    os.remove(tmp_path / "d" / "d-r03.tfrecords")
    with pytest.raises(DatasetError, match="lacks the levels \\[8\\]"):
        TFRecordDataset(str(tmp_path / "d"))
    (tmp_path / "d" / "junk.tfrecords").write_bytes(b"\x05\x00\x00\x00\x00\x00\x00\x00" + b"\x00" * 13)
    with pytest.raises(DatasetError, match="junk.tfrecords: record 0 is not a valid image record"):
        TFRecordDataset(str(tmp_path / "d"))


# ---------------------------------------------------------------------------------------------------------------------
# Stored order, cache key and damaged records (what metrics and the training loop rely on).

def test_iterate_stored_ignores_shuffling_and_mirroring(tmp_path):
    rng = np.random.default_rng(8)
    images = rng.integers(0, 256, [70, 3, 16, 16], dtype=np.uint8)  # asymmetric: a mirrored image would differ
    write_official(str(tmp_path / "d"), images, np.eye(7, dtype=np.float32)[np.arange(70) % 7])
    dataset = TFRecordDataset(str(tmp_path / "d"), max_label_size="full", mirror_augment=True)  # shuffled, repeating
    batches = list(dataset.iterate_stored(32))
    assert [b.shape for b in batches] == [(32, 3, 16, 16), (32, 3, 16, 16), (6, 3, 16, 16)]
    assert all(isinstance(b, np.ndarray) and b.dtype == np.uint8 for b in batches)
    np.testing.assert_array_equal(np.concatenate(batches), images)
    np.testing.assert_array_equal(np.argmax(dataset.labels, axis=1), np.arange(70) % 7)
    lower = np.concatenate(list(dataset.iterate_stored(16, max_images=20, lod=1)))
    np.testing.assert_array_equal(lower, np.stack([box_pyramid(image, 2)[1] for image in images[:20]]))


def test_cache_key_identifies_directory_resolution_and_files(tmp_path):
    write_official(str(tmp_path / "a"), indexed_images(6))
    key = TFRecordDataset(str(tmp_path / "a")).cache_key
    assert key.startswith("a-")
    assert TFRecordDataset(str(tmp_path / "a"), shuffle_mb=0, mirror_augment=True).cache_key == key
    assert TFRecordDataset(str(tmp_path / "a"), resolution=8).cache_key != key
    write_official(str(tmp_path / "b" / "a"), indexed_images(6))  # same name and files, another directory
    assert TFRecordDataset(str(tmp_path / "b" / "a")).cache_key != key
    for name in os.listdir(tmp_path / "a"):
        os.remove(tmp_path / "a" / name)
    os.rmdir(tmp_path / "a")
    write_official(str(tmp_path / "a"), indexed_images(7))  # same directory, more images
    assert TFRecordDataset(str(tmp_path / "a")).cache_key != key


def flip_bit(path, record, where):
    """Flips one bit of record `record` of a .tfrecords file: in its payload or in its length field."""
    data = bytearray(open(path, "rb").read())
    frame = struct.unpack("<Q", data[:8])[0] + 16
    data[record * frame + (12 + frame // 3 if where == "payload" else 1)] ^= 0x08
    with open(path, "wb") as file:
        file.write(data)


@pytest.mark.parametrize("level, where", [(4, "payload"), (2, "payload"), (3, "length")])
def test_damaged_record_is_a_dataset_error_naming_file_and_record(indexed_dataset, level, where):
    path = os.path.join(indexed_dataset, f"indexed-r{level:02d}.tfrecords")
    flip_bit(path, 77, where)
    dataset = TFRecordDataset(indexed_dataset)  # the framing is intact: opening does not read every record
    expected = f"{path} is damaged: record 77 .*re-create the dataset"
    with pytest.raises(DatasetError, match=expected):
        dataset.verify()
    lod = 4 - level
    with pytest.raises(DatasetError, match=expected):
        with dataset.read_errors():
            for _ in dataset.make_dataset(lod, 16, seed=0).take(30):
                pass
    with pytest.raises(DatasetError, match=expected):
        list(dataset.iterate_stored(50, lod=lod))
    with pytest.raises(tf.errors.DataLossError):  # what read_errors translates
        for _ in dataset.make_dataset(lod, 16, seed=0).take(30):
            pass


def test_verify_counts_every_record_of_an_intact_dataset(indexed_dataset):
    from stylegan_tf.progress import Progress
    progress = Progress(600, "Verifying", enabled=False)
    TFRecordDataset(indexed_dataset).verify(progress)
    assert progress.count == 600  # 200 images x 3 levels
