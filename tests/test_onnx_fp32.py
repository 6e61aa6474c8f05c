"""The fused fp32 ONNX encoder against the fp32 sentence-transformers model (real model, real onnxruntime).

The export is built once per machine next to the model (~40 s on 2 cores) and reused. Measured on the default
model: min cosine to sentence-transformers over COSINE_TEXTS >= 0.99999; a text's vector is the same bits alone
as in any batch (each text is padded to its 32-token bucket), which is what the vector cache and resumable
builds need.
"""

import numpy as np
import pytest

pytest.importorskip("onnxruntime")
pytest.importorskip("onnx")

from embeddings.encoder import BUCKET_TOKENS, Encoder  # noqa: E402
from embeddings.onnx_encoder import OnnxEncoder, load_onnx  # noqa: E402
from embeddings.onnx_export import FP32, INT8, OnnxModelError, export_onnx, onnx_dir, verify_onnx_folder  # noqa: E402
from tests.test_onnx_int8 import COSINE_TEXTS, PAIRS, _fp32, _top1  # noqa: E402


@pytest.fixture(scope="session")
def fp32_folder(default_model_dir):
    return export_onnx(default_model_dir, FP32)


@pytest.fixture(scope="session")
def fp32_model(fp32_folder, default_model_dir):
    model = load_onnx(default_model_dir, FP32, threads=2, bucket_tokens=BUCKET_TOKENS)
    model.max_seq_length = 256
    return model


def test_folder_holds_the_unquantised_graph_and_is_not_taken_for_int8(fp32_folder, default_model_dir):
    assert fp32_folder == onnx_dir(default_model_dir, FP32) and fp32_folder.name.endswith("-onnx-fp32")
    manifest = verify_onnx_folder(fp32_folder, FP32, default_model_dir, deep=True)
    assert manifest["recipe"]["variant"] == "fp32" and "quantization" not in manifest["recipe"]
    assert manifest["self_check_min_cosine"] >= 0.9999
    assert manifest["recipe"]["fusion"]["fused_operators"].get("Attention") == 12
    # fp32 weights, in the side file onnxruntime maps (the int8 graph holds ~118 MB inline)
    assert (fp32_folder / f"{FP32.model_path}.data").stat().st_size > 400 * 2**20
    assert (fp32_folder / FP32.model_path).stat().st_size < 2**20
    assert f"{FP32.model_path}.data" in manifest["files"]
    with pytest.raises(OnnxModelError, match="不在清单中"):
        verify_onnx_folder(fp32_folder, INT8)  # the int8 file is not in it
    assert export_onnx(default_model_dir, FP32) == fp32_folder  # idempotent


def test_vectors_equal_sentence_transformers_to_float_rounding(fp32_model, st_model):
    texts = ["query: " + t for t in COSINE_TEXTS]
    reference = _fp32(st_model, texts)
    cosine = np.sum(reference * fp32_model.encode(texts, batch_size=8), axis=1)
    assert cosine.min() >= 0.99999, dict(zip(COSINE_TEXTS, cosine.round(7), strict=True))
    long_text = "query: " + "陶瓷窑炉余热回收与燃烧优化，降低单位产品能耗。" * 60
    old = st_model.max_seq_length
    try:
        st_model.max_seq_length = 256
        assert float(np.dot(_fp32(st_model, [long_text])[0], fp32_model.encode(long_text))) >= 0.99999
    finally:
        st_model.max_seq_length = old
    needs = ["query: " + need for need, _ in PAIRS]
    capabilities = ["query: " + capability for _, capability in PAIRS]
    assert _top1(fp32_model.encode(needs), fp32_model.encode(capabilities)) == _top1(
        _fp32(st_model, needs), _fp32(st_model, capabilities)
    )


def test_a_vector_is_the_same_bits_alone_as_in_any_batch(fp32_model):
    texts = ["query: " + t for t in COSINE_TEXTS] + ["query: " + "稀土永磁材料晶界扩散。" * 30, "query: x"]
    alone = np.stack([fp32_model.encode(t) for t in texts])
    for batch_size in (3, 8, 32):
        batched = fp32_model.encode(texts, batch_size=batch_size)
        assert np.array_equal(alone, batched), f"batch_size {batch_size}"
    assert np.array_equal(fp32_model.encode(texts[::-1])[::-1], alone)


def test_threads_do_not_change_the_vectors(fp32_folder, fp32_model):
    single = OnnxEncoder(fp32_folder, threads=1, model_file=FP32.model_path, bucket_tokens=BUCKET_TOKENS)
    assert single.session.get_session_options().intra_op_num_threads == 1
    texts = ["query: 窑炉节能", "query: 水稻抗病育种与分子标记辅助选择"]
    np.testing.assert_allclose(single.encode(texts), fp32_model.encode(texts), atol=1e-6)


def test_encoder_backend_keeps_its_own_cache_and_matches_torch(tmp_path, fp32_folder, encoder):
    onnx = Encoder(cache_folder=tmp_path, backend="onnx-fp32")
    torch_side = Encoder(cache_folder=tmp_path, backend="torch")
    texts = ["窑炉能耗高，想做节能改造", "基于机器视觉的锂电池极片表面缺陷在线检测方法"]
    first = onnx.encode(texts)
    assert np.array_equal(onnx.encode(texts), first)  # the second call reads the cache
    assert onnx._vector_cache().path != torch_side._vector_cache().path
    assert np.sum(first * encoder.encode(texts), axis=1).min() >= 0.99999
    assert "torch" not in type(onnx.model).__module__
