"""Export jobs: a row per request, the bundle written in the background to the data dir."""

from __future__ import annotations

import hashlib
import logging
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from crypto import sm2
from trace_api.audit.export import ExportFilters, export_bundle, filters_json
from trace_api.audit.integrity import LogIntegrity
from trace_api.audit.trees import LogTrees
from trace_api.db import transaction
from trace_api.models import AuditExport, utcnow
from trace_api.owned import get_owned
from trace_api.private_files import open_private, private_dir

_log = logging.getLogger(__name__)


class ExportRunner:
    """Runs audit exports one at a time off the request path."""

    def __init__(
        self,
        *,
        sessions: sessionmaker[Session],
        signing_key: sm2.PrivateKey,
        trees: LogTrees,
        directory: Path,
        integrity: LogIntegrity | None = None,
    ) -> None:
        self._sessions = sessions
        self._signing_key = signing_key
        self._trees = trees
        self._directory = directory
        self._integrity = integrity
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="audit-export")
        with transaction(sessions) as session:  # exports a previous process left unfinished
            session.execute(
                update(AuditExport)
                .where(AuditExport.status == "running")
                .values(status="failed", error="interrupted by a restart", finished_at=utcnow())
            )

    def start(
        self, *, session: Session, tenant_id: str, requested_by: str, filters: ExportFilters
    ) -> AuditExport:
        """Record an export request; the caller commits, then calls :meth:`launch`."""
        filters.check()
        record = AuditExport(
            tenant_id=tenant_id,
            requested_by=requested_by,
            filters=filters_json(filters),
            status="running",
        )
        session.add(record)
        session.flush()
        return record

    def launch(self, export_id: str, tenant_id: str, filters: ExportFilters) -> None:
        self._pool.submit(self._run, export_id, tenant_id, filters)

    def path_of(self, record: AuditExport) -> Path:
        return self._directory / record.tenant_id / f"{record.id}.zip"

    def _run(self, export_id: str, tenant_id: str, filters: ExportFilters) -> None:
        target = self._directory / tenant_id / f"{export_id}.zip"
        private_dir(target.parent)
        partial = target.with_suffix(".partial")
        try:
            with os.fdopen(open_private(partial), "wb") as out:
                stats = export_bundle(
                    sessions=self._sessions,
                    tenant_id=tenant_id,
                    filters=filters,
                    signing_key=self._signing_key,
                    trees=self._trees,
                    out=out,
                    integrity=self._integrity,
                )
            os.replace(partial, target)
            digest = _sha256_file(target)
            values = {
                "status": "done",
                "entries": stats.entries,
                "size_bytes": target.stat().st_size,
                "sha256": digest,
            }
        except Exception as exc:  # a failed export is reported on its row, not lost
            _log.exception("audit export %s failed", export_id)
            partial.unlink(missing_ok=True)
            values = {"status": "failed", "error": str(exc)[:1000]}
        with transaction(self._sessions) as session:
            session.execute(
                update(AuditExport)
                .where(AuditExport.id == export_id)
                .values(finished_at=utcnow(), **values)
            )

    def shutdown(self) -> None:
        self._pool.shutdown(wait=True)


def get_export(*, session: Session, tenant_id: str, export_id: str) -> AuditExport:
    """One of the tenant's exports; another tenant's is NotFound."""
    return get_owned(session, AuditExport, export_id, tenant_id=tenant_id, noun="audit export")


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()
