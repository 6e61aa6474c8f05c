"""Limits on heavy work: the admission queue for requests that rank or import, and how often a ranker
may be trained."""

import asyncio
import math
import os
import re
import threading
import time
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass

# Requests that rank teams or firms, read a challenge's candidates or import a file: each costs tens of
# milliseconds to seconds of CPU. They run a few at a time and a bounded number wait; past that the
# answer is an immediate 503 with Retry-After, never a queue that grows until the pool or a client gives up.
HEAVY = re.compile(r"^/(match/|firms/|challenges/[^/]+/(candidates|consortium)$|admin/import/"
                   r"|console/(match|firms|challenges/|teams/|enterprises/.))")
RETRY_AFTER_S = 5


def is_heavy(method: str, path: str) -> bool:
    """Whether a request goes through the admission limit (console pages: only their POST imports and the
    GET pages that compute a list)."""
    if path.startswith("/console/imports"):
        return method == "POST"
    return bool(HEAVY.match(path)) and (method == "GET" or not path.startswith("/console"))


class Busy(Exception):
    """The waiting room is full; ``retry_after`` in seconds."""

    def __init__(self, message: str, retry_after: int):
        super().__init__(message)
        self.retry_after = retry_after


@dataclass
class Admission:
    """At most ``active`` heavy requests run at once and at most ``waiting`` wait for their turn."""

    active: int
    waiting: int
    running: int = 0
    queued: int = 0
    _loop: object = None
    _slots: asyncio.Semaphore | None = None

    @classmethod
    def from_env(cls) -> "Admission":
        # Sized for the 2-core servers the bureaus run: the work is CPU-bound, more at once only adds wait.
        return cls(int(os.environ.get("CXY_MAX_ACTIVE") or max(2, os.cpu_count() or 2)),
                   int(os.environ.get("CXY_MAX_WAITING") or 64))

    def _semaphore(self) -> asyncio.Semaphore:
        loop = asyncio.get_running_loop()  # one per event loop: tests serve one app from several
        if self._loop is not loop:
            self._loop, self._slots = loop, asyncio.Semaphore(self.active)
        return self._slots

    @asynccontextmanager
    async def slot(self):
        slots = self._semaphore()
        if slots.locked() and self.queued >= self.waiting:
            raise Busy(f"服务繁忙：已有 {self.running} 个匹配或导入请求在处理、{self.queued} 个在排队（上限 "
                       f"{self.waiting} 个，CXY_MAX_WAITING），请 {RETRY_AFTER_S} 秒后重试", RETRY_AFTER_S)
        self.queued += 1
        try:
            await slots.acquire()
        finally:
            self.queued -= 1
        self.running += 1
        try:
            yield
        finally:
            self.running -= 1
            slots.release()


class TrainGuard:
    """Training takes a minute or more of CPU: one at a time, and on unchanged data (entities, indexes,
    outcome events) at most once per ``interval`` seconds, since it could only give the same model again."""

    def __init__(self, interval: float | None = None):
        minutes = os.environ.get("CXY_TRAIN_INTERVAL_MINUTES") or 10
        self.interval = float(minutes) * 60 if interval is None else interval
        self._lock = threading.Lock()
        self._last: tuple[object, float, str | None] | None = None  # (data signature, when, version)

    @contextmanager
    def turn(self, signature: object):
        """Hold the training turn for data with ``signature``; raises Busy when it may not train now."""
        self.claim(signature)
        try:
            yield self
        finally:
            self.release()

    def claim(self, signature: object) -> None:
        """Take the training turn (the console's background job takes it here and gives it back with
        ``release`` in its own thread); raises Busy, holding nothing, when it may not train now."""
        if not self._lock.acquire(blocking=False):
            raise Busy("已有一次训练正在进行，完成后再试（约需一两分钟）", 60)
        if self._last is not None and self._last[0] == signature:
            wait = self.interval - (time.monotonic() - self._last[1])
            if wait > 0:
                self._lock.release()
                raise Busy(f"数据自上次训练（模型 {self._last[2] or '未保存'}）以来没有变化，再训练只会得到同一个"
                           f"模型；请在 {math.ceil(wait)} 秒后重试，或先记录新的跟进结果", math.ceil(wait))

    def release(self) -> None:
        self._lock.release()

    def trained(self, signature: object, version: str | None) -> None:
        self._last = (signature, time.monotonic(), version)
