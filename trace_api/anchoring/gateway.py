"""The service's way onto the chain: connect lazily, deploy or attach, remember where.

The API keeps serving while the chain is unreachable; only the worker waits for it. The
embedded chain is fresh in every process, so on its first connection the gateway
deploys a new contract and sends every root it had anchored back to the queue, to be
anchored again from the service's own records (and says so in the log and /healthz).
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast

from sqlalchemy import CursorResult, select, update
from sqlalchemy.orm import Session, sessionmaker

from chain import AnchorContract, ChainClient, ChainError, attach, connect, deploy
from trace_api.db import transaction
from trace_api.models import AnchorJob, ChainDeployment, utcnow
from trace_api.settings import Settings

_log = logging.getLogger(__name__)


@dataclass
class GatewayState:
    """What the gateway last saw of the chain, for /healthz."""

    connected: bool = False
    chain_id: int | None = None
    contract: str | None = None
    network: str | None = None
    last_error: str | None = None
    last_error_at: datetime | None = None
    reanchor_notice: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


class ChainGateway:
    """A lazily connected chain client and the active TraceAnchor deployment."""

    def __init__(self, settings: Settings, sessions: sessionmaker[Session]) -> None:
        self._settings = settings
        self._sessions = sessions
        self._lock = threading.Lock()
        self._contract: AnchorContract | None = None
        self._deployment_id: int | None = None
        self.state = GatewayState()

    @property
    def url(self) -> str:
        return self._settings.chain_url

    def contract(self) -> tuple[AnchorContract, int]:
        """The connected contract and its deployment id; raises ChainError if unreachable."""
        with self._lock:
            if self._contract is None:
                try:
                    self._contract, self._deployment_id = self._open()
                except ChainError as exc:
                    self.record_error(exc)
                    raise
            assert self._deployment_id is not None
            return self._contract, self._deployment_id

    def record_error(self, exc: BaseException) -> None:
        """Remember a chain failure for /healthz."""
        self.state.connected = False
        self.state.last_error = f"{type(exc).__name__}: {exc}"[:500]
        self.state.last_error_at = utcnow()

    def record_success(self) -> None:
        self.state.connected = True

    def close(self) -> None:
        """Forget the connection (the embedded chain goes with it)."""
        with self._lock:
            self._contract = None
            self._deployment_id = None
            self.state.connected = False

    def _open(self) -> tuple[AnchorContract, int]:
        settings = self._settings
        with transaction(self._sessions) as session:
            active = session.scalar(select(ChainDeployment).where(ChainDeployment.active))
        expected = active.chain_id if active is not None and not active.is_embedded else None
        key = settings.chain_private_key.get_secret_value() if settings.chain_private_key else None
        client = connect(settings.chain_url, private_key=key, expected_chain_id=expected)
        contract, deployment_id = self._deployment(client, active)
        self.state = GatewayState(
            connected=True,
            chain_id=client.chain_id,
            contract=contract.address,
            network=client.network_label,
            reanchor_notice=self.state.reanchor_notice,
        )
        return contract, deployment_id

    def _deployment(
        self, client: ChainClient, active: ChainDeployment | None
    ) -> tuple[AnchorContract, int]:
        wanted = self._settings.chain_contract
        if client.is_embedded:
            # A fresh chain every process: even at the same address, nothing is anchored yet.
            contract = deploy(client)
            return contract, self._record_deployment(client, contract, active)
        if wanted is not None:
            contract = attach(client, wanted)
        elif (
            active is not None
            and active.chain_id == client.chain_id
            and client.get_code(active.contract_address)
        ):
            contract = attach(client, active.contract_address)
        else:
            contract = deploy(client)
        if active is not None and active.contract_address == contract.address:
            return contract, active.id
        return contract, self._record_deployment(client, contract, active)

    def _record_deployment(
        self, client: ChainClient, contract: AnchorContract, previous: ChainDeployment | None
    ) -> int:
        with transaction(self._sessions) as session:
            session.execute(update(ChainDeployment).values(active=False))
            record = ChainDeployment(
                chain_id=client.chain_id,
                contract_address=contract.address,
                is_embedded=client.is_embedded,
                network_label=client.network_label,
                active=True,
            )
            session.add(record)
            session.flush()
            moved = 0
            if previous is not None:
                result = session.execute(
                    update(AnchorJob)
                    .where(AnchorJob.status.in_(("submitted", "confirmed")))
                    .values(status="pending", next_attempt_at=utcnow(), last_error=None)
                )
                moved = cast(CursorResult[Any], result).rowcount
            deployment_id = record.id
        if previous is not None:
            notice = (
                f"the chain behind {previous.contract_address} ({previous.network_label}) is "
                f"gone; deployed TraceAnchor at {contract.address} on {client.network_label} "
                f"and re-anchoring {moved} root(s) from the service's own records"
            )
            _log.warning(notice)
            self.state.reanchor_notice = notice
        return deployment_id
