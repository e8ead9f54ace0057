"""A request back to JSON: what ``mmtok plan --fit --out`` writes for vLLM, transformers or mmtok.

Media paths are written absolute (the JSON may land in another folder than the request it came
from), in-memory media as ``data:`` URLs, per-item options (``max_pixels``, ``fps``, …) beside
their locator. A dropped item is left out of its message; in the prompt form, where removing
its placeholder would join the text around it, it stays, marked ``"drop": true``.
``parse_request(request_to_json(r))`` is ``r`` (up to absolute paths and removed drops).
"""

from __future__ import annotations

import base64
from typing import Any

from mmtok.fusion.request import MediaPart, Message, Request, TextPart


def _part(part: TextPart | MediaPart) -> dict[str, Any]:
    if isinstance(part, TextPart):
        return {"type": "text", "text": part.text}
    out: dict[str, Any] = {"type": part.type}
    if part.path is not None:
        out["path"] = str(part.path.resolve())
    else:
        assert part.data is not None
        out["url"] = "data:;base64," + base64.b64encode(part.data).decode("ascii")
    options = part.model_dump(mode="json", exclude_defaults=True, exclude={"type", "path"})
    return {**out, **options}


def _message(message: Message) -> dict[str, Any]:
    if isinstance(message.content, str):
        return {"role": message.role, "content": message.content}
    kept = [p for p in message.content if isinstance(p, TextPart) or not p.drop]
    return {"role": message.role, "content": [_part(p) for p in kept]}


def request_to_json(request: Request) -> dict[str, Any]:
    """``request`` as plain JSON data (see the module docstring)."""
    out: dict[str, Any] = {k: v for k in ("model", "id") if (v := getattr(request, k))}
    if request.messages is not None:
        out["messages"] = [_message(m) for m in request.messages]
    else:
        out["prompt"] = request.prompt
        out["media"] = [_part(p) for p in request.media]
    if request.labels:
        out["labels"] = True
    if not request.add_generation_prompt:
        out["add_generation_prompt"] = False
    return out
