"""Errors as they are sent and as the OpenAPI schema declares them. A refusal is ``{"detail": "…"}`` in
Chinese; a request that fails validation keeps FastAPI's documented shape (a list of {loc, msg, type})
with each ``msg`` saying in Chinese which parameter is wrong and what it accepts. ``declare_errors``
writes, once for every operation, the error statuses it can answer, from what the route depends on."""

import json
from http import HTTPStatus

from fastapi import FastAPI, Request, Response
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException

from api.deps import current_principal, get_service
from api.limits import is_heavy
from api.schemas import Error

PLACES = {"query": "查询参数", "path": "路径参数", "body": "请求体", "header": "请求头", "cookie": "Cookie"}


def chinese(error: dict) -> str:
    where, *names = [str(p) for p in error.get("loc", ())] or ["请求"]
    field = ".".join(names) or PLACES.get(where, where)
    ctx = error.get("ctx") or {}
    kind = error.get("type", "")
    said = {
        "missing": "缺少必填项",
        "less_than_equal": f"不能大于 {ctx.get('le')}",
        "less_than": f"必须小于 {ctx.get('lt')}",
        "greater_than_equal": f"不能小于 {ctx.get('ge')}",
        "greater_than": f"必须大于 {ctx.get('gt')}",
        "string_too_long": f"最多 {ctx.get('max_length')} 个字符",
        "string_too_short": f"至少 {ctx.get('min_length')} 个字符",
        "int_parsing": "应为整数", "int_from_float": "应为整数", "float_parsing": "应为数字",
        "finite_number": "应为有限的数字", "bool_parsing": "应为 true 或 false", "json_invalid": "不是有效的 JSON",
        "string_type": "应为文本", "int_type": "应为整数", "float_type": "应为数字", "list_type": "应为列表",
        "dict_type": "应为对象", "model_attributes_type": "应为 JSON 对象", "date_from_datetime_parsing": "应为日期",
        "date_parsing": "应为日期（如 2026-11-30）", "value_error": str(ctx.get("error") or error.get("msg", "")),
    }.get(kind, error.get("msg", "无效"))
    return f"{PLACES.get(where, where)} {field}：{said}"


async def validation_handler(_: Request, exc: RequestValidationError) -> JSONResponse:
    detail = [{"loc": list(e.get("loc", ())), "msg": chinese(e), "type": e.get("type")} for e in exc.errors()]
    return JSONResponse({"detail": detail}, 422)


STARLETTE_SAID = {"Not Found": "没有这个地址（接口列表见 /docs）", "Method Not Allowed": "此地址不支持这种请求方法"}


async def http_error_handler(request: Request, exc: HTTPException) -> Response:
    """FastAPI's own refusals, in the shape and language of the others: a body that is not UTF-8 is the same
    422 as one that is not JSON (FastAPI answered 400 "There was an error parsing the body", undeclared)."""
    if exc.status_code == 400 and exc.detail == "There was an error parsing the body":
        return JSONResponse({"detail": [{"loc": ["body"], "msg": "请求体：不是有效的 JSON（应为 UTF-8 编码的 JSON）",
                                         "type": "json_invalid"}]}, 422)
    if isinstance(exc.detail, str) and exc.detail in STARLETTE_SAID:  # an unknown address or method
        exc = HTTPException(exc.status_code, STARLETTE_SAID[exc.detail], exc.headers)
    return await http_exception_handler(request, exc)


ERROR_DESCRIPTIONS = {
    401: "缺少 API 密钥，或密钥未知、已吊销（X-API-Key）",
    403: "该密钥的角色无权使用此接口或此记录",
    404: "没有所给编号的记录（或导入类型）",
    413: "请求体或上传文件过大（说明里给出上限）",
    422: "参数或请求体无效（detail 为逐项说明的列表），或请求无法办理（detail 为说明文字）",
    429: "请求过于频繁：按 Retry-After 的秒数后再试",
    503: "服务繁忙（排队已满，按 Retry-After 的秒数后再试），或索引尚未建立、需要重建",
}
RETRY_AFTER = {"Retry-After": {"description": "几秒后可以重试", "schema": {"type": "integer"}}}


def _api_routes(app: FastAPI):
    """Every documented API route with its effective path and dependencies (those of routers included in the
    app too, which newer FastAPI keeps as included routers rather than copying their routes)."""
    from fastapi import routing

    contexts = routing.iter_route_contexts(app.routes) if hasattr(routing, "iter_route_contexts") else app.routes
    for route in contexts:
        if isinstance(getattr(route, "original_route", route), APIRoute) and route.include_in_schema:
            yield route


def _calls(dependant) -> set:
    found = set()
    for dep in dependant.dependencies:
        found |= {dep.call} | _calls(dep)
    return found


def _statuses(route, operation: dict) -> set[int]:
    """The error statuses an operation can answer, from its route: every request may be too big (413, the
    body limit covers all); a key is checked (401) and a role (403); an id in the path may be unknown (404);
    parameters or a body may be invalid (422); matching work may find the queue full or no index (503)."""
    calls = _calls(route.dependant)
    codes = {413} | {int(c) for c in operation.get("responses", {}) if c.isdigit() and int(c) >= 400}
    if current_principal in calls:
        codes |= {401, 403}
    if "{" in route.path:
        codes.add(404)
    if operation.get("parameters") or "requestBody" in operation:
        codes.add(422)
    if get_service in calls or any(is_heavy(m, route.path) for m in route.methods):
        codes.add(503)
    return codes


def declare_errors(app: FastAPI) -> None:
    """Make ``app.openapi()`` declare each operation's error responses with the ``Error`` model (a route
    that declares a code with a model of its own, as the import does for 422, keeps it)."""
    build = app.openapi

    def openapi() -> dict:
        if app.openapi_schema is not None:
            return app.openapi_schema
        schema = build()
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        error_schema = Error.model_json_schema(ref_template="#/components/schemas/{model}")
        components.update(error_schema.pop("$defs", {}), Error=error_schema)
        error_ref = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
        for route in _api_routes(app):
            for method in route.methods:
                operation = schema["paths"][route.path_format][method.lower()]
                responses = operation.setdefault("responses", {})
                for code in sorted(_statuses(route, operation)):
                    declared = responses.get(str(code), {})
                    content = declared.get("content", {}).get("application/json", {}).get("schema", {})
                    own_model = content.get("$ref", "").rsplit("/", 1)[-1] not in ("", "HTTPValidationError")
                    said = declared.get("description")
                    if said in (None, "Validation Error", HTTPStatus(code).phrase):  # FastAPI's placeholders
                        said = ERROR_DESCRIPTIONS[code]
                    responses[str(code)] = {**declared, "description": said,
                                            "content": declared["content"] if own_model else error_ref}
                    if code in (429, 503):
                        responses[str(code)]["headers"] = RETRY_AFTER
        for unused in ("HTTPValidationError", "ValidationError"):
            if f'"#/components/schemas/{unused}"' not in json.dumps(schema):
                components.pop(unused, None)
        return schema

    app.openapi = openapi
