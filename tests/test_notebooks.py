"""The notebooks are executed here, against a copy of the sample database, so they cannot rot."""

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from tests.conftest import copy_sample_db

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"


@pytest.mark.parametrize("name", ["evaluation.ipynb", "monthly_report.ipynb"])
def test_notebook_runs_top_to_bottom(name, sample_db, tmp_path, monkeypatch):
    cli = copy_sample_db(sample_db, tmp_path)
    monkeypatch.setenv("CXY_DB", str(cli.db))
    notebook = nbformat.read(NOTEBOOKS / name, as_version=4)
    NotebookClient(notebook, timeout=900, kernel_name="python3",
                   resources={"metadata": {"path": str(NOTEBOOKS)}}).execute()
    outputs = [o for cell in notebook.cells if cell.cell_type == "code" for o in cell.get("outputs", [])]
    assert not [o for o in outputs if o.get("output_type") == "error"]
    if name == "evaluation.ipynb":
        images = [o for o in outputs if "image/png" in o.get("data", {})]
        assert len(images) >= 4  # funnel by month, overall funnel, weights, learning curve (and position)
    else:  # the page's six charts, drawn from the run the notebook made (the copy has none)
        charts = [o for o in outputs if "<svg" in o.get("data", {}).get("text/html", "")]
        assert len(charts) == 6
        printed = "".join(o.get("text", "") for o in outputs)
        assert "teams proposed to more enterprises than their capacity: 0" in printed
