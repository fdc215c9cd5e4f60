"""Fixtures shared by the command-line tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from allpath.interfaces.cli import app
from tests.conftest import require_shared


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A data folder whose registry holds the shared 20-study snapshot, imported once per test module with
    ``allpath trials import``; the environment points the commands at it while the module's tests run."""
    folder = tmp_path_factory.mktemp("registry")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("ALLPATH_DATA_DIR", str(folder / "data"))
        patch.delenv("ALLPATH_DATABASE_URL", raising=False)
        patch.delenv("ALLPATH_TRIALS_OUTDATED_DAYS", raising=False)
        imported = CliRunner().invoke(app, ["trials", "import", str(require_shared() / "trials" / "studies.json")])
        assert imported.exit_code == 0, imported.output
        yield folder
