"""Live MLflow logging during a sweep: best effort, results are on disk first."""

from __future__ import annotations

import logging
import os
import shlex
from pathlib import Path

from harness.errors import first_line, redact

log = logging.getLogger(__name__)


class LiveTracking:
    """Called after every configuration (and at the end): syncs the results folder to MLflow; on
    the first failure it stops trying and leaves the rest to ``tts-harness sync``."""

    def __init__(self, out_dir: Path, uri: str) -> None:
        self.out_dir, self.uri = out_dir, uri
        self.failed = False
        self.where = ""  # the sweep's MLflow run, once logged: said at the end of `run`

    def __call__(self) -> None:
        if self.failed:
            return
        from harness.tracking.mlflow_sync import run_url, sync

        os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
        os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", "10")
        try:
            done = sync(self.out_dir, self.uri)
            self.where = run_url(self.uri, done["experiment"], done["parent_run"])
        except Exception as exc:
            self.failed = True
            log.warning(
                "MLflow logging failed (%s); results stay in %s: run `tts-harness sync %s --tracking-uri %s` later",
                redact(first_line(exc)),
                self.out_dir,
                shlex.quote(str(self.out_dir)),
                shlex.quote(redact(self.uri)),
            )
