"""The tier's images: a base made from Debian's packages, the project's images from docker/, and
stand-ins for third-party images. Each carries a hash of its inputs in a label, so an image
already on the machine is reused only when nothing it was built from changed."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from tests.containers.engine import REPO_ROOT, EngineError, inspect, podman

INPUTS_LABEL = "org.myspinbot.test.inputs"
BASE_TAG = "localhost/myspinbot-test/base:bookworm"
# Debian's Python 3.11 and what `python -m venv` and TLS need; `python` for the Dockerfiles.
BASE_PACKAGES = ("python3", "python3-venv", "python-is-python3", "ca-certificates")
BASE_SUITE = "bookworm"
STAND_INS = REPO_ROOT / "tests" / "containers" / "images"
# Builds reach the package registries through a proxy whose CA is only in the host's bundle.
HOST_CA_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")


@dataclass(frozen=True)
class ImageSpec:
    """One image to build with `podman build`: its tag, Dockerfile, context and what goes in."""

    tag: str
    dockerfile: Path
    context: Path
    build_args: dict[str, str] = field(default_factory=dict)
    inputs: tuple[Path, ...] = ()  # files and folders the build copies (hashed with the Dockerfile)


def _tracked_files(paths: Iterable[Path]) -> list[Path]:
    """Files under `paths` that git knows or would add (ignored build debris left out)."""
    files: list[Path] = []
    for path in paths:
        if path.is_file():
            files.append(path)
            continue
        listed = subprocess.run(
            ["git", "ls-files", "-co", "--exclude-standard", "--", str(path)],
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.split()
        files.extend(REPO_ROOT / name for name in listed if (REPO_ROOT / name).is_file())
    return sorted(set(files))


def inputs_hash(spec: ImageSpec, base_id: str) -> str:
    """A digest of everything the image is made from: Dockerfile, build arguments, base, files."""
    digest = hashlib.sha256()
    digest.update(base_id.encode())
    digest.update(repr(sorted(spec.build_args.items())).encode())
    for path in [spec.dockerfile, *_tracked_files(spec.inputs)]:
        digest.update(str(path.relative_to(spec.context) if path.is_relative_to(spec.context) else path).encode())
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def image_id(tag: str) -> str | None:
    """The id of the image with this tag, or None."""
    found = inspect("image", tag)
    return str(found["Id"]) if found else None


def _label(tag: str) -> str | None:
    found = inspect("image", tag)
    if not found:
        return None
    labels = (found.get("Config") or {}).get("Labels") or found.get("Labels") or {}
    value = labels.get(INPUTS_LABEL)
    return str(value) if value else None


def ensure_base(workdir: Path) -> bool:
    """Make the base image from Debian's packages unless one with the same inputs exists; True if built."""
    wanted = hashlib.sha256(f"{BASE_SUITE} minbase {','.join(BASE_PACKAGES)}".encode()).hexdigest()
    if _label(BASE_TAG) == wanted:
        return False
    tarball = workdir / "base.tar"
    result = subprocess.run(
        ["mmdebstrap", "--variant=minbase", f"--include={','.join(BASE_PACKAGES)}", BASE_SUITE, str(tarball)],
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    if result.returncode != 0:
        raise EngineError(f"mmdebstrap failed ({result.returncode}):\n{result.stderr[-4000:]}")
    podman(
        "import", "--change", f"LABEL {INPUTS_LABEL}={wanted}", "--change", 'CMD ["python3"]', str(tarball), BASE_TAG
    )
    tarball.unlink()
    return True


def build(spec: ImageSpec, log_dir: Path) -> bool:
    """Build the image unless one with the same inputs exists; True when it was built."""
    base = spec.build_args.get("PYTHON_IMAGE") or spec.build_args.get("BASE_IMAGE") or ""
    base_id = image_id(base) if base else None
    wanted = inputs_hash(spec, base_id or base)
    if _label(spec.tag) == wanted:
        return False
    argv = [
        "podman",
        "build",
        "--layers",
        "-f",
        str(spec.dockerfile),
        "-t",
        spec.tag,
        "--label",
        f"{INPUTS_LABEL}={wanted}",
    ]
    for key, value in spec.build_args.items():
        argv += ["--build-arg", f"{key}={value}"]
    if HOST_CA_BUNDLE.exists():
        argv += ["-v", f"{HOST_CA_BUNDLE}:{HOST_CA_BUNDLE}:ro"]
    log = log_dir / f"build-{spec.tag.rsplit('/', 1)[-1].replace(':', '-')}.log"
    with log.open("w") as out:
        result = subprocess.run(
            [*argv, str(spec.context)], stdout=out, stderr=subprocess.STDOUT, timeout=1200, check=False
        )
    if result.returncode != 0:
        tail = "\n".join(log.read_text(errors="replace").splitlines()[-60:])
        raise EngineError(f"building {spec.tag} failed ({result.returncode}):\n{tail}")
    return True


def project_images() -> list[ImageSpec]:
    """The project's own images, built from docker/*.Dockerfile on the base image."""
    on_base = {"PYTHON_IMAGE": BASE_TAG}
    docker = REPO_ROOT / "docker"
    return [
        ImageSpec(
            "myspinbot/api:local",
            docker / "api.Dockerfile",
            REPO_ROOT,
            on_base,
            (REPO_ROOT / "client", REPO_ROOT / "kernel", REPO_ROOT / "plugins"),
        ),
        ImageSpec(
            "myspinbot/ui:local",
            docker / "ui.Dockerfile",
            REPO_ROOT,
            on_base,
            (REPO_ROOT / "client", REPO_ROOT / "ui_flet"),
        ),
    ]


def stand_in_images(traefik_binary: Path, workdir: Path) -> list[ImageSpec]:
    """Local images of the third-party software the compose file pulls (see the override file)."""
    on_base = {"BASE_IMAGE": BASE_TAG}
    traefik_context = workdir / "traefik-context"
    traefik_context.mkdir(exist_ok=True)
    shutil.copy2(traefik_binary, traefik_context / "traefik")
    return [
        ImageSpec("localhost/myspinbot-test/redis:local", STAND_INS / "redis.Dockerfile", STAND_INS, on_base),
        ImageSpec("localhost/myspinbot-test/prometheus:local", STAND_INS / "prometheus.Dockerfile", STAND_INS, on_base),
        ImageSpec(
            "localhost/myspinbot-test/traefik:local",
            STAND_INS / "traefik.Dockerfile",
            traefik_context,
            on_base,
            (traefik_context / "traefik",),
        ),
    ]
