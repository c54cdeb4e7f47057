"""Upload batches: which files a submission waits for, where they land, and failures."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from myspinbot_ui.uploads import UploadBatch, UploadError, safe_name


def test_names_stay_inside_the_batch_folder() -> None:
    """Upload names are base names under the batch's own folder; '..' is refused."""
    batch = UploadBatch(Path("/up"), {"files": ["a.png"]})
    assert batch.upload_name("files", "dir/a.png") == f"{batch.id}/files/a.png"
    assert safe_name("..\\..\\evil.png") == "evil.png"
    with pytest.raises(UploadError):
        safe_name("..")


async def test_waiting_ends_when_every_file_arrived(tmp_path: Path) -> None:
    """Progress events complete the batch; the paths by field come back."""
    batch = UploadBatch(tmp_path, {"files": ["a.png", "b.txt"], "init_image": []})

    async def arrive() -> None:
        batch.progress("files", "a.png", 0.0, None)
        batch.progress("files", "a.png", 1.0, None)
        await asyncio.sleep(0.01)
        batch.progress("files", "b.txt", 1.0, None)

    waiting = asyncio.create_task(batch.wait())
    await arrive()
    assert await asyncio.wait_for(waiting, 1) == {
        "files": [batch.folder / "files" / "a.png", batch.folder / "files" / "b.txt"]
    }


async def test_a_failed_upload_fails_the_batch(tmp_path: Path) -> None:
    """An error reported by the browser ends the wait with `UploadError`."""
    batch = UploadBatch(tmp_path, {"files": ["a.png"]})
    batch.progress("files", "a.png", None, "network error")
    with pytest.raises(UploadError, match=r"a\.png: network error"):
        await batch.wait()


def test_remove_deletes_the_batch_folder(tmp_path: Path) -> None:
    """After submitting, the uploaded copies go."""
    batch = UploadBatch(tmp_path, {"files": ["a.png"]})
    (batch.folder / "files").mkdir(parents=True)
    (batch.folder / "files" / "a.png").write_bytes(b"x")
    batch.remove()
    assert not batch.folder.exists() and tmp_path.exists()
