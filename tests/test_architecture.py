"""The house rules, read from the source: imports run one way, every module says its job, no module grows too big.

Arrows (DESIGN.md): `cli` -> `training` -> `metrics` -> `stylegan_tf`; `dnnlib` -> `stylegan_tf`. Every import
counts, also those inside functions. The only modules below `cli` that mention it are `python -m` entry points kept
for old command lines: a docstring and an `if __name__ == "__main__":` block, nothing else.
"""
import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("stylegan_tf", "dnnlib", "metrics", "training", "cli")
#: what each package may import of ours
ALLOWED = {
    "stylegan_tf": {"stylegan_tf"},
    "dnnlib": {"dnnlib", "stylegan_tf"},
    "metrics": {"metrics", "stylegan_tf", "dnnlib"},
    "training": {"training", "metrics", "stylegan_tf", "dnnlib"},
    "cli": set(PACKAGES),
}
MAX_LINES = 500


def _modules():
    return sorted(p for package in PACKAGES for p in (ROOT / package).rglob("*.py"))


def _imports(tree):
    """Top-level names of every module imported anywhere in `tree`."""
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
    return found


def _is_entry_point_shim(tree):
    """A docstring and `if __name__ == "__main__": ...`, nothing else."""
    body = tree.body
    return (len(body) == 2 and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant)
            and isinstance(body[1], ast.If) and ast.unparse(body[1].test) in ("__name__ == '__main__'",
                                                                             '__name__ == "__main__"'))


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(ROOT)))
def test_imports_run_one_way(path):
    package = path.relative_to(ROOT).parts[0]
    tree = ast.parse(path.read_text(encoding="utf-8"))
    ours = _imports(tree) & set(PACKAGES)
    if _is_entry_point_shim(tree):
        ours -= {"cli"}
    wrong = sorted(ours - ALLOWED[package])
    assert not wrong, f"{path.relative_to(ROOT)} ({package}) imports {wrong}; allowed: {sorted(ALLOWED[package])}"


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(ROOT)))
def test_every_module_names_its_job_and_stays_small(path):
    text = path.read_text(encoding="utf-8")
    docstring = ast.get_docstring(ast.parse(text))
    assert docstring and docstring.strip().splitlines()[0].strip(), f"{path.relative_to(ROOT)} has no docstring"
    lines = text.count("\n")
    assert lines <= MAX_LINES, f"{path.relative_to(ROOT)} has {lines} lines (more than {MAX_LINES}: split it)"


def test_the_rules_catch_a_backward_import(tmp_path):
    """The check itself: a function-local import of `training` inside `stylegan_tf` is found."""
    tree = ast.parse('"""Doc."""\ndef f():\n    from training import loss\n    return loss\n')
    assert _imports(tree) & set(PACKAGES) == {"training"}
    assert not _is_entry_point_shim(tree)
    shim = ast.parse('"""Entry point."""\nif __name__ == "__main__":\n    from cli.train import run_main\n'
                     '    run_main()\n')
    assert _is_entry_point_shim(shim)
