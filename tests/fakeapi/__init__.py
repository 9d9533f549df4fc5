"""A fake OpenAI Images API for tests: real HTTP on 127.0.0.1, in its own thread and event loop.

``FakeImagesAPI`` is the server; ``check_request`` runs the same checks without HTTP; ``CATALOG`` is
the fake's own table of what each model id accepts (written from the reference, not from the bot).
"""

from .catalog import CATALOG, ModelCaps
from .recording import RecordedRequest
from .rules import check_request
from .server import FAILURE_KINDS, FakeImagesAPI

__all__ = ["CATALOG", "FAILURE_KINDS", "FakeImagesAPI", "ModelCaps", "RecordedRequest", "check_request"]
