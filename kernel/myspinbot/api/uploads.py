"""Checking and storing uploaded files: limits, extensions, content, safe names.

Everything is checked and written into a private temporary folder first; only an accepted
job's folder is moved into place, so a rejected request leaves no file behind.
"""

from __future__ import annotations

import asyncio
import shutil
import stat
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath, PureWindowsPath

from starlette.datastructures import UploadFile

from myspinbot.api.errors import ApiError, human_bytes
from myspinbot.core.context import safe_artifact_name
from myspinbot.core.jobtypes import FileSpec, JobType

COPY_CHUNK = 1024 * 1024
IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".webp", ".gif", ".bmp")
MAX_ZIP_RATIO = 200  # uncompressed / compressed, per member: beyond this it is a bomb


@dataclass(frozen=True)
class UploadLimits:
    """Server-wide upload limits (settings); a FileSpec may lower the per-file size."""

    max_file_bytes: int
    max_files: int
    max_unpacked_bytes: int


def group_uploads(
    job_type: JobType, uploads: list[tuple[str, UploadFile]], limits: UploadLimits
) -> list[tuple[FileSpec, UploadFile]]:
    """Match each upload to its FileSpec and check names, counts and sizes (no writing yet)."""
    if len(uploads) > limits.max_files:
        raise ApiError(
            413, f"too many files: {len(uploads)} sent, at most {limits.max_files} per request (MYSPINBOT_MAX_FILES)"
        )
    counts: dict[str, int] = {}
    matched = []
    for field, upload in uploads:
        spec = job_type.file_spec(field)
        if spec is None:
            accepted = ", ".join(s.field for s in job_type.files) or "none"
            raise ApiError(
                422,
                f"job type {job_type.name!r} takes no files under {field!r} (file fields: {accepted})",
                details=[{"field": field, "message": f"unexpected file field; accepted: {accepted}"}],
            )
        name = upload.filename or ""
        if not spec.accepts(name):
            allowed = ", ".join(spec.accepted)
            raise ApiError(
                415,
                f"{name!r} is not an accepted file type for {field!r}; accepted: {allowed}",
                details=[{"field": field, "message": f"accepted extensions: {allowed}"}],
            )
        limit = min(spec.max_bytes or limits.max_file_bytes, limits.max_file_bytes)
        if upload.size is not None and upload.size > limit:
            raise file_too_large(spec, limits, f"{name!r} is {human_bytes(upload.size)}")
        counts[field] = counts.get(field, 0) + 1
        matched.append((spec, upload))
    for spec in job_type.files:
        count = counts.get(spec.field, 0)
        if count > spec.max_count:
            raise ApiError(
                422,
                f"{count} files under {spec.field!r}; at most {spec.max_count}",
                details=[{"field": spec.field, "message": f"at most {spec.max_count} files"}],
            )
        if count < spec.min_count:
            raise ApiError(
                422,
                f"{spec.field!r} needs at least {spec.min_count} file(s)",
                details=[{"field": spec.field, "message": f"at least {spec.min_count} file(s) required"}],
            )
    return matched


def file_too_large(spec: FileSpec, limits: UploadLimits, what: str) -> ApiError:
    """413 for one file over its limit, in human units and naming what sets the limit."""
    limit = min(spec.max_bytes or limits.max_file_bytes, limits.max_file_bytes)
    source = "the job type's own limit" if limit < limits.max_file_bytes else "MYSPINBOT_MAX_UPLOAD_BYTES"
    size = f"{human_bytes(limit)} ({limit} bytes, {source})"
    return ApiError(
        413,
        f"the limit for one file under {spec.field!r} is {size}; {what}",
        details=[{"field": spec.field, "message": f"at most {human_bytes(limit)} per file"}],
    )


async def store_uploads(matched: list[tuple[FileSpec, UploadFile]], folder: Path, limits: UploadLimits) -> list[Path]:
    """Write uploads into `folder` under sanitised, unique names and check their content.

    Copying and decoding are blocking work, so they run on a worker thread, off the event loop.
    """
    return await asyncio.to_thread(write_uploads, matched, folder, limits)


def write_uploads(matched: list[tuple[FileSpec, UploadFile]], folder: Path, limits: UploadLimits) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=False)
    stored: list[Path] = []
    for spec, upload in matched:
        target = unique_path(folder, upload.filename or "upload")
        limit = min(spec.max_bytes or limits.max_file_bytes, limits.max_file_bytes)
        written = 0
        upload.file.seek(0)
        with target.open("wb") as out:
            while chunk := upload.file.read(COPY_CHUNK):
                written += len(chunk)
                if written > limit:
                    raise file_too_large(spec, limits, f"{upload.filename!r} is larger than that")
                out.write(chunk)
        check_content(spec, target, limits)
        stored.append(target)
    return stored


def unique_path(folder: Path, filename: str) -> Path:
    """A safe name inside `folder` that is not taken yet."""
    try:
        name = safe_artifact_name(filename)
    except ValueError:
        name = "upload"
    candidate = folder / name
    stem, suffix = candidate.stem, candidate.suffix
    counter = 1
    while candidate.exists():
        candidate = folder / f"{stem}-{counter}{suffix}"
        counter += 1
    return candidate


def check_content(spec: FileSpec, path: Path, limits: UploadLimits) -> None:
    """Images must decode as images; archives must be safe to unpack."""
    if spec.is_archive(path.name):
        check_zip(spec, path, limits)
    elif path.name.lower().endswith(IMAGE_EXTENSIONS):
        check_image(spec.field, path)


def check_image(field: str, path: Path) -> None:
    """Reject a file that claims to be an image but does not decode as one."""
    try:
        from PIL import Image
    except ImportError:  # Pillow is optional for the kernel; the built-in plugins bring it
        return
    try:
        with Image.open(path) as image:
            image.verify()
    except Exception as error:
        raise ApiError(
            415,
            f"{path.name!r} is not a readable image ({type(error).__name__})",
            details=[{"field": field, "message": f"{path.name} does not decode as an image"}],
        ) from None


def check_zip(spec: FileSpec, path: Path, limits: UploadLimits) -> None:
    """Reject archives that are corrupt, escape their folder, hold other types, or unpack huge."""

    def reject(reason: str) -> ApiError:
        return ApiError(422, f"{path.name!r}: {reason}", details=[{"field": spec.field, "message": reason}])

    try:
        archive = zipfile.ZipFile(path)
    except zipfile.BadZipFile:
        raise reject("not a valid zip archive") from None
    with archive:
        total = 0
        members = 0
        for info in archive.infolist():
            if info.is_dir():
                continue
            member = PurePosixPath(info.filename.replace("\\", "/"))
            if member.is_absolute() or ".." in member.parts or PureWindowsPath(info.filename).drive:
                raise reject(f"member {info.filename!r} would be written outside the dataset folder")
            if not regular_file(info):
                raise reject(f"member {info.filename!r} is a link or a special file, not a regular file")
            if member.name.startswith("__MACOSX") or "__MACOSX" in member.parts or member.name.startswith("."):
                continue
            if not spec.accepts_member(member.name):
                raise reject(f"member {info.filename!r} is not one of {', '.join(spec.extensions)}")
            if info.compress_size and info.file_size / info.compress_size > MAX_ZIP_RATIO:
                raise reject(f"member {info.filename!r} expands {info.file_size // info.compress_size}x: refused")
            total += info.file_size
            members += 1
            if total > limits.max_unpacked_bytes:
                raise reject(f"unpacks to more than {limits.max_unpacked_bytes} bytes")
        if members == 0:
            raise reject("the archive holds no usable files")


def regular_file(info: zipfile.ZipInfo) -> bool:
    """Whether a member is a plain file. Archives made on Unix may carry its file type in the mode
    (symlink, FIFO, device); without a type (or without Unix modes) it is a plain file."""
    kind = stat.S_IFMT(info.external_attr >> 16)
    return info.create_system != 3 or kind in (0, stat.S_IFREG)


def discard_folder(folder: Path) -> None:
    """Remove a temporary upload folder and everything in it."""
    shutil.rmtree(folder, ignore_errors=True)
