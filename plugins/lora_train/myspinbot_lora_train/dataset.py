"""The training dataset: checking uploads, extracting a .zip safely, pairing images with captions."""

from __future__ import annotations

import shutil
import zipfile
from collections import Counter
from dataclasses import dataclass
from pathlib import Path, PurePosixPath, PureWindowsPath

from myspinbot import ParamError

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".webp")
CAPTION_EXTENSIONS = (".txt", ".caption")
ARCHIVE_EXTENSIONS = (".zip",)
FILES_FIELD = "files"
# Loose uploads: 100 images with their captions. Bigger datasets come as one .zip.
MAX_FILES = 200
MAX_ARCHIVE_FILES = 2000
MAX_EXTRACTED_BYTES = 2 * 1024**3
# Resource forks and Finder metadata that macOS adds to zips; never part of a dataset.
IGNORED_PREFIXES = ("__MACOSX/",)
IGNORED_NAMES = (".DS_Store",)


class UnsafeArchiveError(ValueError):
    """A zip member whose name would land outside the extraction folder, or a zip too large."""


@dataclass(frozen=True)
class TrainingImage:
    """One image of the dataset and its caption, if it has one."""

    path: Path
    caption: str | None


def _suffix(name: str) -> str:
    return PurePosixPath(name).suffix.lower()


def _is_ignored(name: str) -> bool:
    base = PurePosixPath(name).name
    return name.startswith(IGNORED_PREFIXES) or base in IGNORED_NAMES or base.startswith("._")


def member_path(name: str) -> PurePosixPath:
    """The relative path a zip member is extracted to; raises `UnsafeArchiveError` if it escapes."""
    normalized = name.replace("\\", "/")
    path = PurePosixPath(normalized)
    if path.is_absolute() or PureWindowsPath(name).drive or ".." in path.parts:
        raise UnsafeArchiveError(f"archive member {name!r} points outside the archive")
    parts = [part for part in path.parts if part not in ("", ".")]
    if not parts:
        raise UnsafeArchiveError(f"archive member {name!r} has no file name")
    return PurePosixPath(*parts)


def _dataset_members(archive: zipfile.ZipFile) -> list[zipfile.ZipInfo]:
    return [info for info in archive.infolist() if not info.is_dir() and not _is_ignored(info.filename)]


def check_names(names: list[str]) -> None:
    """Reject a dataset with no image, or with a caption that no image of the same name pairs with."""
    images = [name for name in names if _suffix(name) in IMAGE_EXTENSIONS]
    if not images:
        raise ParamError(FILES_FIELD, "at least one image (.png, .jpg, .jpeg or .webp) is required")
    image_stems = {str(PurePosixPath(name).with_suffix("")).lower() for name in images}
    for name in names:
        if _suffix(name) in CAPTION_EXTENSIONS and str(PurePosixPath(name).with_suffix("")).lower() not in image_stems:
            raise ParamError(
                FILES_FIELD,
                f"caption {name!r} has no image of the same name; "
                f"upload e.g. {PurePosixPath(name).stem}.png beside it or remove it",
            )


def check_inputs(paths: list[Path]) -> None:
    """`inputs_check` of the train job type: a lone .zip, or images with optional captions."""
    archives = [path for path in paths if _suffix(path.name) in ARCHIVE_EXTENSIONS]
    if archives and len(paths) > 1:
        raise ParamError(FILES_FIELD, "a .zip dataset must be the only file; upload one .zip, or images and captions")
    if not archives:
        check_names([path.name for path in paths])
        return
    try:
        with zipfile.ZipFile(archives[0]) as archive:
            members = _dataset_members(archive)
            names = [str(member_path(info.filename)) for info in members]
    except zipfile.BadZipFile:
        raise ParamError(FILES_FIELD, f"{archives[0].name} is not a readable .zip archive") from None
    except UnsafeArchiveError as error:
        raise ParamError(FILES_FIELD, str(error)) from None
    if len(names) > MAX_ARCHIVE_FILES:
        raise ParamError(FILES_FIELD, f"the archive holds {len(names)} files; at most {MAX_ARCHIVE_FILES} are accepted")
    check_names(names)


def extract_zip(archive_path: Path, target: Path, max_bytes: int = MAX_EXTRACTED_BYTES) -> list[Path]:
    """Extract a dataset zip under `target`, refusing names that escape it; returns the files written."""
    target.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    budget = max_bytes
    with zipfile.ZipFile(archive_path) as archive:
        for info in _dataset_members(archive):
            destination = target.joinpath(*member_path(info.filename).parts)
            destination.parent.mkdir(parents=True, exist_ok=True)
            with archive.open(info) as source, destination.open("wb") as sink:
                # Count real bytes rather than trusting the sizes the archive declares.
                while chunk := source.read(1024 * 1024):
                    budget -= len(chunk)
                    if budget < 0:
                        raise UnsafeArchiveError(f"{archive_path.name} expands to more than {max_bytes} bytes")
                    sink.write(chunk)
            written.append(destination)
    return written


def _stem_key(path: Path) -> str:
    return path.with_suffix("").as_posix().lower()


def _read_caption(path: Path) -> str:
    return path.read_text(encoding="utf-8", errors="replace").strip()


def load_dataset(inputs: list[Path], workdir: Path, caption_extension: str = ".txt") -> list[TrainingImage]:
    """The job's images and captions; a zip among the inputs is extracted to `workdir/dataset`."""
    files: list[Path] = []
    for path in inputs:
        if _suffix(path.name) in ARCHIVE_EXTENSIONS:
            dataset_dir = workdir / "dataset"
            if dataset_dir.exists():  # a retried job starts from a clean copy
                shutil.rmtree(dataset_dir)
            files.extend(extract_zip(path, dataset_dir))
        else:
            files.append(path)
    captions = {_stem_key(path): path for path in files if _suffix(path.name) == caption_extension}
    images = sorted((path for path in files if _suffix(path.name) in IMAGE_EXTENSIONS), key=lambda p: p.as_posix())
    dataset = []
    for image in images:
        caption_file = captions.get(_stem_key(image))
        dataset.append(TrainingImage(image, _read_caption(caption_file) if caption_file else None))
    return dataset


def tag_frequency(dataset: list[TrainingImage]) -> dict[str, int]:
    """How often each comma-separated tag appears in the captions, as trainers record it."""
    counts: Counter[str] = Counter()
    for item in dataset:
        if item.caption:
            counts.update(tag.strip() for tag in item.caption.split(",") if tag.strip())
    return dict(counts.most_common())
