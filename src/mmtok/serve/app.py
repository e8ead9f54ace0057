"""The ASGI app: FastAPI routes over :class:`~mmtok.serve.service.Service`, typed JSON errors.

Every bad request gets a 4xx ``{"error": {"type", "message", "code"}}`` whose type is the
mmtok error class (``RequestError``, ``MediaTooLargeError``, …) and whose message names the
part; 413 for anything over a limit. An unexpected failure is a 500 with the same shape and
is logged: the process never dies on input. The work of a request (JSON, base64, headers,
tokenizing) runs on one worker thread per process, so the event loop keeps accepting
connections and reading bodies meanwhile.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import PlainTextResponse, Response
from starlette.exceptions import HTTPException

from mmtok import __version__
from mmtok.errors import (
    BudgetError,
    LimitExceededError,
    MediaError,
    MediaTooLargeError,
    MmtokError,
)
from mmtok.serve.body import parse_json, read_body
from mmtok.serve.config import ServeConfig
from mmtok.serve.metrics import Metrics
from mmtok.serve.service import Service

log = logging.getLogger("mmtok.serve")

_STATUS: tuple[tuple[type[MmtokError], int], ...] = (
    (LimitExceededError, 413),
    (MediaTooLargeError, 413),
    (BudgetError, 422),
    (MediaError, 422),
    (MmtokError, 400),
)


def status_of(exc: MmtokError) -> int:
    """The HTTP status of a refused request: 413 over a limit, 422 for media that cannot be
    used or a request that cannot be fitted, 400 for a malformed request or option."""
    return next(code for cls, code in _STATUS if isinstance(exc, cls))


def _json(data: Any, status: int = 200) -> Response:
    body = json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode()
    return Response(body, status_code=status, media_type="application/json")


def error_response(kind: str, message: str, status: int) -> Response:
    """The error body every refusal shares."""
    return _json({"error": {"type": kind, "message": message, "code": status}}, status)


def _body_schema(extra: dict[str, Any]) -> dict[str, Any]:
    """OpenAPI request body: a chat-completions body (OpenAI/vLLM parts or mmtok's own)."""
    properties = {
        "model": {"type": "string"},
        "messages": {"type": "array", "items": {"type": "object"}},
        "add_generation_prompt": {"type": "boolean", "default": True},
        **extra,
    }
    schema = {"type": "object", "properties": properties, "required": ["messages"]}
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": schema}}}}


_ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"description": what}
    for code, what in (
        (400, "malformed request or option: RequestError, ConfigError"),
        (413, "over a limit: LimitExceededError (body, media items), MediaTooLargeError"),
        (422, "media that cannot be used (CorruptMediaError, …) or BudgetError"),
    )
}
_INT = {"type": "integer"}
_PLAN_BODY = {
    "context": _INT,
    "reserve_output": _INT,
    "fit": {"type": "boolean", "default": False},
    "policy": {"type": "array", "items": {"type": "string"}},
    "max_item_tokens": _INT,
    "max_images": _INT,
    "max_videos": _INT,
    "max_audios": _INT,
    "llm": {"type": "string"},
}


def create_app(config: ServeConfig) -> FastAPI:
    """The app for ``config``; the profile and tokenizer load here, once."""
    service = Service(config)
    for warning in service.warnings:
        log.warning(warning)
    metrics = Metrics()
    # One request's work at a time: it is CPU-bound Python holding the GIL, so more threads
    # only add GIL hand-offs (tiktoken releases it per text piece, then waits up to the 5 ms
    # switch interval to get it back): p99 at 8 clients 52–166 ms on a 40-thread pool, 34–38
    # ms on one thread (BENCHMARKS.md). Use --workers for more cores.
    worker = ThreadPoolExecutor(1, thread_name_prefix="mmtok-serve")
    app = FastAPI(
        title="mmtok serve",
        version=__version__,
        description="Exact multimodal token counts and admission plans from media headers.",
        redoc_url=None,
    )

    async def answer(
        endpoint: str, request: Request, work: Callable[[dict[str, Any]], tuple[dict, int]]
    ) -> Response:
        start = time.perf_counter()
        tokens, error = 0, None
        try:
            raw = await read_body(
                request.stream(), request.headers.get("content-length"), config.max_body_bytes
            )
            loop = asyncio.get_running_loop()
            data, tokens = await loop.run_in_executor(worker, lambda: work(parse_json(raw)))
            response = _json(data)
        except MmtokError as exc:
            error = type(exc).__name__
            response = error_response(error, str(exc), status_of(exc))
        except Exception as exc:  # a bug must not take the service down with it
            log.exception("%s failed", endpoint)
            error = "InternalError"
            response = error_response(error, f"internal error ({type(exc).__name__})", 500)
        metrics.observe(endpoint, response.status_code, time.perf_counter() - start, tokens, error)
        return response

    @app.post(
        "/tokenize",
        summary="Token ids and count of a chat request (vLLM's /tokenize shape)",
        responses=_ERRORS,
        openapi_extra=_body_schema({"return_token_strs": {"type": "boolean", "default": False}}),
    )
    async def tokenize(request: Request) -> Response:
        """``count``, ``max_model_len``, ``tokens``, ``token_strs`` as vLLM's ``/tokenize``;
        plus ``position_ids``, ``modality_ids``, ``rope_delta``, ``items`` (per media item:
        ``part``, ``kind``, ``index``, ``tokens``, ``feature_tokens``, ``grid``, ``start``,
        ``end``), ``modality_totals``, ``profile``, ``tokenizer``, ``warnings``."""
        return await answer("/tokenize", request, service.tokenize)

    @app.post(
        "/v1/plan",
        summary="Will the request fit, what will it cost, and the fitted request",
        responses=_ERRORS,
        openapi_extra=_body_schema(_PLAN_BODY),
    )
    async def plan(request: Request) -> Response:
        """What ``mmtok plan --json`` prints (``input_tokens``, ``headroom``, ``fits``,
        ``items``, ``checks``, ``cost``, …) plus ``warnings`` and, with ``fit``, ``request``:
        the body to forward."""
        return await answer("/v1/plan", request, service.plan)

    @app.get("/health", summary="Liveness, with the profile and tokenizer served")
    async def health() -> Response:
        return _json(service.health())

    @app.get("/metrics", summary="Prometheus counters", response_class=PlainTextResponse)
    async def prometheus() -> Response:
        return PlainTextResponse(metrics.render(), media_type="text/plain; version=0.0.4")

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> Response:
        return error_response("HTTPError", str(exc.detail), exc.status_code)

    return app


def app_from_env() -> FastAPI:
    """The app of a ``mmtok serve --workers N`` worker (uvicorn factory)."""
    return create_app(ServeConfig.from_env())
