"""The int8 ONNX Runtime path for the sentence encoder (``CXY_ENCODER_BACKEND=onnx-int8``).

The export recipe lives in :mod:`embeddings.onnx_export` (variant ``INT8``: the fused fp32 graph quantised
dynamically, per-channel int8 weights) and the session in :mod:`embeddings.onnx_encoder`; this module keeps the
int8 names the rest of the code and the tests use.
"""

from __future__ import annotations

from pathlib import Path

from embeddings.onnx_encoder import OnnxEncoder, load_onnx
from embeddings.onnx_export import INT8, MANIFEST_NAME, OnnxModelError, export_onnx, onnx_dir, verify_onnx_folder

__all__ = ["MANIFEST_NAME", "MODEL_PATH", "SUFFIX", "Int8ModelError", "OnnxInt8Encoder", "export_int8",
           "load_int8", "onnx_int8_dir", "verify_int8_folder"]

SUFFIX = INT8.suffix
MODEL_PATH = INT8.model_path
Int8ModelError = OnnxModelError
OnnxInt8Encoder = OnnxEncoder  # int8 is its default model file and batching


def onnx_int8_dir(model_dir: Path) -> Path:
    return onnx_dir(model_dir, INT8)


def verify_int8_folder(folder: Path, model_dir: Path | None = None, deep: bool = False) -> dict:
    return verify_onnx_folder(folder, INT8, model_dir, deep)


def export_int8(model_dir: Path, force: bool = False) -> Path:
    return export_onnx(model_dir, INT8, force)


def load_int8(model_dir: Path, threads: int | None = None, build: bool = True) -> OnnxEncoder:
    return load_onnx(model_dir, INT8, threads=threads, build=build)
