"""Request and response models of the HTTP API (separate from the storage models)."""

from typing import Any

from pydantic import BaseModel, Field

from matcher.matching.options import MAX_QUERY_TEXT, MatchOptions


class ListOptions(BaseModel):
    """The same options as the command line's (see `cxy match need --help`)."""

    top: int = Field(10, ge=1, le=500)
    level: str | None = Field(None, description="team | institution (match); need | enterprise (firms)")
    diversity: str = Field("cap:3", description="cap:N, mmr:L or none")
    province: str | None = None
    city: str | None = None
    county: str | None = None
    institution_type: str | None = None
    industry: str | None = None
    min_trl: int | None = Field(None, ge=1, le=9)
    exclude_proposed: bool = False
    why: list[str] = Field(default_factory=list, description="ids to explain when they are not listed")
    explore: int | None = Field(None, ge=0, description="places for teams/enterprises with no outcome history yet "
                                                        "(default CXY_EXPLORE, else 1)")

    def to_options(self, default_level: str) -> MatchOptions:
        values = self.model_dump(exclude={"text"})
        values["level"] = values["level"] or default_level
        if values["explore"] is None:
            del values["explore"]
        return MatchOptions(**values)


class TextQuery(ListOptions):
    text: str = Field(..., min_length=1, max_length=MAX_QUERY_TEXT,
                      description="the need (match) or the capability (firms) in plain words (at most 5,000 "
                                  "characters)")


class MatchResult(BaseModel):
    rank: int
    team_id: str | None = None
    institution_id: str | None = None
    need_id: str | None = None
    enterprise_id: str | None = None
    score: float
    explanation: dict[str, Any]


class MatchResponse(BaseModel):
    query: dict[str, Any]
    results: list[MatchResult]
    why: list[dict[str, Any]] = []
    run_id: str | None
    model: str
    ranker: str


class ChallengeResponse(MatchResponse):
    """Candidates: ``ineligible`` (with --show-ineligible / show_ineligible=true); consortium:
    ``consortium`` (lead, members, target -> team assignment, uncovered targets) or ``uncovered``."""

    ineligible: list[dict[str, Any]] | None = None
    consortium: dict[str, Any] | None = None
    uncovered: list[dict[str, Any]] | None = None


class ImportResponse(BaseModel):
    kind: str
    rows: int
    inserted: int
    updated: int
    unchanged: int
    warnings: list[str]


class FieldError(BaseModel):
    """One invalid parameter or body field; ``msg`` says in Chinese which one and what it accepts."""

    loc: list[str | int]
    msg: str
    type: str


class Error(BaseModel):
    """Every refusal (4xx, 503): ``detail`` says in Chinese what is wrong and how to fix it; a request that
    fails validation gets a list with one entry per invalid field instead."""

    detail: str | list[FieldError]


class ImportProblems(BaseModel):
    message: str
    problems: list[str] = Field(description="row, column and reason of each problem (the first 1,000)")


class ImportRefusal(BaseModel):
    """An import refused: as ``Error``, or the problems of a file that was read but not written."""

    detail: str | list[FieldError] | ImportProblems
