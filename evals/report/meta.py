"""What a report was measured on: the commit, the settings (secrets masked) and the machine.

Numbers from different runs are only comparable when these agree, so they travel in every report.
"""

from __future__ import annotations

import os
import platform
import subprocess
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url

from tools.settings import Settings

REPO_ROOT = Path(__file__).resolve().parents[2]


def _git(*args: str, cwd: Path) -> str | None:
    try:
        done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, timeout=20, check=True)
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip()


def git_info(root: Path = REPO_ROOT) -> dict[str, Any]:
    """HEAD and whether the work tree differs from it; a dirty tree means the commit alone does not
    reproduce the numbers."""
    commit = _git("rev-parse", "HEAD", cwd=root)
    status = _git("status", "--porcelain", "--untracked-files=no", cwd=root)
    return {
        "commit": commit or "unknown",
        "dirty": bool(status) if status is not None else None,
        "changed_files": len(status.splitlines()) if status else 0,
    }


def mask_url(url: str | None) -> str | None:
    """A connection URL with its password replaced, safe to print and commit."""
    if not url:
        return url
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # not an SQLAlchemy URL (redis://, http://): mask the userinfo by hand
        scheme, sep, rest = url.partition("://")
        if "@" in rest:
            rest = "***@" + rest.split("@", 1)[1]
        return scheme + sep + rest


def settings_info(settings: Settings, *, embedder: str) -> dict[str, Any]:
    backend = (
        f"openai-compatible {settings.llm_model} at {mask_url(settings.llm_base_url)}"
        if settings.llm_base_url
        else "offline policy"
    )
    return {
        "model_backend": backend,
        "embedder": embedder,
        "database_url": mask_url(settings.effective_database_url),
        "redis_url": mask_url(settings.redis_url),
        "chroma": mask_url(settings.chroma_url) or "embedded",
        "job_engine": settings.job_engine,
    }


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _memory_gib() -> float | None:
    try:
        return round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1)
    except (ValueError, OSError, AttributeError):
        return None


def machine_info() -> dict[str, Any]:
    """The load average at the start matters: on a shared machine other work inflates latencies."""
    try:
        load = [round(x, 2) for x in os.getloadavg()]
    except OSError:
        load = []
    return {
        "platform": platform.platform(),
        "python": platform.python_version(),
        "cpu": _cpu_model(),
        "cpus": os.cpu_count(),
        "usable_cpus": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "memory_gib": _memory_gib(),
        "load_average_at_start": load,
    }
