"""The imports point one way (docs/architecture.md): no circles between files,
nothing importing a package on its own floor or above. The command the page
gives is the one run here."""

from __future__ import annotations

import subprocess
import sys

from testkit.processes import ROOT


def test_no_import_circles_and_no_import_runs_back_up():
    run = subprocess.run(
        [sys.executable, "scripts/imports.py", "--strict"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == 0, run.stdout
    assert "import circles between files: 0" in run.stdout
    assert "imports that run back up or sideways: 0" in run.stdout


def test_production_code_never_imports_the_test_kit():
    skip = {".venv", "var", "tests", "testkit", "bench", "node_modules"}
    offenders = [
        str(path.relative_to(ROOT))
        for top in ROOT.iterdir()
        if top.is_dir() and top.name not in skip and not top.name.startswith(".")
        for path in top.rglob("*.py")
        if not skip & set(path.relative_to(ROOT).parts)
        and path.name != "contract.py"  # the contract suite is itself test code
        and ("from testkit" in (text := path.read_text()) or "import testkit" in text)
    ]
    assert offenders == []


def test_templates_hold_no_inline_script_style_or_handler():
    """The Content-Security-Policy allows none: each would be refused in the page
    (the browser check is dashboard/tests/test_every_page.py)."""
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parents[2] / "templates"
    inline = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>|\sstyle=|\son[a-z]+=", re.I)
    found = [
        f"{path.relative_to(root)}: {match.group(0)}"
        for path in root.rglob("*.html")
        for match in inline.finditer(path.read_text())
    ]
    assert found == []
