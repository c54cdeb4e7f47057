"""Upload limits and archive checks, against a live API with small limits: refused early, nothing kept.

tests/pipeline/test_rejections.py covers bad parameters, wrong and fake file types, zip slip, other
member types and the per-file size; this module adds the request-wide limits and hostile archives.
"""

from __future__ import annotations

import io
import random
import socket
import stat
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image

from myspinbot import Settings
from myspinbot.api.errors import ApiError
from myspinbot.api.uploads import UploadLimits, check_zip
from myspinbot.core.jobtypes import FileSpec
from tests.kernel.test_errors import assert_error_shape
from tests.pipeline.test_rejections import footprint
from tests.reliability.support import TOKEN, Figures, api_client, running_stack
from tests.support.processes import LiveStack

MAX_REQUEST = 64 * 1024
MAX_FILE = 48 * 1024
MAX_FILES = 3
LIMITS = {
    "MYSPINBOT_MAX_REQUEST_BYTES": str(MAX_REQUEST),
    "MYSPINBOT_MAX_UPLOAD_BYTES": str(MAX_FILE),
    "MYSPINBOT_MAX_FILES": str(MAX_FILES),
}


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveStack]:
    """Redis and an API with a 64 KiB request limit, 48 KiB per file, 3 files; no worker needed."""
    with running_stack(tmp_path_factory.mktemp("upload-limits"), LIMITS, worker=False) as live:
        yield live


@pytest.fixture
def api(stack: LiveStack) -> Iterator[httpx.Client]:
    with api_client(stack.api_url) as client:
        yield client


@pytest.fixture
def leaves_nothing(stack: LiveStack) -> Iterator[None]:
    """Fail unless the test leaves no job record, event, job folder or staging folder behind."""
    where = Settings(redis_url=stack.redis_url, data_dir=stack.data_dir, _env_file=None)
    before = footprint(where)
    yield
    assert footprint(where) == before


def noise_png(side: int, seed: int = 0) -> bytes:
    """A real PNG of random pixels: it decodes, and it hardly compresses (about 3 * side**2 bytes)."""
    rng = random.Random(seed)
    image = Image.frombytes("RGB", (side, side), bytes(rng.randrange(256) for _ in range(side * side * 3)))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def runs_of_bytes(size: int, seed: int = 0) -> bytes:
    """Data that deflates about 35 times: under the per-member ratio limit, yet unpacks large."""
    rng = random.Random(seed)
    out = bytearray()
    while len(out) < size:
        out += bytes([rng.randrange(256)]) * rng.randrange(20, 200)
    return bytes(out[:size])


def zip_of(members: dict[str, bytes], *, symlinks: tuple[str, ...] = ()) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            info = zipfile.ZipInfo(name)
            info.compress_type = zipfile.ZIP_DEFLATED
            if name in symlinks:
                info.create_system = 3  # unix: the mode bits below are read as such
                info.external_attr = (stat.S_IFLNK | 0o777) << 16
            archive.writestr(info, data)
    return buffer.getvalue()


def train_with(api: httpx.Client, files: list[tuple[str, tuple[str, bytes, str]]]) -> httpx.Response:
    return api.post("/api/train", data={"base_model": "m"}, files=files)


def refused(response: httpx.Response, status: int, *words: str) -> dict[str, Any]:
    """Assert a refusal in the common shape whose message names `words`; returns the error."""
    assert response.status_code == status, response.text
    assert_error_shape(response.json(), status)
    error: dict[str, Any] = response.json()["error"]
    for word in words:
        assert word in error["message"], error["message"]
    return error


BOMB = zip_of({"bomb.png": b"\0" * (8 * 1024 * 1024)})  # ~8 KiB packed, 8 MiB unpacked: ratio ~1000


@pytest.mark.usefixtures("leaves_nothing")
@pytest.mark.parametrize(
    ("case", "archive", "status", "words"),
    [
        ("ratio bomb", BOMB, 422, ("bomb.png", "expands")),
        ("total size", zip_of({f"img{n}.png": runs_of_bytes(100_000, n) for n in range(4)}), 422, ("unpacks",)),
        ("absolute member", zip_of({"/etc/cron.d/x.png": noise_png(8)}), 422, ("outside",)),
        ("windows drive member", zip_of({"C:\\Windows\\x.png": noise_png(8)}), 422, ("outside",)),
        (
            "symlink member",
            zip_of({"a.png": noise_png(8), "b.png": b"/etc/passwd"}, symlinks=("b.png",)),
            422,
            ("b.png",),
        ),
        ("not a zip", b"PK\x03\x04 but nothing after", 422, ("zip",)),
    ],
    ids=lambda value: value if isinstance(value, str) else "",
)
def test_hostile_archive_is_refused_before_the_job_is_accepted(
    api: httpx.Client, figures: Figures, case: str, archive: bytes, status: int, words: tuple[str, ...]
) -> None:
    """Zip bombs (by ratio, by total size), escaping or absolute members and symlinks are refused."""
    assert len(archive) < MAX_FILE, f"{case}: the archive itself must pass the size limits ({len(archive)})"
    error = refused(train_with(api, [("files", ("dataset.zip", archive, "application/zip"))]), status, *words)
    assert error["details"][0]["field"] == "files"
    figures.add("bad_inputs.hostile_archives")


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("/abs/x.png", "outside"),
        ("C:/x.png", "outside"),
        ("C:\\x.png", "outside"),
        ("a/../../x.png", "outside"),
        ("link.png", "link"),
    ],
)
def test_kernel_archive_check_refuses_escapes_for_any_job_type(tmp_path: Path, name: str, reason: str) -> None:
    """The kernel's zip check refuses escaping names, drive letters and symlinks for any job type."""
    spec = FileSpec(field="files", extensions=(".png",), archive_extensions=(".zip",))
    limits = UploadLimits(max_file_bytes=MAX_FILE, max_files=MAX_FILES, max_unpacked_bytes=MAX_REQUEST)
    plain, hostile = tmp_path / "plain.zip", tmp_path / "hostile.zip"
    plain.write_bytes(zip_of({"dir/a.png": b"data", "b.png": b"data"}))
    hostile.write_bytes(zip_of({"ok.png": b"data", name: b"data"}, symlinks=("link.png",)))
    check_zip(spec, plain, limits)
    with pytest.raises(ApiError) as refused_error:
        check_zip(spec, hostile, limits)
    assert refused_error.value.status == 422 and reason in refused_error.value.message


@pytest.mark.usefixtures("leaves_nothing")
@pytest.mark.parametrize("count", [MAX_FILES + 1, MAX_FILES * 5])
def test_too_many_files_is_413(api: httpx.Client, figures: Figures, count: int) -> None:
    """More files than MYSPINBOT_MAX_FILES in one request answers 413, whatever the excess."""
    files = [("files", (f"i{n}.png", noise_png(8, n), "image/png")) for n in range(count)]
    refused(train_with(api, files), 413, "too many files")
    figures.add("bad_inputs.too_many_files")


@pytest.mark.usefixtures("leaves_nothing")
def test_declared_oversize_body_is_413_before_it_is_read(stack: LiveStack, figures: Figures) -> None:
    """A Content-Length over MYSPINBOT_MAX_REQUEST_BYTES is answered 413 without waiting for the body."""
    port = int(stack.api_url.rsplit(":", 1)[1])
    head = (
        f"POST /api/train HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {TOKEN}\r\n"
        f"Content-Type: multipart/form-data; boundary=xx\r\nContent-Length: {50 * MAX_REQUEST}\r\n\r\n"
    )
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(head.encode() + b"--xx\r\n")  # the body never comes
        reply = read_response(sock)
    assert reply.startswith(b"HTTP/1.1 413"), reply[:200]
    assert str(MAX_REQUEST).encode() in reply
    assert time.monotonic() - started < 2
    figures.add("bad_inputs.oversize_requests")


def chunked(body: bytes, size: int = 8192) -> bytes:
    """`body` in HTTP/1.1 chunked transfer encoding."""
    out = b""
    for start in range(0, len(body), size):
        piece = body[start : start + size]
        out += f"{len(piece):x}\r\n".encode() + piece + b"\r\n"
    return out + b"0\r\n\r\n"


def read_response(sock: socket.socket) -> bytes:
    """Read until the server closes or a whole response with its body has arrived."""
    data = b""
    while True:
        try:
            part = sock.recv(65536)
        except (ConnectionResetError, TimeoutError):
            break
        if not part:
            break
        data += part
        head, _, body = data.partition(b"\r\n\r\n")
        length = next(
            (int(line.split(b":")[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length:")),
            None,
        )
        if length is not None and len(body) >= length:
            break
    return data


@pytest.mark.usefixtures("leaves_nothing")
@pytest.mark.parametrize("kind", ["multipart", "json"])
def test_chunked_body_over_the_request_limit_is_413(stack: LiveStack, figures: Figures, kind: str) -> None:
    """A chunked body (no Content-Length) is cut off with 413 once it passes the request limit."""
    if kind == "multipart":
        parts = [b'--xx\r\nContent-Disposition: form-data; name="base_model"\r\n\r\nm\r\n']
        for n in range(MAX_FILES):
            image = noise_png(100, n)  # ~30 KiB each: 3 of them pass every per-file check
            assert len(image) < MAX_FILE
            parts.append(
                f'--xx\r\nContent-Disposition: form-data; name="files"; filename="i{n}.png"\r\n'
                f"Content-Type: image/png\r\n\r\n".encode()
                + image
                + b"\r\n"
            )
        body, content_type = b"".join(parts) + b"--xx--\r\n", "multipart/form-data; boundary=xx"
    else:
        body, content_type = (
            b'{"base_model": "m", "trigger_word": "' + b"x" * MAX_REQUEST * 2 + b'"}',
            "application/json",
        )
    assert len(body) > MAX_REQUEST
    port = int(stack.api_url.rsplit(":", 1)[1])
    head = (
        f"POST /api/train HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {TOKEN}\r\n"
        f"Content-Type: {content_type}\r\nTransfer-Encoding: chunked\r\n\r\n"
    )
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(head.encode())
        try:
            sock.sendall(chunked(body))
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server may answer and close before the whole body is sent
        reply = read_response(sock)
    assert reply.startswith(b"HTTP/1.1 413"), reply[:300]
    figures.add("bad_inputs.oversize_requests")
