"""``mmtok serve``: token counts and admission plans for multimodal gateways, over HTTP.

A gateway in front of vLLM/SGLang POSTs the chat-completions body it is about to forward and
gets the exact token count (``/tokenize``, vLLM's shape) or a plan with the fitted request
(``/v1/plan``), from media headers only. :mod:`~mmtok.serve.service` is the logic (plain
dicts in and out), :mod:`~mmtok.serve.app` the ASGI app, :mod:`~mmtok.serve.body` the
request-body rules and limits, :mod:`~mmtok.serve.metrics` the Prometheus counters.
"""

from __future__ import annotations

from mmtok.serve.config import ServeConfig

__all__ = ["ServeConfig"]
