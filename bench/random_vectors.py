"""The encoder's stand-in for index builds of synthetic corpora (bench/index_build.py, latency.py, report.py)."""

import numpy as np


class RandomVectors:
    """Seeded random unit vectors under the real model's id, so the service (which encodes queries with the real
    model) accepts the index; ``encoded`` counts the texts it was asked for."""

    vector_kind = "random"

    def __init__(self, model_id: str, dimension: int, seed: int = 0):
        self.model_id, self.dimension = model_id, dimension
        self.rng = np.random.default_rng(seed)
        self.encoded = 0

    def encode(self, texts, kind="passage"):
        self.encoded += len(texts)
        vectors = self.rng.standard_normal((len(texts), self.dimension)).astype(np.float32)
        return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
