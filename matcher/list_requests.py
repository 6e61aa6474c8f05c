"""What `cxy match|firms|challenge` asks for, as plain data: a batch of list requests (one per id or
query line) with their options. The command line answers a batch in its own process, or sends it to a
running `cxy serve` (api/local_cli.py), which answers it with the same code, so both print the same.

    batch = Batch("match", [Request("match_need", "N101")], {"top": 5})
    lists = answer(service, batch)   # every list computed before any is stored: all or nothing
"""

from dataclasses import asdict, dataclass, field

MATCH_OPS = ("match_need", "match_enterprise", "match_text", "firms_team", "firms_text")
CHALLENGE_OPS = ("challenge_candidates", "challenge_consortium")


@dataclass(frozen=True)
class Request:
    op: str  # one of MATCH_OPS or CHALLENGE_OPS
    arg: str  # an id, or the text of a *_text query
    query_id: str | None = None  # a --queries line's own id (text queries)


@dataclass
class Batch:
    direction: str  # match | firms | challenge: which options apply
    requests: list[Request]
    options: dict = field(default_factory=dict)  # MatchOptions' or ChallengeOptions' fields

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "Batch":
        requests = [Request(**r) for r in data["requests"]]
        if any(r.op not in MATCH_OPS + CHALLENGE_OPS for r in requests):
            raise ValueError("unknown list request")
        return cls(data["direction"], requests, dict(data.get("options") or {}))


def options(batch: Batch):
    """The options object the service takes."""
    if batch.direction == "challenge":
        from matcher.challenges.service import ChallengeOptions

        return ChallengeOptions(**batch.options)
    from matcher.matching.options import MatchOptions

    return MatchOptions(**batch.options)


def answer(service, batch: Batch) -> list:
    """Every list of the batch from ``service`` (a MatchService), in order, none stored here; the matcher's
    errors (NotFound, OptionError, IndexNotBuilt, IndexModelMismatch) propagate."""
    opts = options(batch)
    lists = []
    for r in batch.requests:
        if r.op in CHALLENGE_OPS:
            from matcher.challenges.service import ChallengeService

            challenges = ChallengeService(service)
            method = challenges.candidates if r.op == "challenge_candidates" else challenges.consortium
            lists.append(method(r.arg, opts))
        elif r.op.endswith("_text"):
            lists.append(getattr(service, r.op)(r.arg, opts, query_id=r.query_id))
        else:
            lists.append(getattr(service, r.op)(r.arg, opts))
    return lists
