"""Batch work on a Ray cluster: ``cxy index build --workers N`` (encoder actors, ``encode.py``) and
``cxy report monthly --workers N`` (ranking actors, ``rank.py``). Ray is optional (the ``cluster`` extra):
without ``--workers`` or with 1 nothing here is imported and the commands run serially as before.

The parallel runs give exactly the serial results: the actors compute what the serial run computes, per
text or per need, and the driver puts the pieces back in the serial order and writes everything itself
(vector cache, index, report run, workbook). Torch's CPU kernels were measured bit-equal for 1 to 16 intra-op
threads on the machines tried (encoding does not depend on the thread count there), so each actor gets its
share of a node's cores; nodes of different CPU types may still differ in the last bits.
"""

import logging
import math
import os
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Cluster", "ClusterUnavailable", "INSTALL_HINT", "RAY_ADDRESS_HELP", "WORKERS_HELP", "check_workers",
           "require_ray"]

INSTALL_HINT = "pip install 'cxy-matcher[cluster]'（即 pip install ray==2.60.0）"
WORKERS_HELP = ("并行的工作进程数；大于 1 时在 Ray 集群上并行（需安装 Ray 2.60，即 cluster 附加依赖），"
                "结果与串行运行完全相同。")
RAY_ADDRESS_HELP = "已有 Ray 集群的地址（默认读 RAY_ADDRESS；都没有时在本机启动一个）。"
READY_TIMEOUT_S = 600  # actors that cannot be placed (too few free CPUs/GPUs) would otherwise wait forever


class ClusterUnavailable(RuntimeError):
    """Ray is missing, or the cluster cannot hold the actors asked for; the message says what to do."""


def require_ray():
    """The ray module, or ClusterUnavailable naming what to install."""
    try:
        import ray
    except ImportError as exc:
        raise ClusterUnavailable(f"--workers 大于 1 时需要 Ray（并行批处理引擎），本机没有安装：请运行 {INSTALL_HINT}，"
                                 "或去掉 --workers 串行运行") from exc
    return ray


def check_workers(workers: int) -> None:
    """Before any work: ValueError for a count below 1, ClusterUnavailable for more than 1 without Ray."""
    if workers < 1:
        raise ValueError(f"工作进程数（--workers）须为 1 或以上，现为 {workers}")
    if workers > 1:
        require_ray()


def actor_env() -> dict[str, str]:
    """The CXY_* settings of this process, for the actors: a cluster started earlier (or elsewhere) does not
    see variables set after it started, and model, prompts or backend must be the driver's."""
    return {k: v for k, v in os.environ.items() if k.startswith("CXY_")}


def encoder_settings(encoder) -> dict:
    """What an actor needs to build the driver's Encoder (same model id, prompts, batching and backend)."""
    spec = encoder.model_spec
    if spec and Path(spec).expanduser().is_dir():  # a relative folder: actors do not run in the driver's folder
        spec = str(Path(spec).expanduser().resolve())
    return {"model": spec, "prompt_scheme": encoder.prompt_scheme, "max_seq_length": encoder.max_seq_length,
            "batch_size": encoder.batch_size, "backend": encoder.backend}


def cpus_per_actor(node_cpus: list[float], workers: int) -> int:
    """The most CPUs (torch threads) each of ``workers`` actors can have so that all of them fit on the nodes
    at once; 0 when even one CPU each does not fit."""
    for each in range(int(max(node_cpus, default=0)), 0, -1):
        if sum(int(c // each) for c in node_cpus) >= workers:
            return each
    return 0


@dataclass(frozen=True)
class Plan:
    cpus: int  # per actor, also its torch threads
    gpus: float  # per actor (a share of a GPU when there are fewer GPUs than actors), 0 without GPUs


class Cluster:
    """A Ray cluster for one command: the one this process already joined, the one at ``address`` (the
    --ray-address option or RAY_ADDRESS), or a local one started here and shut down by ``close``."""

    def __init__(self, workers: int, address: str | None = None):
        self.ray = ray = require_ray()
        self.workers = workers
        self.started = False
        if not ray.is_initialized():
            address = address or os.environ.get("RAY_ADDRESS") or None
            options = dict(include_dashboard=False, log_to_driver=False, logging_level=logging.ERROR)
            if address:
                ray.init(address=address, **options)
            else:  # a local cluster with room for every actor (more actors than cores share them)
                ray.init(num_cpus=max(os.cpu_count() or 1, workers), **options)
            self.started = True

    def plan(self, want_gpu: bool) -> Plan:
        nodes = [n["Resources"] for n in self.ray.nodes() if n.get("Alive")]
        cpus = cpus_per_actor([n.get("CPU", 0) for n in nodes], self.workers)
        if cpus == 0:
            total = sum(n.get("CPU", 0) for n in nodes)
            raise ClusterUnavailable(f"Ray 集群只有 {total:g} 个 CPU，容纳不下 {self.workers} 个工作进程："
                                     "请减小 --workers")
        gpus = sum(n.get("GPU", 0) for n in nodes) if want_gpu else 0
        # a whole GPU each when there are enough, else equal shares (rounded down so that all of them fit)
        share = 1.0 if gpus >= self.workers else math.floor(gpus / self.workers * 100) / 100
        return Plan(cpus, share)

    def ready(self, refs: list) -> list:
        """ray.get of the actors' first answers, with a clear error when they cannot all be placed."""
        try:
            return self.ray.get(refs, timeout=READY_TIMEOUT_S)
        except self.ray.exceptions.GetTimeoutError:
            raise ClusterUnavailable(f"{READY_TIMEOUT_S} 秒内没有启动全部 {self.workers} 个工作进程"
                                     "（集群资源被占用？）：请减小 --workers 或稍后再试") from None

    def close(self, actors=()) -> None:
        for actor in actors:
            self.ray.kill(actor)
        if self.started:
            self.ray.shutdown()
            self.started = False
