"""The route rules of docs/channels.md: pure functions over a channel snapshot.

A rule is evaluated once per distinct group of goods in a step (same allocation, product,
holder and pending shipment), never per item: a pallet of 1,000 items of one batch costs
one evaluation.
"""

from __future__ import annotations

from dataclasses import dataclass

from trace_api.channels import divisions
from trace_api.movements.channel_view import ChannelView, Grant

# The order in which breaches of one step name the alert (the first found wins; the
# others are listed in its detail).
PRIORITY = (
    "unauthorised_edge",
    "outside_allocation",
    "receipt_mismatch",
    "outside_territory",
    "consumer_scan_outside_territory",
    "product_scope",
)


@dataclass(frozen=True, slots=True)
class Breach:
    """One broken rule: what was expected and what was seen."""

    rule: str
    severity: str
    detail: str
    expected_org: str | None = None
    expected_division: str | None = None
    observed_org: str | None = None
    observed_division: str | None = None


@dataclass(frozen=True, slots=True)
class Step:
    """What a custody step says, once its parties and place are resolved."""

    step: str  # ship | receive | sell | ...
    source: str | None  # the sending or selling party
    destination: str | None  # the receiving party (ship, receive)
    division: str | None
    lat: float | None = None
    lon: float | None = None


@dataclass(frozen=True, slots=True)
class Goods:
    """A group of goods in a step: their allocation, product, holder and pending shipment."""

    grant: Grant | None
    gtin: str | None
    holder: str | None
    shipped_to: str | None
    status: str | None


# None: no rule could be evaluated (the movement is `unchecked`); [] : all rules hold.
Verdict = list[Breach] | None


def check(view: ChannelView, step: Step, goods: Goods) -> Verdict:
    """The breaches of ``step`` for ``goods`` (see the module docstring)."""
    if step.step == "ship":
        return _shipping(view, step, goods)
    if step.step == "receive":
        return _receiving(view, step, goods)
    if step.step == "sell":
        return _selling(view, step, goods)
    return []


def _allocation_breach(view: ChannelView, party: str, goods: Goods) -> Breach | None:
    grant = goods.grant
    if grant is None or view.on_allocated_path(party, grant.organisation_id):
        return None
    return Breach(
        "outside_allocation",
        "high",
        f"the goods are allocated to {grant.organisation_id}; {party} is outside its channel",
        expected_org=grant.organisation_id,
        expected_division=grant.division_code,
        observed_org=party,
    )


def _shipping(view: ChannelView, step: Step, goods: Goods) -> Verdict:
    sender = step.source or goods.holder
    receiver = step.destination
    if sender is None or receiver is None:
        return None
    found: list[Breach] = []
    if goods.holder is not None and goods.holder != sender:
        found.append(
            Breach(
                "unauthorised_edge",
                "high",
                f"{sender} shipped goods held by {goods.holder}",
                expected_org=goods.holder,
                observed_org=sender,
            )
        )
    if not view.is_edge(sender, receiver):
        found.append(
            Breach(
                "unauthorised_edge",
                "high",
                f"{sender} -> {receiver} is neither a channel edge nor a sanctioned cross-edge",
                expected_org=goods.grant.organisation_id if goods.grant else None,
                observed_org=receiver,
            )
        )
    allocation = _allocation_breach(view, receiver, goods)
    if allocation is not None:
        found.append(allocation)
    return found


def _receiving(view: ChannelView, step: Step, goods: Goods) -> Verdict:
    receiver = step.destination
    if receiver is None:
        return None
    found: list[Breach] = []
    expected = goods.shipped_to
    if expected is None and goods.holder not in (None, receiver):
        found.append(
            Breach(
                "receipt_mismatch",
                "high",
                f"{receiver} received goods held by {goods.holder} with no shipment pending",
                expected_org=goods.holder,
                observed_org=receiver,
            )
        )
    elif expected is not None and expected != receiver:
        found.append(
            Breach(
                "receipt_mismatch",
                "high",
                f"the goods were shipped to {expected}, but {receiver} received them",
                expected_org=expected,
                observed_org=receiver,
            )
        )
    allocation = _allocation_breach(view, receiver, goods)
    if allocation is not None:
        found.append(allocation)
    if not view.handles(receiver, goods.gtin):
        found.append(_scope_breach(receiver, goods))
    return found


def _scope_breach(party: str, goods: Goods) -> Breach:
    return Breach(
        "product_scope",
        "medium",
        f"{party} is not authorised for product {goods.gtin}",
        expected_org=goods.grant.organisation_id if goods.grant else None,
        observed_org=party,
    )


def _selling(view: ChannelView, step: Step, goods: Goods) -> Verdict:
    seller = step.source or goods.holder
    found: list[Breach] = []
    if seller is not None and not view.handles(seller, goods.gtin):
        found.append(_scope_breach(seller, goods))
    territory = territory_breach(
        view, step, goods, seller, rule="outside_territory", never_sold_severity=None
    )
    if territory is None:
        return found or None
    found.extend(territory)
    return found


def territory_breach(
    view: ChannelView,
    step: Step,
    goods: Goods,
    party: str | None,
    *,
    rule: str,
    never_sold_severity: str | None,
) -> Verdict:
    """Whether the observed place is inside the territory the goods belong to.

    The territory is the allocation's (its division when it names one), or, for goods
    without an allocation, that of ``party`` (the seller). None when the place is unknown
    or there is no territory to check.
    """
    grant = goods.grant
    owner = grant.organisation_id if grant else party
    if owner is None:
        return None
    allowed = [grant.division_code] if grant and grant.division_code else view.territory_of(owner)
    fenced = bool(view.geofences_of(owner))
    located = step.lat is not None and step.lon is not None
    if fenced and located and view.inside_geofence(owner, step.lat or 0.0, step.lon or 0.0):
        return []
    if not allowed and not fenced:
        return []  # authorised everywhere
    if step.division is not None and allowed:
        if divisions.covered_by_any(allowed, step.division):
            return []
        same_province = any(divisions.same_province(a, step.division) for a in allowed)
        where = "another city of the right province" if same_province else "another province"
        observed = str(step.division)
    elif fenced and located:  # outside every fence, and no division says otherwise
        same_province = False
        where = "outside its geofences"
        observed = f"{step.lat},{step.lon}"
    else:
        return None  # the place is unknown in the terms the territory is given in
    if never_sold_severity is not None:
        severity = "low" if goods.status == "sold" else never_sold_severity
    else:
        severity = "medium" if same_province else "high"
    authorised = ", ".join(allowed) if allowed else "its geofences"
    return [
        Breach(
            rule,
            severity,
            f"observed in {observed} ({where}); {owner} is authorised for {authorised}",
            expected_org=owner,
            expected_division=allowed[0] if len(allowed) == 1 else None,
            observed_org=party if rule == "outside_territory" else None,
            observed_division=step.division,
        )
    ]


def headline(breaches: list[Breach]) -> Breach:
    """The breach that names the alert (PRIORITY order)."""
    return min(breaches, key=lambda b: PRIORITY.index(b.rule))
