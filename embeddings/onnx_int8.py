"""A fast int8 ONNX Runtime path for the sentence encoder.

:func:`export_int8` turns a sentence-transformers folder of a BERT-family encoder (the default model built by
:mod:`embeddings.model_install`) into a sibling folder ``<model folder>-onnx-int8/``::

    onnx/model_qint8_avx512_vnni.onnx   the transformer, int8 dynamically quantised (last_hidden_state output)
    config.json tokenizer.json tokenizer_config.json special_tokens_map.json modules.json
    sentence_bert_config.json config_sentence_transformers.json 1_Pooling/config.json 2_Normalize/config.json
    cxy-onnx-manifest.json              sha256 + size of every other file, the source model's checksum, the recipe

The recipe: ``torch.onnx.export`` (TorchScript exporter, eager attention, opset 17, dynamic batch and sequence
axes) -> onnxruntime's BERT graph fusion (fused Attention, tanh-approximated FastGelu; no SkipLayerNormalization or
EmbedLayerNormalization, whose CPU kernels measured slower than the plain ops) -> ``quantize_dynamic`` with the
avx512_vnni setting (int8 weights, uint8 activations, no reduced range) and per-channel weight scales (per-tensor
was as fast but lost accuracy: min cosine to fp32 0.976 against 0.995 on 400 abstracts). The word-embedding
table is quantised too, so the file is ~118 MB instead of ~470 MB, with no measurable loss.

:func:`load_int8` returns an :class:`OnnxInt8Encoder`: tokenises with the folder's ``tokenizer.json`` (the same ids
sentence-transformers produces), sorts texts by token count, pads each batch only to its longest text, runs the
ONNX session and mean-pools + L2-normalises like the folder's Pooling/Normalize modules. Its ``encode`` accepts
the arguments :class:`embeddings.encoder.Encoder` passes to a ``SentenceTransformer``.

The sentence-transformers ONNX backend (``SentenceTransformer(folder, backend="onnx")``) needs ``optimum-onnx``,
whose releases pin ``transformers<4.58``; the folder keeps that backend's layout (``onnx/<file>.onnx``, output
``last_hidden_state``) so it also loads that way where optimum is installed, but cxy does not depend on it.

Like the model install, the export is built in a temporary sibling directory and renamed into place under a
file lock (``.<name>.lock`` next to the folder). Nothing is written into the source model folder.
"""

from __future__ import annotations

import datetime as _dt
import json
import logging
import os
import shutil
import time
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path

import numpy as np

from embeddings.folder_build import build_atomically, file_entries, file_problem, fsync_dir, sha256_file, still_valid
from embeddings.folder_build import read_manifest as folder_manifest

log = logging.getLogger(__name__)

SUFFIX = "-onnx-int8"
ONNX_SUBDIR = "onnx"
MODEL_FILE = "model_qint8_avx512_vnni.onnx"
MODEL_PATH = f"{ONNX_SUBDIR}/{MODEL_FILE}"
MANIFEST_NAME = "cxy-onnx-manifest.json"
MANIFEST_FORMAT = 1
# Bump when the export recipe changes: an existing folder with another recipe version is rebuilt.
RECIPE_VERSION = 1
OPSET = 17
PER_CHANNEL = True
MIN_SELF_CHECK_COSINE = 0.97
# onnxruntime's CPU SkipLayerNormalization kernel measured ~3x slower than Add + LayerNormalization here (3.3 vs
# 1.1 ns per element on 2 threads), so the export does not fuse it and the session must not re-fuse it at load.
DISABLED_OPTIMIZERS = ["SkipLayerNormFusion"]
# Texts per session run, whatever batch_size the caller asks for: on 2 cores 16 rows measured fastest for abstracts
# (37.6/s against 36.0 at 32 and 31.5 at 64) and for titles; bigger runs pad more and spill the attention scores out
# of cache.
MAX_ROWS_PER_RUN = 16
# onnxruntime.transformers FusionOptions overrides: fused Attention and tanh-approximated Gelu (FastGelu: ~9% faster,
# no measurable change in cosine to fp32) on; (Bias)SkipLayerNormalization and EmbedLayerNormalization off (slower).
FUSION = {
    "enable_skip_layer_norm": False,
    "enable_bias_skip_layer_norm": False,
    "enable_embed_layer_norm": False,
    "enable_gelu_approximation": True,
}
COPIED_FILES = (
    "config.json",
    "tokenizer.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "modules.json",
    "sentence_bert_config.json",
    "config_sentence_transformers.json",
    "1_Pooling/config.json",
    "2_Normalize/config.json",
)
REQUIRED_FILES = (MODEL_PATH, "tokenizer.json", "config.json", "1_Pooling/config.json")
SELF_CHECK_TEXTS = (
    "query: 陶瓷窑炉余热回收与燃烧优化",
    "query: 臺灣半導體封裝測試良率提升",
    "query: low-power LoRa sensor network for orchard irrigation",
    "query: 基于深度学习的PCB缺陷检测 (YOLOv8)",
)
_LOCK_TIMEOUT_S = 30 * 60


class Int8ModelError(RuntimeError):
    """The int8 folder is missing, incomplete, altered or built from another model; ``export_int8(force=True)``
    rebuilds it."""

    def __init__(self, path: Path | str, problem: str):
        self.path = Path(path)
        self.problem = problem
        super().__init__(f"int8 ONNX folder {self.path} is not usable: {problem}")


# --------------------------------------------------------------------------------------------- locations


def onnx_int8_dir(model_dir: Path) -> Path:
    """The sibling folder holding the int8 export of ``model_dir``: ``<model_dir>-onnx-int8``."""
    model_dir = Path(model_dir).expanduser().absolute()
    return model_dir.parent / f"{model_dir.name}{SUFFIX}"


# ------------------------------------------------------------------------------------------- manifests


def _version(dist: str) -> str | None:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def _weights_file(model_dir: Path) -> Path:
    for name in ("model.safetensors", "pytorch_model.bin"):
        if (model_dir / name).is_file():
            return model_dir / name
    raise FileNotFoundError(f"{model_dir} has no model.safetensors or pytorch_model.bin")


def source_fingerprint(model_dir: Path) -> dict:
    """What identifies the source weights: the sha256 recorded by a cxy model manifest when there is one
    (cheap), else the weights file's own sha256."""
    model_dir = Path(model_dir)
    weights = _weights_file(model_dir)
    fingerprint = {"file": weights.name, "size": weights.stat().st_size, "sha256": None, "model_id": None}
    try:
        from embeddings.model_install import MANIFEST_NAME as SOURCE_MANIFEST

        manifest = json.loads((model_dir / SOURCE_MANIFEST).read_text(encoding="utf-8"))
        fingerprint["model_id"] = manifest.get("model_id")
        fingerprint["sha256"] = manifest["files"][weights.name]["sha256"]
    except (OSError, ValueError, KeyError, TypeError):
        fingerprint["sha256"] = sha256_file(weights)
    return fingerprint


def read_manifest(folder: Path) -> dict:
    return folder_manifest(folder, MANIFEST_NAME, MANIFEST_FORMAT, Int8ModelError)


def verify_int8_folder(folder: Path, model_dir: Path | None = None, deep: bool = False) -> dict:
    """Return the manifest of ``folder`` or raise Int8ModelError: every listed file present with its size
    (sha256 too with ``deep``), the current recipe version, and, given ``model_dir``, built from its weights."""
    folder = Path(folder)
    manifest = read_manifest(folder)
    files = manifest["files"]
    problem = file_problem(folder, files, REQUIRED_FILES, deep)
    if problem:
        raise Int8ModelError(folder, problem)
    if manifest.get("recipe", {}).get("version") != RECIPE_VERSION:
        raise Int8ModelError(
            folder, f"it was built by export recipe {manifest.get('recipe', {}).get('version')!r}, not {RECIPE_VERSION}"
        )
    if model_dir is not None:
        wanted = source_fingerprint(Path(model_dir))
        have = manifest.get("source", {})
        if (have.get("sha256"), have.get("size")) != (wanted["sha256"], wanted["size"]):
            raise Int8ModelError(folder, f"it was built from other weights than {model_dir}")
    return manifest


# ---------------------------------------------------------------------------------------------- export


def _export_fp32(model_dir: Path, out: Path) -> None:
    """The transformer (no pooling) as an fp32 ONNX graph: inputs input_ids, attention_mask (int64, [batch, seq]),
    output last_hidden_state [batch, seq, hidden]."""
    import torch
    from transformers import AutoModel

    model = AutoModel.from_pretrained(str(model_dir), attn_implementation="eager", local_files_only=True).eval()

    class _Wrapper(torch.nn.Module):
        def __init__(self, inner):
            super().__init__()
            self.inner = inner

        def forward(self, input_ids, attention_mask):
            return self.inner(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state

    ids = torch.randint(5, 1000, (2, 16), dtype=torch.long)
    mask = torch.ones_like(ids)
    mask[1, 10:] = 0
    axes = {0: "batch", 1: "sequence"}
    import warnings

    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            _Wrapper(model),
            (ids, mask),
            str(out),
            input_names=["input_ids", "attention_mask"],
            output_names=["last_hidden_state"],
            dynamic_axes={"input_ids": axes, "attention_mask": axes, "last_hidden_state": axes},
            opset_version=OPSET,
            do_constant_folding=True,
            dynamo=False,
        )


def _fuse(src: Path, out: Path, config: dict) -> dict:
    """onnxruntime's offline BERT fusion; returns the fused-operator counts."""
    from onnxruntime.transformers.fusion_options import FusionOptions
    from onnxruntime.transformers.optimizer import optimize_model

    options = FusionOptions("bert")
    for name, value in FUSION.items():
        setattr(options, name, value)
    optimized = optimize_model(
        str(src),
        model_type="bert",
        num_heads=int(config["num_attention_heads"]),
        hidden_size=int(config["hidden_size"]),
        optimization_options=options,
        opt_level=0,
    )
    stats = {k: v for k, v in optimized.get_fused_operator_statistics().items() if v}
    optimized.save_model_to_file(str(out))
    return stats


def _quantize(src: Path, out: Path, per_channel: bool = PER_CHANNEL) -> None:
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    quantize_dynamic(
        str(src),
        str(out),
        weight_type=QuantType.QInt8,
        per_channel=per_channel,
        reduce_range=False,
        extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT},
    )


def _self_check(model_dir: Path, folder: Path) -> float:
    """Minimum cosine between fp32 sentence-transformers and the new int8 folder on a few texts."""
    from sentence_transformers import SentenceTransformer

    reference = SentenceTransformer(str(model_dir), device="cpu", local_files_only=True).encode(
        list(SELF_CHECK_TEXTS), normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False
    )
    mine = OnnxInt8Encoder(folder, threads=None).encode(list(SELF_CHECK_TEXTS))
    return float(np.min(np.sum(reference * mine, axis=1)))


def _build(model_dir: Path, out_dir: Path) -> dict:
    started = time.perf_counter()
    (out_dir / ONNX_SUBDIR).mkdir(parents=True, exist_ok=True)
    work = out_dir / ".work"
    work.mkdir()
    config = json.loads((model_dir / "config.json").read_text(encoding="utf-8"))
    _export_fp32(model_dir, work / "model.onnx")
    fused = _fuse(work / "model.onnx", work / "fused.onnx", config)
    _quantize(work / "fused.onnx", out_dir / MODEL_PATH)
    shutil.rmtree(work)
    for rel in COPIED_FILES:
        if (model_dir / rel).is_file():
            (out_dir / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(model_dir / rel, out_dir / rel)
    min_cosine = _self_check(model_dir, out_dir)
    if min_cosine < MIN_SELF_CHECK_COSINE:
        raise RuntimeError(f"int8 export of {model_dir} disagrees with fp32 (min cosine {min_cosine:.4f})")
    files = file_entries(out_dir)
    manifest = {
        "format": MANIFEST_FORMAT,
        "model_file": MODEL_PATH,
        "source": {"path": str(model_dir), **source_fingerprint(model_dir)},
        "recipe": {
            "version": RECIPE_VERSION,
            "export": f"torch.onnx.export (TorchScript, eager attention, opset {OPSET})",
            "fusion": {"options": FUSION, "fused_operators": fused},
            "session": {"disabled_optimizers": DISABLED_OPTIMIZERS},
            "quantization": {
                "method": "onnxruntime.quantization.quantize_dynamic",
                "weight_type": "QInt8",
                "activation_type": "QUInt8",
                "per_channel": PER_CHANNEL,
                "reduce_range": False,
            },
        },
        "self_check_min_cosine": round(min_cosine, 5),
        "versions": {dist: _version(dist) for dist in ("torch", "transformers", "onnx", "onnxruntime")},
        "created_at": _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "build_seconds": round(time.perf_counter() - started, 1),
        "files": files,
    }
    (out_dir / MANIFEST_NAME).write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    for sub in (out_dir / ONNX_SUBDIR, out_dir):
        fsync_dir(sub)
    log.info("exported %s to int8 ONNX in %s (%.0f s)", model_dir, out_dir, time.perf_counter() - started)
    return manifest


def _current(target: Path, model_dir: Path) -> bool:
    return still_valid(target, lambda folder: verify_int8_folder(folder, model_dir), Int8ModelError)


def export_int8(model_dir: Path, force: bool = False) -> Path:
    """Build (or reuse) the int8 ONNX folder for ``model_dir`` and return it.

    Idempotent: a folder that verifies (files and sizes as in its manifest, current recipe, built from the
    weights now in ``model_dir``) is returned untouched unless ``force``; anything else is rebuilt. The build
    (~1 min on 2 cores) happens in a temporary sibling that is renamed into place under ``.<name>.lock``.
    """
    model_dir = Path(model_dir).expanduser().absolute()
    if not model_dir.is_dir():
        raise FileNotFoundError(f"model folder {model_dir} does not exist")
    target = onnx_int8_dir(model_dir)
    if not force and _current(target, model_dir):
        return target

    def build(tmp: Path) -> None:
        _build(model_dir, tmp)
        verify_int8_folder(tmp, model_dir)

    build_atomically(target, build, lambda folder: _current(folder, model_dir), force=force,
                     lock_timeout=_LOCK_TIMEOUT_S)
    return target


# ---------------------------------------------------------------------------------------------- encoder


def _read_json(path: Path, default):
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return default


class OnnxInt8Encoder:
    """Sentence embeddings from an int8 ONNX folder, with the part of ``SentenceTransformer``'s interface that
    :class:`embeddings.encoder.Encoder` uses: ``encode``, ``get_sentence_embedding_dimension``,
    ``max_seq_length`` (settable) and ``prompts``.

    ``threads`` sets onnxruntime's intra-op threads (default: all cores); the session runs with all graph
    optimisations (except SkipLayerNormFusion, see DISABLED_OPTIMIZERS). Texts are tokenised with ``tokenizer.json``
    exactly as sentence-transformers does, sorted by token count, run ``min(batch_size, max_rows_per_run)`` at a
    time and padded to the longest text of each run.

    Dynamic quantisation takes one activation scale per tensor, i.e. per run, so a text's vector depends slightly
    on the texts it is run with (min cosine 0.996 between a text encoded alone and within a batch, on the test texts).
    :class:`embeddings.encoder.Encoder` therefore passes ``batch_size=1``: a cached vector must not depend on its
    batch mates, or a build resumed from the cache would differ from an uninterrupted one.
    """

    def __init__(self, folder: Path | str, threads: int | None = None, model_file: str = MODEL_PATH):
        import onnxruntime as ort
        from tokenizers import Tokenizer

        self.folder = Path(folder)
        self.threads = threads or os.cpu_count() or 1
        self.max_rows_per_run = MAX_ROWS_PER_RUN
        st_config = _read_json(self.folder / "sentence_bert_config.json", {})
        pooling = _read_json(self.folder / "1_Pooling" / "config.json", {})
        if pooling and not pooling.get("pooling_mode_mean_tokens", False):
            raise ValueError(f"{self.folder}: only mean pooling is supported")
        modules = _read_json(self.folder / "modules.json", [])
        self.normalize = any(str(m.get("type", "")).endswith("Normalize") for m in modules)
        self.prompts: dict[str, str] = (
            _read_json(self.folder / "config_sentence_transformers.json", {}).get("prompts", {}) or {}
        )
        config = _read_json(self.folder / "config.json", {})
        self.max_seq_length = int(st_config.get("max_seq_length") or config.get("max_position_embeddings") or 512)
        self._dimension = int(pooling.get("word_embedding_dimension") or config["hidden_size"])
        self.pad_id = int(config.get("pad_token_id") or 0)
        self.tokenizer = Tokenizer.from_file(str(self.folder / "tokenizer.json"))
        self.tokenizer.no_padding()

        options = ort.SessionOptions()
        options.intra_op_num_threads = self.threads
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.log_severity_level = 3
        self.session = ort.InferenceSession(
            str(self.folder / model_file),
            sess_options=options,
            providers=["CPUExecutionProvider"],
            disabled_optimizers=DISABLED_OPTIMIZERS,
        )
        self._input_names = {i.name for i in self.session.get_inputs()}

    def get_sentence_embedding_dimension(self) -> int:
        return self._dimension

    def _tokenize(self, texts: list[str]) -> list[list[int]]:
        self.tokenizer.enable_truncation(max_length=int(self.max_seq_length))
        return [enc.ids for enc in self.tokenizer.encode_batch(texts)]

    def _run(self, batch: list[list[int]]) -> np.ndarray:
        width = max(len(ids) for ids in batch)
        input_ids = np.full((len(batch), width), self.pad_id, dtype=np.int64)
        mask = np.zeros((len(batch), width), dtype=np.int64)
        for row, ids in enumerate(batch):
            input_ids[row, : len(ids)] = ids
            mask[row, : len(ids)] = 1
        feeds = {"input_ids": input_ids, "attention_mask": mask}
        if "token_type_ids" in self._input_names:
            feeds["token_type_ids"] = np.zeros_like(input_ids)
        hidden = self.session.run(["last_hidden_state"], feeds)[0]
        weights = mask[:, :, None].astype(np.float32)
        return (hidden * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)

    def encode(
        self,
        sentences: str | Sequence[str],
        batch_size: int = 32,
        show_progress_bar: bool | None = None,
        convert_to_numpy: bool = True,
        convert_to_tensor: bool = False,
        normalize_embeddings: bool = False,
        prompt_name: str | None = None,
        prompt: str | None = None,
        **_ignored,
    ) -> np.ndarray:
        """(n, dimension) float32 embeddings (one vector for a single string), L2-normalised when the folder has
        a Normalize module or ``normalize_embeddings``. ``prompt``/``prompt_name`` prefix every text."""
        single = isinstance(sentences, str)
        texts = [sentences] if single else list(sentences)
        if prompt is None and prompt_name is not None:
            if prompt_name not in self.prompts:
                raise ValueError(f"prompt {prompt_name!r} not in {sorted(self.prompts)}")
            prompt = self.prompts[prompt_name]
        if prompt:
            texts = [prompt + text for text in texts]
        out = np.zeros((len(texts), self._dimension), dtype=np.float32)
        if texts:
            tokens = self._tokenize(texts)
            order = np.argsort([-len(ids) for ids in tokens], kind="stable")
            rows = max(1, min(int(batch_size), self.max_rows_per_run))
            starts = range(0, len(order), rows)
            if show_progress_bar:
                from tqdm.auto import tqdm

                starts = tqdm(starts, desc="Batches")
            for start in starts:
                index = order[start : start + rows]
                out[index] = self._run([tokens[i] for i in index])
            if self.normalize or normalize_embeddings:
                out /= np.clip(np.linalg.norm(out, axis=1, keepdims=True), 1e-12, None)
        if convert_to_tensor:
            import torch

            return torch.from_numpy(out[0] if single else out)
        return out[0] if single else out


def load_int8(model_dir: Path, threads: int | None = None, build: bool = True) -> OnnxInt8Encoder:
    """An :class:`OnnxInt8Encoder` for the int8 export of ``model_dir``, exporting it first when it is missing or
    stale (``build=False`` raises Int8ModelError instead)."""
    model_dir = Path(model_dir).expanduser().absolute()
    if build:
        folder = export_int8(model_dir)
    else:
        folder = onnx_int8_dir(model_dir)
        verify_int8_folder(folder, model_dir)
    return OnnxInt8Encoder(folder, threads=threads)
