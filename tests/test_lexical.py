"""Lexical retrievers: jieba tokenisation with a private user dictionary, BM25 and character TF-IDF ranking
on a small hand-written corpus of capability texts, normalisation (繁体, full-width, case) and edge cases."""

import math
import pickle

import jieba
import numpy as np
import pytest
from sklearn.exceptions import NotFittedError
from sklearn.feature_extraction.text import TfidfVectorizer

from embeddings.lexical import (
    DEFAULT_STOPWORDS,
    Bm25Retriever,
    CharTfidfRetriever,
    make_tokenizer,
    tokenize,
)
from embeddings.lexical import _ngram_text as ngram_text

DOCS = {
    "si3n4": "氮化硅陶瓷轴承球的气压烧结：球坯冷等静压成型后气压烧结，用于高速电主轴轴承。",
    "lepidolite": "锂云母焙烧提锂：硫酸盐焙烧、水浸出、碳酸锂沉淀，锂回收率高于90%。",
    "mica": "云母绝缘纸的制备，云母片经煅烧、制浆、抄纸，用于电机绝缘。",
    "ndfeb": "钕铁硼永磁体晶界扩散：以重稀土镝、铽晶界扩散提高矫顽力，减少重稀土用量。",
    "twin-kiln": "数字孪生窑炉：建立辊道窑温度场的数字孪生模型，在线优化烧成曲线并预测能耗。",
    "kiln-heat": "陶瓷辊道窑余热回收与节能改造，窑炉烟气余热用于坯体干燥。",
    "pcb-aoi": "PCB板AOI自动光学检测系统，深度学习识别焊点缺陷，检出率99%。",
    "flex-pcb": "柔性pcb线路板的激光钻孔工艺，孔径小于50微米。",
    "scr": "燃煤电厂SCR脱硝催化剂再生技术，恢复催化剂活性，降低氨逃逸。",
    "5g-filter": "5G基站用微波介质陶瓷滤波器，介电损耗低，谐振频率温度系数近零。",
    "glaze": "建筑陶瓷干粒釉的低温快烧技术，釉面耐磨，烧成温度降低30℃。",
}
IDS = list(DOCS)
TEXTS = list(DOCS.values())
TERMS = ["锂云母", "数字孪生", "钕铁硼", "氮化硅"]

RETRIEVERS = {
    "bm25": lambda: Bm25Retriever(user_terms=TERMS),
    "bm25-no-terms": lambda: Bm25Retriever(),
    "char-tfidf": lambda: CharTfidfRetriever(),
    "char_wb-1-3": lambda: CharTfidfRetriever(analyzer="char_wb", ngram_range=(1, 3)),
}


@pytest.fixture(params=list(RETRIEVERS), scope="module")
def fitted(request):
    return RETRIEVERS[request.param]().fit(TEXTS, IDS)


# ------------------------------------------------------------------------------------------- tokenize


def test_user_terms_stay_whole():
    assert tokenize("锂云母焙烧提锂", TERMS) == ["锂云母", "焙烧", "提", "锂"]
    assert tokenize("数字孪生窑炉", TERMS) == ["数字孪生", "窑炉"]
    # jieba's own dictionary splits them
    assert tokenize("锂云母焙烧提锂") == ["锂", "云母", "焙烧", "提", "锂"]
    assert tokenize("数字孪生窑炉") == ["数字", "孪生", "窑炉"]


def test_tokenize_normalises_and_drops_punctuation_and_stopwords():
    assert tokenize("氮化硅陶瓷轴承球的气压烧结，（PCB、AOI）与5G等") == [
        "氮化硅",
        "陶瓷",
        "轴承",
        "球",
        "气压",
        "烧结",
        "pcb",
        "aoi",
        "5g",
    ]
    assert tokenize("ＰＣＢ板ＡＯＩ檢測") == ["pcb", "板", "aoi", "检测"]  # full-width, traditional
    assert tokenize("鋰雲母焙燒提鋰", TERMS) == ["锂云母", "焙烧", "提", "锂"]
    assert tokenize("NdFeB磁体") == ["ndfeb", "磁体"]
    assert tokenize("") == [] and tokenize(None) == [] and tokenize("的，了。") == []
    assert {"的", "了", "和", "与", "及", "在", "是", "对", "等", "中", "为", "一种", "我们"} <= DEFAULT_STOPWORDS
    assert tokenize("的气压", stopwords=()) == ["的", "气压"]


def test_ascii_user_terms_do_not_split_longer_ascii_words():
    assert tokenize("PCBA检测 aim", ["PCB", "ai"]) == ["pcba", "检测", "aim"]


def test_tokenize_accepts_a_prebuilt_tokenizer():
    tokenizer = make_tokenizer(["数字孪生"])
    assert tokenize("数字孪生窑炉", tokenizer) == ["数字孪生", "窑炉"]
    assert tokenizer is not jieba.dt and make_tokenizer(["数字孪生"]) is not tokenizer


def test_user_terms_do_not_leak_between_retrievers_or_into_global_jieba():
    with_terms = Bm25Retriever(user_terms=TERMS).fit(TEXTS, IDS)
    without = Bm25Retriever().fit(TEXTS, IDS)
    assert with_terms.tokenizer is not without.tokenizer
    assert with_terms.tokenizer is not jieba.dt and without.tokenizer is not jieba.dt
    assert {"锂云母", "数字孪生"} <= set(with_terms.vocabulary_)
    assert "锂云母" not in without.vocabulary_ and "数字孪生" not in without.vocabulary_
    # built after the one with terms, the plain retriever still splits them; so does global jieba
    assert without.analyze("锂云母")[:2] == ["锂", "云母"]
    assert jieba.lcut("锂云母焙烧提锂数字孪生", HMM=False) == ["锂", "云母", "焙烧", "提", "锂", "数字", "孪生"]
    # a retriever with other terms does not see these
    other = Bm25Retriever(user_terms=["焙烧提锂"])
    assert tokenize("锂云母焙烧提锂", other.tokenizer) == ["锂", "云母", "焙烧提锂"]
    assert tokenize("锂云母焙烧提锂", with_terms.tokenizer) == ["锂云母", "焙烧", "提", "锂"]


def test_bm25_analysis_adds_term_parts_and_cjk_bigrams():
    retriever = Bm25Retriever(user_terms=TERMS)
    assert retriever.analyze("锂云母焙烧") == ["锂云母", "锂", "云母", "焙烧", "锂云", "云母", "母焙", "焙烧"]
    plain = Bm25Retriever(user_terms=TERMS, term_parts=False, char_bigrams=False)
    assert plain.analyze("锂云母焙烧, PCB") == ["锂云母", "焙烧", "pcb"]


# ------------------------------------------------------------------------------------------- ranking


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("氮化硅轴承球", "si3n4"),
        ("锂云母提锂", "lepidolite"),
        ("晶界扩散 矫顽力", "ndfeb"),
        ("窑炉数字孪生", "twin-kiln"),
        ("窑炉余热", "kiln-heat"),
        ("脱硝催化剂再生", "scr"),
        ("微波介质滤波器", "5g-filter"),
        ("干粒釉", "glaze"),
    ],
)
def test_queries_rank_the_right_document_first(fitted, query, expected):
    assert fitted.search(query, k=3)[0][0] == expected


def test_whole_user_term_outranks_a_part_but_the_part_still_matches():
    retriever = Bm25Retriever(user_terms=TERMS).fit(TEXTS, IDS)
    scores = dict(zip(IDS, retriever.scores("锂云母"), strict=True))
    assert scores["lepidolite"] > scores["mica"] > 0
    assert [doc for doc, _ in retriever.search("锂云母")] == ["lepidolite", "mica"]


def test_traditional_query_scores_like_its_simplified_twin(fitted):
    traditional, simplified = fitted.scores("鋰雲母焙燒提鋰"), fitted.scores("锂云母焙烧提锂")
    assert np.array_equal(traditional, simplified)
    assert fitted.search("鋰雲母焙燒提鋰") == fitted.search("锂云母焙烧提锂")
    assert fitted.search("鋰雲母焙燒提鋰")[0][0] == "lepidolite"


def test_english_abbreviations_match_case_insensitively(fitted):
    upper = fitted.scores("PCB AOI")
    for variant in ("pcb aoi", "Pcb Aoi", "ＰＣＢ ＡＯＩ"):
        assert np.array_equal(fitted.scores(variant), upper)
    assert fitted.search("PCB AOI")[0][0] == "pcb-aoi"
    # "flex-pcb" writes it in lower case; only the two PCB documents contain all of p, c, b
    assert {doc for doc, _ in fitted.search("PCB", k=2)} == {"pcb-aoi", "flex-pcb"}


def test_bm25_matches_only_documents_sharing_a_token():
    retriever = Bm25Retriever(user_terms=TERMS).fit(TEXTS, IDS)
    assert [doc for doc, _ in retriever.search("PCB", k=10)] == ["flex-pcb", "pcb-aoi"]  # shorter doc first
    assert [doc for doc, _ in retriever.search("SCR", k=10)] == ["scr"]


# ------------------------------------------------------------------------------------------- contract


def test_scores_and_search_contract(fitted):
    scores = fitted.scores("陶瓷烧结")
    assert scores.dtype == np.float32 and scores.shape == (len(TEXTS),)
    hits = fitted.search("陶瓷烧结", k=4)
    assert len(hits) == 4
    assert [s for _, s in hits] == sorted((s for _, s in hits), reverse=True)
    assert all(score > 0 and isinstance(score, float) for _, score in hits)
    assert hits == [(IDS[i], float(scores[i])) for i in np.argsort(-scores, kind="stable")[:4]]
    assert fitted.search("陶瓷烧结", k=0) == []
    everything = fitted.search("陶瓷烧结", k=100)
    assert len(everything) == int((scores > 0).sum())


@pytest.mark.parametrize("query", ["", "   ", "，。！"])
def test_empty_query_scores_zero(fitted, query):
    scores = fitted.scores(query)
    assert scores.dtype == np.float32 and scores.shape == (len(TEXTS),) and not scores.any()
    assert fitted.search(query) == []


def test_unknown_query_scores_zero(fitted):
    query = "区块链"
    assert not any(char in text for char in query for text in TEXTS)
    assert not fitted.scores(query).any()
    assert fitted.search(query) == []


@pytest.mark.parametrize("make", list(RETRIEVERS.values()), ids=list(RETRIEVERS))
def test_duplicated_documents_tie_in_fit_order(make):
    texts = [*TEXTS, DOCS["scr"]]
    retriever = make().fit(texts)
    assert retriever.ids_ == [str(i) for i in range(len(texts))]
    scores = retriever.scores("脱硝催化剂")
    scr = IDS.index("scr")
    assert scores[scr] == scores[-1] > 0
    assert [doc for doc, _ in retriever.search("脱硝催化剂", k=2)] == [str(scr), str(len(texts) - 1)]


@pytest.mark.parametrize("make", list(RETRIEVERS.values()), ids=list(RETRIEVERS))
def test_fit_edge_cases(make):
    with pytest.raises(NotFittedError):
        make().scores("陶瓷")
    with pytest.raises(ValueError, match="ids"):
        make().fit(TEXTS, IDS[:-1])
    with pytest.raises(ValueError, match="unique"):
        make().fit(["陶瓷", "釉"], ["a", "a"])
    blank = make().fit(["", "  "], ["a", "b"])
    assert blank.scores("陶瓷").tolist() == [0.0, 0.0] and blank.search("陶瓷") == []
    nothing = make().fit([])
    assert nothing.scores("陶瓷").shape == (0,) and nothing.search("陶瓷") == []
    # refitting replaces the corpus
    retriever = make().fit(TEXTS, IDS).fit(["釉面耐磨", "陶瓷滤波器"], ["x", "y"])
    assert retriever.search("釉面")[0][0] == "x" and retriever.scores("釉面").shape == (2,)


@pytest.mark.parametrize("make", list(RETRIEVERS.values()), ids=list(RETRIEVERS))
def test_pickle_round_trip(make):
    retriever = make().fit(TEXTS, IDS)
    restored = pickle.loads(pickle.dumps(retriever))
    assert np.array_equal(restored.scores("锂云母焙烧"), retriever.scores("锂云母焙烧"))


STORED = {
    **RETRIEVERS,
    "word-tfidf": lambda: CharTfidfRetriever(analyzer="word", ngram_range=(1, 1)),
    "char-pruned": lambda: CharTfidfRetriever(min_df=2, max_df=0.5),
    "bm25-plain": lambda: Bm25Retriever(k1=1.2, b=0.5, stopwords=(), hmm=True, term_parts=False, char_bigrams=False),
}
QUERIES = ["锂云母焙烧", "鋰雲母", "PCB aoi 检测", "窑炉余热回收节能", "!!!", "", "完全无关的词语"]


@pytest.mark.parametrize("make", list(STORED.values()), ids=list(STORED))
@pytest.mark.parametrize("texts", [TEXTS, ["", "  "], []], ids=["corpus", "blank", "empty"])
def test_stored_retrievers_load_without_pickle_and_score_identically(make, texts, tmp_path):
    from embeddings import lexical_store

    ids = IDS[: len(texts)] if texts is TEXTS else [f"d{i}" for i in range(len(texts))]
    retriever = make().fit(texts, ids)
    lexical_store.save(tmp_path, {"r": retriever}, digest="x")
    reads = []

    def read(name):
        reads.append(name)
        return (tmp_path / name).read_bytes()

    document, loaded = lexical_store.load(read)
    assert document["digest"] == "x" and sorted(reads) == ["lexical-r.npz", "lexical.json"]  # one read each
    restored = loaded["r"]
    assert type(restored) is type(retriever) and restored.ids_ == retriever.ids_
    for query in QUERIES:
        expected, got = retriever.scores(query), restored.scores(query)
        assert got.dtype == expected.dtype and np.array_equal(got, expected), query
        assert restored.search(query, 3) == retriever.search(query, 3)


def test_stored_arrays_are_numbers_only_and_bad_data_is_refused(tmp_path):
    import io

    from embeddings import lexical_store

    lexical_store.save(tmp_path, {"r": Bm25Retriever(user_terms=TERMS).fit(TEXTS, IDS)}, digest="x")
    assert lexical_store.npz_bytes({"a": np.arange(3)}) == lexical_store.npz_bytes({"a": np.arange(3)})
    with pytest.raises(ValueError, match="pickle"):  # an object array in the npz is never unpickled
        buffer = io.BytesIO()
        np.savez(buffer, data=np.array([object()], dtype=object))
        lexical_store.npz_arrays(buffer.getvalue())
    with pytest.raises(ValueError, match="npz"):
        lexical_store.npz_arrays(b"PK\x03\x04 garbage")
    state, arrays = lexical_store.dump(Bm25Retriever().fit(TEXTS, IDS))
    for broken_state, broken_arrays in [
        ({**state, "shape": [state["shape"][0], 3]}, arrays),
        ({**state, "vocabulary": state["vocabulary"][:-1]}, arrays),
        ({**state, "format": 99}, arrays),
        ({k: v for k, v in state.items() if k != "k1"}, arrays),
        (state, {**arrays, "indices": arrays["indices"] + 10**6}),
        (state, {**arrays, "idf": arrays["idf"][:3]}),
        (state, {**arrays, "data": arrays["data"].astype(np.float64)}),
    ]:
        with pytest.raises(ValueError):
            lexical_store.restore(broken_state, broken_arrays)


# ------------------------------------------------------------------------------------------- exact scores


def test_bm25_scores_are_lucene_bm25():
    retriever = Bm25Retriever(k1=1.5, b=0.75, stopwords=(), char_bigrams=False).fit(["pcb aoi", "pcb", "aoi aoi scr"])
    idf = math.log(1 + (3 - 2 + 0.5) / (2 + 0.5))  # pcb: N = 3 documents, df = 2; lengths 2, 1, 3, avgdl 2
    expected = [idf * 1 / (1 + 1.5 * (0.25 + 0.75 * 2 / 2)), idf * 1 / (1 + 1.5 * (0.25 + 0.75 * 1 / 2)), 0.0]
    np.testing.assert_allclose(retriever.scores("PCB"), expected, rtol=1e-6)
    # a repeated query token counts twice; tokens unknown to the corpus add nothing
    np.testing.assert_allclose(retriever.scores("pcb pcb 5g"), 2 * np.asarray(expected), rtol=1e-6)


def test_bm25_agrees_with_bm25s():
    bm25s = pytest.importorskip("bm25s")
    retriever = Bm25Retriever(user_terms=TERMS).fit(TEXTS, IDS)
    reference = bm25s.BM25(method="lucene", k1=1.5, b=0.75)
    reference.index([retriever.analyze(text) for text in TEXTS], show_progress=False)
    for query in ("锂云母焙烧提锂", "陶瓷 烧结 陶瓷", "PCB AOI检测", "数字孪生窑炉"):
        tokens = [t for t in retriever.analyze(query) if t in retriever.vocabulary_]
        np.testing.assert_allclose(retriever.scores(query), reference.get_scores(tokens), rtol=1e-5)


@pytest.mark.parametrize(
    ("analyzer", "ngram_range"), [("char", (1, 2)), ("char_wb", (1, 3)), ("char", (2, 4)), ("char_wb", (2, 5))]
)
def test_char_tfidf_equals_scikit_learn(analyzer, ngram_range):
    texts = [*TEXTS, "x", "ab cd e", "PCB AOI 检测"]
    retriever = CharTfidfRetriever(analyzer=analyzer, ngram_range=ngram_range).fit(texts)
    grams = TfidfVectorizer(analyzer=analyzer, ngram_range=ngram_range, lowercase=False).build_analyzer()
    reference = TfidfVectorizer(analyzer=lambda text: [g for g in grams(text) if not g.isspace()], sublinear_tf=True)
    matrix = reference.fit_transform([ngram_text(t) for t in texts])
    for query in ("锂云母焙烧提锂", "PCB板 AOI", "ab e", "窑炉窑炉余热", "x"):
        expected = (matrix @ reference.transform([ngram_text(query)]).T).toarray().ravel()
        np.testing.assert_allclose(retriever.scores(query), expected, rtol=1e-5, atol=1e-6)


def test_char_tfidf_ngrams_ignore_punctuation():
    assert ngram_text("（ＰＣＢ）板、AOI檢測——99%！") == "pcb 板 aoi检测 99"


def test_char_tfidf_defaults_are_the_measured_best():
    retriever = CharTfidfRetriever()
    assert (retriever.analyzer, retriever.ngram_range, retriever.sublinear_tf) == ("char", (1, 2), True)
    bm25 = Bm25Retriever()
    assert (bm25.k1, bm25.b, bm25.hmm, bm25.term_parts, bm25.char_bigrams) == (1.5, 0.75, False, True, True)


def test_the_split_modules_names_stay_importable_from_embeddings_lexical():
    import embeddings.lexical as lexical
    from embeddings import char_ngrams, lexical_text

    for name in ("prepare_text", "tokenize", "make_tokenizer", "DEFAULT_STOPWORDS", "_ngram_text", "_clean_terms"):
        assert getattr(lexical, name) is getattr(lexical_text, name)
    assert lexical._CharNgramCounter is char_ngrams._CharNgramCounter
    tokens = [Bm25Retriever(["锂云母"]).analyze(t) for t in ("鋰雲母提锂工艺", "锂云母", "")]
    fitted, direct = Bm25Retriever(["锂云母"]).fit_tokens(tokens), Bm25Retriever(["锂云母"]).fit(
        ["鋰雲母提锂工艺", "锂云母", ""]
    )
    assert fitted.vocabulary_ == direct.vocabulary_ and (fitted._postings != direct._postings).nnz == 0


def test_the_fused_segmenter_cuts_word_for_word_as_jieba():
    import json as _json

    from embeddings.lexical_text import _base_tokenizer, _cut_no_hmm, prepare_text
    from tests.conftest import SAMPLE

    records = [_json.loads(line) for line in (SAMPLE / "achievements.jsonl").open(encoding="utf-8")]
    texts = [prepare_text(f"{r.get('title', '')} {r.get('abstract', '')}") for r in records]
    texts += ["pcba 5g ｎｄｆｅｂ abc123 x-ray 3.5mm a  b\r\nc", "", "   ", "锂云母锂云母", "鋰雲母：提鋰！"]
    keywords = sorted({k for r in records for k in (r.get("keywords") or "").replace(";", ",").split(",") if k})
    for tokenizer in (_base_tokenizer(), make_tokenizer(keywords)):
        assert [list(_cut_no_hmm(tokenizer, t)) for t in texts] == [list(tokenizer.cut(t, HMM=False)) for t in texts]
