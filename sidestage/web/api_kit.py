"""A small registry for JSON endpoints: body parsing, sign-in requirement, OpenAPI.

Each endpoint declares its request and response models once; the same
declaration validates input and writes ``/api/openapi.json``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from aiohttp import web
from pydantic import BaseModel, ValidationError

import sidestage
from sidestage.platform.accounts.models import Account
from sidestage.platform.errors import InvalidInput, NotFound, Unauthenticated
from sidestage.platform.text import find_nul
from sidestage.web.api_models import ErrorOut
from sidestage.web.keys import PRINCIPAL

Endpoint = Callable[..., Awaitable[Any]]
MAX_DB_ID = 2**31 - 1
M = TypeVar("M", bound=BaseModel)


@dataclass(frozen=True)
class Route:
    method: str
    path: str
    summary: str
    tag: str
    body: type[BaseModel] | None
    response: type[BaseModel] | None
    status: int
    signed_in: bool
    raw_body: bool


class Api:
    def __init__(self) -> None:
        self.routes: list[tuple[Route, Endpoint]] = []

    def route(
        self,
        method: str,
        path: str,
        summary: str,
        *,
        tag: str,
        body: type[BaseModel] | None = None,
        response: type[BaseModel] | None = None,
        status: int = 200,
        signed_in: bool = True,
        raw_body: bool = False,
    ) -> Callable[[Endpoint], Endpoint]:
        spec = Route(method, path, summary, tag, body, response, status, signed_in, raw_body)

        def register(endpoint: Endpoint) -> Endpoint:
            self.routes.append((spec, endpoint))
            return endpoint

        return register

    def install(self, app: web.Application) -> None:
        for spec, endpoint in self.routes:
            app.router.add_route(spec.method, _aiohttp_path(spec.path), _wrap(spec, endpoint))


def _aiohttp_path(path: str) -> str:
    """OpenAPI writes ``{id}``; aiohttp matches only digits for ids, other names as given."""
    return path.replace("{session_id}", r"{session_id:\d+}").replace("{id}", r"{id:\d+}")


def _wrap(
    spec: Route, endpoint: Endpoint
) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    async def handler(request: web.Request) -> web.StreamResponse:
        if spec.signed_in and not request[PRINCIPAL].signed_in:
            raise Unauthenticated("auth.sign_in_required", "Sign in first: send a bearer token.")
        args: list[Any] = []
        if spec.body is not None:
            args.append(await parse_body(request, spec.body))
        elif spec.raw_body:
            args.append(await request.read())
        result = await endpoint(request, *args)
        if isinstance(result, web.StreamResponse):
            return result
        if isinstance(result, BaseModel):
            result = result.model_dump(mode="json")
        return web.json_response(result, status=spec.status)

    return handler


async def parse_body(request: web.Request, model: type[M]) -> M:
    if request.content_type != "application/json":
        raise InvalidInput("request.not_json", "Send the body as application/json.")
    try:
        data = await request.json()
    # JSONDecodeError and UnicodeDecodeError are ValueErrors; an unknown charset a LookupError.
    except (ValueError, LookupError):
        raise InvalidInput("request.invalid_json", "The body is not valid JSON.") from None
    if find_nul(data) is not None:
        raise InvalidInput("request.invalid", "Text may not contain NUL characters.")
    try:
        return model.model_validate(data)
    except ValidationError as error:
        problems = [
            {"field": ".".join(str(p) for p in e["loc"]) or "(body)", "reason": e["msg"]}
            for e in error.errors(include_url=False, include_input=False)
        ]
        raise InvalidInput(
            "request.invalid", f"{problems[0]['field']}: {problems[0]['reason']}", details=problems
        ) from None


def signed_in_account(request: web.Request) -> Account:
    """The account of a request a signed-in route admitted (``Route.signed_in``)."""
    account = request[PRINCIPAL].account
    if account is None:
        raise Unauthenticated("auth.sign_in_required", "Sign in first: send a bearer token.")
    return account


def path_id(request: web.Request, name: str = "id") -> int:
    value = int(request.match_info[name])
    if not 1 <= value <= MAX_DB_ID:
        raise NotFound("http.not_found", "There is nothing with this id.")
    return value


def openapi_document(api: Api) -> dict[str, Any]:
    schemas: dict[str, Any] = {}
    paths: dict[str, dict[str, Any]] = {}
    for spec, _ in api.routes:
        paths.setdefault(spec.path, {})[spec.method.lower()] = _operation(spec, schemas)
    return {
        "openapi": "3.1.0",
        "info": {"title": "Sidestage API", "version": sidestage.__version__},
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
    }


def _operation(spec: Route, schemas: dict[str, Any]) -> dict[str, Any]:
    operation: dict[str, Any] = {
        "summary": spec.summary,
        "tags": [spec.tag],
        "parameters": _path_parameters(spec.path),
        "responses": {
            str(spec.status): _content(spec.response, schemas, "Success"),
            "4XX": _content(ErrorOut, schemas, "An error with a code and a message"),
        },
    }
    if spec.body is not None:
        operation["requestBody"] = {"required": True, **_content(spec.body, schemas, "")}
    if spec.raw_body:
        schedule = {"type": "object", "description": "A schedule JSON document (pretalx/frab)"}
        operation["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": schedule}},
        }
    if spec.signed_in:
        operation["security"] = [{"bearer": []}]
    return operation


def _path_parameters(path: str) -> list[dict[str, Any]]:
    names = [part[1:-1] for part in path.split("/") if part.startswith("{")]
    return [
        {
            "name": name,
            "in": "path",
            "required": True,
            "schema": {"type": "integer"} if name.endswith("id") else {"type": "string"},
        }
        for name in names
    ]


def _content(model: type[BaseModel] | None, schemas: dict[str, Any], description: str) -> dict:
    if model is None:
        return {"description": description or "No content"}
    schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
    for name, definition in schema.pop("$defs", {}).items():
        schemas[name] = definition
    schemas[model.__name__] = schema
    return {
        "description": description or model.__name__,
        "content": {
            "application/json": {"schema": {"$ref": f"#/components/schemas/{model.__name__}"}}
        },
    }
