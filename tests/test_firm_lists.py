"""Firm lists (the researchers' direction) hold as many needs as asked for, agree between the command
line and the HTTP service, and explain exactly what scored them: on the indexed sample with the real
model, index and database."""

import json

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.keys import create_key
from matcher.matching import needs_for_teams
from matcher.matching.options import MatchOptions
from matcher.matching.rank import display_score
from matcher.matching.service import MatchService
from matcher.settings import database_url
from matcher.store.db import open_database, write_session
from tests.conftest import ROOT, copy_sample_db

TEAM = "T301"


@pytest.fixture(scope="module")
def copy(sample_db, tmp_path_factory):
    """The sample plus the blind set's 76 needs (213 open needs: more than the 150 candidates a firm
    list once stopped at), imported and indexed by the command line."""
    copy = copy_sample_db(sample_db, tmp_path_factory.mktemp("firms"))
    copy("import", "needs", ROOT / "data" / "blind" / "needs.csv")
    return copy


@pytest.fixture(scope="module")
def service(copy, encoder):
    return MatchService(open_database(database_url(str(copy.db))), encoder=encoder, store_runs=False).warm()


def open_needs(service) -> dict[str, str]:
    """Open need -> its enterprise."""
    return {n.id: n.enterprise_id for n in service.catalog.needs.values() if n.status == "open"}


def firms(service, top, **options) -> list[dict]:
    return service.firms_team(TEAM, MatchOptions(top=top, level="need", explore=0, **options)).results


def test_a_long_list_holds_every_eligible_need_up_to_top_best_first(service):
    needs = open_needs(service)
    assert len(needs) > 150  # more than the old fixed 150 candidates, so a list of 300 used to stop short
    everything = firms(service, 300, diversity="none")
    assert len(everything) == min(300, len(needs))
    assert {r["need_id"] for r in everything} == set(needs)
    scores = [r["score"] for r in everything]
    assert scores == sorted(scores, reverse=True) and [r["rank"] for r in everything] == list(range(1, len(needs) + 1))
    # At most 3 needs per enterprise (the default diversity): the list holds every need the cap allows.
    per_enterprise: dict[str, int] = {}
    for enterprise in needs.values():
        per_enterprise[enterprise] = per_enterprise.get(enterprise, 0) + 1
    capped = firms(service, 300)
    assert len(capped) == min(300, sum(min(3, k) for k in per_enterprise.values()))
    # Asking for more does not move the first results: no need's score depends on the other candidates.
    assert [r["need_id"] for r in firms(service, 10)] == [r["need_id"] for r in capped[:10]]
    assert [r["need_id"] for r in firms(service, 10, diversity="none")] == [r["need_id"] for r in everything[:10]]


def test_candidates_widen_until_the_list_is_full(service, monkeypatch):
    monkeypatch.setattr(needs_for_teams, "CANDIDATES", 10_000)
    every = {r["need_id"]: r["score"] for r in firms(service, 300, diversity="none")}  # every need scored
    # Few candidates at first: the diversity cap holds some back, so the list widens until it is full,
    # and a need scores the same whichever others were candidates beside it.
    monkeypatch.setattr(needs_for_teams, "CANDIDATES", 5)
    monkeypatch.setattr(needs_for_teams, "WIDEN", 1)
    widened = firms(service, 60)
    assert len(widened) == 60 and len({r["enterprise_id"] for r in widened}) >= 20
    assert all(r["score"] == every[r["need_id"]] for r in widened)
    assert [r["score"] for r in widened] == sorted((r["score"] for r in widened), reverse=True)


def test_filters_do_not_cut_a_list_short(service):
    county = service.catalog.enterprises[service.catalog.needs["N101"].enterprise_id].county
    results = firms(service, 300, county=county, diversity="none")
    in_county = [n for n, e in open_needs(service).items() if service.catalog.enterprises[e].county == county]
    assert county and {r["need_id"] for r in results} == set(in_county)


def test_the_command_line_and_the_http_service_give_the_same_list(copy):
    engine = open_database(database_url(str(copy.db)))
    with write_session(engine) as session:
        key = create_key(session, "bureau", "firm lists", None)[1]
    on_cli = json.loads(copy("firms", "team", TEAM, "--top", "300", "--format", "json").output)
    with TestClient(create_app(str(copy.db))) as client:
        body = client.get(f"/firms/team/{TEAM}", params={"top": 300}, headers={"X-API-Key": key}).json()
        too_long = client.get(f"/firms/team/{TEAM}", params={"top": 501}, headers={"X-API-Key": key})
    assert len(body["results"]) > 150
    assert [(r["need_id"], r["score"]) for r in body["results"]] == [
        (r["need_id"], r["score"]) for r in on_cli["results"]]
    assert too_long.status_code == 422
    refused = copy("firms", "team", TEAM, "--top", "501", ok=False)
    assert refused.exit_code != 0 and "1 到 500" in refused.output


def test_explanations_carry_every_component_that_scores_and_the_needs_own_evidence(service):
    opts = MatchOptions(top=20, level="need", explore=0, diversity="none")
    listed = service.firms_team(TEAM, opts).results
    for result in listed:
        explanation = result["explanation"]
        parts = {c["feature"]: c["contribution"] for c in explanation["contributions"]}
        assert parts and all(abs(p) >= 0.0005 for p in parts.values())
        # The parts are the score: their sum gives the displayed score (up to rounding of each part).
        assert abs(display_score(sum(parts.values())) - result["score"]) < 0.01
        # The evidence is what the need's own match list says about this team: same documents, same match.
        ctx, ranked = service.need_ranking(result["need_id"], extra=[TEAM])
        own = next(s for s in ranked if s.key == TEAM)
        assert [e["document"] for e in explanation["evidence"]] == [d for d, _ in own.evidence.documents]
        assert [e["match"] for e in explanation["evidence"]] == [round(m, 3) for _, m in own.evidence.documents]
        values = {c["feature"]: c["value"] for c in explanation["contributions"]}
        for feature in ("semantic", "best_evidence", "term_overlap"):
            if feature in values:
                assert values[feature] == pytest.approx(round(own.values[feature], 3), abs=1e-3)
        assert explanation["matched_terms"] == service.team_result(own, ctx, 1)["explanation"]["matched_terms"]
