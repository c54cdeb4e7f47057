"""What a worker's heartbeat says about its machine: CPU, memory and, with NVML, its GPUs.

psutil gives CPU and memory. GPUs come from NVIDIA's management library through nvidia-ml-py
(`pynvml`) when the driver is there; on a machine without it the list is empty, never an error.
"""

from __future__ import annotations

import logging
from typing import Any

log = logging.getLogger(__name__)


def machine_resources() -> dict[str, Any]:
    """CPU load, memory and GPUs of this machine, as plain JSON values."""
    resources: dict[str, Any] = {"cpu_count": None, "cpu_percent": None, "memory": None}
    try:
        import psutil
    except ImportError:  # an install without psutil still beats; it just reports less
        psutil = None
    if psutil is not None:
        memory = psutil.virtual_memory()
        resources.update(
            cpu_count=psutil.cpu_count(),
            cpu_percent=psutil.cpu_percent(interval=None),  # since the previous call: the beat interval
            memory={"used_bytes": int(memory.total - memory.available), "total_bytes": int(memory.total)},
        )
    resources["gpus"] = gpus()
    return resources


def gpus() -> list[dict[str, Any]]:
    """Each NVIDIA GPU's name, memory and utilisation; [] without NVML."""
    try:
        import pynvml
    except ImportError:
        return []
    try:
        pynvml.nvmlInit()
    except Exception:  # pynvml.NVMLError and its LibraryNotFound: no driver here
        return []
    found: list[dict[str, Any]] = []
    try:
        for index in range(pynvml.nvmlDeviceGetCount()):
            handle = pynvml.nvmlDeviceGetHandleByIndex(index)
            name = pynvml.nvmlDeviceGetName(handle)
            memory = pynvml.nvmlDeviceGetMemoryInfo(handle)
            try:
                utilization: int | None = int(pynvml.nvmlDeviceGetUtilizationRates(handle).gpu)
            except Exception:  # some boards do not report it
                utilization = None
            found.append(
                {
                    "index": index,
                    "name": name.decode() if isinstance(name, bytes) else str(name),
                    "memory_used_bytes": int(memory.used),
                    "memory_total_bytes": int(memory.total),
                    "utilization_percent": utilization,
                }
            )
    except Exception as error:
        log.debug("could not read the GPUs through NVML: %s", error)
    finally:
        try:
            pynvml.nvmlShutdown()
        except Exception:
            log.debug("nvmlShutdown failed")
    return found
