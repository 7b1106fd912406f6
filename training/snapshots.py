"""What a run writes for people to look at: image grids (`reals.png`, `fakes_init.png`, `fakes<kimg>.png`, the
TensorBoard image `fakes`) and network snapshots (`network-snapshot-<kimg>.pkl`, logged in `snapshots.jsonl` with
their kimg and time, and evaluated with the run's metrics).

The grids have the official size (about 1920x1080 pixels) unless the options give one. Images of 64 px or less are
enlarged (nearest neighbour) towards 128 px each, keeping a grid at most 4096 px wide, so that a person can see
them; the PNG and TensorBoard get the same grid.
"""
import math
import os

import numpy as np
import tensorflow as tf

import stylegan_tf
from stylegan_tf import run_dir as run_files
from stylegan_tf.images import assemble_grid, convert_images_to_uint8, save_image

_MAX_GRID_WIDTH = 4096


def grid_size(resolution):
    """Official snapshot grid `(columns, rows)`: about 1920x1080 pixels, 7..32 columns and 4..32 rows."""
    return int(np.clip(1920 // resolution, 7, 32)), int(np.clip(1080 // resolution, 4, 32))


def display_scale(resolution, columns):
    """The nearest-neighbour enlargement of a grid of `columns` images of `resolution` px (1: none)."""
    if resolution > 64:
        return 1
    return max(1, min(128 // resolution, _MAX_GRID_WIDTH // (columns * resolution)))


class Snapshots:
    """Writes the grids and network snapshots of a run into `run_dir`.

    `dataset`: the run's dataset; `Gs`: the generator shown; `rng`: the `tf.random.Generator` of its noise;
    `grid`: `(columns, rows)` or None (official); `seed`: of the grid's latents; `metrics`: names evaluated on
    each snapshot; `writer`: TensorBoard summary writer; `chief`: whether this process writes (a multi-worker run's
    other workers compute the fakes with it but write only their final network)."""

    def __init__(self, run_dir, dataset, Gs, rng, grid=None, seed=0, metrics=(), writer=None,  # noqa: N803
                 chief=True):
        self.run_dir, self.dataset, self.Gs, self.rng = run_dir, dataset, Gs, rng
        self.metrics, self.writer, self.chief = list(metrics), writer, chief
        self.columns, self.rows = grid or grid_size(dataset.resolution)
        self.scale = display_scale(dataset.resolution, self.columns)
        count = self.columns * self.rows
        self.latents = np.random.RandomState(seed).randn(count, Gs.input_shapes[0][1]).astype(np.float32)
        self.labels = None
        self._fakes_fns = {}

    def write_reals(self, reals, labels):
        """Keep the labels of the grid's reals `[N, label_size]` for the fakes, and write `reals.png` from the reals
        `[N, C, H, W]` (uint8 in the dataset's range), N = columns * rows."""
        self.labels = labels.astype(np.float32)
        if self.chief:
            self._write(reals, run_files.REALS, drange=self.dataset.dynamic_range)

    def _write(self, images, name, drange=(-1, 1)):
        """Write `images [N, C, H, W]` as the grid `name`; returns it, uint8 `[H', W', C]`."""
        images = np.asarray(convert_images_to_uint8(images, drange=drange, nchw_to_nhwc=True))
        rows = [list(images[r * self.columns:(r + 1) * self.columns]) for r in range(self.rows)]
        grid = assemble_grid(rows).repeat(self.scale, axis=0).repeat(self.scale, axis=1)
        save_image(grid, os.path.join(self.run_dir, name))
        return grid

    def write_fakes(self, name, step):
        """Gs on the grid's latents at its current lod, written as the grid `name` and to TensorBoard at `step`.
        Gs runs at the current resolution (one trace per resolution); the images are then nearest-upscaled to full
        size, which is what the official full-resolution graph gives."""
        lod = float(self.Gs.lod.numpy())
        res_log2 = self.dataset.resolution_log2 - math.floor(lod)
        if res_log2 not in self._fakes_fns:
            self._fakes_fns[res_log2] = tf.function(lambda z, c, lod: self.Gs(
                z, c, lod=lod, resolution=2 ** res_log2, is_validation=True, rng=self.rng))
        fn, factor = self._fakes_fns[res_log2], 2 ** (self.dataset.resolution_log2 - res_log2)
        batches = [fn(tf.constant(self.latents[i:i + 64]), tf.constant(self.labels[i:i + 64]),
                      tf.constant(lod)).numpy() for i in range(0, len(self.latents), 64)]
        images = np.concatenate(batches).repeat(factor, axis=2).repeat(factor, axis=3)
        if self.chief:
            grid = self._write(images, name)
            if self.writer is not None:
                with self.writer.as_default():
                    tf.summary.image("fakes", grid[None], step=step)

    def write_networks(self, networks, name, step, every_worker=False, nimg=None, elapsed_sec=None, cpu_sec=None):
        """Write `(G, D, Gs)` as the snapshot `name`, log it in `snapshots.jsonl` (`nimg` images shown, the run's
        training time `elapsed_sec` and CPU time `cpu_sec`) and evaluate the run's metrics on it (chief only),
        reported at TensorBoard `step`."""
        if self.chief or every_worker:
            stylegan_tf.save_network_pkl(networks, os.path.join(self.run_dir, name))
        if self.chief and nimg is not None:
            run_files.log_snapshot(self.run_dir, name, nimg, elapsed_sec, cpu_sec)
        if self.chief and self.metrics:
            from metrics.evaluate import evaluate
            evaluate(self.metrics, self.Gs, self.dataset, run_dir=self.run_dir,
                     snapshot_name=os.path.splitext(name)[0], summary_writer=self.writer, step=step)
