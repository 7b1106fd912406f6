"""The tick line a user watches: progress towards total_kimg, the run's time across resumes, and the ETA, on a
clock the test controls."""
import re

from training import report
from training.schedule import SchedulePoint

SCHED = SchedulePoint(kimg=2.0, lod=1.5, resolution=16, minibatch=32, G_lrate=0.002, D_lrate=0.002, tick_kimg=1)


class Clock:
    def __init__(self, now):
        self.now = now

    def __call__(self):
        return self.now


def test_tick_line_progress_time_and_eta(monkeypatch):
    clock = Clock(100.0)
    monkeypatch.setattr(report.time, "time", clock)
    lines = []
    # resumed at 1000 images after 50 s of training; 5 kimg in all
    ticks = report.TickReport(total_nimg=5000, start_nimg=1000, elapsed_sec=50.0, log=lines.append)
    assert ticks.eta(1000) is None  # no progress yet
    clock.now = 110.0
    ticks.tick(cur_tick=3, cur_nimg=2000, tick_start_nimg=1000, sched=SCHED, stats={})
    assert re.match(r"tick 3 +kimg 2\.000/5 \(40%\) +lod 1\.50 +minibatch 32 +time 1m 00s +sec/tick 10\.0 +"
                    r"sec/kimg 10\.00 +maintenance 0\.0 +mem \S+ +ETA 30s$", lines[-1]), lines[-1]
    clock.now = 112.0  # 2 s of snapshots and checkpoint
    ticks.maintenance_done()
    clock.now = 122.0
    ticks.tick(cur_tick=4, cur_nimg=5120, tick_start_nimg=2000, sched=SCHED, stats={})
    assert re.search(r"kimg 5\.120/5 \(100%\) .* time 1m 12s .* maintenance 2\.0 .* ETA 0s$", lines[-1]), lines[-1]


def test_cpu_time_continues_from_the_checkpoint(monkeypatch):
    """The run's CPU time is the checkpoint's plus what this process used since it started training."""
    cpu = Clock(7.0)
    monkeypatch.setattr(report.time, "process_time", cpu)
    ticks = report.TickReport(total_nimg=5000, start_nimg=1000, elapsed_sec=50.0, log=[].append, cpu_sec=90.0)
    assert ticks.cpu() == 90.0
    cpu.now = 27.5
    assert ticks.cpu() == 110.5


def test_long_runs_show_kimg_as_official():
    lines = []
    ticks = report.TickReport(total_nimg=40_000, start_nimg=0, elapsed_sec=0.0, log=lines.append)
    ticks.tick(cur_tick=1, cur_nimg=20_480, tick_start_nimg=0, sched=SCHED, stats={})
    assert re.match(r"tick 1 +kimg 20\.5/40 \(51%\) ", lines[-1]), lines[-1]
