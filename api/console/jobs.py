"""Background jobs the console starts (a month's report, the index update after an import, training):
each runs in a thread of its own so pages stay responsive, reports its progress, and is shown on the
page that started it (which refreshes itself while the job runs). One job of a kind at a time."""

import datetime as dt
import threading
import traceback
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class Job:
    id: str
    kind: str
    label: str
    started_by: str
    state: str = "running"  # running | done | failed
    done: int = 0
    total: int = 0
    stage: str = "准备中"
    message: str = ""
    result: dict = field(default_factory=dict)
    started: dt.datetime = field(default_factory=dt.datetime.now)
    finished: dt.datetime | None = None

    @property
    def percent(self) -> int:
        if self.state != "running":
            return 100
        return int(100 * self.done / self.total) if self.total else 0

    def progress(self, done: int, total: int, stage: str | None = None) -> None:
        self.done, self.total = done, total
        if stage:
            self.stage = stage


class Busy(Exception):
    """A job of this kind is already running; the message names it."""


class Jobs:
    def __init__(self):
        self._jobs: dict[str, Job] = {}
        self._lock = threading.Lock()

    def start(self, kind: str, label: str, started_by: str, work: Callable[[Job], str]) -> Job:
        """Run ``work(job)`` in a thread; its return value is the job's closing message. A failure's
        message is the exception's (the matcher's own errors already say what to fix)."""
        with self._lock:
            running = [j for j in self._jobs.values() if j.kind == kind and j.state == "running"]
            if running:
                raise Busy(f"“{running[0].label}”正在进行，请等它完成后再试")
            job = Job(str(uuid.uuid4()), kind, label, started_by)
            self._jobs[job.id] = job

        def run() -> None:
            try:
                job.message = work(job) or "已完成"
                job.state = "done"
            except Exception as exc:  # noqa: BLE001 - shown on the page; the server keeps running
                job.message = str(exc) or exc.__class__.__name__
                job.state = "failed"
                traceback.print_exc()
            finally:
                job.finished = dt.datetime.now()

        threading.Thread(target=run, name=f"cxy-job-{kind}", daemon=True).start()
        return job

    def get(self, job_id: str) -> Job | None:
        return self._jobs.get(job_id)

    def recent(self, kind: str, limit: int = 5) -> list[Job]:
        jobs = [j for j in self._jobs.values() if j.kind == kind]
        return sorted(jobs, key=lambda j: j.started, reverse=True)[:limit]


def jobs(request) -> Jobs:
    """The app's one job registry (made on first use)."""
    state = request.app.state
    if not hasattr(state, "jobs"):
        state.jobs = Jobs()
    return state.jobs
