"""Shared pytest fixtures: where the official reference fixtures live, quiet TF logs, oneDNN on as in the tools."""
import os
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# the tools' numerics and speed: oneDNN kernels on every x86 CPU (cli/base.py)
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")

import pytest  # noqa: E402

#: the copy of the official reference fixtures kept in the repository
REPO_FIXTURES = Path(__file__).resolve().parent / "fixtures"
#: the maintainers' shared fixtures beside the checkout, when present
SHARED_FIXTURES = Path(__file__).resolve().parents[2] / "shared" / "fixtures"
FIXTURES_DIR = Path(os.environ.get("STYLEGAN_TF_FIXTURES",
                                   SHARED_FIXTURES if SHARED_FIXTURES.is_dir() else REPO_FIXTURES))


@pytest.fixture(scope="session")
def fixtures_dir():
    """``$STYLEGAN_TF_FIXTURES``, else ``../shared/fixtures``, else the repository's copy ``tests/fixtures``.
    Missing: skipped locally, an error in CI."""
    if not FIXTURES_DIR.is_dir():
        message = f"official reference fixtures not found at {FIXTURES_DIR} (set STYLEGAN_TF_FIXTURES)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return FIXTURES_DIR
