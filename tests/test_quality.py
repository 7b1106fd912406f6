"""The quality measurement: metrics of every snapshot of a run, as records and a plot (`training.quality`,
`stylegan-quality`)."""
import json

import numpy as np
import PIL.Image
import pytest

from stylegan_tf import run_dir as run_files
from training import quality


def _records(label, run, values, times=True):
    return [dict(label=label, run_dir=run, snapshot=f"s{i}.pkl", kimg=float(k), wall_sec=60.0 * k if times else None,
                 cpu_sec=120.0 * k if times else None, result="fid3k", value=v) for i, (k, v) in enumerate(values)]


def test_plot_draws_one_panel_per_axis_with_data(tmp_path):
    records = (_records("a", "r1", [(1, 100), (2, 80)]) + _records("a", "r2", [(1, 110), (2, 70)])
               + _records("b", "r3", [(1, 90), (2, 60)], times=False))
    path = quality.plot(records, tmp_path / "q.png", "fid3k", title="test")
    image = np.asarray(PIL.Image.open(path))
    assert image.shape[1] == 1500 and image.shape[0] == 400  # three panels of 5x4 inches at 100 dpi
    only_kimg = quality.plot(_records("b", "r3", [(1, 90)], times=False), tmp_path / "k.png", "fid3k")
    assert np.asarray(PIL.Image.open(only_kimg)).shape[1] == 500
    with pytest.raises(ValueError, match="no records of 'kid3k'"):
        quality.plot(records, tmp_path / "x.png", "kid3k")


def test_records_round_trip_and_snapshots_fall_back_to_files(tmp_path):
    records = _records("a", "r1", [(1, 100), (2, 80)])
    quality.write_records(records[:1], tmp_path / "q.jsonl")
    quality.write_records(records[1:], tmp_path / "q.jsonl")
    assert quality.read_records(tmp_path / "q.jsonl") == records
    run = tmp_path / "run"
    run.mkdir()
    for nimg in (128, 4000):
        (run / run_files.snapshot_name(nimg)).write_bytes(b"")
    assert [(s["snapshot"], s["kimg"], s["wall_sec"]) for s in quality.snapshots_of(str(run))] == [
        ("network-snapshot-000000.128.pkl", 0.128, None), ("network-snapshot-000004.pkl", 4.0, None)]
    run_files.log_snapshot(str(run), "network-snapshot-000004.pkl", 4000, 12.5, 30.25)
    with open(run / run_files.SNAPSHOT_LOG, "a") as f:
        f.write('{"snapshot": "network-snap')  # a line cut short by a killed process
    logged = quality.snapshots_of(str(run))
    assert [(s["snapshot"], s["kimg"], s["wall_sec"]) for s in logged] == [("network-snapshot-000004.pkl", 4.0, 12.5)]
    assert logged[0]["cpu_sec"] == 30.25
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ValueError, match="no network snapshots"):
        quality.snapshots_of(str(empty))


@pytest.mark.slow
def test_quality_command_trains_evaluates_and_plots(tmp_path):
    from cli.quality import run_main
    with pytest.raises(SystemExit) as status:
        run_main(["stylegan-quality", "--config=quickstart", "--seeds=3", "--total_kimg=0.256", "--metrics=swd",
                  "--num_images=64",
                  "--train_flags=--tick_kimg=0.128 --minibatch=16 --snapshot_ticks=1 --lod_initial_resolution=8",
                  f"--outdir={tmp_path}"])
    assert status.value.code == 0
    records = [json.loads(line) for line in (tmp_path / "quality.jsonl").read_text().splitlines()]
    kimgs = sorted({r["kimg"] for r in records})
    assert kimgs == [0.128, 0.256]
    assert {r["result"] for r in records} == {"swd64_32", "swd64_16", "swd64_avg"}
    assert all(r["wall_sec"] > 0 and r["cpu_sec"] > 0 and np.isfinite(r["value"]) for r in records)
    assert (tmp_path / "quality-swd64_avg.png").is_file()
    run = records[0]["run_dir"]
    assert len((tmp_path / "runs").iterdir().__next__().joinpath("metric-swd64.jsonl").read_text().splitlines()) == 2
    with pytest.raises(SystemExit) as status:
        run_main(["stylegan-quality", f"--plot={tmp_path / 'quality.jsonl'}", "--result=swd64_32",
                  f"--outdir={tmp_path / 'again'}"])
    assert status.value.code == 0 and (tmp_path / "again" / "quality-swd64_32.png").is_file()
    assert run.startswith(str(tmp_path / "runs"))
