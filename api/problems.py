"""RFC 9457 problem details for every error the service returns, and their OpenAPI entries."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from api.i18n import _N, gettext, localise, localise_location
from engine.errors import LookoutError

PROBLEM_MEDIA_TYPE = "application/problem+json"
log = logging.getLogger("lookout.api")

_TITLES = {
    400: _N("Bad request"),
    401: _N("Not authenticated"),
    403: _N("Forbidden"),
    404: _N("Not found"),
    405: _N("Method not allowed"),
    409: _N("Conflict"),
    413: _N("Request too large"),
    415: _N("Unsupported media type"),
    422: _N("Unprocessable content"),
    500: _N("Internal server error"),
    503: _N("Service unavailable"),
}


class ProblemLocation(BaseModel):
    """Where in the user's input the problem is."""

    file: str | None = None
    line: int | None = None
    column: int | None = None
    record: int | None = None
    field: str | None = None


class ProblemFieldError(BaseModel):
    """One invalid request field."""

    loc: list[str | int]
    msg: str
    type: str


class Problem(BaseModel):
    """An RFC 9457 problem details object."""

    type: str = Field(default="about:blank", description="URI identifying the problem type")
    title: str
    status: int
    detail: str | None = None
    instance: str | None = None
    errors: list[ProblemFieldError] | None = Field(
        None, description="invalid request fields (validation problems only)"
    )
    location: ProblemLocation | None = Field(
        None, description="where in the uploaded input (engine errors only)"
    )
    hint: str | None = Field(default=None, description="what to do about it")


class ProblemException(Exception):
    """Raise anywhere in a request to answer with a problem document."""

    def __init__(
        self,
        status: int,
        title: str | None = None,
        detail: str | None = None,
        *,
        headers: dict[str, str] | None = None,
        **extra: Any,
    ):
        super().__init__(detail or title)
        self.status = status
        self.title = title or _TITLES.get(status, "Error")
        self.detail = detail
        self.headers = headers
        self.extra = extra


def problem_response(
    status: int,
    title: str | None = None,
    detail: str | None = None,
    *,
    instance: str | None = None,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> JSONResponse:
    """A ``application/problem+json`` response; its title in the request's language (a
    title or detail that is a :class:`engine.i18n.Message` or a message id is translated)."""
    body: dict[str, Any] = {
        "type": "about:blank",
        "title": localise(title or _TITLES.get(status, "Error")),
        "status": status,
    }
    detail = localise(detail)
    if detail is not None:
        body["detail"] = detail
    if instance is not None:
        body["instance"] = instance
    body.update({k: v for k, v in extra.items() if v is not None})
    return JSONResponse(
        jsonable_encoder(body), status_code=status, headers=headers, media_type=PROBLEM_MEDIA_TYPE
    )


def lookout_error_problem(err: LookoutError, *, instance: str | None = None) -> JSONResponse:
    """422 problem for an engine error, keeping its location and hint, in the request's
    language (the location's file, line and column as they are)."""
    location = None
    if err.location is not None:
        loc = err.location
        location = {
            "file": loc.file,
            "line": loc.line,
            "column": loc.column,
            "record": loc.record,
            "field": loc.field,
        }
    message = localise(err.message) or ""
    return problem_response(
        422,
        gettext("Invalid input ({kind})").format(kind=type(err).__name__),
        f"{localise_location(err.location)}: {message}" if err.location else message,
        instance=instance,
        location=location,
        hint=localise(err.hint),
    )


def install_problem_handlers(app: FastAPI) -> None:
    """Answer every error, FastAPI's own included, as problem+json."""

    async def _problem(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, ProblemException)
        return problem_response(
            exc.status,
            exc.title,
            exc.detail,
            instance=request.url.path,
            headers=exc.headers,
            **exc.extra,
        )

    async def _http(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        detail = exc.detail if isinstance(exc.detail, str) else None
        if exc.status_code == 404 and detail == "Not Found":
            detail = gettext("no resource at {path}").format(path=request.url.path)
        return problem_response(
            exc.status_code,
            _TITLES.get(exc.status_code),
            detail,
            instance=request.url.path,
            headers=dict(exc.headers) if exc.headers else None,
        )

    async def _validation(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        errors = [
            {
                "loc": [str(p) if not isinstance(p, int) else p for p in e.get("loc", ())],
                "msg": str(e.get("msg", "")),
                "type": str(e.get("type", "")),
            }
            for e in exc.errors()
        ]
        summary = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in errors[:5])
        return problem_response(
            422, gettext("Invalid request"), summary, instance=request.url.path, errors=errors
        )

    async def _lookout(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, LookoutError)
        return lookout_error_problem(exc, instance=request.url.path)

    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return problem_response(
            500,
            gettext("Internal server error"),
            gettext("an unexpected error occurred; the server log has the details"),
            instance=request.url.path,
        )

    app.add_exception_handler(ProblemException, _problem)
    app.add_exception_handler(StarletteHTTPException, _http)
    app.add_exception_handler(RequestValidationError, _validation)
    app.add_exception_handler(LookoutError, _lookout)
    app.add_exception_handler(Exception, _unexpected)


def _problem_ref(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}},
    }


def install_problem_openapi(
    app: FastAPI, *, extra_models: tuple[type[BaseModel], ...] = ()
) -> None:
    """Document the problem responses of every operation in the OpenAPI schema.

    ``extra_models`` are schemas referenced from hand-written request bodies.
    """

    def _openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = get_openapi(
            title=app.title,
            version=app.version,
            description=app.description,
            routes=app.routes,
            tags=app.openapi_tags,
        )
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        models: list[tuple[str, type[BaseModel]]] = [
            ("Problem", Problem),
            ("ProblemLocation", ProblemLocation),
            ("ProblemFieldError", ProblemFieldError),
            *((m.__name__, m) for m in extra_models),
        ]
        components.update(
            {
                name: model.model_json_schema(ref_template="#/components/schemas/{model}")
                for name, model in models
            }
        )
        for defs_owner in list(components.values()):
            defs_owner.pop("$defs", None)
        components.pop("HTTPValidationError", None)
        components.pop("ValidationError", None)
        for methods in schema.get("paths", {}).values():
            for operation in methods.values():
                _add_problems(operation)
        app.openapi_schema = schema
        return schema

    app.openapi = _openapi  # type: ignore[method-assign]


def _add_problems(operation: dict[str, Any]) -> None:
    responses: dict[str, Any] = operation.setdefault("responses", {})
    params = operation.get("parameters", [])
    has_input = bool(params) or "requestBody" in operation
    responses.pop("422", None)
    for code, response in list(responses.items()):
        if code[:1] in "45":
            responses[code] = _problem_ref(response.get("description") or "Error")
    if operation.get("security"):
        responses.setdefault("401", _problem_ref("Missing, unknown or revoked API key"))
        responses.setdefault("403", _problem_ref("The key's role does not allow this"))
    if any(p.get("in") == "path" for p in params):
        responses.setdefault("404", _problem_ref("No such resource in your unit"))
    if "requestBody" in operation:
        responses.setdefault("413", _problem_ref("Request body larger than the limit"))
    if has_input:
        responses["422"] = _problem_ref("Invalid request or input data")
    responses.setdefault("500", _problem_ref("Unexpected server error"))
    responses.setdefault("default", _problem_ref("Any other error, as problem details"))
