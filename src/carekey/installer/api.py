"""The HTTP API of carekey.installer (issue 16)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
