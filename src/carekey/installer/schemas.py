"""Request and response bodies of the installer's key-app endpoints (``installer.api``)."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import Base64Bytes, BaseModel, Field

from carekey.domain import enums as e
from carekey.http.schemas import BodyId
from carekey.installer.service import OrderView
from carekey.keyservice.app_session import DeviceProof


class OrderOut(BaseModel):
    id: int
    kind: e.WorkOrderKind
    status: e.WorkOrderStatus
    is_open: bool
    place: str
    door_kind: e.DoorKind | None
    scheduled_for: dt.datetime | None
    door_device_id: int | None
    door_serial: str | None
    door_status: e.DoorStatus | None
    notes: str | None

    @classmethod
    def of(cls, view: OrderView) -> OrderOut:
        """The answer for one order."""
        return cls(**view.__dict__)


class OrdersOut(BaseModel):
    orders: list[OrderOut]


class CredentialRequest(BaseModel):
    order_id: BodyId
    door_serial: str | None = Field(default=None, min_length=1, max_length=32)
    challenge: str = Field(max_length=512)
    signature: Base64Bytes

    def proof(self) -> DeviceProof:
        """The device proof this request carries."""
        return DeviceProof(self.challenge, self.signature)


class CommissionedRequest(BaseModel):
    order_id: BodyId
    door_serial: str = Field(min_length=1, max_length=32)
    public_key: Base64Bytes = Field(description="The door's Ed25519 public key (32 bytes)")
    firmware_version: str | None = Field(default=None, max_length=32)
    test_receipts: list[Base64Bytes] = Field(min_length=1, max_length=8)


class CommissionedOut(BaseModel):
    order_id: int
    door_device_id: int
    serial: str
    status: e.DoorStatus
    commissioned_at: dt.datetime


class DecommissionedRequest(BaseModel):
    order_id: BodyId
    receipt: Base64Bytes
    disposition: Literal["stock", "scrapped"]


class DecommissionedOut(BaseModel):
    order_id: int
    door_device_id: int
    serial: str
    status: e.DoorStatus
    decommissioned_at: dt.datetime


class TimeTokenRequest(BaseModel):
    order_id: BodyId
    door_serial: str | None = Field(default=None, min_length=1, max_length=32)
    nonce: Base64Bytes


class TimeTokenOut(BaseModel):
    time_token: str
