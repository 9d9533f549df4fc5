"""Fixtures for the fake's own tests: the session's fake (reset around each test) and a client."""

from __future__ import annotations

from collections.abc import Iterator

import aiohttp
import pytest

from tests.fakeapi import FakeImagesAPI


@pytest.fixture
def fake(fake_api: FakeImagesAPI) -> Iterator[FakeImagesAPI]:
    """The session's fake, reset; these tests send invalid requests on purpose."""
    fake_api.reset()
    yield fake_api
    fake_api.reset()


@pytest.fixture
async def http() -> aiohttp.ClientSession:
    async with aiohttp.ClientSession() as session:
        yield session
