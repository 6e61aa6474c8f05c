"""requirements.lock is what `make` installs: every dependency declared in pyproject.toml must be pinned
there, with hashes, at a version the declaration allows, or a fresh machine would install something else
than what passed CI (run `make update-lock` after changing the dependencies)."""

import re
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]


def pinned() -> dict[str, tuple[str, int]]:
    text = (ROOT / "requirements.lock").read_text(encoding="utf-8")
    pins = {}
    for block in re.split(r"\n(?=\S)", text):
        match = re.match(r"([A-Za-z0-9_.\-]+)==(\S+)", block)
        if match:
            pins[canonicalize_name(match[1])] = (match[2], block.count("--hash=sha256:"))
    return pins


def test_every_declared_dependency_is_pinned_with_hashes_at_an_allowed_version():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    declared = [Requirement(r) for r in project["dependencies"] + project["optional-dependencies"]["dev"]]
    pins = pinned()
    assert len(pins) > len(declared)  # the transitive dependencies are pinned too
    for requirement in declared:
        name = canonicalize_name(requirement.name)
        assert name in pins, f"{requirement.name} is not in requirements.lock: run make update-lock"
        version, hashes = pins[name]
        assert requirement.specifier.contains(version, prereleases=True), (requirement, version)
        assert hashes >= 1, name
    assert "torch" not in pins  # installed first from the CPU wheel on disk (see the Makefile)
