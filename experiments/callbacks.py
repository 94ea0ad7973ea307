"""Hydra callbacks: one line per finished job, so a multirun reads as a log."""

from __future__ import annotations

import sys
import time
from typing import Any

from hydra.core.utils import JobReturn, JobStatus
from hydra.experimental.callback import Callback
from hydra.types import RunMode
from omegaconf import DictConfig


class JobLine(Callback):
    """Prints ``[job N] done|skipped|failed  <exp> <override dir>  (seconds)`` when a job ends,
    followed by ``: <why>`` for a failed job (the job returns "failed: <why>")."""

    def __init__(self) -> None:
        self._start = time.perf_counter()

    def on_job_start(self, config: DictConfig, **kwargs: Any) -> None:
        self._start = time.perf_counter()

    def on_job_end(self, config: DictConfig, job_return: JobReturn, **kwargs: Any) -> None:
        seconds = time.perf_counter() - self._start
        job = config.hydra.job
        if job_return.status == JobStatus.COMPLETED:
            status, _, why = str(job_return.return_value or "done").partition(": ")
        else:  # an exception that escaped the job function: Hydra reports it
            status, why = "failed", ""
        if status == "failed" and config.hydra.mode != RunMode.MULTIRUN:
            return  # a single run that failed has printed its one line
        label = f"{config.exp.name} {job.override_dirname or 'default'}"
        line = f"[job {job.get('num', 0)}] {status}  {label}  ({seconds:.1f} s)" + (f": {why}" if why else "")
        print(line, file=sys.stderr, flush=True)
