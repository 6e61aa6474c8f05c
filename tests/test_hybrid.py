"""Hybrid retrieval and team profiles on a small hand-written corpus with the real model."""

import numpy as np
import pytest

from embeddings.hybrid import HybridRetriever, default_hybrid, normalise
from embeddings.profiles import aggregate, owner_scores

DOCS = {
    "ach:1": "一种氮化硅陶瓷轴承球的气压烧结方法，提高致密度，减少气孔和白点",
    "ach:2": "锂云母低温焙烧提锂工艺及碳酸锂提纯",
    "ach:3": "基于深度学习的绝缘子表面缺陷机器视觉检测",
    "ach:4": "陶瓷辊道窑余热回收与燃烧优化节能技术",
    "ach:5": "腊肉低盐腌制与真空包装保鲜工艺",
    "ach:6": "钕铁硼永磁体晶界扩散降低重稀土用量",
}
TERMS = ["氮化硅", "锂云母", "钕铁硼", "晶界扩散"]


@pytest.fixture(scope="module")
def hybrid(encoder):
    return default_hybrid(encoder, TERMS).fit(list(DOCS.values()), list(DOCS))


@pytest.mark.parametrize("query, expected", [
    ("轴承球烧完里面有气孔，合格率低", "ach:1"),
    ("我们是做瓷砖的，窑炉天然气费用太高", "ach:4"),
    ("磁铁厂想少用镝铽", "ach:6"),
    ("PCB板AOI检测误报太多，想用AI做外观检测", "ach:3"),
    ("腊肉夏天放不住，容易发哈", "ach:5"),
])
def test_plain_enterprise_wording_finds_the_capability(hybrid, query, expected):
    assert hybrid.search(query, k=1)[0][0] == expected


def test_a_traditional_query_ranks_and_scores_like_its_simplified_twin(hybrid):
    simplified = hybrid.search("锂云母怎么提锂成本更低", k=6)
    traditional = hybrid.search("鋰雲母怎麼提鋰成本更低", k=6)
    assert simplified[0][0] == "ach:2"
    assert [i for i, _ in simplified] == [i for i, _ in traditional]
    assert np.allclose([s for _, s in simplified], [s for _, s in traditional])


def test_every_normalisation_puts_each_querys_best_document_first():
    scores = np.array([[0.9, 0.5, 0.1, 0.3], [2.0, 8.0, 1.0, 1.0]], dtype=np.float32)
    for how in ("zscore-top", "zscore", "minmax", "rrf"):
        assert normalise(scores, how).argmax(axis=1).tolist() == [0, 1]
    assert normalise(scores, "minmax")[0].tolist() == pytest.approx([1.0, 0.5, 0.0, 0.25])
    with pytest.raises(ValueError, match="unknown normalisation"):
        normalise(scores, "softmax")


def test_lexical_only_hybrid_needs_no_encoder():
    from embeddings.lexical import CharTfidfRetriever

    retriever = HybridRetriever(None, [(CharTfidfRetriever(), 1.0)]).fit(list(DOCS.values()), list(DOCS))
    assert retriever.search("晶界扩散", k=1)[0][0] == "ach:6"


def test_profiles_aggregate_a_teams_documents():
    assert aggregate([0.2, 0.9, 0.5, 0.4], "max") == 0.9
    assert aggregate([0.2, 0.9, 0.5, 0.4], "top3mean") == pytest.approx(0.6)
    assert aggregate([0.9], "top3mean") == 0.9  # fewer documents than k: no penalty
    by_team = owner_scores(["a", "b", "c", "d"], [0.9, 0.1, 0.5, 0.7], {"a": "T1", "b": "T1", "c": "T2", "d": "T2"},
                           "top2mean")
    assert by_team == pytest.approx({"T1": 0.5, "T2": 0.6})
