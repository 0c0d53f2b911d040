"""``bertclf serve`` as a child process on this machine, for tests, benchmarks and the book: a
free loopback port, a wait for readiness that sleeps between tries and ends with a clear message,
and a stop that always happens — also when the parent fails, exits or is killed."""

from __future__ import annotations

import atexit
import ctypes
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from bertclf.errors import BertclfError


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _die_with_parent() -> None:  # pragma: no cover - runs in the child, before exec
    """Linux: have the kernel send the child SIGTERM when its parent dies (a killed kernel or test)."""
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except OSError:
        pass


class LocalService:
    """``bertclf serve RUN_DIR *options`` on a free loopback port; :meth:`stop` ends it."""

    def __init__(self, run_dir: str | Path, *options: str, timeout: float = 300, quiet: bool = False) -> None:
        self.url = f"http://127.0.0.1:{free_port()}"
        command = [sys.executable, "-m", "bertclf.cli", "serve", str(run_dir), "--port", self.url.rsplit(":", 1)[1],
                   *map(str, options)]
        output = subprocess.PIPE if quiet else None
        self.process = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT if quiet else None,
                                        text=True, preexec_fn=_die_with_parent if sys.platform == "linux" else None)
        atexit.register(self.stop)
        try:
            self.wait_ready(timeout)
        except BaseException:
            self.stop()
            raise

    def wait_ready(self, timeout: float, pause: float = 0.25) -> None:
        """Return once ``GET /health`` answers 200; raise if the process exits or ``timeout`` passes."""
        deadline = time.monotonic() + timeout
        while True:
            if self.process.poll() is not None:
                said = self.process.stdout.read() if self.process.stdout else "(its messages are above)"
                raise BertclfError(f"bertclf serve exited with status {self.process.returncode}: {said}")
            try:
                if httpx.get(f"{self.url}/health", timeout=5).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError(f"bertclf serve did not answer {self.url}/health within {timeout:.0f} s")
            time.sleep(pause)

    def stop(self, timeout: float = 30) -> int:
        """SIGTERM (uvicorn finishes the requests in flight), SIGKILL after ``timeout``; the exit status."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        atexit.unregister(self.stop)
        return self.process.returncode

    def __enter__(self) -> LocalService:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()
