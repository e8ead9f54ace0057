"""Request bodies: the size limit, JSON, and which chat-completions keys change the prompt.

A gateway posts the body it forwards to vLLM. Keys that shape only the answer (sampling,
streaming, output format) cannot change the prompt's tokens and are ignored; keys that do
change it in ways mmtok does not model (tools, a custom chat template, template kwargs) are
refused when set, so a count is exact or an error, never silently wrong.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Mapping
from typing import Any

from mmtok.errors import LimitExceededError, RequestError

# Chat-completions / vLLM keys that shape the answer, never the prompt's tokens.
GENERATION_KEYS = frozenset(
    {
        "best_of", "frequency_penalty", "ignore_eos", "include_stop_str_in_output",
        "length_penalty", "logit_bias", "logprobs", "max_completion_tokens", "max_tokens",
        "metadata", "min_p", "min_tokens", "n", "parallel_tool_calls", "presence_penalty",
        "priority", "prompt_logprobs", "repetition_penalty", "request_id", "response_format",
        "seed", "service_tier", "skip_special_tokens", "spaces_between_special_tokens", "stop",
        "stop_token_ids", "store", "stream", "stream_options", "structured_outputs",
        "temperature", "tool_choice", "top_k", "top_logprobs", "top_p", "user",
    }
)  # fmt: skip
# Keys that would change the prompt in ways mmtok does not model: refused unless unset/empty.
UNMODELLED_KEYS = frozenset(
    {
        "add_special_tokens", "chat_template", "chat_template_kwargs", "continue_final_message",
        "documents", "mm_processor_kwargs", "reasoning_effort", "tools",
    }
)  # fmt: skip


async def read_body(chunks: AsyncIterator[bytes], declared: str | None, limit: int) -> bytes:
    """The whole body, refused with :class:`LimitExceededError` as soon as it (or its
    ``Content-Length``) passes ``limit`` bytes — before the rest is read."""
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise LimitExceededError(
            f"body of {int(declared):,} bytes is over the {limit:,}-byte limit"
        )
    parts, size = [], 0
    async for chunk in chunks:
        size += len(chunk)
        if size > limit:
            raise LimitExceededError(f"body is over the {limit:,}-byte limit")
        parts.append(chunk)
    return b"".join(parts)


def parse_json(raw: bytes) -> dict[str, Any]:
    """The body as a JSON object, or a :class:`RequestError` saying why not."""
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError) as exc:
        raise RequestError(f"body is not valid JSON ({exc})") from None
    if not isinstance(data, dict):
        raise RequestError(f"body must be a JSON object, not {type(data).__name__}")
    return data


def split_body(body: Mapping[str, Any], options: frozenset[str]) -> tuple[dict[str, Any], dict]:
    """``(request, endpoint options)``: ``options`` keys go to the endpoint, generation keys are
    dropped, unmodelled keys that are set are refused; the rest is the request itself."""
    for key in sorted(UNMODELLED_KEYS & body.keys()):
        if body[key]:
            raise RequestError(
                f"{key}: {body[key]!r} changes the prompt in a way mmtok does not model; "
                "leave it unset to count with the model's own chat template"
            )
    request = {
        k: v
        for k, v in body.items()
        if k not in options and k not in GENERATION_KEYS and k not in UNMODELLED_KEYS
    }
    return request, {k: body[k] for k in options & body.keys()}
