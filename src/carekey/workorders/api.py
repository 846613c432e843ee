"""The HTTP API of carekey.workorders (issue 16)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
