"""``mmtok serve``: the token-count and admission service (see :mod:`mmtok.serve`)."""

from __future__ import annotations

import os
import socket
from pathlib import Path
from typing import Annotated

import typer

from mmtok.cli.app import app
from mmtok.cli.options import ProfileOption, TokenizerOption
from mmtok.cli.render import fail, fail_on
from mmtok.errors import MmtokError
from mmtok.serve.config import ENV_VAR, ServeConfig

_DEFAULT = ServeConfig()


@app.command("serve")
def serve_command(
    profile: ProfileOption = _DEFAULT.profile,
    tokenizer: TokenizerOption = None,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.", min=1, max=65535)] = 8000,
    media_root: Annotated[
        Path | None,
        typer.Option(help="The only folder paths and file:// URLs may name (default: refused)."),
    ] = None,
    max_model_len: Annotated[
        int | None, typer.Option(help="Context length the engine runs with (vLLM's flag).", min=1)
    ] = None,
    max_body_mb: Annotated[float, typer.Option(help="Largest request body, MiB.", min=0.001)] = (
        _DEFAULT.max_body_bytes / 2**20
    ),
    max_media_items: Annotated[
        int, typer.Option(help="Most media parts per request.", min=0)
    ] = _DEFAULT.max_media_items,
    max_pixels: Annotated[
        int, typer.Option(help="Most pixels of one image or video frame (header).", min=1)
    ] = _DEFAULT.max_pixels,
    max_duration: Annotated[
        float, typer.Option(help="Longest video or audio item, seconds (header).", min=0.001)
    ] = _DEFAULT.max_duration,
    workers: Annotated[int, typer.Option(help="Worker processes.", min=1)] = 1,
    max_concurrency: Annotated[
        int, typer.Option(help="Open connections per worker before answering 503.", min=1)
    ] = 64,
    log_level: Annotated[str, typer.Option(help="uvicorn log level.")] = "info",
) -> None:
    """Serve POST /tokenize (vLLM's shape) and /v1/plan, GET /health and /metrics."""
    try:
        from uvicorn.config import LOG_LEVELS

        from mmtok.serve.app import create_app
    except ImportError as exc:
        fail(f"mmtok serve needs the serve extra ({exc}): pip install 'mmtok[serve]'")
    if log_level.lower() not in LOG_LEVELS:
        fail(f"--log-level {log_level!r}: expected one of {', '.join(LOG_LEVELS)}")

    config = ServeConfig(
        profile=profile,
        tokenizer=str(tokenizer) if tokenizer else None,
        media_root=str(media_root) if media_root else None,
        max_model_len=max_model_len,
        max_body_bytes=int(max_body_mb * 2**20),
        max_media_items=max_media_items,
        max_pixels=max_pixels,
        max_duration=max_duration,
    )
    try:
        application = create_app(config)  # a bad profile, tokenizer or root fails here, once
    except MmtokError as exc:
        fail_on(exc)
    import uvicorn

    options = dict(
        host=host,
        port=port,
        log_level=log_level,
        limit_concurrency=max_concurrency,
        timeout_graceful_shutdown=30,
    )
    if workers == 1:
        uvicorn.run(application, **options)
        return
    from uvicorn.supervisors import Multiprocess

    os.environ[ENV_VAR] = config.to_env()
    server = uvicorn.Config(
        "mmtok.serve.app:app_from_env", factory=True, workers=workers, **options
    )
    sock = server.bind_socket()
    # uvicorn binds this socket with protocol 0, so asyncio in its workers leaves Nagle on for
    # the connections they accept, and every answer waits ~40 ms for the client's delayed ACK
    # (measured: 44 ms for /health). Accepted sockets inherit TCP_NODELAY from the listener.
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    Multiprocess(server, sockets=[sock]).run()
