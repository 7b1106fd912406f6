"""The dataset tool against hostile and broken inputs (issue 18): what --overwrite may replace, a full disk, a writer
killed mid-write, malformed CIFAR batches, file names with control characters, damaged records."""
import os
import pickle
import signal
import struct
import subprocess
import sys
import textwrap

import numpy as np
import PIL.Image
import pytest

from cli import dataset as dataset_cli
from training import dataset_create, dataset_inspect
from training.dataset import DatasetError, TFRecordDataset
from training.dataset_writer import is_dataset_dir

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def random_pngs(folder, num, size=16, seed=0):
    """`num` random RGB PNGs img000.png ... in `folder` (created)."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    for i in range(num):
        PIL.Image.fromarray(rng.integers(0, 256, [size, size, 3], dtype=np.uint8)).save(folder / f"img{i:03d}.png")
    return folder


def snapshot(path):
    """Every file below `path` with its bytes."""
    return {os.path.relpath(os.path.join(root, name), path): open(os.path.join(root, name), "rb").read()
            for root, _, names in os.walk(path) for name in names}


def hidden(parent):
    """Hidden entries of `parent`: the temporary directories of writers."""
    return sorted(name for name in os.listdir(parent) if name.startswith("."))


def cli(capsys, *args):
    """Runs `stylegan-dataset` in this process; returns (exit status, stdout, stderr)."""
    try:
        dataset_cli.run_main(["stylegan-dataset", *map(str, args)])
    except SystemExit as exit_:
        status = exit_.code
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def error_line(err):
    """The one `error: ...` line of stderr (progress lines may precede it), checked to be its last line."""
    lines = err.splitlines()
    assert [line for line in lines if line.startswith("error: ")] == lines[-1:] and "Traceback" not in err, err
    return lines[-1]


def run_tool(*args):
    """Runs `python -m training.dataset_tool` in a subprocess."""
    return subprocess.run([sys.executable, "-m", "training.dataset_tool", *map(str, args)], cwd=REPO,
                          capture_output=True, text=True, timeout=300)


def write_level_files(folder, prefix, levels=(2, 3, 4), labels=True):
    """The file set of a dataset, as NVIDIA's tool names it (the contents do not matter for recognising it)."""
    folder.mkdir(parents=True)
    for level in levels:
        (folder / f"{prefix}-r{level:02d}.tfrecords").write_bytes(b"records")
    if labels:
        (folder / f"{prefix}-rxx.labels").write_bytes(b"labels")
    return folder


# ---------------------------------------------------------------------------------------------------------------------
# --overwrite replaces only datasets, and never a folder holding the source

def test_overwrite_never_replaces_the_source_or_a_folder_holding_it(tmp_path, capsys):
    photos = tmp_path / "photos"
    random_pngs(photos / "faces", 3)
    (photos / "thesis.tex").write_text("years of work")
    before = snapshot(photos)
    for target in (photos, photos / "faces", tmp_path):
        with pytest.raises(DatasetError, match="contains .*faces, which is being read; write the dataset somewhere"):
            dataset_create.create_from_images(str(target), str(photos / "faces"), overwrite=True)
    status, _, err = cli(capsys, "create_from_images", photos, photos / "faces", "--overwrite")
    assert status == 2 and "being read" in error_line(err)
    assert snapshot(photos) == before and not hidden(tmp_path)


def test_overwrite_refuses_a_folder_that_is_not_a_dataset(tmp_path):
    random_pngs(tmp_path / "src", 3)
    (tmp_path / "documents").mkdir()
    (tmp_path / "documents" / "letter.txt").write_text("dear ...")
    almost = write_level_files(tmp_path / "almost", "almost")
    (almost / "notes.txt").write_text("my notes on this dataset")  # a dataset plus a file of the user's
    for target in ("documents", "almost"):
        before = snapshot(tmp_path / target)
        with pytest.raises(DatasetError, match=f"{target} exists and is not a dataset written by this tool; "
                                               f"refusing to replace it"):
            dataset_create.create_from_images(str(tmp_path / target), str(tmp_path / "src"), overwrite=True)
        assert snapshot(tmp_path / target) == before
    (tmp_path / "file").write_text("a file")
    with pytest.raises(DatasetError, match="exists and is not a directory"):
        dataset_create.create_from_images(str(tmp_path / "file"), str(tmp_path / "src"), overwrite=True)
    assert not hidden(tmp_path)


def test_overwrite_replaces_a_dataset_by_its_exact_file_set(tmp_path):
    random_pngs(tmp_path / "src", 3)
    write_level_files(tmp_path / "nvidia", "renamed-long-ago")  # NVIDIA's tool writes no marker: its file set
    dataset_create.create_from_images(str(tmp_path / "nvidia"), str(tmp_path / "src"), overwrite=True)
    assert sorted(os.listdir(tmp_path / "nvidia")) == [f"nvidia-r0{r}.tfrecords" for r in (2, 3, 4)]
    assert TFRecordDataset(str(tmp_path / "nvidia")).num_images == 3 and not hidden(tmp_path)


def test_is_dataset_dir_accepts_exactly_the_file_set_of_one_dataset(tmp_path):
    assert is_dataset_dir(write_level_files(tmp_path / "a", "a"))
    assert is_dataset_dir(write_level_files(tmp_path / "b", "x", levels=(2, 3, 4, 5), labels=False))
    assert not is_dataset_dir(write_level_files(tmp_path / "c", "c", levels=(2, 4)))  # a level missing
    assert not is_dataset_dir(write_level_files(tmp_path / "d", "d", levels=(3, 4)))  # no 4x4 level
    mixed = write_level_files(tmp_path / "e", "e")
    (mixed / "f-r02.tfrecords").write_bytes(b"")  # two datasets' files
    assert not is_dataset_dir(mixed)
    nested = write_level_files(tmp_path / "g", "g")
    (nested / "sub").mkdir()
    assert not is_dataset_dir(nested)
    linked = write_level_files(tmp_path / "h", "h", levels=(2,), labels=False)
    os.symlink(tmp_path / "a" / "a-r03.tfrecords", linked / "h-r03.tfrecords")
    assert not is_dataset_dir(linked)
    (tmp_path / "empty").mkdir()
    assert not is_dataset_dir(tmp_path / "empty") and not is_dataset_dir(tmp_path / "missing")


def test_extract_replaces_only_a_folder_of_extracted_images(tmp_path):
    random_pngs(tmp_path / "src", 3)
    dataset_create.create_from_images(str(tmp_path / "ds"), str(tmp_path / "src"))
    dataset_inspect.extract(str(tmp_path / "ds"), str(tmp_path / "png"))
    dataset_inspect.extract(str(tmp_path / "ds"), str(tmp_path / "png"), max_images=2, overwrite=True)
    assert sorted(os.listdir(tmp_path / "png")) == ["img00000000.png", "img00000001.png"]
    (tmp_path / "png" / "holiday.jpg").write_bytes(b"a photo")
    before = snapshot(tmp_path / "png")
    with pytest.raises(DatasetError, match="is not a folder of extracted images written by this tool"):
        dataset_inspect.extract(str(tmp_path / "ds"), str(tmp_path / "png"), overwrite=True)
    assert snapshot(tmp_path / "png") == before
    before = snapshot(tmp_path)
    with pytest.raises(DatasetError, match="contains .*ds, which is being read"):
        dataset_inspect.extract(str(tmp_path / "ds"), str(tmp_path), overwrite=True)
    assert snapshot(tmp_path) == before


# ---------------------------------------------------------------------------------------------------------------------
# A full disk and a killed writer leave nothing behind

@pytest.fixture
def small_disk(tmp_path):
    """A 1 MiB tmpfs mounted in tmp_path (needs root, as in CI)."""
    disk = tmp_path / "disk"
    disk.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(disk)], capture_output=True,
                             text=True)
    if mounted.returncode:
        pytest.skip(f"cannot mount a small tmpfs to fill up (needs root): {mounted.stderr.strip()}")
    yield disk
    subprocess.run(["umount", "--lazy", str(disk)], check=True)  # detached even if a file there is still open


def test_disk_full_is_one_error_and_leaves_nothing_behind(tmp_path, small_disk, capsys):
    big = random_pngs(tmp_path / "big", 32, size=128)  # a dataset of about 2 MiB
    small = random_pngs(tmp_path / "small", 2, size=8)
    with pytest.raises(OSError, match="cannot write the dataset .*out: No space left on device; nothing was "
                                      "written") as error:
        dataset_create.create_from_images(str(small_disk / "out"), str(big))
    assert error.value.errno == 28 and os.listdir(small_disk) == []
    dataset_create.create_from_images(str(small_disk / "out"), str(small))  # a failed --overwrite keeps it
    before = snapshot(small_disk)
    status, _, err = cli(capsys, "create_from_images", small_disk / "out", big, "--overwrite")
    assert status == 2 and error_line(err).startswith("error: cannot write the dataset ")
    assert error_line(err).endswith("out: No space left on device; nothing was written")
    assert snapshot(small_disk) == before and os.listdir(small_disk) == ["out"]
    dataset_create.create_from_images(str(tmp_path / "big_dataset"), str(big))
    with pytest.raises(OSError, match="No space left on device"):  # its PNGs take about 1.5 MiB
        dataset_inspect.extract(str(tmp_path / "big_dataset"), str(small_disk / "png"))
    assert os.listdir(small_disk) == ["out"]


def test_disk_full_in_a_separate_process(tmp_path, small_disk):
    big = random_pngs(tmp_path / "big", 32, size=128)
    result = run_tool("create_from_images", small_disk / "out", big)
    assert result.returncode == 2 and error_line(result.stderr).startswith("error: cannot write the dataset ")
    assert os.listdir(small_disk) == []


_SLOW_WRITER = textwrap.dedent("""
    import sys, time
    import numpy as np
    from training.dataset_writer import TFRecordExporter
    with TFRecordExporter(sys.argv[1], 1000, print_progress=False) as tfr:
        for i in range(1000):
            tfr.add_image(np.full([1, 8, 8], i % 256, np.uint8))
            if i == 2:
                print("writing", flush=True)
            time.sleep(0.05)
""")


def test_the_next_run_removes_what_a_killed_writer_left(tmp_path):
    random_pngs(tmp_path / "src", 3)
    writer = subprocess.Popen([sys.executable, "-c", _SLOW_WRITER, str(tmp_path / "out")], cwd=REPO,
                              stdout=subprocess.PIPE, text=True)
    try:
        assert writer.stdout.readline() == "writing\n"
        partial = hidden(tmp_path)
        assert len(partial) == 1 and partial[0].startswith(".out.partial-")
        dataset_create.create_from_images(str(tmp_path / "out"), str(tmp_path / "src"))
        assert hidden(tmp_path) == partial  # a writer still running keeps its directory
    finally:
        writer.send_signal(signal.SIGKILL)
        writer.wait()
    assert hidden(tmp_path) == partial and os.listdir(tmp_path / partial[0])  # kill -9: nothing could clean up
    dataset_create.create_from_images(str(tmp_path / "out"), str(tmp_path / "src"), overwrite=True)
    assert hidden(tmp_path) == [] and TFRecordDataset(str(tmp_path / "out")).num_images == 3


# ---------------------------------------------------------------------------------------------------------------------
# Malformed sources: one clear line

def cifar_batch(folder, data, labels, layout=dict):
    folder.mkdir(exist_ok=True)
    with open(folder / "test_batch", "wb") as file:
        pickle.dump(layout(data=data, labels=labels) if layout is dict else [data, labels], file, protocol=2)
    return folder


GOOD_DATA = np.zeros([4, 3072], np.uint8)


@pytest.mark.parametrize("data, labels, problem", [
    (np.zeros([4, 3000], np.uint8), [0, 1, 2, 3], r"'data': expected uint8 images of 3x32x32 = 3072 values each, "
                                                  r"found uint8 \[4, 3000\]"),
    (np.full([4, 3072], 0.5), [0, 1, 2, 3], r"'data': expected uint8 images .* found float64 \[4, 3072\]"),
    (np.full([4, 3072], 300), [0, 1, 2, 3], r"'data': pixel values must lie in \[0, 255\], found \[300, 300\]"),
    ([[1, 2], [3]], [0, 1], r"'data': not an array of numbers"),
    (GOOD_DATA, [0, 1, 2, 1000], r"'labels': class labels must lie in \[0, 10\), found labels from 0 to 1000"),
    (GOOD_DATA, [0, -1, 2, 3], r"'labels': class labels must lie in \[0, 10\), found labels from -1 to 3"),
    (GOOD_DATA, [0, 1, 2, 10 ** 30], r"'labels': expected 4 integer class labels \(one per image\), found object"),
    (GOOD_DATA, [0, 1, 2, float("nan")], r"'labels': expected 4 integer class labels .* found float64 \[4\]"),
    (GOOD_DATA, ["cat", "dog", "cat", "dog"], r"'labels': expected 4 integer class labels .* found <U3 \[4\]"),
    (GOOD_DATA, [], r"'labels': expected 4 integer class labels .* found float64 \[0\]"),
    (GOOD_DATA, [0, 1, 2], r"'labels': expected 4 integer class labels .* found int64 \[3\]"),
])
def test_malformed_cifar_batch_is_one_clear_error(tmp_path, data, labels, problem):
    source = cifar_batch(tmp_path / "cifar", data, labels)
    with pytest.raises(DatasetError, match=f"{source / 'test_batch'}: {problem}"):
        dataset_create.create_cifar10(str(tmp_path / "out"), str(source), split="test")
    assert sorted(os.listdir(tmp_path)) == ["cifar"]


def test_malformed_batches_on_the_command_line(tmp_path, capsys):
    source = cifar_batch(tmp_path / "cifar", np.zeros([4, 3000], np.uint8), [0, 1, 2, 3])
    status, _, err = cli(capsys, "create_cifar10", tmp_path / "out", source, "--split=test")
    assert status == 2 and error_line(err).startswith(f"error: {source / 'test_batch'}: 'data'")
    cifar_batch(source, GOOD_DATA, [0, 1, 2, 3], layout=list)
    status, _, err = cli(capsys, "create_cifar10", tmp_path / "out", source, "--split=test")
    assert status == 2 and "is not a CIFAR batch (no 'data'/'labels')" in error_line(err)
    svhn = tmp_path / "svhn"
    svhn.mkdir()
    for i in (1, 2, 3):
        with open(svhn / f"train_{i}.pkl", "wb") as file:
            pickle.dump((np.zeros([2, 32, 32, 3], np.uint8), np.array([1.5, 2])), file)
    status, _, err = cli(capsys, "create_svhn", tmp_path / "out", svhn)
    assert status == 2 and "train_1.pkl: labels: expected 2 integer class labels" in error_line(err)
    assert sorted(os.listdir(tmp_path)) == ["cifar", "svhn"]


def test_file_names_with_control_characters_are_shown_escaped(tmp_path, capsys):
    src = random_pngs(tmp_path / "src", 2, size=8)
    (src / "evil\nname\x1b[2J.png").write_text("not an image")
    with open(os.path.join(os.fsencode(src), b"latin1-\xe9t\xe9.txt"), "w") as file:  # not valid UTF-8
        file.write("not an image")
    dataset_create.create_from_images(str(tmp_path / "out"), str(src))
    out = capsys.readouterr().out
    assert "Skipped 2 file(s):" in out and "\x1b" not in out and "\udce9" not in out
    assert "  evil\\nname\\x1b[2J.png: not an image (unknown format)\n" in out
    assert "  latin1-\\xe9t\\xe9.txt: not an image (unknown format)\n" in out
    status, _, err = cli(capsys, "create_from_images", tmp_path / "strict", src, "--strict")
    assert status == 2 and "\x1b" not in err and "e.g. evil\\nname\\x1b[2J.png: not an" in error_line(err)
    weird = tmp_path / "no\x1b[31mwhere"
    status, _, err = cli(capsys, "create_from_images", tmp_path / "out2", weird)
    assert status == 2 and "\x1b" not in err and "no\\x1b[31mwhere does not exist" in error_line(err)


# ---------------------------------------------------------------------------------------------------------------------
# A damaged dataset is found by `info`, before training

def test_info_checks_every_record(tmp_path, capsys):
    random_pngs(tmp_path / "src", 20)
    dataset_create.create_from_images(str(tmp_path / "ds"), str(tmp_path / "src"))
    status, out, _ = cli(capsys, "info", tmp_path / "ds")
    assert status == 0 and "records:    60 checksums verified, all intact" in out
    path = tmp_path / "ds" / "ds-r03.tfrecords"
    data = bytearray(path.read_bytes())
    frame = struct.unpack("<Q", data[:8])[0] + 16
    data[13 * frame + 100] ^= 0x01  # one bit of the pixels of record 13
    path.write_bytes(data)
    status, out, err = cli(capsys, "info", tmp_path / "ds")
    assert status == 2 and error_line(err) == (f"error: {path} is damaged: record 13 (at byte {13 * frame}) fails "
                                               f"its checksum; re-create the dataset (or restore the file)")
    status, out, _ = cli(capsys, "info", tmp_path / "ds", "--noverify")
    assert status == 0 and "checksums not verified" in out


def test_printable_escapes_only_what_cannot_be_shown_on_one_line():
    from stylegan_tf.fileio import printable
    assert printable("été 2024 (1).png") == "été 2024 (1).png"
    assert printable("a\nb\tc\x1b[2J\u202eexe.png") == "a\\nb\\tc\\x1b[2J\\u202eexe.png"
    assert printable(os.fsdecode(b"caf\xe9.png")) == "caf\\xe9.png"  # an undecodable byte of a file name
