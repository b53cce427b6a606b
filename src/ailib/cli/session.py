"""One ``ailib chat`` conversation: the client, the history, the tool loop and the totals.

Shared by the one-shot command and the interactive mode. Mock models (``mock/*``)
without ``--base-url`` get a loopback mock server started here.

Example::

    session = ChatSession(ChatSettings(model="mock/echo", stream=True))
    session.ask("Hello")             # prints the answer; history grows by two messages
    session.totals.input_tokens
    session.close()
"""

from __future__ import annotations

import base64
import enum
import json
import sys
from typing import IO, TYPE_CHECKING, Any

import attrs

from ailib.cli.terminal import CommandError, clean, json_line

if TYPE_CHECKING:
    from ailib import AiClient
    from ailib.cli.tools_file import ToolFile
    from ailib.testing import MockServer
    from ailib.types.events import StreamEvent
    from ailib.types.messages import Message
    from ailib.types.response import ChatResponse
    from ailib.types.tools import ToolCall

#: tool rounds one question may take before the command gives up
MAX_TOOL_ROUNDS = 10


@attrs.define
class ChatSettings:
    """What the command line asked for (``ailib chat --help``).

    Example::

        ChatSettings(model="openai/gpt-4o", stream=False, usage=True, fallbacks=["mock/echo"])
    """

    model: str
    system: str | None = None
    stream: bool = True
    json: bool = False
    usage: bool = False
    temperature: float | None = None
    max_tokens: int | None = None
    reasoning: str | int | None = None
    fallbacks: list[str] = attrs.field(factory=list)
    base_url: str | None = None
    api_key: str | None = attrs.field(default=None, repr=False)
    tools: ToolFile | None = None


@attrs.define
class Totals:
    """Tokens and cost of a session so far (``/cost``).

    Example::

        totals.add(response)
        totals.describe()   # "tokens in=12 out=30 total=42 · cost $0.000150"
    """

    calls: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cost: float = 0.0
    currency: str = "USD"
    unpriced: bool = False  # some call's model had no price
    _priced: bool = False  # some call had a price: ``currency`` is its currency
    #: costs in currencies other than ``currency`` (models of several providers): never summed
    other_costs: dict[str, float] = attrs.field(factory=dict)

    def add(self, response: ChatResponse) -> None:
        self.calls += 1
        self.input_tokens += response.usage.input_tokens
        self.output_tokens += response.usage.output_tokens
        if response.cost is None:
            self.unpriced = True
        elif response.cost.currency == self.currency or not self._priced:
            self.cost += response.cost.total_cost
            self.currency = response.cost.currency
            self._priced = True
        else:
            spent = self.other_costs.get(response.cost.currency, 0.0)
            self.other_costs[response.cost.currency] = spent + response.cost.total_cost

    def describe(self) -> str:
        """``tokens in=12 out=30 total=42 · cost $0.000150`` (or ``cost unknown``)."""
        total = self.input_tokens + self.output_tokens
        price = "cost unknown (no price)" if self.unpriced else f"cost ${self.cost:.6f}"
        if self.currency != "USD":
            price += f" {self.currency}"
        for currency, spent in sorted(self.other_costs.items()):
            price += f" + {spent:.6f} {currency}"
        text = f"tokens in={self.input_tokens} out={self.output_tokens} total={total} · {price}"
        return clean(text)  # the currency is manifest text: no control character goes raw


class ToolRoundsExceeded(CommandError):
    """The model kept asking for tools past :data:`MAX_TOOL_ROUNDS` (exit 1)."""


class ChatSession:
    """A conversation with one model at a time.

    Example::

        session = ChatSession(ChatSettings(model="mock/echo"))
        session.ask("Hello")               # printed as it streams
        session.switch_model("mock/tools")  # the history is kept
        session.close()                     # the client, and the mock server it started
    """

    def __init__(self, settings: ChatSettings, *, out: IO[str] | None = None) -> None:
        self.settings = settings
        self.out = out or sys.stdout
        self.err = sys.stderr
        self.history: list[Message] = []
        self.totals = Totals()
        self._client: AiClient | None = None
        self._server: MockServer | None = None
        self._home = _provider(settings.model)  # --base-url and --api-key belong to it
        self.key_names: tuple[str, ...] = ()
        self._partial = ""  # the answer streamed so far (kept when Ctrl-C stops it)
        self._turn_responses: list[ChatResponse] = []  # this question's calls (tool rounds)
        self._round_start = 0  # where the history of the current tool round starts

    # ---- the client ----------------------------------------------------------------

    @property
    def model(self) -> str:
        return self.settings.model

    def client(self) -> AiClient:
        """The client of the current model (built on first use)."""
        if self._client is None:
            self._client = self._build(self.settings.model)
        return self._client

    def switch_model(self, model: str) -> None:
        """Talk to ``model`` from the next question on; the history is kept."""
        client = self._build(model)  # raises, keeping the current one, when it cannot
        if self._client is not None:
            self._client.close()
        self._client, self.settings.model = client, model

    def _mock_url(self) -> str:
        if self._server is None:
            from ailib.testing import MockServer

            self._server = MockServer().start()
        return self._server.base_url("mock")

    def _build(self, model: str) -> AiClient:
        from ailib import AiClient
        from ailib.resilience.fallback import FallbackTarget

        provider = _provider(model)
        builder = AiClient.builder().model(model)
        if provider == self._home and self.settings.base_url is not None:
            builder = builder.base_url(self.settings.base_url)
        elif provider == "mock":
            builder = builder.base_url(self._mock_url())
        if provider == self._home and self.settings.api_key:
            builder = builder.api_key(self.settings.api_key)
        targets = []
        for fallback in self.settings.fallbacks:
            other = _provider(fallback)
            url = self._mock_url() if other == "mock" and other != provider else None
            targets.append(FallbackTarget(fallback, base_url=url))
        if targets:
            builder = builder.with_fallbacks(targets)
        client = builder.build()
        self.key_names = tuple(client.provider.spec.manifest.token_env)
        return client

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None
        if self._server is not None:
            self._server.stop()
            self._server = None

    # ---- one question --------------------------------------------------------------

    def ask(self, prompt: str) -> ChatResponse:
        """Send ``prompt`` with the history, run the tools the model calls, print the answer.

        Ctrl-C (KeyboardInterrupt) closes the stream and is re-raised; the history keeps
        the question and the partial answer (nothing of the turn when nothing came back).
        Any other failure leaves the history as it was before the question.
        """
        from ailib.types.messages import Message

        start = len(self.history)
        self.history.append(Message.user(prompt))
        self._partial = ""
        self._round_start = start + 1
        try:
            response = self._tool_loop()
        except KeyboardInterrupt:
            del self.history[self._round_start :]  # a tool round stopped midway goes
            if self._partial:
                self.history.append(Message.assistant(self._partial))
            elif len(self.history) == start + 1:
                del self.history[start:]
            raise
        except BaseException:
            del self.history[start:]
            if self._partial and not self.settings.json:
                self._write("\n")  # the error line goes below the partial answer
            raise
        if self.settings.json:
            print(json_line(response_json(response)), file=self.out, flush=True)
        if self.settings.usage:
            served = f" · {response.served_by}" if response.served_by else ""
            turn = Totals()
            for item in self._turn_responses:
                turn.add(item)
            print(f"[{turn.describe()}{clean(served)}]", file=self.err, flush=True)
        return response

    def _tool_loop(self) -> ChatResponse:
        from ailib.types.messages import Message

        tools = self.settings.tools
        self._turn_responses = []
        for _ in range(MAX_TOOL_ROUNDS + 1):
            self._partial = ""
            self._round_start = len(self.history)
            response = self._call()
            self._turn_responses.append(response)
            self.totals.add(response)
            self.history.append(response.to_message())
            if tools is None or not response.tool_calls:
                return response
            for call in response.tool_calls:
                result = tools.run(call)
                self._show_tool(call, result)
                self.history.append(Message.tool(call.id, _jsonable(result)))
        raise ToolRoundsExceeded(
            f"the model still asked for tools after {MAX_TOOL_ROUNDS} rounds; stopped"
        )

    def _call(self) -> ChatResponse:
        s = self.settings
        builder = self.client().chat()
        if s.system:
            builder = builder.system(s.system)
        builder = builder.messages(self.history)
        if s.tools is not None:
            builder = builder.tools(s.tools.definitions)
        if s.temperature is not None:
            builder = builder.temperature(s.temperature)
        if s.max_tokens is not None:
            builder = builder.max_tokens(s.max_tokens)
        if s.reasoning is not None:
            builder = builder.reasoning(s.reasoning)
        if not s.stream:
            response = builder.execute()
            if not s.json and (response.content or response.refusal):
                self._write(response.content or response.refusal or "")
                self._write("\n")
            return response
        with builder.stream() as stream:
            for event in stream:
                self._show_event(event)
            response = stream.final_response()
        if self._partial and not s.json:
            self._write("\n")
        return response

    # ---- output --------------------------------------------------------------------

    def _write(self, text: str) -> None:
        self.out.write(clean(text, keep_lines=True))
        self.out.flush()

    def _show_event(self, event: StreamEvent) -> None:
        text = ""
        if event.is_content_delta:
            text = event.as_content_delta.content
        elif event.is_refusal_delta:
            text = event.as_refusal_delta.refusal
        self._partial += text
        if self.settings.json:
            print(json_line(event_json(event)), file=self.out, flush=True)
        elif text:
            self._write(text)

    def _show_tool(self, call: ToolCall, result: Any) -> None:
        if self.settings.json:
            if not self.settings.stream:
                return  # --no-stream --json: the final response object only
            shown: dict[str, Any] = {
                "type": "tool_result",
                "id": call.id,
                "name": call.function_name,
                "arguments": call.arguments,
                "result": _jsonable(result),
            }
            print(json_line(shown), file=self.out, flush=True)
            return
        args = json.dumps(call.arguments, ensure_ascii=False, default=str)
        outcome = json.dumps(_jsonable(result), ensure_ascii=False, default=str)
        print(clean(f"[tool {call.function_name}({args}) -> {outcome[:300]}]"), file=self.err)


def _provider(model: str) -> str:
    return model.partition("/")[0].lower()


def _jsonable(value: Any) -> Any:
    """``value`` if JSON can carry it, else its text."""
    try:
        json.dumps(value)
    except (TypeError, ValueError):
        return str(value)
    return value


def _serialize(_inst: Any, _field: Any, value: Any) -> Any:
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    if isinstance(value, enum.Enum):
        return value.value
    return value


def event_json(event: StreamEvent) -> dict[str, Any]:
    """A stream event as a JSON object: ``{"type": "content_delta", "content": "Hi", ...}``.

    Bytes (audio) are base64; the partial structured values are left out.
    """
    fields = attrs.asdict(
        event, recurse=True, filter=lambda a, _v: a.eq is not False, value_serializer=_serialize
    )
    return {"type": event.kind, **fields}


def response_json(response: ChatResponse) -> dict[str, Any]:
    """The final answer as a JSON object, with its usage and cost."""
    cost = response.cost
    return {
        "type": "response",
        "content": response.content,
        "reasoning": response.reasoning,
        "refusal": response.refusal,
        "tool_calls": [
            {"id": c.id, "name": c.function_name, "arguments": c.arguments}
            for c in response.tool_calls
        ],
        "finish_reason": response.finish_reason,
        "usage": attrs.asdict(response.usage),
        "cost": None
        if cost is None
        else {
            "total": cost.total_cost,
            "input": cost.input_cost,
            "output": cost.output_cost,
            "currency": cost.currency,
        },
        "model": response.model,
        "served_by": response.served_by,
        "request_id": response.request_id,
    }
