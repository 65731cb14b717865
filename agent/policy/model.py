"""The offline backend: a rule-driven policy behind LangChain's chat-model interface.

It is a real policy, not a stub: from the classifier's labels, slots filled over the turns and
what was already tried, it calls the same tools an LLM would (account-scoped by the server), and
answers extractively from tool results and retrieved passages with their sources; when retrieval
is weak it says so and offers a human. Because it is a ``BaseChatModel`` with ``bind_tools``,
the graph cannot tell it from an OpenAI-compatible model, and every test of the graph with it
exercises the production path.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage, ToolMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from pydantic import Field

from agent.policy.compose import compose
from agent.policy.decide import TurnView, decide


class OfflinePolicyModel(BaseChatModel):
    tool_names: frozenset[str] = Field(default_factory=frozenset)

    @property
    def _llm_type(self) -> str:
        return "warmline-offline-policy"

    def bind_tools(self, tools: Sequence[Any], **kwargs: Any) -> OfflinePolicyModel:
        names = frozenset(getattr(tool, "name", None) or getattr(tool, "__name__", "") for tool in tools)
        return self.model_copy(update={"tool_names": names})

    def _generate(
        self, messages: list[BaseMessage], stop: Any = None, run_manager: Any = None, **kwargs: Any
    ) -> ChatResult:
        return ChatResult(generations=[ChatGeneration(message=self.step(messages))])

    async def _agenerate(
        self, messages: list[BaseMessage], stop: Any = None, run_manager: Any = None, **kwargs: Any
    ) -> ChatResult:
        return self._generate(messages)

    def step(self, messages: list[BaseMessage]) -> AIMessage:
        policy = (
            next((m.additional_kwargs.get("policy") for m in messages if isinstance(m, SystemMessage)), None)
            or {}
        )
        last_human = max((i for i, m in enumerate(messages) if isinstance(m, HumanMessage)), default=-1)
        if last_human < 0:
            return AIMessage("您好，请问有什么可以帮您？")
        turn = messages[last_human + 1 :]
        labels = policy.get("labels") or {}
        view = TurnView(
            text=str(messages[last_human].content),
            category=labels.get("category", "other"),
            urgency=labels.get("urgency", "normal"),
            emotion=labels.get("emotion", "neutral"),
            bound=bool(policy.get("bound")),
            resident_texts=[str(m.content) for m in messages if isinstance(m, HumanMessage)],
            previous_acts=[
                m.additional_kwargs["policy_act"]
                for m in messages[:last_human]
                if isinstance(m, AIMessage) and "policy_act" in m.additional_kwargs
            ],
            available_tools=set(self.tool_names),
        )
        calls = [m for m in turn if isinstance(m, AIMessage) and m.tool_calls]
        if calls:
            act = calls[-1].additional_kwargs.get("policy_act", "kb_answer")
            results = [m for m in turn if isinstance(m, ToolMessage)]
            reply = compose(act, results, question=view.text, slots=view.slots, urgency=view.urgency)
            return _with_empathy(reply, view)
        act = decide(view)
        if act.tool and act.tool in self.tool_names:
            # The id keys write tools' idempotency: one per resident message and act, stable on resume.
            message_id = messages[last_human].id or uuid.uuid4().hex
            call = {"name": act.tool, "args": act.args, "id": f"{message_id}:{act.name}", "type": "tool_call"}
            return AIMessage("", tool_calls=[call], additional_kwargs={"policy_act": act.name})
        if act.tool:  # the backend was built without that tool: say so rather than pretend
            return AIMessage(
                "这项服务暂时无法在线办理，请拨打客服热线或回复“转人工”。",
                additional_kwargs={"policy_act": act.name, "unanswered": True},
            )
        return _with_empathy(AIMessage(act.reply or "", additional_kwargs={"policy_act": act.name}), view)


_EMPATHY = {
    "angry": "非常抱歉给您添麻烦了，您的心情我完全理解。",
    "dissatisfied": "抱歉让您久等了。",
    "anxious": "您别着急，我这就帮您处理。",
}


def _with_empathy(message: AIMessage, view: TurnView) -> AIMessage:
    opener = _EMPATHY.get(view.emotion)
    if not opener or not message.content:
        return message
    return AIMessage(opener + str(message.content), additional_kwargs=message.additional_kwargs)
