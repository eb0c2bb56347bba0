"""A capture too large to store within its request: stored after the answer, as a job.

The request commits the job's row (running); the job then stores the events in a
transaction of its own, and a failure leaves the job finished, unsuccessful, with
nothing stored.
"""

from __future__ import annotations

import json
import logging

from sqlalchemy.orm import Session, sessionmaker

from trace_api.db import transaction
from trace_api.epcis.service import CaptureRequest, run_capture
from trace_api.epcis.stored import Capturer, OnStored
from trace_api.models import EpcisCaptureJob

_log = logging.getLogger(__name__)


def store_later(
    *,
    sessions: sessionmaker[Session],
    job_id: str,
    capturer: Capturer,
    request: CaptureRequest,
    on_stored: OnStored,
) -> None:
    """Store the events of the started job ``job_id``, in a transaction of its own."""
    try:
        with transaction(sessions) as session:
            job = session.get(EpcisCaptureJob, job_id)
            assert job is not None
            run_capture(
                session=session, job=job, capturer=capturer, request=request, on_stored=on_stored
            )
    except Exception:
        _log.exception("capture job %s failed", job_id)
        with transaction(sessions) as session:
            job = session.get(EpcisCaptureJob, job_id)
            if job is not None and job.running:
                job.running, job.success = False, False
                job.errors = json.dumps([_CAPTURE_FAILED])


_CAPTURE_FAILED = {
    "type": "epcisException:ImplementationException",
    "title": "Capture failed",
    "status": 500,
    "detail": "the capture failed unexpectedly; nothing was stored",
}
