"""Hydra callbacks: one line per finished job, so a multirun reads as a log."""

from __future__ import annotations

import sys
import time
from typing import Any

from hydra.core.utils import JobReturn, JobStatus
from hydra.experimental.callback import Callback
from omegaconf import DictConfig


class JobLine(Callback):
    """Prints ``[job N] done|skipped|failed  <exp> <override dir>  (seconds)`` when a job ends."""

    def __init__(self) -> None:
        self._start = time.perf_counter()

    def on_job_start(self, config: DictConfig, **kwargs: Any) -> None:
        self._start = time.perf_counter()

    def on_job_end(self, config: DictConfig, job_return: JobReturn, **kwargs: Any) -> None:
        seconds = time.perf_counter() - self._start
        job = config.hydra.job
        completed = job_return.status == JobStatus.COMPLETED
        status = (job_return.return_value or "done") if completed else "failed"
        label = f"{config.exp.name} {job.override_dirname or 'default'}"
        print(f"[job {job.get('num', 0)}] {status}  {label}  ({seconds:.1f} s)", file=sys.stderr, flush=True)
