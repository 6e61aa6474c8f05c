"""``cxy index build --workers N``: an Encoder whose fresh texts are encoded by N Ray actors.

Only ``_encode_fresh`` (the model's forward passes) moves to the actors; everything around it stays the
serial Encoder's, in the driver: normalisation, prompts, the vector cache (read first, written after each
CHECKPOINT_EVERY texts, so a killed parallel build keeps what it encoded, as a serial one does) and the index.
A text's vector does not depend on the texts batched with it (embeddings.encoder: each is padded to its own
length bucket), so any split of a checkpoint's texts over the actors gives the serial vectors bit for bit.
"""

import numpy as np

from embeddings.encoder import Encoder, encode_bucketed, load_eager
from embeddings.vector_cache import VectorCache
from matcher.cluster import Cluster


class EncoderWorker:
    """One actor: loads the model once, then encodes the shards it is sent (prompts already applied)."""

    def __init__(self, settings: dict, threads: int):
        import torch

        torch.set_num_threads(threads)
        self.encoder = Encoder(**settings, cache=False, threads=threads)
        self.device = "cpu"
        # only when Ray gave this actor a GPU; not for int8, whose point is the CPU (its vectors differ more)
        if self.encoder.backend != "onnx-int8" and torch.cuda.is_available():
            self.device = "cuda"  # the eager model: the traced one holds CPU constants
            _, _, local = self.encoder._resolved
            self.encoder._model = load_eager(self.encoder.location, local, self.encoder.max_seq_length).to("cuda")

    def info(self) -> tuple[int, str]:
        return self.encoder.dimension, self.device

    def encode(self, texts: list[str]) -> np.ndarray:
        if self.device == "cpu":
            return self.encoder._encode_fresh(texts)
        return encode_bucketed(_OnDevice(self.encoder.model, self.device), texts, self.encoder.batch_size)


class _OnDevice:
    """The model as encode_bucketed calls it, with the batch moved to the GPU and the vectors back."""

    def __init__(self, model, device: str):
        self._model, self._device = model, device

    def __getattr__(self, name):
        return getattr(self._model, name)

    def __call__(self, features: dict):
        out = self._model({k: v.to(self._device) for k, v in features.items()})
        return {"sentence_embedding": out["sentence_embedding"].cpu()}


class ClusterEncoder(Encoder):
    """An Encoder (same arguments, plus ``workers`` and ``address``) that starts its cluster and actors
    on first use (a build with nothing to encode starts none); ``close()`` stops them."""

    def __init__(self, workers: int, address: str | None = None, **kwargs):
        super().__init__(**kwargs)
        self.workers, self.address = workers, address
        self.cluster: Cluster | None = None
        self._actors: list = []
        self._info: tuple[int, str] | None = None

    def _start(self) -> tuple[int, str]:
        if self._info is None:
            from matcher.cluster import actor_env, encoder_settings

            cluster = self.cluster = Cluster(self.workers, self.address)
            plan = cluster.plan(want_gpu=self.backend != "onnx-int8")
            worker = cluster.ray.remote(EncoderWorker).options(
                num_cpus=plan.cpus, num_gpus=plan.gpus, runtime_env={"env_vars": actor_env()})
            self._actors = [worker.remote(encoder_settings(self), plan.cpus) for _ in range(self.workers)]
            infos = cluster.ready([a.info.remote() for a in self._actors])
            self._info = infos[0]
            if len(set(infos)) > 1:  # a CPU and a GPU actor would give different last bits
                self.close()
                raise RuntimeError(f"工作进程的模型不一致：{infos}")
        return self._info

    @property
    def dimension(self) -> int:  # from an actor: the driver never loads the model
        return self._start()[0]

    @property
    def device(self) -> str:
        return self._start()[1]

    def _vector_cache(self) -> VectorCache | None:
        # GPU vectors differ from CPU ones in the last bits: kept apart, as the int8 backend's are
        if self.use_cache and self._cache is None and self.device == "cuda":
            self._cache = VectorCache(self.cache_folder, f"{self.model_id}|max{self.max_seq_length}|cuda",
                                      self.dimension)
        return super()._vector_cache()

    def _encode_fresh(self, texts: list[str]) -> np.ndarray:
        self._start()
        n = len(self._actors)
        # interleaved shards: the texts come longest first, so every actor gets a like share of the work
        shards = [texts[i::n] for i in range(n)]
        parts = self.cluster.ray.get([a.encode.remote(s) for a, s in zip(self._actors, shards, strict=True) if s])
        out = np.empty((len(texts), self.dimension), dtype=np.float32)
        for i, part in enumerate(parts):
            out[i::n] = part
        return out

    def close(self) -> None:
        if self.cluster is not None:
            self.cluster.close(self._actors)
        self.cluster, self._actors, self._info = None, [], None
