"""One artifact by name: saved whole, or read as a stream, with both clients against a real API."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from myspinbot_client import ApiError, Artifact, AsyncMySpinBotClient, Job, JobState, MySpinBotClient
from tests.support.processes import LiveStack

TINY_GENERATION = {"prompt": "a fox", "num_frames": 5, "width": 128, "height": 128, "num_inference_steps": 2}


@pytest.fixture
def api(live_stack: LiveStack) -> Iterator[MySpinBotClient]:
    with MySpinBotClient(live_stack.api_url) as client:
        yield client


@pytest.fixture
def generated(api: MySpinBotClient) -> Job:
    """A finished generate job with its artifacts (a preview image among them)."""
    done = api.wait(api.submit("generate", TINY_GENERATION).id, timeout=60)
    assert done.state is JobState.SUCCEEDED, done.error
    return done


def preview_of(job: Job) -> Artifact:
    return next(artifact for artifact in job.artifacts if artifact.content_type.startswith("image/"))


def test_one_artifact_downloads_by_name(api: MySpinBotClient, generated: Job, tmp_path: Path) -> None:
    """download_artifact takes a bare name, writes the whole file under it and leaves no partial file."""
    preview = preview_of(generated)
    path = api.download_artifact(generated.id, preview.name, tmp_path)
    assert path == tmp_path / preview.name
    assert path.stat().st_size == preview.size
    assert [item.name for item in tmp_path.iterdir()] == [preview.name]


def test_an_artifact_streams_with_its_type_and_size(api: MySpinBotClient, generated: Job, tmp_path: Path) -> None:
    """stream_artifact gives the API's content type and length, and the same bytes as a download, in chunks."""
    preview = preview_of(generated)
    with api.stream_artifact(generated.id, preview.name) as stream:
        assert (stream.name, stream.content_type, stream.size) == (preview.name, preview.content_type, preview.size)
        body = b"".join(stream.chunks)
    assert body == api.download_artifact(generated.id, preview, tmp_path).read_bytes()


def test_an_unknown_artifact_is_a_404_and_writes_nothing(api: MySpinBotClient, generated: Job, tmp_path: Path) -> None:
    """An unknown name raises the API's 404 on opening the stream, and a download leaves no file behind."""
    with pytest.raises(ApiError) as missing, api.stream_artifact(generated.id, "nope.bin"):
        pytest.fail("the block must not run")
    assert (missing.value.status, missing.value.code) == (404, "artifact_not_found")
    with pytest.raises(ApiError):
        api.download_artifact(generated.id, "nope.bin", tmp_path)
    assert list(tmp_path.iterdir()) == []


async def test_the_async_client_streams_an_artifact_in_chunks(
    live_stack: LiveStack, generated: Job, tmp_path: Path
) -> None:
    """The asyncio client streams the same bytes, downloads by name, and raises the 404 of an unknown name."""
    preview = preview_of(generated)
    async with AsyncMySpinBotClient(live_stack.api_url) as api:
        async with api.stream_artifact(generated.id, preview.name) as stream:
            assert (stream.content_type, stream.size) == (preview.content_type, preview.size)
            chunks = [chunk async for chunk in stream.chunks]
        saved = await api.download_artifact(generated.id, preview.name, tmp_path)
        assert b"".join(chunks) == saved.read_bytes()
        with pytest.raises(ApiError) as missing:
            async with api.stream_artifact(generated.id, "nope.bin"):
                pytest.fail("the block must not run")
        assert missing.value.status == 404
