"""HTTP input and output models for invoices and invoice profiles."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, Field, StringConstraints, model_validator

from trace_api.request_models import DisplayName, RequestModel

Figure = Annotated[
    str | int,
    Field(description='A decimal as a JSON string ("128.5") or an integer; never a float.'),
]
DivisionCode = Annotated[str, StringConstraints(pattern=r"^[0-9]{6}$")]
MAX_LINES = 2000
MAX_SHIPMENTS = 100


class ProfileIn(RequestModel):
    division_code: DivisionCode = Field(description="GB/T 2260 six-digit division code.")
    address: DisplayName = Field(default="", max_length=200)
    phone: DisplayName = Field(default="", max_length=200)
    bank: DisplayName = Field(default="", max_length=200)
    account: DisplayName = Field(default="", max_length=200)
    channel: int = Field(default=2, ge=0, le=9, description="Position 5 of its numbers.")


class ProfileOut(BaseModel):
    organisation_id: str
    division_code: str
    address: str
    phone: str
    bank: str
    account: str
    channel: int


class BuyerIn(RequestModel):
    """A buyer: an organisation of the tenant (its invoice profile gives the rest), or named
    here."""

    organisation_id: str | None = Field(default=None, max_length=36)
    name: DisplayName | None = Field(default=None, min_length=1, max_length=200)
    credit_code: str | None = Field(default=None, max_length=18)
    address: DisplayName = Field(default="", max_length=200)
    phone: DisplayName = Field(default="", max_length=200)
    bank: DisplayName = Field(default="", max_length=200)
    account: DisplayName = Field(default="", max_length=200)
    individual: bool = False

    @model_validator(mode="after")
    def _one_way(self) -> BuyerIn:
        if (self.organisation_id is None) == (self.name is None):
            raise ValueError("give the buyer's organisation_id, or its name (not both)")
        return self


class LineIn(RequestModel):
    name: DisplayName = Field(min_length=3, max_length=100, description="*简称*名称")
    tax_code: str = Field(min_length=19, max_length=19, description="税收分类编码")
    rate: str = Field(max_length=16, description="13%, 9%, 6%, 5%, 3%, 1%, 0%, 免税, 不征税")
    quantity: Figure | None = None
    unit_price: Figure | None = None
    price_includes_tax: bool = False
    specification: DisplayName = Field(default="", max_length=100)
    unit: DisplayName = Field(default="", max_length=20)
    discount: bool = Field(default=False, description="A discount of the line before it.")
    amount: Figure | None = Field(default=None, description="A discount line's amount (< 0).")
    product_id: str | None = Field(default=None, max_length=36)


class InvoiceIssue(RequestModel):
    kind: Literal["special", "normal"]
    seller: str = Field(max_length=36, description="The issuing organisation of the tenant.")
    buyer: BuyerIn
    lines: list[LineIn] = Field(min_length=1, max_length=MAX_LINES)
    drawer: DisplayName = Field(default="", max_length=200)
    remark: DisplayName = Field(default="", max_length=500)
    shipments: list[Annotated[str, StringConstraints(min_length=1, max_length=1000)]] = Field(
        default_factory=list,
        max_length=MAX_SHIPMENTS,
        description="EPCIS eventIDs of the shipments invoiced (each is invoiced once).",
    )


class DraftIn(RequestModel):
    kind: Literal["special", "normal"]
    seller: str = Field(max_length=36)
    buyer: str = Field(max_length=36, description="The buyer organisation the goods went to.")
    shipments: list[Annotated[str, StringConstraints(min_length=1, max_length=1000)]] = Field(
        min_length=1, max_length=MAX_SHIPMENTS, description="EPCIS eventIDs of shipping events."
    )
    prices: dict[Annotated[str, StringConstraints(max_length=36)], Figure] = Field(
        default_factory=dict,
        max_length=MAX_LINES,
        description="Unit prices with tax by product id, over the channel's price list.",
    )


class InvoiceItemIn(RequestModel):
    name: DisplayName = Field(min_length=3, max_length=100, description="*简称*名称")
    tax_code: str = Field(min_length=19, max_length=19)
    rate: str = Field(max_length=16)
    unit: DisplayName = Field(default="", max_length=20)
    specification: DisplayName = Field(default="", max_length=100)


class InvoiceItemOut(BaseModel):
    product_id: str
    name: str
    tax_code: str
    rate: str
    unit: str
    specification: str


class PriceIn(RequestModel):
    unit_price: Figure
    price_includes_tax: bool = True


class PriceOut(BaseModel):
    product_id: str
    channel: str
    unit_price: str
    price_includes_tax: bool


class InvoiceLineOut(BaseModel):
    position: int
    name: str
    tax_code: str
    rate: str
    discount: bool
    quantity: str | None
    unit_price: str | None
    price_includes_tax: bool
    amount: str
    tax: str
    total: str
    reversed_quantity: str
    reversed_total: str


class InvoiceOut(BaseModel):
    id: str
    number: str
    kind: str
    colour: str
    status: str
    original: str | None
    issued_at: str
    seller_organisation_id: str
    buyer_organisation_id: str | None
    buyer_name: str
    buyer_credit_code: str | None
    amount: str
    tax: str
    total: str
    total_in_words: str
    reversed_total: str
    remaining_total: str
    digest_sm3: str
    batch: int | None
    lines: list[InvoiceLineOut]


class InvoicePage(BaseModel):
    invoices: list[InvoiceOut]
    next_cursor: str | None


class TakingIn(RequestModel):
    position: int = Field(ge=0, le=MAX_LINES, description="The blue line's position.")
    quantity: Figure | None = Field(default=None, description="Default: all that is left.")


class RedIn(RequestModel):
    reason: Literal["01", "02", "03", "04"] = Field(
        description="01 开票有误 (whole only), 02 销货退回, 03 服务中止, 04 销售折让"
    )
    lines: list[TakingIn] | None = Field(
        default=None, max_length=MAX_LINES, description="What to take back; none: everything left."
    )


class ConfirmationOut(BaseModel):
    id: str
    number: str
    invoice: str
    reason: str
    lines: list[dict[str, object]] | None
    status: str
    entered_at: str
    decided_at: str | None
    red_invoice: str | None
