"""Incremental index builds: lexical analyses reused per document (only changed texts are analysed again, and
the retrievers equal a fresh fit), and an HNSW graph saved with its dead rows instead of being rebuilt."""

import json

import numpy as np
import pytest

from embeddings import lexical_docs
from embeddings.dense_index import DenseIndex
from embeddings.encoder import Encoder
from embeddings.lexical import Bm25Retriever, CharTfidfRetriever
from matcher.documents import documents, domain_terms
from matcher.index_location import IndexReader, verify_index
from matcher.indexing import build_all
from matcher.matching.search import CollectionSearch, fit_lexical
from matcher.store.db import open_database, session_factory
from tests.conftest import copy_sample_db

TEXTS = [
    "氧化铝陶瓷的放电等离子烧结工艺，提高致密度和抗弯强度。",
    "鋰雲母提锂：湿法冶金回收碳酸锂，ＰＣＢ 废料处理",
    "钕铁硼磁体的晶界扩散，磁能积提升",
    "",
    "5G 基站用多层电路板的介电损耗测试",
]


def _same(a, b) -> None:
    assert a.ids_ == b.ids_
    assert (a._postings != b._postings).nnz == 0 and a._postings.dtype == b._postings.dtype
    if isinstance(a, Bm25Retriever):
        assert list(a.vocabulary_) == list(b.vocabulary_) and a.vocabulary_ == b.vocabulary_
        assert np.array_equal(a.idf_, b.idf_)
    else:
        assert np.array_equal(a.keys_, b.keys_)


def test_analyses_reused_by_digest_give_the_arrays_of_a_fresh_fit():
    terms = ["锂云母", "钕铁硼"]
    ids = [f"d{i}" for i in range(len(TEXTS))]
    first, fresh = lexical_docs.analyse(TEXTS, [f"h{i}" for i in range(5)], Bm25Retriever(terms), None)
    assert fresh == 5
    texts = [*TEXTS[:2], "碳化硅膜分离工业废水", *TEXTS[3:]]  # one text changed, one dropped, one added
    texts = texts[:-1] + ["稀土萃取液的膜分离"]
    digests = ["h0", "h1", "new2", "h3", "new4"]
    second, fresh = lexical_docs.analyse(texts, digests, Bm25Retriever(terms), first)
    assert fresh == 2
    fitted = lexical_docs.fit(second, ids, CharTfidfRetriever(), Bm25Retriever(terms))
    _same(fitted["char"], CharTfidfRetriever().fit(texts, ids))
    _same(fitted["bm25"], Bm25Retriever(terms).fit(texts, ids))
    expected = Bm25Retriever(terms).fit(texts, ids).scores("锂云母提锂")
    assert np.array_equal(fitted["bm25"].scores("锂云母提锂"), expected) and expected.max() > 0


def test_analyses_of_other_bm25_settings_or_terms_are_not_reused():
    first, _ = lexical_docs.analyse(TEXTS, list("abcde"), Bm25Retriever(["锂云母"]), None)
    _, fresh = lexical_docs.analyse(TEXTS, list("abcde"), Bm25Retriever(["钕铁硼"]), first)
    assert fresh == 5
    _, fresh = lexical_docs.analyse(TEXTS, list("abcde"), Bm25Retriever(["锂云母"], char_bigrams=False), first)
    assert fresh == 5


@pytest.mark.parametrize(
    "config",
    [{}, {"analyzer": "char_wb", "ngram_range": (1, 3)}, {"analyzer": "char", "ngram_range": (2, 3), "min_df": 2}],
)
def test_fit_from_ngram_texts_equals_fit(config):
    from embeddings.lexical import ngram_text_of, prepare_text

    prepared = [ngram_text_of(prepare_text(t)) for t in TEXTS * 2]
    _same(CharTfidfRetriever(**config).fit_ngram_texts(prepared), CharTfidfRetriever(**config).fit(TEXTS * 2))


def test_stored_analyses_that_do_not_fit_together_are_ignored(tmp_path):
    analyses, _ = lexical_docs.analyse(TEXTS, list("abcde"), Bm25Retriever(), None)
    lexical_docs.save(tmp_path, analyses)
    read = lambda name: (tmp_path / name).read_bytes()  # noqa: E731
    assert lexical_docs.load(read).digests == list("abcde")
    document = json.loads((tmp_path / "lexical-docs.json").read_text(encoding="utf-8"))
    (tmp_path / "lexical-docs.json").write_text(json.dumps(document | {"digests": ["a"]}), encoding="utf-8")
    assert lexical_docs.load(read) is None
    (tmp_path / "lexical-docs.npz").write_bytes(b"not a zip")
    assert lexical_docs.load(read) is None


def test_an_incremental_build_analyses_only_changed_documents_and_equals_a_fresh_fit(sample_db, encoder, tmp_path):
    cli = copy_sample_db(sample_db, tmp_path)
    # A team text changes (teams have no keywords: the domain terms, hence BM25's dictionary, stay the same;
    # a new or removed keyword would change jieba's dictionary and with it every document's analysis).
    cli.query("UPDATE teams SET description = '专注氮化硅轴承球的气压烧结与精密研磨' WHERE id = 'T101'")
    engine = open_database(cli.url)
    folder = cli.index
    with session_factory(engine)() as session:
        reports = build_all(session, encoder, folder)
        docs, terms = documents(session, "capabilities"), domain_terms(session)
    capabilities = {r.collection: r for r in reports}["capabilities"]
    assert (capabilities.encoded, capabilities.removed, capabilities.analysed) == (1, 0, 1)
    assert {r.collection: r for r in reports}["needs"].analysed == 0  # nothing changed: the old files copied
    search = CollectionSearch.load(folder, "capabilities", encoder.model_id, "", engine=engine)
    fresh = fit_lexical([d.text for d in docs], [d.id for d in docs], terms)
    for name in ("char", "bm25"):
        _same(search.lexical[name], fresh[name])
    stored = lexical_docs.load(IndexReader(folder, "capabilities", verify_index(folder, deep=True)))
    assert stored.digests == [d.digest for d in docs]


def _unit(rng, n, d=16):
    x = rng.standard_normal((n, d)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def test_an_hnsw_index_is_saved_with_its_dead_rows_and_never_returns_them(tmp_path):
    rng = np.random.default_rng(0)
    index = DenseIndex(16, "m", hnsw_from=50, hnsw_m=8)
    ids = [f"d{i}" for i in range(200)]
    index.add(ids, _unit(rng, 200))
    updated = _unit(rng, 10)
    index.add(ids[:10], updated)  # the old rows die; 5% dead, no compaction
    index.remove(ids[10:20])
    index.save(tmp_path / "ix")
    assert np.load(tmp_path / "ix" / "alive.npy").sum() == 190
    loaded = DenseIndex.load(tmp_path / "ix", "m")
    assert loaded.kind == "hnsw" and len(loaded) == 190 and len(loaded.ids) == 210
    assert all(i not in loaded for i in ids[10:20])
    for row, vector in enumerate(updated):
        hits = loaded.search(vector[None, :], 20)[0]
        assert hits[0][0] == ids[row] and hits[0][1] == pytest.approx(1.0, abs=1e-5)
        assert len(hits) == 20 and not {h for h, _ in hits} & set(ids[10:20])
        assert len({h for h, _ in hits}) == 20
    assert np.array_equal(loaded.vector(ids[3]), updated[3])


def test_a_quarter_dead_compacts_the_graph(tmp_path):
    rng = np.random.default_rng(1)
    index = DenseIndex(16, "m", hnsw_from=50, hnsw_m=8)
    ids = [f"d{i}" for i in range(100)]
    index.add(ids, _unit(rng, 100))
    index.remove(ids[:30])
    index.save(tmp_path / "ix")
    assert np.load(tmp_path / "ix" / "alive.npy").all() and len(DenseIndex.load(tmp_path / "ix", "m").ids) == 70


def test_analyses_made_in_two_processes_equal_those_made_in_one(monkeypatch):
    if (__import__("os").cpu_count() or 1) < 2:
        pytest.skip("one core: the analyses are never made in two processes")
    texts = TEXTS * 3
    serial, _ = lexical_docs.analyse(texts, [str(i) for i in range(15)], Bm25Retriever(["锂云母"]), None)
    monkeypatch.setattr(lexical_docs, "PARALLEL_FROM", 0)
    monkeypatch.setattr(lexical_docs, "CHUNK", 4)
    parallel, fresh = lexical_docs.analyse(texts, [str(i) for i in range(15)], Bm25Retriever(["锂云母"]), None)
    assert fresh == 15
    assert (parallel.prepared, parallel.terms) == (serial.prepared, serial.terms)
    assert np.array_equal(parallel.codes, serial.codes) and np.array_equal(parallel.offsets, serial.offsets)


class _OtherBackend:
    """The session's encoder (its cached vectors: nothing is computed) presented as another backend's."""

    vector_kind = "another-backend|solo"

    def __init__(self, encoder):
        self._encoder = encoder

    def __getattr__(self, name):
        return getattr(self._encoder, name)


def test_a_build_by_another_encoder_backend_encodes_every_document_again(sample_db, encoder, tmp_path):
    cli = copy_sample_db(sample_db, tmp_path)
    engine = open_database(cli.url)
    assert verify_index(cli.index)["vectors"] == encoder.vector_kind
    cached = Encoder()  # the run's shared vector cache, which built the sample: nothing is computed again
    cached._model = encoder.model
    other = _OtherBackend(cached)
    with session_factory(engine)() as session:
        reports = build_all(session, other, cli.index)
        total = sum(len(documents(session, r.collection)) for r in reports)
        assert sum(r.encoded for r in reports) == total > 0  # none of the old vectors kept
        assert "另一种编码方式" in reports[0].note and encoder.vector_kind in reports[0].note
        assert verify_index(cli.index)["vectors"] == "another-backend|solo"
        again = build_all(session, other, cli.index)
    assert sum(r.encoded for r in again) == 0 and not again[0].note
