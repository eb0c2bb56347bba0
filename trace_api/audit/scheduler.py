"""Scheduled checkpoints: every tenant whose log grew gets a signed, anchored checkpoint.

A tenant whose log fails its check (here, or in the re-verifier, or in an export) gets
no checkpoint while the finding stands, which is for the life of the process.
"""

from __future__ import annotations

import logging
import threading

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from crypto import sm2
from trace_api.audit.checkpoints import LogIntegrityError, create_checkpoint
from trace_api.audit.integrity import LogIntegrity
from trace_api.audit.trees import LogTrees
from trace_api.db import transaction
from trace_api.models import Tenant

_log = logging.getLogger(__name__)


class Checkpointer:
    """Checkpoints each tenant's log in a transaction of its own, on a schedule."""

    def __init__(
        self,
        *,
        sessions: sessionmaker[Session],
        signing_key: sm2.PrivateKey,
        trees: LogTrees,
        integrity: LogIntegrity | None = None,
    ) -> None:
        self._sessions = sessions
        self._signing_key = signing_key
        self._trees = trees
        self.integrity = integrity if integrity is not None else LogIntegrity()

    @property
    def integrity_failures(self) -> dict[str, str]:
        """The first finding of each tenant whose log fails its check."""
        return {tenant_id: str(f) for tenant_id, f in self.integrity.failing().items()}

    def run_once(self) -> int:
        """Checkpoint every grown log; return how many checkpoints were made."""
        with transaction(self._sessions) as session:
            tenants = list(session.scalars(select(Tenant.id)))
        made = 0
        for tenant_id in tenants:
            try:
                with transaction(self._sessions) as session:
                    result = create_checkpoint(
                        session=session,
                        tenant_id=tenant_id,
                        signing_key=self._signing_key,
                        trees=self._trees,
                        integrity=self.integrity,
                    )
            except LogIntegrityError:  # kept (and logged) by self.integrity
                continue
            made += bool(result and result.created)
        return made

    def run_forever(self, stop: threading.Event, interval: float) -> None:
        while not stop.wait(interval):
            try:
                self.run_once()
            except Exception:  # the loop must outlive a bad pass (e.g. the database away)
                _log.exception("checkpoint pass failed")
