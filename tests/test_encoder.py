"""Encoder: prompts, normalisation, the on-disk vector cache, and 繁體/简体 twins scoring the same."""

import numpy as np
import pytest

from embeddings.encoder import Encoder

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
    original = cached._model.encode
    cached._model.encode = lambda texts, **kw: calls.append(list(texts)) or original(texts, **kw)
    try:
        again = cached.encode([*CAPABILITIES, "新的一句：稀土永磁晶界扩散"])
    finally:
        cached._model.encode = original
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
