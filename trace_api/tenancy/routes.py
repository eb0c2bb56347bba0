"""HTTP routes for the calling tenant, its API keys and organisations."""

from __future__ import annotations

from fastapi import APIRouter, status

from trace_api.components import MasterKeyDep
from trace_api.deps import SessionDep
from trace_api.errors import InvalidInput
from trace_api.roles import AdminOnly, AnyRole
from trace_api.tenancy import service
from trace_api.tenancy.schemas import (
    ApiKeyCreate,
    ApiKeyIssued,
    ApiKeyOut,
    DataKeyOut,
    OrganisationCreate,
    OrganisationOut,
    ShredRequest,
    WhoAmI,
)

router = APIRouter(prefix="/v1", tags=["tenancy"])


@router.get("/whoami", response_model=WhoAmI)
def whoami(principal: AnyRole, session: SessionDep) -> WhoAmI:
    tenant = service.get_tenant(session=session, tenant_id=principal.tenant_id)
    return WhoAmI(
        tenant_id=tenant.id,
        tenant_name=tenant.name,
        key_id=principal.key_id,
        role=principal.role,  # type: ignore[arg-type]
        organisation_id=principal.organisation_id,
    )


@router.post("/api-keys", response_model=ApiKeyIssued, status_code=status.HTTP_201_CREATED)
def create_api_key(body: ApiKeyCreate, admin: AdminOnly, session: SessionDep) -> ApiKeyIssued:
    issued = service.issue_api_key(
        session=session,
        tenant_id=admin.tenant_id,
        role=body.role,
        organisation_id=body.organisation_id,
        label=body.label,
        created_by=admin.key_id,
    )
    out = ApiKeyOut.model_validate(issued.record)
    return ApiKeyIssued(**out.model_dump(), key=issued.text)


@router.get("/api-keys", response_model=list[ApiKeyOut])
def list_api_keys(admin: AdminOnly, session: SessionDep) -> list[ApiKeyOut]:
    keys = service.list_api_keys(session=session, tenant_id=admin.tenant_id)
    return [ApiKeyOut.model_validate(k) for k in keys]


@router.get("/api-keys/{key_id}", response_model=ApiKeyOut)
def get_api_key(key_id: str, admin: AdminOnly, session: SessionDep) -> ApiKeyOut:
    record = service.get_api_key(session=session, tenant_id=admin.tenant_id, key_id=key_id)
    return ApiKeyOut.model_validate(record)


@router.delete("/api-keys/{key_id}", response_model=ApiKeyOut)
def revoke_api_key(key_id: str, admin: AdminOnly, session: SessionDep) -> ApiKeyOut:
    record = service.revoke_api_key(
        session=session, tenant_id=admin.tenant_id, key_id=key_id, actor=admin.key_id
    )
    return ApiKeyOut.model_validate(record)


@router.post("/organisations", response_model=OrganisationOut, status_code=status.HTTP_201_CREATED)
def create_organisation(
    body: OrganisationCreate, admin: AdminOnly, session: SessionDep
) -> OrganisationOut:
    record = service.create_organisation(
        session=session, tenant_id=admin.tenant_id, actor=admin.key_id, **body.model_dump()
    )
    return OrganisationOut.model_validate(record)


@router.get("/organisations", response_model=list[OrganisationOut])
def list_organisations(principal: AnyRole, session: SessionDep) -> list[OrganisationOut]:
    records = service.list_organisations(session=session, tenant_id=principal.tenant_id)
    return [OrganisationOut.model_validate(r) for r in records]


@router.get("/organisations/{organisation_id}", response_model=OrganisationOut)
def get_organisation(
    organisation_id: str, principal: AnyRole, session: SessionDep
) -> OrganisationOut:
    record = service.get_organisation(
        session=session, tenant_id=principal.tenant_id, organisation_id=organisation_id
    )
    return OrganisationOut.model_validate(record)


@router.get("/data-keys", response_model=list[DataKeyOut])
def list_data_keys(admin: AdminOnly, session: SessionDep) -> list[DataKeyOut]:
    records = service.list_data_keys(session=session, tenant_id=admin.tenant_id)
    return [DataKeyOut.model_validate(r) for r in records]


@router.post("/data-keys", response_model=DataKeyOut, status_code=status.HTTP_201_CREATED)
def rotate_data_key(admin: AdminOnly, session: SessionDep, master_key: MasterKeyDep) -> DataKeyOut:
    record = service.rotate_data_key(
        session=session,
        master_key=master_key,
        tenant_id=admin.tenant_id,
        actor=admin.key_id,
    )
    return DataKeyOut.model_validate(record)


@router.post("/data-keys/{key_id}/shred", response_model=DataKeyOut)
def shred_data_key(
    key_id: str, body: ShredRequest, admin: AdminOnly, session: SessionDep
) -> DataKeyOut:
    if body.confirm_key_id != key_id:
        raise InvalidInput("confirm_key_id must repeat the key id being shredded")
    record = service.shred_data_key(
        session=session, tenant_id=admin.tenant_id, key_id=key_id, actor=admin.key_id
    )
    return DataKeyOut.model_validate(record)
