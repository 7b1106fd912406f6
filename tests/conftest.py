"""Shared pytest fixtures: where the official reference fixtures live, quiet TF logs."""
import os
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import pytest  # noqa: E402

FIXTURES_DIR = Path(os.environ.get("STYLEGAN_TF_FIXTURES",
                                   Path(__file__).resolve().parents[2] / "shared" / "fixtures"))


@pytest.fixture(scope="session")
def fixtures_dir():
    """``../shared/fixtures`` (or ``$STYLEGAN_TF_FIXTURES``). Missing: skipped locally, an error in CI."""
    if not FIXTURES_DIR.is_dir():
        message = f"official reference fixtures not found at {FIXTURES_DIR} (set STYLEGAN_TF_FIXTURES)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return FIXTURES_DIR
