"""The sentence encoder's transformer exported to ONNX, as a sibling folder of the model, in two variants.

``fp32`` (``<model folder>-onnx-fp32/``) is the exported graph with onnxruntime's BERT fusion; ``int8``
(``<model folder>-onnx-int8/``) is that graph dynamically quantised. Each folder holds::

    onnx/<model file>.onnx              the transformer (last_hidden_state output)
    config.json tokenizer.json tokenizer_config.json special_tokens_map.json modules.json
    sentence_bert_config.json config_sentence_transformers.json 1_Pooling/config.json 2_Normalize/config.json
    cxy-onnx-manifest.json              sha256 + size of every other file, the source model's checksum, the recipe

The recipe: ``torch.onnx.export`` (TorchScript exporter, eager attention, opset 17, dynamic batch and sequence
axes) -> onnxruntime's BERT graph fusion (fused Attention, tanh-approximated FastGelu; no SkipLayerNormalization or
EmbedLayerNormalization, whose CPU kernels measured slower than the plain ops) -> for int8 only, ``quantize_dynamic``
with the avx512_vnni setting (int8 weights, uint8 activations, no reduced range) and per-channel weight scales
(per-tensor was as fast but lost accuracy: min cosine to fp32 0.976 against 0.995 on 400 abstracts). The int8
word-embedding table is quantised too (~118 MB instead of ~470 MB, no measurable loss).

The fused fp32 graph computes the model's vectors to within float rounding of torch (min cosine 0.9999992 on CSL
abstracts, bench/onnx_fp32.py) at ~1.8x the speed of the TorchScript trace on 2 cores; the int8 graph is ~1.9x
again per text but moves vectors by up to 0.4 % in cosine.

The folder keeps the sentence-transformers ONNX backend's layout (``onnx/<file>.onnx``, output
``last_hidden_state``), so it also loads as ``SentenceTransformer(folder, backend="onnx")`` where optimum-onnx is
installed; cxy does not depend on it (its releases pin ``transformers<4.58``).

Like the model install, a folder is built in a temporary sibling and renamed into place under a file lock
(``.<name>.lock`` next to it). Nothing is written into the source model folder.
"""

from __future__ import annotations

import datetime as _dt
import json
import logging
import shutil
import time
import warnings
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from embeddings.folder_build import build_atomically, file_entries, file_problem, fsync_dir, sha256_file, still_valid
from embeddings.folder_build import read_manifest as folder_manifest

log = logging.getLogger(__name__)

ONNX_SUBDIR = "onnx"
MANIFEST_NAME = "cxy-onnx-manifest.json"
MANIFEST_FORMAT = 1
OPSET = 17
# onnxruntime's CPU SkipLayerNormalization kernel measured ~3x slower than Add + LayerNormalization here (3.3 vs
# 1.1 ns per element on 2 threads), so the export does not fuse it and the session must not re-fuse it at load.
DISABLED_OPTIMIZERS = ["SkipLayerNormFusion"]
# onnxruntime.transformers FusionOptions overrides: fused Attention and tanh-approximated Gelu (FastGelu: ~9% faster,
# no measurable change in cosine to fp32) on; (Bias)SkipLayerNormalization and EmbedLayerNormalization off (slower).
FUSION = {
    "enable_skip_layer_norm": False,
    "enable_bias_skip_layer_norm": False,
    "enable_embed_layer_norm": False,
    "enable_gelu_approximation": True,
}
PER_CHANNEL = True  # int8 weight scales per output channel (per tensor lost accuracy, see the module docstring)
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
SELF_CHECK_TEXTS = (
    "query: 陶瓷窑炉余热回收与燃烧优化",
    "query: 臺灣半導體封裝測試良率提升",
    "query: low-power LoRa sensor network for orchard irrigation",
    "query: 基于深度学习的PCB缺陷检测 (YOLOv8)",
)
_LOCK_TIMEOUT_S = 30 * 60


@dataclass(frozen=True)
class Variant:
    """One kind of export: where it lives, how it is made, and how close to fp32 its self-check must be."""

    name: str
    model_file: str
    recipe_version: int  # bump when the recipe changes: a folder with another version is rebuilt
    quantized: bool
    min_self_check_cosine: float
    # weights in a side file (<model file>.data) that onnxruntime maps instead of parsing and copying: the fp32
    # session then opens in ~0.2 s instead of ~2.5 s (470 MB of initializers inline in the protobuf)
    external_data: bool = False

    @property
    def suffix(self) -> str:
        return f"-onnx-{self.name}"

    @property
    def model_path(self) -> str:
        return f"{ONNX_SUBDIR}/{self.model_file}"

    @property
    def required_files(self) -> tuple[str, ...]:
        data = (f"{self.model_path}.data",) if self.external_data else ()
        return (self.model_path, *data, "tokenizer.json", "config.json", "1_Pooling/config.json")


INT8 = Variant("int8", "model_qint8_avx512_vnni.onnx", 1, True, 0.97)
FP32 = Variant("fp32", "model_fused.onnx", 2, False, 0.9999, external_data=True)


class OnnxModelError(RuntimeError):
    """An ONNX folder is missing, incomplete, altered or built from another model; exporting with
    ``force=True`` rebuilds it."""

    def __init__(self, path: Path | str, problem: str):
        self.path = Path(path)
        self.problem = problem
        super().__init__(f"ONNX folder {self.path} is not usable: {problem}")


def onnx_dir(model_dir: Path, variant: Variant) -> Path:
    """The sibling folder holding ``variant``'s export of ``model_dir``: ``<model_dir>-onnx-<name>``."""
    model_dir = Path(model_dir).expanduser().absolute()
    return model_dir.parent / f"{model_dir.name}{variant.suffix}"


# ------------------------------------------------------------------------------------------- manifests


def library_version(dist: str) -> str | None:
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


def verify_onnx_folder(folder: Path, variant: Variant, model_dir: Path | None = None, deep: bool = False) -> dict:
    """Return the manifest of ``folder`` or raise OnnxModelError: every listed file present with its size
    (sha256 too with ``deep``), the variant's current recipe, and, given ``model_dir``, built from its weights."""
    folder = Path(folder)
    manifest = folder_manifest(folder, MANIFEST_NAME, MANIFEST_FORMAT, OnnxModelError)
    problem = file_problem(folder, manifest["files"], variant.required_files, deep)
    if problem:
        raise OnnxModelError(folder, problem)
    recipe = manifest.get("recipe", {})
    if recipe.get("version") != variant.recipe_version or recipe.get("variant", INT8.name) != variant.name:
        raise OnnxModelError(
            folder,
            f"it was built by {recipe.get('variant', INT8.name)} recipe {recipe.get('version')!r}, "
            f"not {variant.name} {variant.recipe_version}",
        )
    if model_dir is not None:
        wanted = source_fingerprint(Path(model_dir))
        have = manifest.get("source", {})
        if (have.get("sha256"), have.get("size")) != (wanted["sha256"], wanted["size"]):
            raise OnnxModelError(folder, f"it was built from other weights than {model_dir}")
    return manifest


# ---------------------------------------------------------------------------------------------- export


def export_graph(model_dir: Path, out: Path) -> None:
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


def fuse(src: Path, out: Path, config: dict, external_data: bool = False) -> dict:
    """onnxruntime's offline BERT fusion; returns the fused-operator counts. ``external_data`` writes the
    weights to ``<out>.data`` next to the graph."""
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
    optimized.save_model_to_file(str(out), use_external_data_format=external_data, all_tensors_to_one_file=True)
    return stats


def quantize(src: Path, out: Path, per_channel: bool = PER_CHANNEL) -> None:
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


def _self_check(model_dir: Path, folder: Path, variant: Variant) -> float:
    """Minimum cosine between fp32 sentence-transformers and the new folder on a few texts."""
    from sentence_transformers import SentenceTransformer

    from embeddings.onnx_encoder import OnnxEncoder

    reference = SentenceTransformer(str(model_dir), device="cpu", local_files_only=True).encode(
        list(SELF_CHECK_TEXTS), normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False
    )
    mine = OnnxEncoder(folder, threads=None, model_file=variant.model_path).encode(list(SELF_CHECK_TEXTS))
    return float((reference * mine).sum(axis=1).min())


def _recipe(variant: Variant, fused: dict) -> dict:
    recipe = {
        "variant": variant.name,
        "version": variant.recipe_version,
        "export": f"torch.onnx.export (TorchScript, eager attention, opset {OPSET})",
        "fusion": {"options": FUSION, "fused_operators": fused},
        "session": {"disabled_optimizers": DISABLED_OPTIMIZERS},
        "external_data": variant.external_data,
    }
    if variant.quantized:
        recipe["quantization"] = {
            "method": "onnxruntime.quantization.quantize_dynamic",
            "weight_type": "QInt8",
            "activation_type": "QUInt8",
            "per_channel": PER_CHANNEL,
            "reduce_range": False,
        }
    return recipe


def _build(model_dir: Path, out_dir: Path, variant: Variant) -> dict:
    started = time.perf_counter()
    (out_dir / ONNX_SUBDIR).mkdir(parents=True, exist_ok=True)
    work = out_dir / ".work"
    work.mkdir()
    config = json.loads((model_dir / "config.json").read_text(encoding="utf-8"))
    export_graph(model_dir, work / "model.onnx")
    fused_path = work / "fused.onnx" if variant.quantized else out_dir / variant.model_path
    fused = fuse(work / "model.onnx", fused_path, config, external_data=variant.external_data)
    if variant.quantized:
        quantize(fused_path, out_dir / variant.model_path)
    shutil.rmtree(work)
    for rel in COPIED_FILES:
        if (model_dir / rel).is_file():
            (out_dir / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(model_dir / rel, out_dir / rel)
    min_cosine = _self_check(model_dir, out_dir, variant)
    if min_cosine < variant.min_self_check_cosine:
        raise RuntimeError(f"{variant.name} export of {model_dir} disagrees with fp32 (min cosine {min_cosine:.6f})")
    manifest = {
        "format": MANIFEST_FORMAT,
        "model_file": variant.model_path,
        "source": {"path": str(model_dir), **source_fingerprint(model_dir)},
        "recipe": _recipe(variant, fused),
        "self_check_min_cosine": round(min_cosine, 7),
        "versions": {dist: library_version(dist) for dist in ("torch", "transformers", "onnx", "onnxruntime")},
        "created_at": _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "build_seconds": round(time.perf_counter() - started, 1),
        "files": file_entries(out_dir),
    }
    (out_dir / MANIFEST_NAME).write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    for sub in (out_dir / ONNX_SUBDIR, out_dir):
        fsync_dir(sub)
    log.info("exported %s to %s ONNX in %s (%.0f s)", model_dir, variant.name, out_dir, time.perf_counter() - started)
    return manifest


def export_onnx(model_dir: Path, variant: Variant, force: bool = False) -> Path:
    """Build (or reuse) ``variant``'s ONNX folder for ``model_dir`` and return it.

    Idempotent: a folder that verifies (files and sizes as in its manifest, current recipe, built from the
    weights now in ``model_dir``) is returned untouched unless ``force``; anything else is rebuilt. The build
    (~1 min on 2 cores) happens in a temporary sibling that is renamed into place under ``.<name>.lock``.
    """
    model_dir = Path(model_dir).expanduser().absolute()
    if not model_dir.is_dir():
        raise FileNotFoundError(f"model folder {model_dir} does not exist")
    target = onnx_dir(model_dir, variant)

    def current(folder: Path) -> bool:
        return still_valid(folder, lambda f: verify_onnx_folder(f, variant, model_dir), OnnxModelError)

    if not force and current(target):
        return target

    def build(tmp: Path) -> None:
        _build(model_dir, tmp, variant)
        verify_onnx_folder(tmp, variant, model_dir)

    build_atomically(target, build, current, force=force, lock_timeout=_LOCK_TIMEOUT_S)
    return target
