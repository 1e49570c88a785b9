"""A throwaway SASL_SSL broker from ``scripts/kafka start --security sasl_ssl``.

Free ports on 127.0.0.1, its own data directory, stopped by its PID.
"""

from __future__ import annotations

import os
import signal
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

from support.processes import ROOT, free_port

SCRIPT = ROOT / "scripts" / "kafka"


@contextmanager
def secured_broker(data_dir: Path) -> Iterator[tuple[dict[str, str], str, int]]:
    """Starts the broker; yields (the ``KAFKA_*`` variables it printed, its stdout, its PID).

    Raises:
        AssertionError: the script failed (its stderr is in the message).
    """
    env = {
        **os.environ,
        "KAFKA_DATA_DIR": str(data_dir),
        "KAFKA_PORT": str(free_port()),
        "KAFKA_CONTROLLER_PORT": str(free_port()),
        "KAFKA_INTERNAL_PORT": str(free_port()),
        "KAFKA_START_TIMEOUT": "120",
    }
    for name in ("KAFKA_BROKERS", "KAFKA_EXTRA_CONFIG"):
        env.pop(name, None)

    def script(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["bash", str(SCRIPT), *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
            stdin=subprocess.DEVNULL,
            check=False,
        )

    pid_file = data_dir / "node-1" / "kafka.pid"
    try:
        started = script("--security", "sasl_ssl", "start")
        assert started.returncode == 0, started.stderr
        variables = dict(
            line.removeprefix("export ").split("=", 1)
            for line in started.stdout.splitlines()
            if line.startswith("export KAFKA_")
        )
        yield variables, started.stdout, int(pid_file.read_text())
    finally:
        pid = int(pid_file.read_text()) if pid_file.exists() else None
        with suppress(subprocess.TimeoutExpired):
            script("stop")
        cmdline = Path(f"/proc/{pid}/cmdline")
        if pid is not None and cmdline.exists() and str(data_dir) in cmdline.read_text():
            with suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
