"""Issue 14, item 1: the README's table of accepted Chinese headers is the one the code generates."""

import importlib.util

from matcher.ingest.columns import headers_table
from tests.conftest import ROOT


def test_the_readme_headers_table_is_generated_from_the_code():
    spec = importlib.util.spec_from_file_location("readme_headers", ROOT / "scripts" / "readme_headers.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    start, end = module.section(text)
    assert text[start:end] == "\n" + headers_table(), "run: .venv/bin/python scripts/readme_headers.py"
    assert "| needs | enterprise.county | 所属县区、县区" in text
    assert "| outcomes | stage | 阶段、状态、进展、跟进状态" in text
