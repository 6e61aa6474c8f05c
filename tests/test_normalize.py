"""Normalisation: traditional -> simplified, full-width -> half-width, whitespace; simplified text kept."""

import json

from embeddings.normalize import normalize_text
from embeddings.vector_cache import VectorCache, text_key
from tests.conftest import SAMPLE


def test_traditional_taiwan_phrasing_and_full_width_become_one_normal_form():
    assert normalize_text("氧化鋁基板雷射鑽孔孔邊微裂紋改善") == "氧化铝基板激光钻孔孔边微裂纹改善"
    assert normalize_text("ＰＣＢ板ＡＯＩ检测误报率（约５％）") == "PCB板AOI检测误报率(约5%)"
    assert normalize_text("  窑炉\n\n能耗  太高\t") == "窑炉 能耗 太高"
    assert normalize_text(None) == normalize_text("   ") == ""


def test_simplified_sample_texts_keep_their_characters():
    changed = []
    for line in (SAMPLE / "achievements.jsonl").read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        text = record["title"]
        if normalize_text(text) != normalize_text(normalize_text(text)):
            changed.append(text)
        folded = normalize_text(text).replace(",", "，").replace("(", "（").replace(")", "）").replace(":", "：")
        if [c for c in folded if "\u4e00" <= c <= "\u9fff"] != [c for c in text if "\u4e00" <= c <= "\u9fff"]:
            changed.append(text)
    assert changed == []


def test_vector_cache_stores_and_returns_vectors_by_key(tmp_path):
    import numpy as np

    cache = VectorCache(tmp_path, "model/x", 4)
    keys = [text_key("query: ", "氮化硅"), text_key("passage: ", "氮化硅")]
    assert keys[0] != keys[1]
    cache.put(keys, np.eye(4, dtype=np.float32)[:2])
    again = VectorCache(tmp_path, "model/x", 4)
    got = again.get([*keys, "unknown"])
    assert set(got) == set(keys) and got[keys[1]].tolist() == [0.0, 1.0, 0.0, 0.0]
    assert VectorCache(tmp_path, "model/y", 4).get(keys) == {}


def test_mainland_words_that_look_like_taiwan_phrases_are_left_alone():
    for text in ("瓷砖批次色差控制", "片式元件端电极", "HACCP体系建立", "数据资料整理"):
        assert normalize_text(text) == text
    assert normalize_text("感測器資料") == "传感器数据"
