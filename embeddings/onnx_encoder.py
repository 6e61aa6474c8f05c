"""Sentence embeddings from an exported ONNX folder (embeddings.onnx_export) with onnxruntime.

:class:`OnnxEncoder` has the part of ``SentenceTransformer``'s interface that :class:`embeddings.encoder.Encoder`
uses (``encode``, ``get_sentence_embedding_dimension``, ``max_seq_length``, ``prompts``): it tokenises with the
folder's ``tokenizer.json`` (the same ids sentence-transformers produces), runs the session and mean-pools +
L2-normalises like the folder's Pooling/Normalize modules.

Two ways to batch, because a cached vector must never depend on the texts it was encoded with (a build resumed
from the cache has to end bit-identical to an uninterrupted one):

- ``bucket_tokens=None`` (int8): texts sorted by token count, ``min(batch_size, max_rows_per_run)`` per run, each
  run padded to its longest text. Dynamic quantisation takes one activation scale per run, so a text's vector
  moves slightly with its batch mates (min cosine 0.996); Encoder therefore runs int8 one text at a time.
- ``bucket_tokens=32`` (fp32): each text padded to its token count rounded up to a multiple of 32, batched only
  with texts of that width. Rows padded alike compute alike in the fp32 kernels, so a text's vector is the same
  bits alone as in any batch (tests/test_onnx_fp32.py), and batching stays cheap.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from embeddings.onnx_export import DISABLED_OPTIMIZERS, INT8, Variant, export_onnx, onnx_dir, verify_onnx_folder

# int8, texts per session run whatever batch_size the caller asks for: on 2 cores 16 rows measured fastest for
# abstracts (37.6/s against 36.0 at 32 and 31.5 at 64) and for titles; bigger runs pad more and spill the
# attention scores out of cache.
MAX_ROWS_PER_RUN = 16


def _read_json(path: Path, default):
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return default


class OnnxEncoder:
    """Sentence embeddings from an ONNX folder; see the module docstring for the two batching modes.

    ``threads`` sets onnxruntime's intra-op threads (default: all cores); the session runs with all graph
    optimisations except SkipLayerNormFusion (see embeddings.onnx_export.DISABLED_OPTIMIZERS).
    """

    def __init__(self, folder: Path | str, threads: int | None = None, model_file: str = INT8.model_path,
                 bucket_tokens: int | None = None):
        import onnxruntime as ort
        from tokenizers import Tokenizer

        self.folder = Path(folder)
        self.threads = threads or os.cpu_count() or 1
        self.max_rows_per_run = MAX_ROWS_PER_RUN
        self.bucket_tokens = bucket_tokens
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

    def _run(self, batch: list[list[int]], width: int) -> np.ndarray:
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

    def _runs(self, tokens: list[list[int]], batch_size: int) -> list[tuple[list[int], int]]:
        """(row indices, padded width) of each session run."""
        if self.bucket_tokens is None:
            order = [int(i) for i in np.argsort([-len(ids) for ids in tokens], kind="stable")]
            rows = max(1, min(int(batch_size), self.max_rows_per_run))
            chunks = [order[start : start + rows] for start in range(0, len(order), rows)]
            return [(chunk, max(len(tokens[i]) for i in chunk)) for chunk in chunks]
        bucket, limit = self.bucket_tokens, int(self.max_seq_length)
        width = [min(limit, -(-len(ids) // bucket) * bucket) for ids in tokens]
        groups: dict[int, list[int]] = {}
        for i in sorted(range(len(tokens)), key=lambda i: (-width[i], i)):
            groups.setdefault(width[i], []).append(i)
        rows = max(1, int(batch_size))
        return [(members[start : start + rows], w) for w, members in groups.items()
                for start in range(0, len(members), rows)]

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
            runs = self._runs(tokens, batch_size)
            if show_progress_bar:
                from tqdm.auto import tqdm

                runs = tqdm(runs, desc="Batches")
            for index, width in runs:
                out[index] = self._run([tokens[i] for i in index], width)
            if self.normalize or normalize_embeddings:
                out /= np.clip(np.linalg.norm(out, axis=1, keepdims=True), 1e-12, None)
        if convert_to_tensor:
            import torch

            return torch.from_numpy(out[0] if single else out)
        return out[0] if single else out


def load_onnx(model_dir: Path, variant: Variant, threads: int | None = None, build: bool = True,
              bucket_tokens: int | None = None) -> OnnxEncoder:
    """An :class:`OnnxEncoder` for ``variant``'s export of ``model_dir``, exporting it first when it is missing or
    stale (``build=False`` raises OnnxModelError instead)."""
    model_dir = Path(model_dir).expanduser().absolute()
    if build:
        folder = export_onnx(model_dir, variant)
    else:
        folder = onnx_dir(model_dir, variant)
        verify_onnx_folder(folder, variant, model_dir)
    return OnnxEncoder(folder, threads=threads, model_file=variant.model_path, bucket_tokens=bucket_tokens)
