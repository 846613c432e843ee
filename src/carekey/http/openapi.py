"""The error answers in the OpenAPI document: every API operation lists 400, 401, 403, 404, 409,
422 and 503 with CareKey's one error shape (``carekey.http.errors.error_body``), in one place
rather than a ``responses=`` on every router.

The 422 is CareKey's own (``install_error_handlers``: code ``request.invalid`` with
``details``, or a domain rule's refusal), not FastAPI's ``HTTPValidationError``, which the
application never sends: it is replaced, and its schemas dropped from the document.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, Final

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel, ConfigDict, Field

API_PREFIX: Final = "/api/"
REF: Final = "#/components/schemas/{model}"
_METHODS: Final = frozenset({"get", "put", "post", "delete", "patch", "head", "options", "trace"})


class ErrorInfo(BaseModel):
    """What went wrong: a stable code for programs, a message for people in Danish and English."""

    model_config = ConfigDict(extra="forbid")

    code: str = Field(
        description="Stabil fejlkode / stable error code, e.g. `staff.not_found`",
        examples=["staff.not_found"],
    )
    message: str = Field(description="Besked på dansk / message in Danish")
    message_en: str = Field(description="Besked på engelsk / message in English")
    retry_after_s: int | None = Field(
        default=None,
        description="Prøv igen om så mange sekunder (503, som Retry-After) / "
        "try again after this many seconds (503, as Retry-After)",
    )


class ErrorResponse(BaseModel):
    """Every error answer of the API."""

    model_config = ConfigDict(extra="forbid")

    error: ErrorInfo


class FieldProblem(BaseModel):
    """One field of the request that was refused."""

    model_config = ConfigDict(extra="forbid")

    field: str = Field(
        description="Feltets sti / the field's path, e.g. `body.email` or `query.limit`",
        examples=["body.email"],
    )
    problem: str = Field(description="Hvad der er galt (engelsk) / what is wrong (English)")


class ValidationErrorInfo(ErrorInfo):
    """A request refused before anything was done: ``request.invalid`` with one entry per
    field; ``request.out_of_range`` or a domain rule's code without ``details``."""

    details: list[FieldProblem] | None = Field(
        default=None, description="Felterne der blev afvist / the fields refused"
    )


class ValidationErrorResponse(BaseModel):
    """The 422 answer of the API."""

    model_config = ConfigDict(extra="forbid")

    error: ValidationErrorInfo


ERROR_ANSWERS: Final[dict[int, tuple[type[BaseModel], str]]] = {
    400: (ErrorResponse, "Ugyldig forespørgsel / bad request"),
    401: (ErrorResponse, "Ikke logget ind, eller adgangen er udløbet / not authenticated"),
    403: (ErrorResponse, "Ingen adgang til dette / not allowed"),
    404: (ErrorResponse, "Findes ikke (eller er ikke synligt for dig) / not found"),
    409: (ErrorResponse, "I konflikt med den nuværende tilstand / conflicts with the state"),
    422: (ValidationErrorResponse, "Forespørgslen blev afvist / the request was refused"),
    503: (ErrorResponse, "Prøv igen om lidt (se Retry-After) / try again shortly"),
}
_FASTAPI_VALIDATION: Final = ("HTTPValidationError", "ValidationError")


def error_schemas() -> dict[str, Any]:
    """The components of the error answers, by name."""
    schemas: dict[str, Any] = {}
    for model in (ErrorResponse, ValidationErrorResponse):
        schema = model.model_json_schema(ref_template=REF)
        schemas.update(schema.pop("$defs", {}))
        schemas[model.__name__] = schema
    return schemas


def add_error_answers(document: dict[str, Any]) -> dict[str, Any]:
    """``document`` with the error answers on every operation under ``/api/`` (in place)."""
    components = document.setdefault("components", {}).setdefault("schemas", {})
    for name, schema in error_schemas().items():
        if components.setdefault(name, schema) != schema:
            raise ValueError(f"an API model is named {name}, as an error schema is")
    for path, item in document.get("paths", {}).items():
        if not path.startswith(API_PREFIX):
            continue
        for method, operation in item.items():
            if method not in _METHODS:
                continue
            responses = operation.setdefault("responses", {})
            for status, (model, description) in ERROR_ANSWERS.items():
                responses[str(status)] = {
                    "description": description,
                    "content": {
                        "application/json": {"schema": {"$ref": REF.format(model=model.__name__)}}
                    },
                }
    used = json.dumps(document.get("paths", {}))
    for name in _FASTAPI_VALIDATION:
        if json.dumps(REF.format(model=name)) not in used:
            components.pop(name, None)
    return document


def install_openapi(app: FastAPI) -> None:
    """Make ``app.openapi`` build the document once, with the error answers."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = get_openapi(
                title=app.title,
                version=app.version,
                openapi_version=app.openapi_version,
                summary=app.summary,
                description=app.description,
                routes=app.routes,
                tags=app.openapi_tags,
                servers=app.servers,
            )
            app.openapi_schema = add_error_answers(document)
        return app.openapi_schema

    builder: Callable[[], dict[str, Any]] = openapi
    app.openapi = builder  # type: ignore[method-assign]
