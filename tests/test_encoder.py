"""Encoder: prompts, normalisation, the on-disk vector cache, and 繁體/简体 twins scoring the same."""

import numpy as np
import pytest

import embeddings.encoder as encoder_module
from embeddings.encoder import Encoder, encode_bucketed

NEED_SIMPLIFIED = "氧化铝基板激光钻孔后孔边有微裂纹，想改善良率"
NEED_TRADITIONAL = "氧化鋁基板雷射鑽孔後孔邊有微裂紋，想改善良率"
CAPABILITIES = ["超快激光精密加工陶瓷基板微孔", "锂云母焙烧提锂工艺", "复合绝缘子憎水性检测", "腊肉低盐保鲜与烟熏工艺"]


def test_vectors_are_unit_length_and_the_prompt_follows_the_kind(encoder):
    queries = encoder.encode(CAPABILITIES[:2], kind="query")
    assert queries.shape == (2, 384) and queries.dtype == np.float32
    assert np.allclose(np.linalg.norm(queries, axis=1), 1.0, atol=1e-5)
    passages_as_queries = encoder.encode(CAPABILITIES[:2], kind="passage")  # default scheme: "query: " both sides
    assert np.allclose(queries, passages_as_queries)
    with pytest.raises(ValueError, match="kind must be 'query' or 'passage'"):
        encoder.encode(["x"], kind="document")


def test_the_query_passage_scheme_uses_different_prompts(encoder, tmp_path):
    other = Encoder(prompt_scheme="query-passage", cache_folder=tmp_path)
    other._model = encoder.model  # the same weights; only the prompts differ
    q, p = other.encode(["窑炉节能"], kind="query"), other.encode(["窑炉节能"], kind="passage")
    assert float(q[0] @ p[0]) < 0.999
    with pytest.raises(ValueError, match="unknown prompt scheme"):
        Encoder(prompt_scheme="nope")


def test_a_traditional_need_scores_like_its_simplified_twin(encoder):
    caps = encoder.encode(CAPABILITIES, kind="passage")
    simplified = encoder.encode([NEED_SIMPLIFIED])[0] @ caps.T
    traditional = encoder.encode([NEED_TRADITIONAL])[0] @ caps.T
    assert np.array_equal(simplified, traditional)
    assert int(np.argmax(simplified)) == 0


def test_cached_texts_are_not_encoded_again(encoder, tmp_path):
    cached = Encoder(cache_folder=tmp_path)
    cached._model = encoder.model
    first = cached.encode(CAPABILITIES)
    calls = []
    original = cached._encode_fresh
    cached._encode_fresh = lambda texts: calls.append(list(texts)) or original(texts)
    again = cached.encode([*CAPABILITIES, "新的一句：稀土永磁晶界扩散"])
    assert calls == [["query: 新的一句:稀土永磁晶界扩散"]]  # only the new text; normalised before encoding
    assert np.array_equal(again[:4], first)
    assert len(cached._vector_cache()) == 5


def test_empty_input_gives_an_empty_matrix(encoder):
    assert encoder.encode([]).shape == (0, 384)


def test_the_int8_backend_agrees_with_fp32_and_keeps_its_own_cache(encoder, tmp_path):
    fast = Encoder(backend="onnx-int8", cache_folder=tmp_path)
    fp32 = encoder.encode(CAPABILITIES)
    int8 = fast.encode(CAPABILITIES)
    assert np.min(np.sum(fp32 * int8, axis=1)) >= 0.98
    assert fast._vector_cache().path != Encoder(cache_folder=tmp_path)._vector_cache().path
    with pytest.raises(ValueError, match="unknown backend"):
        Encoder(backend="gpu")


def test_a_hub_model_name_keeps_the_torch_backend_unless_another_is_asked_for(tmp_path, monkeypatch):
    monkeypatch.delenv("CXY_ENCODER_BACKEND", raising=False)
    assert Encoder(model="intfloat/multilingual-e5-small", cache=False).backend == "torch"  # nothing is loaded
    assert Encoder(model=str(tmp_path), cache=False).backend == "onnx-fp32"  # a folder: the default
    assert Encoder(model="intfloat/multilingual-e5-small", backend="onnx-int8", cache=False).backend == "onnx-int8"


@pytest.mark.parametrize("backend", ["onnx-fp32", "torch", "onnx-int8"])
def test_a_vector_does_not_depend_on_the_texts_batched_with_it(backend, encoder, tmp_path):
    """Bit for bit: what makes a resumed build equal an uninterrupted one (tests/test_encode_checkpoint.py)."""
    assert encoder.backend == "onnx-fp32"  # the default
    chosen = _uncached(encoder) if backend == encoder.backend else Encoder(backend=backend, cache=False)
    texts = [*CAPABILITIES, NEED_SIMPLIFIED, "陶瓷" * 40, "kiln"]
    together = chosen.encode(texts)
    assert np.array_equal(together, np.stack([chosen.encode([t])[0] for t in texts]))
    assert np.array_equal(together, chosen.encode(texts[::-1])[::-1])
    assert np.array_equal(together[:3], chosen.encode([*texts[:3], "别的同批文本：稀土永磁"])[:3])


def test_the_bucketed_batches_agree_with_sentence_transformers(encoder, st_model):
    texts = ["query: " + t for t in [*CAPABILITIES, NEED_SIMPLIFIED, "陶瓷窑炉余热回收" * 30]]
    old = st_model.max_seq_length
    try:
        st_model.max_seq_length = encoder.max_seq_length
        reference = st_model.encode(texts, normalize_embeddings=True, convert_to_numpy=True)
        assert np.abs(encode_bucketed(st_model, texts, 32) - reference).max() < 1e-5  # the torch path's batching
    finally:
        st_model.max_seq_length = old
    default = Encoder(cache=False)
    default._model = encoder.model
    onnx = default._encode_fresh(texts)  # the fused graph's tanh-approximated Gelu: ~3e-4 per element at most
    assert np.abs(onnx - reference).max() < 1e-3 and np.sum(onnx * reference, axis=1).min() >= 0.99999


def test_vectors_reach_the_cache_every_checkpoint_so_a_failed_encode_keeps_them(encoder, tmp_path, monkeypatch):
    monkeypatch.setattr(encoder_module, "CHECKPOINT_EVERY", 2)
    cached = Encoder(cache_folder=tmp_path)
    cached._model = encoder.model
    chunks = []
    original = cached._encode_fresh

    def dies_on_the_third_chunk(texts):
        chunks.append(len(texts))
        if len(chunks) == 3:
            raise KeyboardInterrupt
        return original(texts)

    cached._encode_fresh = dies_on_the_third_chunk
    with pytest.raises(KeyboardInterrupt):
        cached.encode(CAPABILITIES + [NEED_SIMPLIFIED])
    assert chunks == [2, 2, 1] and len(cached._vector_cache()) == 4
    cached._encode_fresh = original
    calls = []
    cached._encode_fresh = lambda texts: calls.append(len(texts)) or original(texts)
    resumed = cached.encode(CAPABILITIES + [NEED_SIMPLIFIED])
    assert calls == [1]  # only what the failed call had not reached
    assert np.array_equal(resumed, _uncached(encoder).encode(CAPABILITIES + [NEED_SIMPLIFIED]))


def _uncached(encoder) -> Encoder:
    fresh = Encoder(cache=False)
    fresh._model = encoder.model
    return fresh
