"""Discovery and running of the local stack's seeds (``local/seed_*.py``), with a progress display.

A seed module has ``ORDER``, ``TITLE``, optional ``BACKGROUND``, ``seed(progress) -> str`` and
optional ``describe() -> list[str]`` (docs/conventions.md). Foreground seeds run before the
gateway opens; background seeds run afterwards in a thread and report at ``/_local/status``.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys
import threading
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any, TextIO

LOCAL_DIR = Path(__file__).resolve().parent


@dataclass
class SeedState:
    """Progress of one seed (read by ``/_local/status``)."""

    name: str
    title: str
    order: int
    background: bool
    module: ModuleType
    state: str = "pending"  # pending | running | done | failed
    done: int = 0
    total: int = 0
    summary: str = ""
    seconds: float = 0.0

    def as_json(self) -> dict[str, Any]:
        """The status entry."""
        return {
            "name": self.name,
            "title": self.title,
            "background": self.background,
            "state": self.state,
            "done": self.done,
            "total": self.total,
            "summary": self.summary,
        }


def discover(directory: Path = LOCAL_DIR, package: str = "local") -> list[SeedState]:
    """Every ``seed_*`` module of the package, in ``ORDER``."""
    seeds: list[SeedState] = []
    for info in pkgutil.iter_modules([str(directory)]):
        if not info.name.startswith("seed_"):
            continue
        module = importlib.import_module(f"{package}.{info.name}")
        seeds.append(
            SeedState(
                name=info.name.removeprefix("seed_"),
                title=str(getattr(module, "TITLE", info.name)),
                order=int(getattr(module, "ORDER", 100)),
                background=bool(getattr(module, "BACKGROUND", False)),
                module=module,
            )
        )
    return sorted(seeds, key=lambda s: (s.order, s.name))


class ProgressDisplay:
    """One updating line per seed on a terminal; plain lines otherwise (logs, CI)."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stdout
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self._lock = threading.Lock()
        self._last_plain: dict[str, int] = {}

    def update(self, seed: SeedState) -> None:
        """Show the seed's current progress."""
        with self._lock:
            if self.tty:
                self.stream.write("\r\033[K" + self._line(seed))
                self.stream.flush()
                return
            # Plain output: the start, then every quarter.
            quarter = int(4 * seed.done / seed.total) if seed.total else 0
            if self._last_plain.get(seed.name, -1) < quarter:
                self._last_plain[seed.name] = quarter
                self.stream.write(self._line(seed) + "\n")
                self.stream.flush()

    def finish(self, seed: SeedState) -> None:
        """The seed's final line."""
        with self._lock:
            mark = "ok" if seed.state == "done" else "FAILED"
            line = f"  [{mark}] {seed.title}: {seed.summary} ({seed.seconds:.1f} s)"
            if self.tty:
                self.stream.write("\r\033[K" + line + "\n")
            else:
                self.stream.write(line + "\n")
            self.stream.flush()

    @staticmethod
    def _line(seed: SeedState) -> str:
        if seed.total:
            width = 24
            filled = int(width * seed.done / seed.total)
            bar = "#" * filled + "." * (width - filled)
            return f"  [{bar}] {seed.title} {seed.done}/{seed.total}"
        return f"  [....] {seed.title}"


@dataclass
class SeedRunner:
    """Runs seeds and keeps their state."""

    seeds: list[SeedState]
    display: ProgressDisplay = field(default_factory=ProgressDisplay)
    stopping: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def run(self, seed: SeedState) -> None:
        """Run one seed (errors are reported, not raised: the rest of the stack stays up)."""

        def progress(done: int, total: int) -> None:
            seed.done, seed.total = done, total
            self.display.update(seed)

        seed.state = "running"
        started = time.monotonic()
        self.display.update(seed)
        try:
            seed.summary = str(seed.module.seed(progress))
            seed.state = "done"
        except Exception as error:
            seed.state = "failed"
            if self.stopping.is_set():  # the stack is shutting down under it: not a seed bug
                seed.summary = "interrupted"
                return
            seed.summary = f"{type(error).__name__}: {error}"
            traceback.print_exc()
        seed.seconds = time.monotonic() - started
        self.display.finish(seed)

    def run_foreground(self) -> None:
        """Every seed that must finish before the gateway opens."""
        for seed in self.seeds:
            if not seed.background:
                self.run(seed)

    def start_background(self) -> None:
        """The other seeds, in order, in one thread."""
        pending = [s for s in self.seeds if s.background]
        if not pending:
            return

        def work() -> None:
            for seed in pending:
                if self.stopping.is_set():
                    return
                self.run(seed)

        self._thread = threading.Thread(target=work, name="background seeds", daemon=True)
        self._thread.start()

    def finished(self) -> bool:
        """Every seed has ended (done or failed)."""
        return all(s.state in ("done", "failed") for s in self.seeds)

    def join(self, timeout: float) -> None:
        """Wait for the background thread (at shutdown)."""
        if self._thread is not None:
            self._thread.join(timeout)

    def descriptions(self) -> list[str]:
        """Every seed's ``describe()`` lines."""
        lines: list[str] = []
        for seed in self.seeds:
            describe = getattr(seed.module, "describe", None)
            if describe is not None:
                try:
                    lines.extend(str(line) for line in describe())
                except Exception as error:
                    lines.append(f"({seed.title}: describe failed: {type(error).__name__})")
        return lines
