"""Request validation errors in Chinese: FastAPI's 422 keeps its documented shape (a list of
{loc, msg, type}), with each ``msg`` saying in Chinese which parameter is wrong and what it accepts."""

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

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
