"""README.rst is valid reStructuredText (it is also the package's long description)."""

from pathlib import Path

import pytest

docutils_core = pytest.importorskip("docutils.core")


def test_readme_renders_without_errors():
    text = (Path(__file__).resolve().parents[1] / "README.rst").read_text()
    docutils_core.publish_string(
        text, writer_name="null", settings_overrides={"report_level": 2, "halt_level": 2}
    )
