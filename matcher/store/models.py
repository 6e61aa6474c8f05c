"""The database schema: entities imported by staff, outcome events and recommendation runs.

Columns holding personal contact data carry ``info={"sensitive": True}`` so that read paths serving
less trusted roles can drop them without a separate list to keep in sync: researchers see them only
where the enterprise marked its contacts public. Columns marked ``info={"sensitive": BUREAU_ONLY}`` are
never shown to researchers: the 三清零 survey answers (科研条件, 合作情况, 拟对接单位, 创新计划) were given
to the bureau for its own work, name other partners and plans, and the enterprise did not publish them
as it publishes a need; what a researcher needs to judge a fit is in the need itself.
"""

import datetime as dt

from sqlalchemy import JSON as _JSON
from sqlalchemy import Boolean, Date, DateTime, Float, ForeignKey, Integer, String, Text, false, func
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

BUREAU_ONLY = "bureau_only"  # a sensitivity above contacts: hidden from researchers even when contacts are public

INSTITUTION_TYPES = ("university", "research_institute", "new_rd_institution", "enterprise_rd_center")
ACHIEVEMENT_KINDS = ("patent", "paper", "project", "result")
OUTCOME_STAGES = ("proposed", "contacted", "negotiating", "contract_signed", "rejected", "declined")
# The words a clerk reads and writes for each stage (follow-up sheets, the console, explanations).
STAGE_WORDS = {"proposed": "已推荐", "contacted": "已联系", "negotiating": "洽谈中", "contract_signed": "已签约",
               "rejected": "未成功", "declined": "团队婉拒"}
NEED_STATUSES = ("open", "closed")


# Store an absent list as SQL NULL, not the JSON text "null".
JSON = _JSON(none_as_null=True)


class Base(DeclarativeBase):
    pass


class Timestamps:
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, server_default=func.current_timestamp())
    updated_at: Mapped[dt.datetime] = mapped_column(
        DateTime, server_default=func.current_timestamp(), onupdate=func.current_timestamp()
    )


class Institution(Timestamps, Base):
    __tablename__ = "institutions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    type: Mapped[str | None] = mapped_column(String(32))
    province: Mapped[str | None] = mapped_column(String(32))
    city: Mapped[str | None] = mapped_column(String(64))
    tier: Mapped[str | None] = mapped_column(String(64))


class Team(Timestamps, Base):
    __tablename__ = "teams"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    institution_id: Mapped[str] = mapped_column(ForeignKey("institutions.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    discipline: Mapped[str | None] = mapped_column(String(100))
    description: Mapped[str | None] = mapped_column(Text)
    capacity: Mapped[int | None] = mapped_column(Integer)


class Achievement(Timestamps, Base):
    __tablename__ = "achievements"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    team_id: Mapped[str] = mapped_column(ForeignKey("teams.id"), index=True)
    kind: Mapped[str | None] = mapped_column(String(16))
    title: Mapped[str] = mapped_column(String(500))
    abstract: Mapped[str | None] = mapped_column(Text)
    keywords: Mapped[list[str] | None] = mapped_column(JSON)
    year: Mapped[int | None] = mapped_column(Integer)
    trl: Mapped[int | None] = mapped_column(Integer)


class Enterprise(Timestamps, Base):
    __tablename__ = "enterprises"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200), index=True)
    province: Mapped[str | None] = mapped_column(String(32))
    city: Mapped[str | None] = mapped_column(String(64))
    county: Mapped[str | None] = mapped_column(String(64))
    industry: Mapped[str | None] = mapped_column(String(64))
    high_tech: Mapped[bool | None] = mapped_column(Boolean)
    above_scale: Mapped[bool | None] = mapped_column(Boolean)
    has_rd_platform: Mapped[bool | None] = mapped_column(Boolean)
    description: Mapped[str | None] = mapped_column(Text)
    contact_person: Mapped[str | None] = mapped_column(String(64), info={"sensitive": True})
    contact_phone: Mapped[str | None] = mapped_column(String(64), info={"sensitive": True})
    contacts_public: Mapped[bool | None] = mapped_column(Boolean)
    key_enterprise: Mapped[bool | None] = mapped_column(Boolean)
    # From the 三清零 survey form (附表1); empty for enterprises imported from plain lists.
    rd_conditions: Mapped[str | None] = mapped_column(Text, info={"sensitive": BUREAU_ONLY})
    cooperation: Mapped[str | None] = mapped_column(Text, info={"sensitive": BUREAU_ONLY})
    wished_institutions: Mapped[list[str] | None] = mapped_column(JSON, info={"sensitive": BUREAU_ONLY})
    innovation_plan: Mapped[str | None] = mapped_column(Text, info={"sensitive": BUREAU_ONLY})
    # 统一社会信用代码 (identifies the enterprise when a sheet has no id) and the 行政区划 code of its place.
    credit_code: Mapped[str | None] = mapped_column(String(32), index=True)
    place_code: Mapped[str | None] = mapped_column(String(12))


class Need(Timestamps, Base):
    __tablename__ = "needs"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    enterprise_id: Mapped[str] = mapped_column(ForeignKey("enterprises.id"), index=True)
    title: Mapped[str] = mapped_column(String(500))
    description: Mapped[str | None] = mapped_column(Text)
    keywords: Mapped[list[str] | None] = mapped_column(JSON)
    budget_wan: Mapped[float | None] = mapped_column(Float, info={"sensitive": True})
    # The upper end of a budget given as a range (20-30万: budget_wan 20, budget_max_wan 30).
    budget_max_wan: Mapped[float | None] = mapped_column(Float, info={"sensitive": True})
    deadline: Mapped[dt.date | None] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16), default="open", server_default="open")


class Challenge(Timestamps, Base):
    __tablename__ = "challenges"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    # Nullable: the bureau itself may publish a 榜单.
    issuer_enterprise_id: Mapped[str | None] = mapped_column(ForeignKey("enterprises.id"), index=True)
    title: Mapped[str] = mapped_column(String(500))
    description: Mapped[str | None] = mapped_column(Text)
    indicators: Mapped[str | None] = mapped_column(Text)
    budget_wan: Mapped[float | None] = mapped_column(Float)
    deadline: Mapped[dt.date | None] = mapped_column(Date)
    eligible_provinces: Mapped[list[str] | None] = mapped_column(JSON)
    eligible_types: Mapped[list[str] | None] = mapped_column(JSON)
    min_trl: Mapped[int | None] = mapped_column(Integer)


class OutcomeEvent(Base):
    """One step in a need-team pair's history. Append-only: corrections are new events."""

    __tablename__ = "outcome_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    need_id: Mapped[str] = mapped_column(ForeignKey("needs.id"), index=True)
    team_id: Mapped[str] = mapped_column(ForeignKey("teams.id"), index=True)
    stage: Mapped[str] = mapped_column(String(32))
    amount_wan: Mapped[float | None] = mapped_column(Float)
    date: Mapped[dt.date | None] = mapped_column(Date)
    reason_code: Mapped[str | None] = mapped_column(String(32))
    reason_text: Mapped[str | None] = mapped_column(Text)
    run_id: Mapped[str | None] = mapped_column(ForeignKey("recommendation_runs.id"), index=True)
    # Where the pair stood in the list the enterprise saw (1 = top): lower items are read less often,
    # so learning to rank corrects for it.
    shown_rank: Mapped[int | None] = mapped_column(Integer)
    source: Mapped[str] = mapped_column(String(32), default="import")
    # A retried request or a re-imported file carries the same key and is recorded once.
    idempotency_key: Mapped[str | None] = mapped_column(String(128), unique=True)
    recorded_at: Mapped[dt.datetime] = mapped_column(DateTime, server_default=func.current_timestamp())
    # A correction may take a pair's stage backwards (未成功 after 已签约); other events may not.
    correction: Mapped[bool | None] = mapped_column(Boolean)


class RecommendationRun(Base):
    """Every list shown to a user, so later outcomes can be attributed to what was proposed."""

    __tablename__ = "recommendation_runs"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    query: Mapped[dict] = mapped_column(JSON)
    model_version: Mapped[str] = mapped_column(String(200))
    ranker_version: Mapped[str] = mapped_column(String(200))
    params: Mapped[dict | None] = mapped_column(JSON)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, server_default=func.current_timestamp())


class RecommendationItem(Base):
    __tablename__ = "recommendation_items"

    run_id: Mapped[str] = mapped_column(ForeignKey("recommendation_runs.id"), primary_key=True)
    rank: Mapped[int] = mapped_column(Integer, primary_key=True)
    team_id: Mapped[str | None] = mapped_column(ForeignKey("teams.id"), index=True)
    need_id: Mapped[str | None] = mapped_column(ForeignKey("needs.id"), index=True)
    score: Mapped[float] = mapped_column(Float)
    explanation: Mapped[dict | None] = mapped_column(JSON)


class ReportRun(Base):
    """One month's batch of proposals (``cxy report monthly``): parameters, a digest of the data it was
    computed from and of its proposals (a re-run with the same data is recognised, not stored twice),
    and its figures (coverage, fit cost of capacity, each key enterprise's 三清零 status)."""

    __tablename__ = "report_runs"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    month: Mapped[str] = mapped_column(String(7), index=True)
    params: Mapped[dict] = mapped_column(JSON)
    data_digest: Mapped[str] = mapped_column(String(64))
    proposals_digest: Mapped[str] = mapped_column(String(64))
    model_version: Mapped[str] = mapped_column(String(200))
    ranker_version: Mapped[str] = mapped_column(String(200))
    summary: Mapped[dict] = mapped_column(JSON)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, server_default=func.current_timestamp())


class ReportList(Base):
    """The per-enterprise recommendation runs a monthly report consists of."""

    __tablename__ = "report_lists"

    report_id: Mapped[str] = mapped_column(ForeignKey("report_runs.id"), primary_key=True)
    run_id: Mapped[str] = mapped_column(ForeignKey("recommendation_runs.id"), primary_key=True)
    enterprise_id: Mapped[str] = mapped_column(ForeignKey("enterprises.id"))


class RankerModel(Base):
    """A ranker fitted by `cxy train`: its weights, time-split metrics and the data it saw."""

    __tablename__ = "ranker_models"

    version: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    weights: Mapped[dict] = mapped_column(JSON)
    metrics: Mapped[dict] = mapped_column(JSON)
    data_window: Mapped[dict] = mapped_column(JSON)
    beat_scorer: Mapped[bool] = mapped_column(Boolean)
    note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, server_default=func.current_timestamp())


API_ROLES = ("bureau", "researcher", "admin")


class ApiKey(Base):
    """A key for the HTTP service. Only its SHA-256 is stored."""

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(16))
    team_id: Mapped[str | None] = mapped_column(ForeignKey("teams.id"))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    revoked: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, server_default=func.current_timestamp())


class User(Base):
    """A person who signs in to the console. Only an argon2 hash of the password is stored."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str | None] = mapped_column(String(100))
    role: Mapped[str] = mapped_column(String(16))
    team_id: Mapped[str | None] = mapped_column(ForeignKey("teams.id"))
    password_hash: Mapped[str] = mapped_column(String(255))
    disabled: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, server_default=func.current_timestamp())
    password_changed_at: Mapped[dt.datetime | None] = mapped_column(DateTime)


class UserSession(Base):
    """A signed-in browser: the cookie holds a random token, the table its SHA-256 (a stolen database
    does not sign anyone in) and the session's CSRF token."""

    __tablename__ = "user_sessions"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime)
    last_seen: Mapped[dt.datetime] = mapped_column(DateTime)
    address: Mapped[str | None] = mapped_column(String(64))


class LoginAttempt(Base):
    """One try at signing in; recent failures per account and per address throttle the next."""

    __tablename__ = "login_attempts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(64), index=True)
    address: Mapped[str | None] = mapped_column(String(64), index=True)
    succeeded: Mapped[bool] = mapped_column(Boolean)
    at: Mapped[dt.datetime] = mapped_column(DateTime, index=True)


class AuditEntry(Base):
    """Who changed what, when: every write made through the console, the API or an account command."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime, index=True)
    actor: Mapped[str] = mapped_column(String(100))
    actor_kind: Mapped[str] = mapped_column(String(16))  # user, api_key, cli
    action: Mapped[str] = mapped_column(String(64), index=True)
    target: Mapped[str | None] = mapped_column(String(200))
    detail: Mapped[dict | None] = mapped_column(JSON)
