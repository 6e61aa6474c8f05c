"""DenseIndex: exact and HNSW search, incremental add/update/delete, persistence, model checks."""

import numpy as np
import pytest

from embeddings.dense_index import DenseIndex, IndexModelMismatch


def unit_vectors(n: int, dim: int = 16, seed: int = 0) -> np.ndarray:
    vectors = np.random.default_rng(seed).normal(size=(n, dim)).astype(np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def test_exact_search_returns_the_nearest_ids_best_first():
    vectors = unit_vectors(50)
    index = DenseIndex(16, "m")
    index.add([f"d{i}" for i in range(50)], vectors)
    hits = index.search(vectors[[7, 21]], k=3)

    assert [h[0] for h in hits] == [("d7", pytest.approx(1.0, abs=1e-5)), ("d21", pytest.approx(1.0, abs=1e-5))]
    expected = np.argsort(-(vectors @ vectors[21]))[:3]
    assert [i for i, _ in hits[1]] == [f"d{i}" for i in expected]


def test_update_replaces_a_vector_and_delete_hides_it():
    vectors = unit_vectors(20)
    index = DenseIndex(16, "m")
    index.add([f"d{i}" for i in range(20)], vectors)
    index.add(["d3"], vectors[5:6])  # d3 now points where d5 does
    assert {i for i, _ in index.search(vectors[5:6], k=2)[0]} == {"d3", "d5"}
    assert index.search(vectors[3:4], k=1)[0][0][0] != "d3"

    assert index.remove(["d5", "missing"]) == 1
    assert index.search(vectors[5:6], k=1)[0][0][0] == "d3"
    assert len(index) == 19 and "d5" not in index


def test_many_deletes_compact_the_index_and_results_stay_right():
    vectors = unit_vectors(100)
    index = DenseIndex(16, "m")
    index.add([f"d{i}" for i in range(100)], vectors)
    index.remove([f"d{i}" for i in range(60)])

    assert len(index.ids) == 40  # compacted: dead rows are gone
    assert index.search(vectors[80:81], k=1)[0][0][0] == "d80"
    assert all(int(i[1:]) >= 60 for i, _ in index.search(vectors[10:11], k=40)[0])


def test_large_collections_switch_to_hnsw_with_high_recall(tmp_path):
    vectors = unit_vectors(3000, dim=32, seed=1)
    queries = unit_vectors(100, dim=32, seed=2)
    exact, approx = DenseIndex(32, "m"), DenseIndex(32, "m", hnsw_from=1000)
    ids = [f"d{i}" for i in range(3000)]
    exact.add(ids, vectors)
    approx.add(ids, vectors)
    assert (exact.kind, approx.kind) == ("flat", "hnsw")

    truth = exact.search(queries, 10)
    found = approx.search(queries, 10)
    recall = np.mean([len({i for i, _ in t} & {i for i, _ in f}) / 10 for t, f in zip(truth, found, strict=True)])
    assert recall >= 0.98

    approx.save(tmp_path / "ix")
    loaded = DenseIndex.load(tmp_path / "ix", "m")
    assert loaded.kind == "hnsw" and loaded.search(queries, 10) == found


def test_save_and_load_round_trip_and_refuse_another_model(tmp_path):
    vectors = unit_vectors(30)
    index = DenseIndex(16, "model-a")
    index.add([f"d{i}" for i in range(30)], vectors)
    index.remove(["d0"])
    index.save(tmp_path / "ix")
    index.save(tmp_path / "ix")  # saving over an existing index swaps it in whole

    loaded = DenseIndex.load(tmp_path / "ix", "model-a")
    assert len(loaded) == 29 and loaded.search(vectors[4:5], 1)[0][0][0] == "d4"
    with pytest.raises(IndexModelMismatch, match="用模型 'model-a' 建立的.*cxy index build --rebuild"):
        DenseIndex.load(tmp_path / "ix", "model-b")


def test_bad_input_is_refused():
    index = DenseIndex(16, "m")
    with pytest.raises(ValueError, match="duplicate ids"):
        index.add(["a", "a"], unit_vectors(2))
    with pytest.raises(ValueError, match="2 ids for 3 vectors"):
        index.add(["a", "b"], unit_vectors(3))
    assert index.search(unit_vectors(1), 5) == [[]]
