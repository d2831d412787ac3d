"""Facts about the machine and the code the figures were measured on."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

import asyncpg

from bench.procs import REPO


def cpu_model() -> str:
    """The CPU model name from /proc/cpuinfo (or the platform's guess)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def wrk_version(wrk: str) -> str:
    """The first line of `wrk -v`, trimmed to the version."""
    done = subprocess.run([wrk, "-v"], capture_output=True, text=True, check=False)
    first = (done.stdout or done.stderr).splitlines()[0] if (done.stdout or done.stderr) else "unknown"
    return first.split(" Copyright")[0].strip()


def git_commit(repo: Path = REPO) -> str:
    """The checked-out commit, read from .git directly (the bench runs no git commands)."""
    git = repo / ".git"
    try:
        head = (git / "HEAD").read_text().strip()
        if not head.startswith("ref: "):
            return head
        ref = head[5:]
        if (git / ref).exists():
            return f"{(git / ref).read_text().strip()} ({ref.removeprefix('refs/heads/')})"
        for line in (git / "packed-refs").read_text().splitlines():
            if line.endswith(" " + ref):
                return f"{line.split()[0]} ({ref.removeprefix('refs/heads/')})"
    except OSError:
        pass
    return "unknown"


async def postgres_version(database_url: str) -> str:
    """`SELECT version()` on the embedded server."""
    conn = await asyncpg.connect(database_url)
    try:
        version: str = await conn.fetchval("SELECT version()")
        return version
    finally:
        await conn.close()


def load_average() -> str:
    """The 1, 5 and 15 minute load averages (other work on the machine skews the figures)."""
    return " / ".join(f"{v:.2f}" for v in os.getloadavg())


def facts(wrk: str) -> dict[str, str]:
    """Date, CPU, cores, Python, wrk, commit and the main library versions."""
    libraries = ", ".join(f"{name} {metadata.version(name)}" for name in ("aiohttp", "asyncpg", "twilio", "pgserver"))
    return {
        "Date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S UTC"),
        "CPU": cpu_model(),
        "nproc": str(os.cpu_count()),
        "OS": platform.platform(),
        "Python": sys.version.split()[0] + f" ({platform.python_implementation()})",
        "wrk": wrk_version(wrk),
        "Git commit": git_commit(),
        "Libraries": libraries,
    }
