"""CPU time and peak resident memory of a process, and the machine's stolen CPU time,
read from ``/proc`` (Linux)."""

from __future__ import annotations

import os
from pathlib import Path

_CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time the process (all its threads) has used so far, in seconds.

    Raises:
        OSError: no such process.
    """
    stat = Path(f"/proc/{pid}/stat").read_text()
    # Fields after the command name, which is in parentheses and may hold spaces:
    # state is field 3, utime field 14, stime field 15 (proc(5)).
    fields = stat[stat.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / _CLOCK_TICKS


def peak_rss_bytes(pid: int) -> int:
    """The process's peak resident set size so far (``VmHWM``), in bytes.

    Raises:
        OSError: no such process.
        ValueError: the kernel does not report ``VmHWM``.
    """
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise ValueError(f"no VmHWM in /proc/{pid}/status")


def steal_seconds() -> float:
    """CPU time the hypervisor has given to other guests while this machine's CPUs had
    work to run (``steal``), summed over all CPUs since boot, in seconds.

    On a virtual machine, steal is time the benchmark's processes wanted a CPU and
    did not get one: a window with much of it measured a slower machine.

    Raises:
        OSError: no ``/proc/stat``.
    """
    # First line: "cpu  user nice system idle iowait irq softirq steal ..." (proc(5)).
    fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()
    return int(fields[8]) / _CLOCK_TICKS if len(fields) > 8 else 0.0
