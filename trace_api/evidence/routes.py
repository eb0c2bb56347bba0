"""HTTP routes of contract proofs: today the parties that sign them and their keys."""

from __future__ import annotations

from fastapi import APIRouter

from trace_api.evidence import party_routes

router = APIRouter(prefix="/v1", tags=["evidence"])
router.include_router(party_routes.router)  # first: /evidence/parties is no proof's id
