"""``make_chat_model(settings)``: an OpenAI-compatible endpoint when configured, else the offline policy.

Any server speaking the OpenAI chat API with tool calls works (Qwen, DeepSeek, GLM, vLLM, Ollama,
llama.cpp server): set ``WARMLINE_LLM_BASE_URL``, ``WARMLINE_LLM_MODEL`` and, if needed,
``WARMLINE_LLM_API_KEY``. ``max_tokens`` is also sent in ``extra_body`` because some local servers
ignore ``max_completion_tokens``, which is what langchain-openai sends.
"""

from __future__ import annotations

import httpx
from langchain_core.language_models import BaseChatModel

from agent.policy.model import OfflinePolicyModel
from tools.settings import Settings

MAX_REPLY_TOKENS = 512


def model_outage_errors() -> tuple[type[BaseException], ...]:
    """What an unreachable, overloaded or slow endpoint raises: the offline policy answers instead.

    Anything else (a bug in our code, a malformed tool call we built) is not an outage and still
    propagates, so the fallback cannot hide it.
    """
    errors: list[type[BaseException]] = [TimeoutError, ConnectionError, httpx.HTTPError]
    try:
        import openai
    except ImportError:  # pragma: no cover - langchain-openai brings it
        return tuple(errors)
    return (*errors, openai.APIError)


def make_fallback_model(model: BaseChatModel) -> BaseChatModel | None:
    """The offline policy stands in when a configured endpoint fails; it is itself the default."""
    return None if isinstance(model, OfflinePolicyModel) else OfflinePolicyModel()


def make_chat_model(settings: Settings) -> BaseChatModel:
    if not settings.llm_base_url:
        return OfflinePolicyModel()
    from langchain_openai import ChatOpenAI

    return ChatOpenAI(
        model=settings.llm_model,
        base_url=settings.llm_base_url,
        api_key=settings.llm_api_key.get_secret_value() if settings.llm_api_key else "not-needed",
        temperature=0.2,
        timeout=settings.llm_timeout_s,
        max_retries=1,
        extra_body={"max_tokens": MAX_REPLY_TOKENS},
    )
