"""The repository's copy of the official reference fixtures equals the maintainers' shared one."""
import filecmp

import pytest

from conftest import REPO_FIXTURES, SHARED_FIXTURES


def _files(root):
    """Relative paths of the fixture files under `root` (not the copy's own top-level README)."""
    return sorted(p.relative_to(root) for p in root.rglob("*") if p.is_file() and p != root / "README.md")


@pytest.mark.skipif(not SHARED_FIXTURES.is_dir(), reason="no ../shared/fixtures beside the checkout")
def test_repository_copy_equals_the_shared_fixtures():
    shared = _files(SHARED_FIXTURES)
    assert shared, "the shared fixtures are empty"
    assert _files(REPO_FIXTURES) == shared
    different = [str(p) for p in shared if not filecmp.cmp(SHARED_FIXTURES / p, REPO_FIXTURES / p, shallow=False)]
    assert not different, f"tests/fixtures differs from ../shared/fixtures in {different}"
