"""The Images client against the fake API over real HTTP on 127.0.0.1."""

from __future__ import annotations

import asyncio
import base64
import io
import json
import logging
import threading

import pytest
from PIL import Image

from bot.images import (
    APIConnectionError,
    APITimeout,
    AuthenticationFailed,
    BadResponse,
    EditRequest,
    GenerateRequest,
    ImageOptions,
    ImagesAPIError,
    ImagesClient,
    InputImage,
    InvalidRequest,
    ModelNotFound,
    OutOfCredit,
    PermissionDenied,
    RateLimited,
    SafetyRejected,
    ServerError,
    UnknownModel,
    VariationRequest,
)
from bot.images import client as client_module
from bot.images.response import parse_images_body
from tests.fakeapi import FakeImagesAPI


@pytest.fixture
def fake(api: FakeImagesAPI) -> FakeImagesAPI:
    """The session's fake, reset; the test fails if the client sent a request the real API refuses."""
    return api


class SleepRecorder:
    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, delay: float) -> None:
        self.delays.append(delay)


@pytest.fixture
def sleeps() -> SleepRecorder:
    return SleepRecorder()


@pytest.fixture
async def make_client(fake: FakeImagesAPI, sleeps: SleepRecorder):
    clients: list[ImagesClient] = []

    def make(**kwargs) -> ImagesClient:
        options = {
            "api_key": fake.api_key,
            "base_url": fake.base_url,
            "random": lambda: 0.5,
            "sleep": sleeps,
            "timeout": 5.0,
            **kwargs,
        }
        client = ImagesClient(**options)
        clients.append(client)
        return client

    yield make
    for client in clients:
        await client.aclose()


@pytest.fixture
def client(make_client) -> ImagesClient:
    return make_client()


def png(width: int, height: int, *, alpha: bool = False, colour=(10, 200, 30)) -> bytes:
    image = Image.new("RGBA" if alpha else "RGB", (width, height), (*colour, 0) if alpha else colour)
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def dims(data: bytes) -> tuple[str, int, int]:
    with Image.open(io.BytesIO(data)) as image:
        return (image.format or "").lower(), image.width, image.height


# -- successful calls --------------------------------------------------------------------------------


async def test_generate_gpt_image_2_sends_exactly_the_accepted_fields(client, fake) -> None:
    result = await client.generate(
        GenerateRequest(
            model="gpt-image-2",
            prompt="a lighthouse at dusk",
            n=2,
            user="u-hash",
            options=ImageOptions(
                size="1536 × 864",
                quality="low",
                style="vivid",  # not a gpt-image option: must not be sent
                background="opaque",
                output_format="webp",
            ),
        )
    )
    [request] = fake.requests
    assert request.path == "/v1/images/generations"
    assert request.json == {
        "model": "gpt-image-2",
        "prompt": "a lighthouse at dusk",
        "n": 2,
        "size": "1536x864",
        "quality": "low",
        "background": "opaque",
        "output_format": "webp",
        "user": "u-hash",
    }
    assert [image.format for image in result.images] == ["webp", "webp"]
    assert [dims(image.data) for image in result.images] == [("webp", 1536, 864)] * 2
    assert result.images[0].data != result.images[1].data
    assert result.size == "1536x864" and result.quality == "low"
    assert result.usage is not None and result.usage.output_tokens > 0
    assert result.usage.total_tokens == result.usage.input_tokens + result.usage.output_tokens
    assert result.usage.input_text_tokens is not None
    assert isinstance(result.created, int)
    assert result.rate_limit is not None and result.rate_limit.limit_requests == 500
    assert result.rate_limit.limit_tokens == 10_000_000 and 0 < result.rate_limit.reset_tokens <= 60
    assert result.request_id and result.request_id.startswith("req_")


async def test_generate_minimal_request_sends_no_defaults(client, fake) -> None:
    result = await client.generate(GenerateRequest(model="gpt-image-1", prompt="fox"))
    assert fake.requests[0].json == {"model": "gpt-image-1", "prompt": "fox", "n": 1}
    assert dims(result.images[0].data) == ("png", 1024, 1024)


async def test_generate_dalle3_asks_for_b64_and_returns_revised_prompt(client, fake) -> None:
    result = await client.generate(
        GenerateRequest(
            model="dall-e-3",
            prompt="a fox",
            options=ImageOptions(size="1792x1024", quality="hd", style="natural", output_format="png"),
        )
    )
    assert fake.requests[0].json == {
        "model": "dall-e-3",
        "prompt": "a fox",
        "n": 1,
        "size": "1792x1024",
        "quality": "hd",
        "style": "natural",
        "response_format": "b64_json",
    }
    [image] = result.images
    assert dims(image.data) == ("png", 1792, 1024)
    assert image.revised_prompt and "a fox" in image.revised_prompt
    assert result.usage is None
    assert fake.downloads == []


async def test_dalle3_refuses_n_above_one_without_a_request(client, fake) -> None:
    with pytest.raises(ValueError, match="request_batches"):
        await client.generate(GenerateRequest(model="dall-e-3", prompt="a fox", n=2))
    assert fake.requests == []


async def test_unknown_model_is_refused_locally(client, fake) -> None:
    with pytest.raises(UnknownModel):
        await client.generate(GenerateRequest(model="dall-e-4", prompt="a fox"))
    assert fake.requests == []


async def test_dalle2_generation_of_several_images(client, fake) -> None:
    result = await client.generate(
        GenerateRequest(model="dall-e-2", prompt="cat", n=3, options=ImageOptions(size="256x256"))
    )
    assert fake.requests[0].json["response_format"] == "b64_json"
    assert [dims(image.data) for image in result.images] == [("png", 256, 256)] * 3
    assert len({image.data for image in result.images}) == 3


async def test_edit_one_image(client, fake) -> None:
    source = InputImage(png(64, 48), "photo.png", "image/png")
    result = await client.edit(
        EditRequest(
            model="gpt-image-1",
            prompt="make it snow",
            images=(source,),
            user="u1",
            options=ImageOptions(quality="medium"),
        )
    )
    [request] = fake.requests
    assert request.path == "/v1/images/edits"
    assert request.json is None
    assert request.form == {
        "model": "gpt-image-1",
        "prompt": "make it snow",
        "n": "1",
        "quality": "medium",
        "user": "u1",
    }
    assert list(request.files) == ["image"]
    assert request.files["image"] == [("photo.png", "image/png", source.data)]
    assert request.headers["Content-Type"].startswith("multipart/form-data")
    assert len(result.images) == 1 and result.images[0].format == "png"


async def test_edit_several_images_with_mask(client, fake) -> None:
    images = tuple(InputImage(png(64, 64, colour=(i, i, i)), f"in{i}.png", "image/png") for i in range(3))
    mask = InputImage(png(64, 64, alpha=True), "mask.png", "image/png")
    result = await client.edit(
        EditRequest(
            model="gpt-image-2",
            prompt="a gift basket",
            images=images,
            mask=mask,
            n=2,
            options=ImageOptions(size="1024x1536", background="transparent", output_format="png"),
        )
    )
    [request] = fake.requests
    assert [entry[0] for entry in request.files["image[]"]] == ["in0.png", "in1.png", "in2.png"]
    assert request.files["mask"] == [("mask.png", "image/png", mask.data)]
    assert "image" not in request.files
    assert request.form == {
        "model": "gpt-image-2",
        "prompt": "a gift basket",
        "n": "2",
        "size": "1024x1536",
        "background": "transparent",
        "output_format": "png",
    }
    assert [dims(image.data) for image in result.images] == [("png", 1024, 1536)] * 2
    assert result.usage is not None and result.usage.input_image_tokens


async def test_edit_dalle2_square_png_and_mask(client, fake) -> None:
    source = InputImage(png(256, 256, alpha=True), "square.png", "image/png")
    mask = InputImage(png(256, 256, alpha=True), "mask.png", "image/png")
    result = await client.edit(
        EditRequest(
            model="dall-e-2",
            prompt="add a hat",
            images=(source,),
            mask=mask,
            n=2,
            options=ImageOptions(size="512x512"),
        )
    )
    request = fake.requests[0]
    assert request.form == {
        "model": "dall-e-2",
        "prompt": "add a hat",
        "n": "2",
        "size": "512x512",
        "response_format": "b64_json",
    }
    assert [dims(image.data) for image in result.images] == [("png", 512, 512)] * 2


async def test_edit_needs_an_image(client) -> None:
    with pytest.raises(ValueError):
        await client.edit(EditRequest(model="gpt-image-1", prompt="x", images=()))


async def test_variation(client, fake) -> None:
    image = InputImage(png(128, 128), "otter.png", "image/png")
    result = await client.vary(
        VariationRequest(model="dall-e-2", image=image, n=2, user="u2", options=ImageOptions(size="256x256"))
    )
    [request] = fake.requests
    assert request.path == "/v1/images/variations"
    assert request.form == {
        "model": "dall-e-2",
        "n": "2",
        "size": "256x256",
        "user": "u2",
        "response_format": "b64_json",
    }
    assert request.files == {"image": [("otter.png", "image/png", image.data)]}
    assert [dims(item.data) for item in result.images] == [("png", 256, 256)] * 2


async def test_big_bodies_are_parsed_off_the_event_loop(make_client, fake, monkeypatch) -> None:
    client = make_client(inline_parse_limit=0)
    threads: list[str] = []
    real_parse = client_module.parse_images_body

    def spy(*args, **kwargs):
        threads.append(threading.current_thread().name)
        return real_parse(*args, **kwargs)

    monkeypatch.setattr(client_module, "parse_images_body", spy)
    result = await client.generate(GenerateRequest(model="gpt-image-1", prompt="x", n=2))
    assert len(result.images) == 2
    assert threads and threads[0] != threading.main_thread().name


async def test_base_url_with_trailing_slash(make_client, fake) -> None:
    client = make_client(base_url=fake.base_url + "/")
    await client.generate(GenerateRequest(model="gpt-image-1", prompt="x"))
    assert fake.requests[0].path == "/v1/images/generations"


async def test_concurrent_calls_share_one_session(client, fake) -> None:
    results = await asyncio.gather(
        *(client.generate(GenerateRequest(model="gpt-image-1-mini", prompt=f"p{i}")) for i in range(5))
    )
    assert len(results) == 5 and len(fake.requests) == 5
    assert client.session is not None


# -- url results -------------------------------------------------------------------------------------


async def test_url_results_are_downloaded_without_the_key(client, fake) -> None:
    fake.url_results = True
    result = await client.generate(
        GenerateRequest(model="gpt-image-1.5", prompt="x", n=3, options=ImageOptions(output_format="jpeg"))
    )
    assert len(fake.downloads) == 3
    assert [image.format for image in result.images] == ["jpeg"] * 3
    assert all(dims(image.data) == ("jpeg", 1024, 1024) for image in result.images)
    # the fake records a validation error if a download carries an Authorization header (checked in teardown)


@pytest.mark.parametrize("chunked", [False, True])
async def test_too_large_url_result_is_a_bad_response(make_client, fake, chunked: bool) -> None:
    fake.url_results = True
    fake.url_chunked = chunked
    client = make_client(max_download_bytes=2_000)
    with pytest.raises(BadResponse) as info:
        await client.generate(
            GenerateRequest(model="dall-e-2", prompt="x", options=ImageOptions(size="512x512"))
        )
    assert "cap" in str(info.value)
    assert len(fake.requests) == 1  # not retried: a second generation would be billed again


def test_parse_images_body_refuses_unusable_bodies() -> None:
    def parse(payload) -> None:
        parse_images_body(json.dumps(payload).encode(), status=200, request_id="req_x")

    with pytest.raises(BadResponse, match="no images"):
        parse({"created": 1, "data": []})
    with pytest.raises(BadResponse, match="no images"):
        parse({"created": 1})
    with pytest.raises(BadResponse, match="neither"):
        parse({"data": [{"revised_prompt": "x"}]})
    with pytest.raises(BadResponse, match="not valid base64"):
        parse({"data": [{"b64_json": "!!!not base64!!!"}]})
    with pytest.raises(BadResponse, match="PNG, JPEG, WebP or GIF"):
        parse({"data": [{"b64_json": base64.b64encode(b"BM" + b"\x00" * 40).decode()}]})
    with pytest.raises(BadResponse, match="not a JSON object"):
        parse(["data"])
    ok = parse_images_body(
        json.dumps(
            {"data": [{"b64_json": base64.b64encode(png(2, 2)).decode()}], "usage": {"x": 1}}
        ).encode(),
        status=200,
        request_id=None,
    )
    assert ok.usage is None and ok.items[0].data is not None


# -- failures ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "expected", "status"),
    [
        ("rate_limit", RateLimited, 429),
        ("insufficient_quota", OutOfCredit, 429),
        ("billing_hard_limit", OutOfCredit, 429),
        ("content_policy", SafetyRejected, 400),
        ("moderation_blocked", SafetyRejected, 400),
        ("invalid_request", InvalidRequest, 400),
        ("auth", AuthenticationFailed, 401),
        ("forbidden", PermissionDenied, 403),
        ("model_not_found", ModelNotFound, 404),
        ("server_error", ServerError, 500),
        ("html_error", ServerError, 502),
        ("malformed_json", BadResponse, 200),
        ("truncated", APIConnectionError, None),
        ("drop", APIConnectionError, None),
    ],
)
async def test_failure_kinds_map_to_exceptions(make_client, fake, kind, expected, status) -> None:
    client = make_client(max_retries=0)
    fake.fail(kind)
    with pytest.raises(ImagesAPIError) as info:
        await client.generate(GenerateRequest(model="gpt-image-1", prompt="x"))
    assert type(info.value) is expected
    assert info.value.status == status
    assert len(fake.requests) == 1


async def test_safety_rejection_carries_the_system(make_client, fake) -> None:
    client = make_client()
    fake.fail("content_policy")
    with pytest.raises(SafetyRejected) as dalle:
        await client.generate(GenerateRequest(model="dall-e-3", prompt="x"))
    fake.fail("moderation_blocked")
    with pytest.raises(SafetyRejected) as gpt:
        await client.generate(GenerateRequest(model="gpt-image-1", prompt="x"))
    assert (dalle.value.system, gpt.value.system) == ("dall-e", "gpt-image")
    assert dalle.value.request_id and dalle.value.request_id.startswith("req_")
    assert len(fake.requests) == 2  # never retried


async def test_invalid_request_carries_param(make_client, fake) -> None:
    fake.fail("invalid_request")
    with pytest.raises(InvalidRequest) as info:
        await make_client().generate(GenerateRequest(model="gpt-image-1", prompt="x"))
    assert info.value.param == "prompt"


async def test_rate_limit_with_retry_after_is_honoured(client, fake, sleeps) -> None:
    fake.fail("rate_limit", times=2, retry_after=3)
    result = await client.generate(GenerateRequest(model="gpt-image-1", prompt="x"))
    assert len(result.images) == 1
    assert len(fake.requests) == 3
    assert sleeps.delays == [3.0, 3.0]


async def test_retry_after_ms_wins(client, fake, sleeps) -> None:
    fake.fail("rate_limit", retry_after=9, retry_after_ms=1500)
    await client.generate(GenerateRequest(model="gpt-image-1", prompt="x"))
    assert sleeps.delays == [1.5]


@pytest.mark.parametrize("status", [500, 502, 503])
async def test_server_errors_are_retried_with_backoff(client, fake, sleeps, status: int) -> None:
    fake.fail("server_error", times=2, status=status)
    await client.generate(GenerateRequest(model="gpt-image-1", prompt="x"))
    assert len(fake.requests) == 3
    assert sleeps.delays == pytest.approx([0.5 * 0.875, 1.0 * 0.875])


async def test_max_retries_is_respected(make_client, fake, sleeps) -> None:
    fake.fail("server_error", times=5)
    with pytest.raises(ServerError):
        await make_client(max_retries=1).generate(GenerateRequest(model="gpt-image-1", prompt="x"))
    assert len(fake.requests) == 2
    assert len(sleeps.delays) == 1


async def test_default_is_three_attempts(client, fake, sleeps) -> None:
    fake.fail("html_error", times=5)
    with pytest.raises(ServerError):
        await client.generate(GenerateRequest(model="gpt-image-1", prompt="x"))
    assert len(fake.requests) == 3


@pytest.mark.parametrize(
    ("kind", "expected"),
    [
        ("content_policy", SafetyRejected),
        ("moderation_blocked", SafetyRejected),
        ("insufficient_quota", OutOfCredit),
        ("billing_hard_limit", OutOfCredit),
        ("auth", AuthenticationFailed),
        ("forbidden", PermissionDenied),
        ("model_not_found", ModelNotFound),
        ("invalid_request", InvalidRequest),
        ("malformed_json", BadResponse),
    ],
)
async def test_never_retried(client, fake, sleeps, kind: str, expected: type) -> None:
    fake.fail(kind, times=3, should_retry=True if kind != "malformed_json" else None)
    with pytest.raises(expected):
        await client.generate(GenerateRequest(model="gpt-image-1", prompt="x"))
    assert len(fake.requests) == 1
    assert sleeps.delays == []


async def test_x_should_retry_false_is_honoured(client, fake, sleeps) -> None:
    fake.fail("server_error", times=3, should_retry=False)
    with pytest.raises(ServerError):
        await client.generate(GenerateRequest(model="gpt-image-1", prompt="x"))
    assert len(fake.requests) == 1


async def test_x_should_retry_true_retries_an_odd_status(client, fake) -> None:
    fake.fail("invalid_request", status=422, should_retry=True)
    await client.generate(GenerateRequest(model="gpt-image-1", prompt="x"))
    assert len(fake.requests) == 2


async def test_long_retry_after_is_not_waited_for(client, fake, sleeps) -> None:
    fake.fail("rate_limit", times=3, retry_after=300)
    with pytest.raises(RateLimited) as info:
        await client.generate(GenerateRequest(model="gpt-image-1", prompt="x"))
    assert info.value.retry_after == 300.0
    assert len(fake.requests) == 1
    assert sleeps.delays == []


async def test_timeout(make_client, fake) -> None:
    fake.fail("slow", delay=2.0)
    client = make_client(timeout=0.2, max_retries=0)
    with pytest.raises(APITimeout) as info:
        await client.generate(GenerateRequest(model="gpt-image-1", prompt="x"))
    assert info.value.status is None


async def test_timeout_then_success(make_client, fake, sleeps) -> None:
    fake.fail("slow", delay=2.0)
    client = make_client(timeout=0.2)
    result = await client.generate(GenerateRequest(model="gpt-image-1", prompt="x"))
    assert len(result.images) == 1 and len(fake.requests) == 2 and len(sleeps.delays) == 1


async def test_slow_but_within_the_timeout_succeeds(make_client, fake) -> None:
    fake.fail("slow", delay=0.1)
    result = await make_client(timeout=2.0).generate(GenerateRequest(model="gpt-image-1", prompt="x"))
    assert len(result.images) == 1 and len(fake.requests) == 1


async def test_dropped_connection_after_retries(client, fake, sleeps) -> None:
    fake.fail("drop", times=3)
    with pytest.raises(APIConnectionError):
        await client.generate(GenerateRequest(model="gpt-image-1", prompt="x"))
    assert len(fake.requests) == 3 and len(sleeps.delays) == 2


async def test_truncated_body_is_retried(client, fake) -> None:
    fake.fail("truncated")
    result = await client.generate(GenerateRequest(model="gpt-image-1", prompt="x"))
    assert len(result.images) == 1 and len(fake.requests) == 2


async def test_connection_refused(make_client, sleeps) -> None:
    client = make_client(base_url="http://127.0.0.1:9/v1", max_retries=1, connect_timeout=0.5)
    with pytest.raises((APIConnectionError, APITimeout)):
        await client.generate(GenerateRequest(model="gpt-image-1", prompt="x"))
    assert len(sleeps.delays) == 1


async def test_wrong_key_is_refused_by_the_fake(make_client, fake) -> None:
    client = make_client(api_key="sk-wrong-key-123456")
    with pytest.raises(AuthenticationFailed):
        await client.generate(GenerateRequest(model="gpt-image-1", prompt="x"))
    assert "authorization" not in {name.lower() for name in fake.requests[0].headers}


async def test_model_not_served(client, fake) -> None:
    fake.served_models = {"gpt-image-2"}
    with pytest.raises(ModelNotFound) as info:
        await client.generate(GenerateRequest(model="dall-e-3", prompt="x"))
    assert info.value.code == "model_not_found"
    await client.generate(GenerateRequest(model="gpt-image-2", prompt="x"))


# -- secrets -----------------------------------------------------------------------------------------


async def test_the_key_never_appears_in_exceptions_or_logs(make_client, fake, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    key = fake.api_key
    client = make_client(max_retries=1)
    errors: list[BaseException] = []
    scripted = [
        ("auth", f"Incorrect API key provided: {key}. Authorization: Bearer {key}"),
        ("invalid_request", f"echo {key}"),
        ("server_error", f"upstream said Bearer {key}"),
        ("html_error", f"<html><title>{key}</title></html>"),
        ("rate_limit", None),
        ("drop", None),
        ("malformed_json", None),
    ]
    for kind, message in scripted:
        fake.fail(kind, times=2, message=message)
        try:
            await client.generate(GenerateRequest(model="gpt-image-1", prompt="x"))
        except ImagesAPIError as exc:
            errors.append(exc)
        fake.reset()
    assert len(errors) == len(scripted)
    for error in errors:
        assert key not in str(error) and key not in repr(error)
        assert key not in " ".join(str(value) for value in vars(error).values())
    assert caplog.records, "the client logs every attempt"
    assert key not in caplog.text
    assert "Bearer" not in caplog.text or "Bearer [REDACTED]" in caplog.text
    assert key not in repr(client)


# -- lifecycle ---------------------------------------------------------------------------------------


def test_client_can_be_built_outside_an_event_loop() -> None:
    client = ImagesClient(api_key="sk-x-123456")
    assert client.session is None


async def test_aclose_is_idempotent_and_final(make_client, fake) -> None:
    client = make_client()
    await client.generate(GenerateRequest(model="gpt-image-1", prompt="x"))
    session = client.session
    await client.aclose()
    await client.aclose()
    assert session is not None and session.closed
    with pytest.raises(RuntimeError):
        await client.generate(GenerateRequest(model="gpt-image-1", prompt="x"))


async def test_aclose_without_use(make_client) -> None:
    await make_client().aclose()


# -- the backend's model list (lifecycle) ------------------------------------------------------------


async def test_list_models_reads_each_models_shutdown_date(make_client, fake):
    from datetime import date

    fake.shutdown_dates["gpt-image-2"] = "2027-03-01"
    fake.aliases["house"] = "gpt-image-2"
    listed = await make_client().list_models()
    assert listed is not None
    assert listed["gpt-image-2"] == date(2027, 3, 1)
    assert listed["gpt-image-2.6-flare"] is None and "house" in listed
    (request,) = fake.model_list_requests
    assert request.path == "/v1/models" and request.method == "GET"


@pytest.mark.parametrize("mode", ["missing", "error"])
async def test_a_backend_without_a_working_model_list_gives_none(make_client, fake, mode):
    fake.models_endpoint = mode
    assert await make_client().list_models() is None


async def test_a_wrong_key_gives_no_model_list_and_no_secret_in_the_log(make_client, fake, caplog):
    caplog.set_level("INFO")
    assert await make_client(api_key="sk-wrong-key-123456").list_models() is None
    assert "sk-wrong-key-123456" not in caplog.text


async def test_azure_has_no_openai_model_list(make_client, fake):
    client = make_client(api_type="azure", base_url=fake.azure_base_url)
    assert await client.list_models() is None
    assert fake.model_list_requests == []


def test_the_model_list_parser_tolerates_odd_entries():
    from datetime import date

    from bot.images.client import parse_model_list

    payload = {
        "data": [
            {"id": "a", "shutdown_date": "2027-01-02"},
            {"id": "b", "shutdown_date": "not a date"},
            {"id": "c"},
            {"no": "id"},
            "junk",
        ]
    }
    assert parse_model_list(payload) == {"a": date(2027, 1, 2), "b": None, "c": None}
    assert parse_model_list({"object": "list"}) is None and parse_model_list([1]) is None


# -- reading and parsing big bodies (memory) ---------------------------------------------------------


class ParseSpy:
    """Wraps parse_images_body: counts parses running at once. The first one waits (up to
    ``wait`` seconds) for a second to start, so that one would overlap it if it could."""

    def __init__(self, real, wait: float = 0.5) -> None:
        self.real = real
        self.wait = wait
        self.lock = threading.Lock()
        self.calls = 0
        self.running = 0
        self.most = 0
        self.entered = threading.Event()
        self.overlapped = threading.Event()

    def __call__(self, *args, **kwargs):
        with self.lock:
            self.calls += 1
            first = self.calls == 1
            self.running += 1
            self.most = max(self.most, self.running)
            if self.running > 1:
                self.overlapped.set()
        self.entered.set()
        try:
            if first:
                self.overlapped.wait(self.wait)
            return self.real(*args, **kwargs)
        finally:
            with self.lock:
                self.running -= 1


@pytest.fixture
def parse_spy(monkeypatch) -> ParseSpy:
    spy = ParseSpy(client_module.parse_images_body)
    monkeypatch.setattr(client_module, "parse_images_body", spy)
    return spy


@pytest.fixture
def serial_client(make_client) -> ImagesClient:
    return make_client(inline_parse_limit=0, serial_parse_limit=0)  # every body counts as large


async def test_large_bodies_are_parsed_one_at_a_time_per_client(serial_client, fake, parse_spy) -> None:
    client = serial_client
    results = await asyncio.gather(
        *(client.generate(GenerateRequest(model="gpt-image-1", prompt=f"p{i}", n=2)) for i in range(3))
    )
    assert [len(result.images) for result in results] == [2, 2, 2]
    assert parse_spy.calls == 3
    assert parse_spy.most == 1


async def test_a_cancelled_calls_parse_keeps_the_turn_until_its_thread_ends(
    serial_client, fake, parse_spy
) -> None:
    client = serial_client
    first = asyncio.create_task(client.generate(GenerateRequest(model="gpt-image-1", prompt="a")))
    while not parse_spy.entered.is_set():
        await asyncio.sleep(0.005)
    first.cancel()
    second = asyncio.create_task(client.generate(GenerateRequest(model="gpt-image-1", prompt="b")))
    outcomes = await asyncio.gather(first, second, return_exceptions=True)
    assert isinstance(outcomes[0], asyncio.CancelledError)
    assert len(outcomes[1].images) == 1
    assert parse_spy.calls == 2
    assert parse_spy.most == 1  # the second parse didn't start while the cancelled one's ran


class _Body(bytearray):
    """A body that can be watched with a weak reference (a plain bytearray can't)."""


async def test_the_body_is_let_go_once_its_images_are_decoded(client, fake, monkeypatch) -> None:
    import gc
    import weakref

    fake.url_results = True
    bodies: list[weakref.ref] = []
    alive_at_download: list[bool] = []
    real_read, real_download = client_module.read_body, client.download

    async def read(response):
        body = _Body(await real_read(response))
        bodies.append(weakref.ref(body))
        return body

    async def download(url, **kwargs):
        gc.collect()
        alive_at_download.append(bodies[-1]() is not None)
        return await real_download(url, **kwargs)

    monkeypatch.setattr(client_module, "read_body", read)
    monkeypatch.setattr(client, "download", download)
    result = await client.generate(GenerateRequest(model="gpt-image-1.5", prompt="x", n=2))
    assert len(result.images) == 2
    assert alive_at_download == [False, False]


class _Content:
    def __init__(self, chunks: list[bytes]) -> None:
        self.chunks = chunks

    async def iter_any(self):
        for chunk in self.chunks:
            yield chunk


class _Response:
    def __init__(self, chunks: list[bytes], content_length: int | None) -> None:
        self.content = _Content(chunks)
        self.content_length = content_length


@pytest.mark.parametrize(
    "content_length",
    [None, 10, 6, 14, 10**12],
    ids=["no length", "exact", "longer (compressed)", "shorter", "implausible"],
)
async def test_a_body_is_read_into_one_buffer(content_length) -> None:
    chunks = [b"abc", b"", b"defg", b"hij"]
    body = await client_module.read_body(_Response(chunks, content_length))
    assert isinstance(body, bytearray)
    assert body == b"abcdefghij"


async def test_a_gzip_compressed_success_body_is_read_whole() -> None:
    from aiohttp import ClientSession, web
    from aiohttp.test_utils import TestServer

    images = [png(40 + i, 30) for i in range(4)]
    payload = json.dumps(
        {"created": 1, "data": [{"b64_json": base64.b64encode(image).decode()} for image in images]}
    ).encode()

    async def answer(request: web.Request) -> web.Response:
        response = web.Response(body=payload, content_type="application/json")
        response.enable_compression(web.ContentCoding.gzip)
        return response

    app = web.Application()
    app.router.add_post("/v1/images/generations", answer)
    server = TestServer(app)
    await server.start_server()
    try:
        base_url = str(server.make_url("/v1"))
        async with ClientSession() as session, session.post(base_url + "/images/generations") as response:
            assert response.headers.get("Content-Encoding") == "gzip"
            assert response.content_length is not None and response.content_length < len(payload)
        client = ImagesClient(api_key="sk-test-123456", base_url=base_url, max_retries=0)
        async with client:
            result = await client.generate(GenerateRequest(model="gpt-image-1", prompt="x", n=4))
        assert [image.data for image in result.images] == images
    finally:
        await server.close()
