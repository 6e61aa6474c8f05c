"""The torch encoder without sentence-transformers at run time: the model traced once into TorchScript.

Importing sentence-transformers (and with it transformers' BERT) costs 2.5-5 s on 2 cores, more than
torch itself; every ``cxy serve`` start and every command that encodes paid it. :func:`export_traced`
traces the folder's SentenceTransformer (transformer, mean pooling, normalisation) into a sibling folder
``<model folder>-torchscript/``::

    model.pt                     torch.jit.trace of (input_ids, attention_mask) -> sentence_embedding
    tokenizer.json               the folder's fast tokenizer (the same ids, read by the tokenizers library)
    cxy-traced-manifest.json     sha256 + size of both, the source weights, the library versions, the check

The traced graph runs the same aten kernels as the eager model, so its vectors are the eager vectors bit
for bit (the build checks it on texts of every padding case and on the token ids, and the folder is marked
unusable when they differ); the vector cache is therefore shared with the eager path. :func:`load_traced`
needs only torch and tokenizers (~1.4 s instead of ~4 s). A folder built under other torch, transformers
or sentence-transformers versions, or from other weights, is rebuilt; the build itself (~10 s) loads the
eager model once, in the first process that needs it, under a file lock.
"""

from __future__ import annotations

import datetime as _dt
import json
import logging
import shutil
import time
import warnings
from pathlib import Path

from embeddings.folder_build import build_atomically, file_entries, file_problem, fsync_dir, still_valid
from embeddings.folder_build import read_manifest as folder_manifest
from embeddings.onnx_export import library_version as _version
from embeddings.onnx_export import source_fingerprint

log = logging.getLogger(__name__)

SUFFIX = "-torchscript"
MODEL_FILE = "model.pt"
MANIFEST_NAME = "cxy-traced-manifest.json"
MANIFEST_FORMAT = 1
RECIPE_VERSION = 3  # bump when the trace changes: older folders are rebuilt
VERSIONED = ("torch", "transformers", "sentence-transformers", "tokenizers")
REQUIRED_FILES = (MODEL_FILE, "tokenizer.json")
# Texts for the bit-for-bit check: long ones (truncated), mixed scripts, and (added at build) texts cut to
# exactly a bucket's width, so that batches with and without padding are both compared.
CHECK_TEXTS = (
    "query: 陶瓷窑炉余热回收与燃烧优化",
    "query: 臺灣半導體封裝測試良率提升",
    "query: low-power LoRa sensor network for orchard irrigation",
    "query: 基于深度学习的PCB缺陷检测 (YOLOv8)，AOI误判太多",
    "passage: " + "稀土永磁材料晶界扩散镝铽，提高矫顽力并降低重稀土用量。" * 20,
    "query: x",
)


class TracedModelError(RuntimeError):
    def __init__(self, path: Path | str, problem: str):
        self.path, self.problem = Path(path), problem
        super().__init__(f"TorchScript folder {self.path} is not usable: {problem}")


def traced_dir(model_dir: Path) -> Path:
    model_dir = Path(model_dir).expanduser().absolute()
    return model_dir.parent / f"{model_dir.name}{SUFFIX}"


def _versions() -> dict:
    return {dist: _version(dist) for dist in VERSIONED}


def verify_traced_folder(folder: Path, model_dir: Path) -> dict:
    """The manifest of ``folder``, or TracedModelError: files present with their sizes, the current recipe and
    library versions, built from the weights now in ``model_dir``. (A folder whose check failed verifies too:
    its manifest says so, and :func:`load_traced` then uses the eager model without tracing again.)"""
    manifest = folder_manifest(folder, MANIFEST_NAME, MANIFEST_FORMAT, TracedModelError)
    if manifest.get("recipe") != RECIPE_VERSION:
        raise TracedModelError(folder, f"recipe {manifest.get('recipe')!r}, not {RECIPE_VERSION}")
    if manifest.get("versions") != _versions():
        raise TracedModelError(folder, f"traced under {manifest.get('versions')}, now {_versions()}")
    wanted, have = source_fingerprint(Path(model_dir)), manifest.get("source", {})
    if (have.get("sha256"), have.get("size")) != (wanted["sha256"], wanted["size"]):
        raise TracedModelError(folder, f"traced from other weights than {model_dir}")
    if manifest.get("usable"):
        problem = file_problem(Path(folder), manifest["files"], REQUIRED_FILES)
        if problem:
            raise TracedModelError(folder, problem)
    return manifest


def _current(folder: Path, model_dir: Path) -> bool:
    return still_valid(folder, lambda f: verify_traced_folder(f, model_dir), TracedModelError)


def _exact_width_texts(tokenizer, texts, widths=(32, 64, 96, 128)) -> list[str]:
    """Prefixes of ``texts`` whose token count is exactly a bucket width (batches with no padding at all)."""
    out = []
    for text in texts:
        for width in widths:
            for cut in range(len(text), 0, -1):
                n = len(tokenizer(text[:cut])["input_ids"])
                if n <= width:
                    if n == width:
                        out.append(text[:cut])
                    break
    return out


def _trace_and_check(model_dir: Path, out: Path) -> tuple[dict, dict]:
    """Trace the eager model into ``out`` and compare the two: (what loading needs, the check's findings)."""
    import numpy as np
    import torch
    from sentence_transformers import SentenceTransformer

    from embeddings.encoder import encode_bucketed

    eager = SentenceTransformer(str(model_dir), device="cpu", local_files_only=True).eval()
    eager.max_seq_length = min(int(eager.max_seq_length), 256)
    if "token_type_ids" in eager.tokenizer.model_input_names:
        raise ValueError("the tokenizer gives token_type_ids; only (input_ids, attention_mask) is traced")

    class Whole(torch.nn.Module):
        def __init__(self, inner):
            super().__init__()
            self.inner = inner

        def forward(self, input_ids, attention_mask):
            return self.inner({"input_ids": input_ids, "attention_mask": attention_mask})["sentence_embedding"]

    ids = torch.full((2, 64), eager.tokenizer.pad_token_id, dtype=torch.long)
    ids[:, :40] = 5
    mask = torch.zeros_like(ids)
    mask[:, :40] = 1
    with warnings.catch_warnings(), torch.inference_mode():
        warnings.simplefilter("ignore")
        traced = torch.jit.trace(Whole(eager).eval(), (ids, mask), check_trace=False)
    mapped = _leave_out_word_embeddings(traced, model_dir)
    traced.save(str(out / MODEL_FILE))
    shutil.copyfile(model_dir / "tokenizer.json", out / "tokenizer.json")
    dimension = int((getattr(eager, "get_embedding_dimension", None) or eager.get_sentence_embedding_dimension)())
    meta = {"pad_token_id": int(eager.tokenizer.pad_token_id), "dimension": dimension, "mapped": mapped}

    mixed = "".join(CHECK_TEXTS[:4]) * 4
    texts = [*CHECK_TEXTS, *_exact_width_texts(eager.tokenizer, (mixed, CHECK_TEXTS[4]))]
    mine = TracedModel(out, meta, int(eager.max_seq_length), model_dir)
    same_ids = all(mine.tokenizer([t], truncation=True, max_length=256)["input_ids"]
                   == eager.tokenizer([t], truncation=True, max_length=256)["input_ids"] for t in texts)
    batches = [encode_bucketed(model, texts, 32) for model in (eager, mine)]
    alone = [encode_bucketed(model, texts, 1) for model in (eager, mine)]
    bit_equal = bool(np.array_equal(*batches) and np.array_equal(*alone))
    return meta, {"texts": len(texts), "same_token_ids": same_ids, "bit_equal_to_eager": bit_equal}


def _build(model_dir: Path, out: Path) -> dict:
    """The traced folder, or one whose manifest says why the model cannot be traced exactly (kept, so that
    later processes use the eager model at once instead of trying again)."""
    started = time.perf_counter()
    out.mkdir(parents=True)
    try:
        meta, check = _trace_and_check(model_dir, out)
    except Exception as exc:  # noqa: BLE001 - an architecture the trace does not cover: the eager path serves
        meta, check = {}, {"reason": f"{type(exc).__name__}: {exc}"}
    usable = bool(check.get("same_token_ids") and check.get("bit_equal_to_eager"))
    if not usable:
        for leftover in out.iterdir():
            leftover.unlink()
        log.warning("the model is not traced (%s); the eager model stays in use", check)
    manifest = {
        "format": MANIFEST_FORMAT,
        "recipe": RECIPE_VERSION,
        "source": {"path": str(model_dir), **source_fingerprint(model_dir)},
        "versions": _versions(),
        **meta,
        "usable": usable,
        "check": check,
        "created_at": _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "build_seconds": round(time.perf_counter() - started, 1),
        "files": file_entries(out),
    }
    (out / MANIFEST_NAME).write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    fsync_dir(out)
    return manifest


def export_traced(model_dir: Path, force: bool = False) -> Path:
    """Build (or reuse) ``<model_dir>-torchscript`` and return it (atomically, under ``.<name>.lock``)."""
    model_dir = Path(model_dir).expanduser().absolute()
    target = traced_dir(model_dir)
    if not force and _current(target, model_dir):
        return target
    build_atomically(target, lambda tmp: _build(model_dir, tmp), lambda folder: _current(folder, model_dir),
                     force=force)
    return target


def _owner(module, name: str):
    """(the submodule holding parameter ``name``, its attribute name)."""
    *path, attribute = name.split(".")
    for part in path:
        module = getattr(module, part)
    return module, attribute


def _leave_out_word_embeddings(traced, model_dir: Path) -> dict | None:
    """The word-embedding table (~80 % of a small multilingual model's weights, of which a text touches a few
    rows) is not saved in the trace but mapped from the model's safetensors at load, as transformers does:
    the file is smaller and faster to read, and only the rows used become resident (~300 MB less)."""
    import torch
    from safetensors import safe_open

    weights = Path(model_dir) / "model.safetensors"
    name = next((n for n, _ in traced.named_parameters() if n.endswith("word_embeddings.weight")), None)
    if not weights.is_file() or name is None:
        return None
    with safe_open(str(weights), framework="pt", device="cpu") as file:
        keys = [k for k in file.keys() if name.endswith("." + k)]  # noqa: SIM118 - safe_open is not iterable
        if len(keys) != 1 or file.get_slice(keys[0]).get_dtype() != "F32":
            return None
        width = int(file.get_slice(keys[0]).get_shape()[1])
    owner, attribute = _owner(traced, name)
    setattr(owner, attribute, torch.nn.Parameter(torch.zeros(1, width), requires_grad=False))
    return {"parameter": name, "tensor": keys[0], "file": weights.name}


def _mapped_tensor(path: Path, key: str):
    """The tensor ``key`` of a safetensors file, memory-mapped by safetensors (not copied: only the pages
    read become resident)."""
    from safetensors import safe_open

    with safe_open(str(path), framework="pt", device="cpu") as file:
        return file.get_tensor(key)


class _Tokenizer:
    """The part of a transformers tokenizer that embeddings.encoder.encode_bucketed calls."""

    model_input_names = ("input_ids", "attention_mask")

    def __init__(self, path: Path, pad_token_id: int):
        from tokenizers import Tokenizer

        self._tokenizer = Tokenizer.from_file(str(path))
        self._tokenizer.no_padding()
        self.pad_token_id = pad_token_id

    def __call__(self, texts, truncation: bool = True, max_length: int = 512) -> dict:
        if truncation:
            self._tokenizer.enable_truncation(max_length=int(max_length))
        else:
            self._tokenizer.no_truncation()
        return {"input_ids": [enc.ids for enc in self._tokenizer.encode_batch(list(texts))]}


class TracedModel:
    """What embeddings.encoder uses of a SentenceTransformer: ``tokenizer``, ``max_seq_length``,
    ``get_sentence_embedding_dimension()`` and ``model(features)["sentence_embedding"]``. CPU only (the
    trace holds CPU constants); GPU encoders load the eager model."""

    def __init__(self, folder: Path, meta: dict, max_seq_length: int, model_dir: Path):
        import torch

        with warnings.catch_warnings():
            # torch 2.13 marks TorchScript deprecated in favour of torch.export; should a later torch drop it,
            # load_traced falls back to the eager model (same vectors)
            warnings.simplefilter("ignore", DeprecationWarning)
            self._module = torch.jit.load(str(Path(folder) / MODEL_FILE), map_location="cpu").eval()
        if meta.get("mapped"):
            name, key = meta["mapped"]["parameter"], meta["mapped"]["tensor"]
            owner, attribute = _owner(self._module, name)
            table = _mapped_tensor(Path(model_dir) / "model.safetensors", key)
            setattr(owner, attribute, torch.nn.Parameter(table, requires_grad=False))
        self.tokenizer = _Tokenizer(Path(folder) / "tokenizer.json", int(meta["pad_token_id"]))
        self._dimension = int(meta["dimension"])
        self.max_seq_length = max_seq_length

    def get_sentence_embedding_dimension(self) -> int:
        return self._dimension

    def __call__(self, features: dict) -> dict:
        return {"sentence_embedding": self._module(features["input_ids"], features["attention_mask"])}


def load_traced(model_dir: Path, max_seq_length: int) -> TracedModel | None:
    """The traced encoder of ``model_dir`` (tracing it first when needed), or None where it cannot be used
    (its check failed, or tracing failed: logged), in which case the caller loads the eager model."""
    try:
        folder = export_traced(Path(model_dir))
        manifest = verify_traced_folder(folder, Path(model_dir))
        if not manifest.get("usable"):
            return None
        return TracedModel(folder, manifest, max_seq_length, Path(model_dir))
    except Exception as exc:  # noqa: BLE001 - any failure here only means the slower eager path
        log.warning("TorchScript encoder unavailable for %s (%s); loading the eager model", model_dir, exc)
        return None
