"""The stream operators a provider manifest describes, as one object (the seed's
``Pipeline.from_manifest(manifest)``).

A provider's manifest names its stream format, done signal, event map and finish-reason
mapping; the client builds these operators per stream. :class:`Pipeline` exposes the
same chain for offline use (decoding a recorded stream, testing a new manifest):
decoder (framing) -> frames (JSON, done signal) -> event map -> assembler.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ailib.pipeline.assemble import Assembler
from ailib.pipeline.decoders import make_decoder
from ailib.pipeline.frames import FrameReader
from ailib.protocol.manifest import Manifest
from ailib.runtime.classify import stream_error
from ailib.runtime.limits import DEFAULT_LIMITS, Limits
from ailib.runtime.spec import ProviderSpec
from ailib.types.events import StreamEvent

__all__ = ["Pipeline"]


class Pipeline:
    """Decoder -> frames -> event map -> assembler, built from a provider manifest.

    Example::

        from ailib.pipeline import Pipeline
        from ailib.protocol import ProtocolLoader

        pipeline = Pipeline.from_manifest(ProtocolLoader().get("openai").manifest)
        events = pipeline.decode([
            b'data: {"choices": [{"index": 0, "delta": {"content": "Hi"}}]}\\n\\n',
            b"data: [DONE]\\n\\n",
        ])
        print(pipeline.operators, [e.as_content_delta.content for e in events
                                   if e.is_content_delta])
    """

    def __init__(self, spec: ProviderSpec, limits: Limits = DEFAULT_LIMITS) -> None:
        self.spec = spec
        self.limits = limits
        self._decoder_config: dict[str, Any] = dict(spec.manifest.streaming.get("decoder", {}))
        self.format: str = self._decoder_config.get("format", "sse")
        make_decoder(self.format, limits)  # an unknown format fails here, not mid-stream

    @classmethod
    def from_manifest(cls, manifest: Manifest, limits: Limits = DEFAULT_LIMITS) -> Pipeline:
        """The operators ``manifest`` describes (interpreted: no generated module needed)."""
        if not isinstance(manifest, Manifest):
            raise TypeError(
                f"Pipeline.from_manifest needs an ailib Manifest (e.g. "
                f"ProtocolLoader().get('openai').manifest), got {type(manifest).__name__}"
            )
        return cls(ProviderSpec.interpreted(manifest), limits)

    @property
    def operators(self) -> tuple[str, ...]:
        """The chain, in order, e.g. ``("decoder(sse)", "frames(done=[DONE])", ...)``."""
        done = self._decoder_config.get("done_signal")
        return (
            f"decoder({self.format})",
            f"frames(done={done})" if done else "frames",
            f"event_map({self.spec.id})",
            "assembler",
        )

    def __repr__(self) -> str:
        return f"Pipeline({' -> '.join(self.operators)})"

    def decode(self, chunks: Iterable[bytes], *, model: str | None = None) -> list[StreamEvent]:
        """The events of one whole recorded stream (``chunks``: its bytes, in any pieces).

        An error event in the stream raises the typed :class:`~ailib.errors.RemoteError`;
        bytes that do not decode raise :class:`~ailib.errors.StreamDecodeError`.
        """
        spec = self.spec
        decoder = make_decoder(self.format, self.limits)
        frames = FrameReader(self._decoder_config, self.limits)
        assembler = Assembler(
            spec.manifest.termination, lambda fields: stream_error(spec.errors, fields), model
        )
        events: list[StreamEvent] = []
        for chunk in [*chunks, None]:
            decoded = decoder.flush() if chunk is None else decoder.feed(chunk)
            for frame in frames.frames(decoded, decoder.bytes_seen):
                events += assembler.feed(spec.map_stream(frame))
        return events + assembler.finish()
