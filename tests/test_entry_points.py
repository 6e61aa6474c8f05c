"""`cxy` and `python -m matcher` are the same command, installed and runnable as processes."""

import shutil
import subprocess
import sys

import pytest


@pytest.mark.parametrize("command", [[sys.executable, "-m", "matcher"], ["cxy"]])
def test_both_entry_points_run_a_command_against_a_fresh_database(command, tmp_path):
    if command == ["cxy"]:
        command = [shutil.which("cxy", path=str(__import__("pathlib").Path(sys.executable).parent))]
    result = subprocess.run([*command, "--db", str(tmp_path / "x.db"), "status"], capture_output=True, text=True,
                            check=False)
    assert result.returncode == 0, result.stderr
    assert "institutions" in result.stdout and (tmp_path / "x.db").exists()
