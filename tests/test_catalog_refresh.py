"""A follow-up recorded while another thread loads the catalog is in the catalog that load leaves.

The console records a follow-up and re-reads the outcome history at once, so the next list shows the pair's
stage. A load already under way (the cache warmer after a reload, another request) read the events before
the new one was committed; before the catalog lock, the history refresh saw no catalog yet, did nothing,
and the load then installed its older snapshot: the list missed the event until the next change check.
"""

import threading

from matcher.feedback.events import record
from matcher.matching import catalog as catalog_module
from matcher.matching.service import MatchService
from matcher.store import models
from matcher.store.db import open_database, write_session
from tests.conftest import copy_sample_db


def hold_first_load(monkeypatch):
    """Catalog.load made to stop after reading, until ``release`` is set (the first call only); gives
    (loaded, release, what each load read: its enterprise count)."""
    loaded, release = threading.Event(), threading.Event()
    original = catalog_module.Catalog.load.__func__
    calls = []

    def slow_load(cls, session):
        catalog = original(cls, session)  # the data as it was before the test's write
        calls.append(len(catalog.enterprises))
        if len(calls) == 1:
            loaded.set()
            assert release.wait(30)
        return catalog

    monkeypatch.setattr(catalog_module.Catalog, "load", classmethod(slow_load))
    return loaded, release, calls


def test_an_event_recorded_during_a_catalog_load_is_in_the_loaded_catalog(sample_db, tmp_path, monkeypatch):
    cli = copy_sample_db(sample_db, tmp_path)
    engine = open_database(cli.url)
    service = MatchService(engine)
    need_id, team_id = cli.query("SELECT n.id, t.id FROM needs n, teams t WHERE n.status = 'open' "
                                 "ORDER BY n.id, t.id LIMIT 1")[0]

    loaded, release, _ = hold_first_load(monkeypatch)
    loader = threading.Thread(target=lambda: service.catalog)
    loader.start()
    assert loaded.wait(30)
    with write_session(engine) as session:
        record(session, need_id, team_id, "negotiating", source="console")
    refresher = threading.Thread(target=service.refresh_history)  # what the console does after recording
    refresher.start()
    refresher.join(0.5)  # it waits for the load in progress instead of finding no catalog to refresh
    release.set()
    loader.join(30)
    refresher.join(30)
    stages = [e.stage for e in service.catalog.history.pair_events.get((need_id, team_id), [])]
    assert stages == ["negotiating"]


def test_a_reload_during_a_catalog_load_drops_what_that_load_read(sample_db, tmp_path, monkeypatch):
    cli = copy_sample_db(sample_db, tmp_path)
    engine = open_database(cli.url)
    service = MatchService(engine)
    loaded, release, calls = hold_first_load(monkeypatch)
    loader = threading.Thread(target=lambda: service.catalog)
    loader.start()
    assert loaded.wait(30)
    before = calls[0]
    with write_session(engine) as session:
        session.add(models.Enterprise(id="E9999", name="新登记的企业"))
    reloader = threading.Thread(target=service.reload)  # what an import does after it commits
    reloader.start()
    reloader.join(0.5)
    release.set()
    loader.join(30)
    reloader.join(30)
    assert len(service.catalog.enterprises) == before + 1 and "E9999" in service.catalog.enterprises
