"""The command-line tools: one thin module per command on one shared base (`cli.base`).

| command | module |
| --- | --- |
| `stylegan-train` | `cli.train` |
| `stylegan-generate` | `cli.generate` |
| `stylegan-dataset` | `cli.dataset` |
| `stylegan-metrics` | `cli.metrics` |
| `stylegan-convert` | `cli.convert` |
| `stylegan-export` | `cli.export` |
| `stylegan-bench` | `cli.bench` |

Each is also `python -m cli.<module>`. This package sits above everything else: it may import `training`,
`metrics`, `dnnlib` and `stylegan_tf`; nothing imports it.
"""
