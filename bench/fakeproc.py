"""The fake Images API (tests/fakeapi) in a child process, driven over a pipe of JSON lines.

The benchmarks run the fake in its own process rather than in a thread of the bot's process, so
that its work (JSON-schema validation, making and base64-encoding images) neither competes with
the bot for the GIL nor counts towards the bot's memory: the lag and memory figures are the bot's
own. Its clock is ``time.monotonic()``, which is system-wide, so ``arrivals`` compare directly with
the bot process's ``time.monotonic()``.

Run as ``python -m bench.fakeproc '<constructor kwargs as JSON>'``: it prints ``{"base_url": ...,
"api_key": ...}`` once started, then answers one JSON line per command line on stdin:
``["get", name]``, ``["set", name, value]``, ``["stop"]``.
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


class RemoteFake:
    """The parent's handle on the child process; attribute reads and writes go over the pipe."""

    def __init__(self, **kwargs: Any) -> None:
        self._process = subprocess.Popen(
            [sys.executable, "-m", "bench.fakeproc", json.dumps(kwargs)],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            bufsize=1,
        )
        hello = self._read()
        self.base_url: str = hello["base_url"]
        self.api_key: str = hello["api_key"]

    def _read(self) -> Any:
        assert self._process.stdout is not None
        line = self._process.stdout.readline()
        if not line:
            raise RuntimeError(f"the fake Images API process exited (code {self._process.poll()})")
        reply = json.loads(line)
        if isinstance(reply, dict) and "error" in reply:
            raise RuntimeError(f"fake Images API: {reply['error']}")
        return reply

    def _ask(self, *command: Any) -> Any:
        assert self._process.stdin is not None
        self._process.stdin.write(json.dumps(command) + "\n")
        self._process.stdin.flush()
        return self._read()["value"]

    def get(self, name: str) -> Any:
        return self._ask("get", name)

    def set(self, name: str, value: Any) -> None:
        self._ask("set", name, value)

    def stop(self) -> None:
        if self._process.poll() is None:
            with contextlib.suppress(RuntimeError, BrokenPipeError):
                self._ask("stop")
            self._process.wait(10)

    def __enter__(self) -> RemoteFake:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


_READABLE = {
    "arrivals",
    "rate_limited_count",
    "validation_errors",
    "images_per_minute",
    "rate_window",
    "latency",
    "photo",
    "noise",
}
_WRITABLE = {"images_per_minute", "rate_window", "latency", "photo", "noise"}


def _serve(kwargs: dict[str, Any]) -> None:
    sys.path.insert(0, str(ROOT))
    from tests.fakeapi import FakeImagesAPI

    fake = FakeImagesAPI(**kwargs).start()
    print(json.dumps({"base_url": fake.base_url, "api_key": fake.api_key}), flush=True)
    try:
        for line in sys.stdin:
            command = json.loads(line)
            op, args = command[0], command[1:]
            try:
                if op == "get" and args[0] in _READABLE:
                    value = getattr(fake, args[0])
                elif op == "set" and args[0] in _WRITABLE:
                    setattr(fake, args[0], args[1])
                    value = None
                elif op == "stop":
                    print(json.dumps({"value": None}), flush=True)
                    return
                else:
                    raise ValueError(f"unknown command {command!r}")
            except Exception as error:
                print(json.dumps({"error": repr(error)}), flush=True)
                continue
            print(json.dumps({"value": value}), flush=True)
    finally:
        fake.stop()


if __name__ == "__main__":
    _serve(json.loads(sys.argv[1]) if len(sys.argv) > 1 else {})
