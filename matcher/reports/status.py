"""Each key enterprise's 三清零 status: 科研条件平台 (has an R&D platform), 高新技术企业 (high-tech status)
and 产学研合作 (cooperates with a university or institute).

The first two are flags on the enterprise (survey or ledger); the store keeps only their current value,
so every monthly run snapshots them and "moved this month" compares with the previous month's run.
产学研合作 counts when the survey says the enterprise has cooperated, or when a contract is recorded in
the outcome log; its move is dated by the first contract.
"""

import datetime as dt
import re
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from matcher.store import models

ITEMS = {"platform": "科研条件平台", "high_tech": "高新技术企业", "cooperation": "产学研合作"}
# Survey answers that say there is no cooperation yet ("暂未开展产学研合作", "没有开展过", "无").
_NO_COOPERATION = re.compile(r"^\s*(无|否|没有|暂无|尚无)\s*[。.]?\s*$"
                             r"|(暂未|尚未|未曾|没有|从未|还没|未)(开展|进行|做过|合作)")


@dataclass(frozen=True)
class Enterprise:
    id: str
    key: bool  # flagged as a key enterprise (False for all when none is flagged and all are covered)


def surveyed_cooperation(text: str | None) -> bool:
    """Whether a survey's 产学研合作 answer says the enterprise has cooperated (before any recorded contract)."""
    text = (text or "").strip()
    return bool(text) and not _NO_COOPERATION.search(text)


def report_enterprises(session: Session) -> list[Enterprise]:
    """The enterprises a monthly report covers: key enterprises (重点企业), or all when none is flagged."""
    m = models.Enterprise
    rows = session.execute(select(m.id, m.key_enterprise).order_by(m.id)).all()
    flagged = any(r.key_enterprise for r in rows)
    return [Enterprise(r.id, bool(r.key_enterprise)) for r in rows if r.key_enterprise or not flagged]


def snapshot(session: Session, enterprise_ids: list[str], before: dt.date) -> dict[str, dict]:
    """Per enterprise: the three flags now, and the date of its first contract before ``before``."""
    m = models
    first_contract = dict(session.execute(
        select(m.Need.enterprise_id, func.min(m.OutcomeEvent.date))
        .join(m.Need, m.Need.id == m.OutcomeEvent.need_id)
        .where(m.OutcomeEvent.stage == "contract_signed", m.OutcomeEvent.date < before)
        .group_by(m.Need.enterprise_id)).all())
    wanted = set(enterprise_ids)
    out = {}
    for r in session.execute(select(m.Enterprise.id, m.Enterprise.has_rd_platform, m.Enterprise.high_tech,
                                    m.Enterprise.cooperation)):
        if r.id not in wanted:
            continue
        contract = first_contract.get(r.id)
        out[r.id] = {"platform": bool(r.has_rd_platform), "high_tech": bool(r.high_tech),
                     "cooperation": surveyed_cooperation(r.cooperation) or contract is not None,
                     "surveyed_cooperation": surveyed_cooperation(r.cooperation),
                     "first_contract": contract.isoformat() if contract else None}
    return out


def moved(current: dict, previous: dict | None, month_start: dt.date) -> dict[str, bool | None]:
    """Which items the enterprise gained this month (None: cannot tell, no previous run for the flags)."""
    out: dict[str, bool | None] = {}
    for item in ("platform", "high_tech"):
        out[item] = None if previous is None else bool(current[item] and not previous.get(item, False))
    contract = current["first_contract"]
    out["cooperation"] = bool(not current["surveyed_cooperation"] and contract
                              and dt.date.fromisoformat(contract) >= month_start)
    return out
