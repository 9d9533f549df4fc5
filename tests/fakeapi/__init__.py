"""A fake OpenAI Images API for tests: real HTTP on 127.0.0.1, in its own thread and event loop."""

from .server import FAILURE_KINDS, FakeImagesAPI, RecordedRequest

__all__ = ["FAILURE_KINDS", "FakeImagesAPI", "RecordedRequest"]
