"""LLM-judged ragas context metrics for ``warmline eval kb``, run only when an OpenAI-compatible
model is configured (WARMLINE_LLM_BASE_URL). The reference each judgement reads is the question's
key facts, so the judge decides whether the top-3 passages support them."""

from __future__ import annotations

import asyncio
import os
import warnings
from typing import Any

from evals.kb_eval import QaItem
from kb.retriever import KnowledgeBase

SAMPLE = 40  # questions judged per run: LLM calls are the slow, paid part


def judge(kb: KnowledgeBase, items: list[QaItem], results: dict[str, Any]) -> None:
    """Adds llm_context_precision / llm_context_recall to results["all"] (or an error note)."""
    from langchain_openai import ChatOpenAI

    from tools.settings import Settings

    os.environ.setdefault("RAGAS_DO_NOT_TRACK", "true")
    settings = Settings()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ragas 0.4 deprecation notices on these imports
        from ragas import SingleTurnSample
        from ragas.llms import LangchainLLMWrapper
        from ragas.metrics import LLMContextPrecisionWithReference, LLMContextRecall

        llm = LangchainLLMWrapper(
            ChatOpenAI(
                base_url=settings.llm_base_url,
                api_key=settings.llm_api_key.get_secret_value() if settings.llm_api_key else "none",
                model=settings.llm_model,
                timeout=settings.llm_timeout_s,
                temperature=0,
            )
        )
        metrics = {
            "llm_context_precision": LLMContextPrecisionWithReference(llm=llm),
            "llm_context_recall": LLMContextRecall(llm=llm),
        }
        chosen = [item for item in items if item.answerable and item.facts][:SAMPLE]

        async def score() -> dict[str, float]:
            totals = dict.fromkeys(metrics, 0.0)
            for item in chosen:
                result = kb.search(item.question, scope=item.scope(), k=3)
                sample = SingleTurnSample(
                    user_input=item.question,
                    retrieved_contexts=[passage.text for passage in result.passages],
                    reference="；".join(item.facts),
                )
                for name, metric in metrics.items():
                    totals[name] += float(await metric.single_turn_ascore(sample))
            return {name: total / (len(chosen) or 1) for name, total in totals.items()}

        try:
            results["all"].update(asyncio.run(score()))
        except Exception as error:  # a flaky or incompatible model must not sink the offline metrics
            results["llm_judge_error"] = f"{type(error).__name__}: {error}"
