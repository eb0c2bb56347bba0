"""Breaches of the route rules found in one event, gathered per subject into alerts.

The goods of one alert are a container (or an item on its own) and every breach found in
it; the party blamed is the last authorised holder before the deviation
(docs/channels.md), and the alert is raised only if the subject has none open for the
same rule and observed party.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from trace_api.epcis.stored import StoredEvent
from trace_api.models import DiversionAlert
from trace_api.movements import containers, rules
from trace_api.movements.capture_run import Before, CaptureRun
from trace_api.movements.channel_view import chunks
from trace_api.movements.evidence import authorised_holder, build_alert, last_shipment
from trace_api.movements.steps import step_of

_UNKNOWN = "\x00unknown"  # the authorised holder before is not known yet: look it up


@dataclass(slots=True)
class Subject:
    """The goods of one alert: a container (or item) and the breaches found in it."""

    subject: str
    kind: str
    representative: str
    breaches: list[rules.Breach]
    items: int
    authorised_before: str | None
    holder_before: str | None
    shipment_pk: int | None
    counted: set[str] = field(default_factory=set)  # uniform containers counted in items


def note_breach(
    run: CaptureRun,
    subjects: dict[str, Subject],
    key: str,
    via: str | None,
    kind: str,
    was: Before,
    breaches: list[rules.Breach],
    count: int = 1,
) -> None:
    subject_key = via or key
    subject = subjects.get(subject_key)
    if subject is None:
        subject_kind = containers.facts(run, subject_key)[0] if via else kind
        subject = Subject(
            subject=subject_key,
            kind="container" if subject_kind == "container" else "item",
            representative=key,
            breaches=list(breaches),
            items=0,
            authorised_before=run.authorised.get(key, run.authorised.get(subject_key, _UNKNOWN)),
            holder_before=was.holder,
            shipment_pk=run.last_shipment.get(key)
            or run.last_shipment.get(subject_key)
            or (was.last if was.status == "in_transit" else None),
        )
        subjects[subject_key] = subject
    else:
        subject.breaches.extend(b for b in breaches if b not in subject.breaches)
    if kind != "container":
        subject.items += count


def alerts_for(
    run: CaptureRun,
    stored: StoredEvent,
    subjects: dict[str, Subject],
    by_pk: dict[int, StoredEvent],
) -> None:
    fresh = _not_yet_open(run.session, run.tenant_id, subjects)
    for subject in subjects.values():
        headline = rules.headline(subject.breaches)
        if (subject.subject, headline.rule, headline.observed_org) not in fresh:
            continue
        blamed = subject.authorised_before
        if blamed == _UNKNOWN:
            blamed = authorised_holder(
                run.session, run.tenant_id, subject.representative, subject.holder_before
            )
        shipment = subject.shipment_pk
        if step_of(stored.prepared) != "ship" and shipment is None:
            shipment = last_shipment(run.session, run.tenant_id, subject.representative)
        run.alerts.append(
            build_alert(
                session=run.session,
                tenant_id=run.tenant_id,
                subject=subject.subject,
                subject_kind=subject.kind,
                item_count=max(1, subject.items),
                breaches=subject.breaches,
                blamed=blamed,
                event=stored,
                shipment_pk=shipment if shipment != stored.pk else None,
                known=by_pk,
            )
        )


def _not_yet_open(
    session: Session, tenant_id: str, subjects: dict[str, Subject]
) -> set[tuple[str, str, str | None]]:
    """The (subject, rule, observed party) of ``subjects`` with no open alert yet."""
    wanted = {
        (s.subject, rules.headline(s.breaches).rule, rules.headline(s.breaches).observed_org)
        for s in subjects.values()
    }
    for chunk in chunks(subjects):
        for found in session.execute(
            select(DiversionAlert.subject, DiversionAlert.rule, DiversionAlert.observed_org).where(
                DiversionAlert.tenant_id == tenant_id,
                DiversionAlert.subject.in_(chunk),
                DiversionAlert.status.in_(("open", "acknowledged")),
            )
        ):
            wanted.discard(found)
    return wanted
