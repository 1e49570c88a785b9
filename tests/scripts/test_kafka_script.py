"""Tests of scripts/kafka, the local Kafka broker script.

Most tests exercise error paths that need no broker and no Java (ports in use,
stale or foreign data dirs, missing tools); they run in well under a second
each. Two tests start real brokers (one node, then three) on free ports with
their own temporary data dirs, never on the default port 9092, so a broker that
``make test`` started is left alone. Every broker started here is stopped by
its PID, also when a test fails.

Plain synchronous tests: no pytest-asyncio needed.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "scripts" / "kafka"
BASH = shutil.which("bash") or "/bin/bash"


# ------------------------------------------------------------------ helpers


def run(
    *args: str,
    env: dict[str, str] | None = None,
    timeout: float = 60,
) -> subprocess.CompletedProcess[str]:
    """Runs scripts/kafka with ``args`` and the given environment additions."""
    full_env = {**os.environ, **(env or {})}
    # What a developer may have set must not leak into the tests.
    for name in ("KAFKA_BROKERS", "KAFKA_HOST", "KAFKA_EXTRA_CONFIG", "KAFKA_MVN_ARGS"):
        if env is None or name not in env:
            full_env.pop(name, None)
    return subprocess.run(
        [BASH, str(SCRIPT), *args],
        env=full_env,
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
        check=False,
    )


def assert_one_line_error(result: subprocess.CompletedProcess[str], *needles: str) -> str:
    """The run failed with exactly one line on stderr, containing ``needles``, no stack trace."""
    assert result.returncode != 0, result
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    line = lines[0]
    assert line.startswith("scripts/kafka: error: "), line
    for needle in needles:
        assert needle in line, (needle, line)
    out = result.stdout + result.stderr
    assert "Traceback" not in out
    assert "Exception in thread" not in out
    assert "\tat " not in out
    return line


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def port_is_free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def free_port_range(count: int) -> int:
    """A port p such that p .. p+count-1 are all free on 127.0.0.1."""
    for _ in range(200):
        base = free_port()
        if base + count < 65536 and all(port_is_free(base + i) for i in range(count)):
            return base
    raise RuntimeError(f"no {count} consecutive free ports")


@contextmanager
def listening_socket() -> Iterator[int]:
    """A socket listening on 127.0.0.1 at a free port (the port is yielded)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield sock.getsockname()[1]


def base_env(
    tmp_path: Path, port: int | None = None, controller_port: int | None = None
) -> dict[str, str]:
    """Environment for a throwaway broker: own data dir, ports that are free."""
    port = port or free_port()
    return {
        "KAFKA_DATA_DIR": str(tmp_path / "kafka"),
        "KAFKA_PORT": str(port),
        "KAFKA_CONTROLLER_PORT": str(controller_port or free_port()),
        "KAFKA_START_TIMEOUT": "90",
    }


def path_without(tmp_path: Path, *names: str) -> str:
    """A PATH with every command of the current PATH except ``names`` (as symlinks)."""
    bin_dir = tmp_path / f"bin-without-{'-'.join(names)}"
    bin_dir.mkdir()
    for directory in os.environ.get("PATH", "").split(os.pathsep):
        if not directory or not os.path.isdir(directory):
            continue
        for entry in os.scandir(directory):
            if entry.name in names or (bin_dir / entry.name).exists():
                continue
            with suppress(OSError):
                if entry.is_file() and os.access(entry.path, os.X_OK):
                    (bin_dir / entry.name).symlink_to(entry.path)
    return str(bin_dir)


def pids_of(data_dir: Path) -> list[int]:
    return [
        int(p.read_text().strip())
        for p in sorted(data_dir.glob("node-*/kafka.pid"))
        if p.read_text().strip()
    ]


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie (not reaped yet) counts as gone.
    with suppress(OSError):
        stat = Path(f"/proc/{pid}/stat").read_text()
        if stat.rsplit(")", 1)[1].split()[0] == "Z":
            return False
    return True


@contextmanager
def stopped_at_exit(env: dict[str, str]) -> Iterator[None]:
    """Stops the brokers of ``env``'s data dir by PID at the end, whatever happened."""
    data_dir = Path(env["KAFKA_DATA_DIR"])
    try:
        yield
    finally:
        pids = pids_of(data_dir) if data_dir.exists() else []
        with suppress(subprocess.TimeoutExpired):
            run("stop", env=env, timeout=60)
        for pid in pids:  # the script failed to stop it: do it here, by PID
            if alive(pid):
                with suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)


@pytest.fixture(scope="module")
def kafka_jars() -> None:
    """The broker's jars in the cache (downloads them once, ~30 s); needs Java and Maven."""
    result = run("fetch", timeout=900)
    assert result.returncode == 0, result.stderr


# -------------------------------------------------------- no broker needed


def test_help_lists_commands_and_settings() -> None:
    result = run("help")
    assert result.returncode == 0
    for word in (
        "start",
        "stop",
        "status",
        "logs",
        "fetch",
        "reset",
        "--brokers",
        "KAFKA_PORT",
        "KAFKA_DATA_DIR",
    ):
        assert word in result.stdout


def test_no_command_prints_usage_and_fails() -> None:
    result = run()
    assert result.returncode == 2
    assert "Usage:" in result.stdout


def test_unknown_command_is_one_line() -> None:
    assert_one_line_error(run("frobnicate"), "unknown command", "frobnicate")


def test_unexpected_argument_is_one_line() -> None:
    assert_one_line_error(run("stop", "now"), "unexpected argument", "now")


def test_start_refuses_a_taken_port(tmp_path: Path) -> None:
    with listening_socket() as port:
        env = base_env(tmp_path, port=port)
        result = run("start", env=env)
    assert_one_line_error(result, f"port {port}", "already in use", "KAFKA_PORT")
    assert not (tmp_path / "kafka").exists(), "nothing is set up when the port is taken"


def test_start_refuses_a_taken_controller_port(tmp_path: Path) -> None:
    with listening_socket() as port:
        env = base_env(tmp_path, controller_port=port)
        result = run("start", env=env)
    assert_one_line_error(result, f"port {port}", "controller", "KAFKA_CONTROLLER_PORT")


def test_three_brokers_check_every_port(tmp_path: Path) -> None:
    base = free_port_range(3)
    with socket.socket() as sock:  # the third node's port is taken
        sock.bind(("127.0.0.1", base + 2))
        sock.listen()
        env = base_env(tmp_path, port=base)
        result = run("--brokers", "3", "start", env=env)
    assert_one_line_error(result, f"port {base + 2}", "node-3")


def test_stop_when_nothing_runs_is_harmless(tmp_path: Path) -> None:
    result = run("stop", env=base_env(tmp_path))
    assert result.returncode == 0
    assert "not running" in result.stdout
    assert result.stderr == ""


def test_status_when_stopped_exits_3(tmp_path: Path) -> None:
    result = run("status", env=base_env(tmp_path))
    assert result.returncode == 3
    assert "stopped" in result.stdout


def test_stale_pid_file_is_not_a_running_broker(tmp_path: Path) -> None:
    """A pid file of a process that is not this node's broker is ignored (PID reuse)."""
    env = base_env(tmp_path)
    node = Path(env["KAFKA_DATA_DIR"]) / "node-1"
    node.mkdir(parents=True)
    (node / "kafka.pid").write_text(f"{os.getpid()}\n")  # alive, but pytest
    assert run("status", env=env).returncode == 3
    result = run("stop", env=env)
    assert result.returncode == 0
    assert "not running" in result.stdout
    assert not (node / "kafka.pid").exists()


def test_invalid_port_setting(tmp_path: Path) -> None:
    env = {**base_env(tmp_path), "KAFKA_PORT": "ninety"}
    assert_one_line_error(run("start", env=env), "KAFKA_PORT=ninety")


def test_invalid_broker_count(tmp_path: Path) -> None:
    assert_one_line_error(run("--brokers", "0", "start", env=base_env(tmp_path)), "--brokers")


def test_node_dirs_without_cluster_file_are_stale(tmp_path: Path) -> None:
    env = base_env(tmp_path)
    (Path(env["KAFKA_DATA_DIR"]) / "node-1" / "data").mkdir(parents=True)
    assert_one_line_error(run("start", env=env), "stale data dir", "scripts/kafka reset")


def test_reset_deletes_only_what_the_script_wrote(tmp_path: Path) -> None:
    env = base_env(tmp_path)
    data_dir = Path(env["KAFKA_DATA_DIR"])
    write_cluster_file(data_dir)
    node = data_dir / "node-1"
    (node / "data").mkdir(parents=True)
    (node / "server.properties").write_text("# Written by scripts/kafka on every start\n")
    (data_dir / "test").mkdir()  # e.g. another data dir nested in this one
    (data_dir / "test" / "keep.txt").write_text("not the script's")
    result = run("reset", env=env)
    assert result.returncode == 0, result.stderr
    assert not node.exists()
    assert not (data_dir / "cluster.properties").exists()
    assert (data_dir / "test" / "keep.txt").exists()


def test_reset_keeps_a_node_dir_it_did_not_write(tmp_path: Path) -> None:
    env = base_env(tmp_path)
    node = Path(env["KAFKA_DATA_DIR"]) / "node-1"
    node.mkdir(parents=True)
    (node / "precious.txt").write_text("someone else's")
    assert_one_line_error(run("reset", env=env), "kept", "node-1")
    assert (node / "precious.txt").exists()


def write_cluster_file(data_dir: Path, version: str = "4.3.1", nodes: int = 1) -> None:
    data_dir.mkdir(parents=True)
    (data_dir / "cluster.properties").write_text(
        f"kafka.version={version}\nnodes={nodes}\ncluster.id=MkU3OEVBNTcwNTJENDM2Qg\n"
    )


def test_data_dir_of_another_kafka_version(tmp_path: Path) -> None:
    env = base_env(tmp_path)
    write_cluster_file(Path(env["KAFKA_DATA_DIR"]), version="3.9.0")
    assert_one_line_error(run("start", env=env), "Kafka 3.9.0", "scripts/kafka reset")


def test_data_dir_with_another_cluster_id(tmp_path: Path) -> None:
    env = base_env(tmp_path)
    data_dir = Path(env["KAFKA_DATA_DIR"])
    write_cluster_file(data_dir, version=current_kafka_version())
    meta = data_dir / "node-1" / "data" / "meta.properties"
    meta.parent.mkdir(parents=True)
    meta.write_text("version=1\ncluster.id=AAAAAAAAAAAAAAAAAAAAAA\nnode.id=1\n")
    assert_one_line_error(run("start", env=env), "cluster.id", "scripts/kafka reset")


def test_data_dir_with_another_node_count(tmp_path: Path) -> None:
    env = base_env(tmp_path)
    write_cluster_file(Path(env["KAFKA_DATA_DIR"]), version=current_kafka_version(), nodes=1)
    assert_one_line_error(run("--brokers", "3", "start", env=env), "1-node", "--brokers 1")


def test_reset_deletes_its_own_data_dir(tmp_path: Path) -> None:
    env = base_env(tmp_path)
    data_dir = Path(env["KAFKA_DATA_DIR"])
    write_cluster_file(data_dir)
    result = run("reset", env=env)
    assert result.returncode == 0, result.stderr
    assert not data_dir.exists()
    assert run("reset", env=env).returncode == 0  # twice is harmless


def test_java_too_old(tmp_path: Path) -> None:
    java_home = tmp_path / "jdk11"
    (java_home / "bin").mkdir(parents=True)
    fake = java_home / "bin" / "java"
    fake.write_text("#!/bin/sh\necho 'openjdk version \"11.0.22\" 2024-01-16' >&2\n")
    fake.chmod(0o755)
    env = {**base_env(tmp_path), "JAVA_HOME": str(java_home)}
    assert_one_line_error(run("start", env=env), "Java 11.0.22", "17")


def test_java_home_without_java(tmp_path: Path) -> None:
    env = {**base_env(tmp_path), "JAVA_HOME": str(tmp_path / "nowhere")}
    assert_one_line_error(run("start", env=env), "JAVA_HOME", "bin/java")


def test_no_java_on_path(tmp_path: Path) -> None:
    env = {**base_env(tmp_path), "PATH": path_without(tmp_path, "java"), "JAVA_HOME": ""}
    assert_one_line_error(run("start", env=env), "java not found", "Java 17")


def test_fetch_without_maven(tmp_path: Path) -> None:
    env = {
        **base_env(tmp_path),
        "PATH": path_without(tmp_path, "mvn"),
        "KAFKA_CACHE_DIR": str(tmp_path / "cache"),
    }
    assert_one_line_error(run("fetch", env=env), "mvn not found", "install Maven")


def test_fetch_when_maven_central_cannot_be_reached(tmp_path: Path) -> None:
    """Maven offline with an empty local repository stands for 'no network'."""
    env = {
        **base_env(tmp_path),
        "KAFKA_CACHE_DIR": str(tmp_path / "cache"),
        "KAFKA_MVN_ARGS": f"-o -Dmaven.repo.local={tmp_path / 'm2'}",
    }
    assert_one_line_error(
        run("fetch", env=env, timeout=120), "Maven cannot download", "scripts/kafka fetch"
    )
    assert not (tmp_path / "cache" / "libs").exists()


def current_kafka_version() -> str:
    pom = (REPO / "scripts" / "kafka-pom" / "pom.xml").read_text()
    return pom.split("<kafka.version>", 1)[1].split("</kafka.version>", 1)[0]


# ------------------------------------------------------ real brokers


def test_jvm_that_cannot_start_is_reported_and_cleaned_up(tmp_path: Path, kafka_jars: None) -> None:
    env = {**base_env(tmp_path), "KAFKA_HEAP": "-Xmx1k"}
    with stopped_at_exit(env):
        result = run("start", env=env, timeout=120)
        assert result.returncode == 1
        last = result.stderr.strip().splitlines()[-1]
        assert "the JVM did not start" in last and "KAFKA_HEAP" in last, result.stderr
        assert not list(Path(env["KAFKA_DATA_DIR"]).glob("node-*/kafka.pid"))


def test_port_bound_but_not_listening_is_reported_from_the_broker_log(
    tmp_path: Path, kafka_jars: None
) -> None:
    """A bound socket that does not listen escapes the pre-check: Kafka's bind fails."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        env = base_env(tmp_path, port=sock.getsockname()[1])
        with stopped_at_exit(env):
            result = run("start", env=env, timeout=120)
    assert result.returncode == 1
    last = result.stderr.strip().splitlines()[-1]
    assert "a port is already in use" in last, result.stderr
    assert "\tat " not in result.stderr
    assert not list(Path(env["KAFKA_DATA_DIR"]).glob("node-*/kafka.pid"))


def test_start_status_start_stop_cycle(tmp_path: Path, kafka_jars: None) -> None:
    env = base_env(tmp_path)
    data_dir = Path(env["KAFKA_DATA_DIR"])
    (data_dir / "other").mkdir(parents=True)  # files of others may share the dir
    (data_dir / "other" / "keep.txt").write_text("not the script's")
    with stopped_at_exit(env):
        result = run("start", env=env, timeout=150)
        assert result.returncode == 0, result.stdout + result.stderr
        assert "started in" in result.stdout

        (pid,) = pids_of(data_dir)
        assert alive(pid)
        config = (data_dir / "node-1" / "server.properties").read_text()
        assert f"listeners=PLAINTEXT://127.0.0.1:{env['KAFKA_PORT']}," in config
        assert (data_dir / "node-1" / "server.log").stat().st_size > 0

        # The broker answers on its port, on 127.0.0.1.
        socket.create_connection(("127.0.0.1", int(env["KAFKA_PORT"])), timeout=5).close()

        status = run("status", env=env)
        assert status.returncode == 0, status.stdout
        assert f"running, pid {pid}" in status.stdout
        assert "answering" in status.stdout

        again = run("start", env=env)
        assert again.returncode == 0
        assert "already running" in again.stdout
        assert pids_of(data_dir) == [pid]

        logs = run("logs", "-n", "5", env=env)
        assert logs.returncode == 0
        assert logs.stdout.strip()

        stop = run("stop", env=env, timeout=60)
        assert stop.returncode == 0, stop.stderr
        assert "stopped" in stop.stdout
        assert not alive(pid)
        assert run("status", env=env).returncode == 3
        assert run("stop", env=env).returncode == 0

        reset = run("reset", env=env)
        assert reset.returncode == 0, reset.stderr
        assert not (data_dir / "node-1").exists()
        assert (data_dir / "other" / "keep.txt").exists()


def test_three_broker_cluster(tmp_path: Path, kafka_jars: None) -> None:
    base = free_port_range(3)
    controller_base = free_port_range(3)
    env = base_env(tmp_path, port=base, controller_port=controller_base)
    data_dir = Path(env["KAFKA_DATA_DIR"])
    with stopped_at_exit(env):
        result = run("--brokers", "3", "start", env=env, timeout=180)
        assert result.returncode == 0, result.stdout + result.stderr
        assert f"127.0.0.1:{base},127.0.0.1:{base + 1},127.0.0.1:{base + 2}" in result.stdout
        pids = pids_of(data_dir)
        assert len(pids) == 3 and all(alive(pid) for pid in pids)
        config = (data_dir / "node-2" / "server.properties").read_text()
        assert "default.replication.factor=3" in config
        assert "min.insync.replicas=2" in config
        assert "offsets.topic.replication.factor=3" in config
        assert config.count("@127.0.0.1:") == 3  # three KRaft voters

        # Without --brokers, status and stop see the cluster's three nodes.
        status = run("status", env=env)
        assert status.returncode == 0, status.stdout
        assert status.stdout.count("running, pid") == 3
        assert status.stdout.count("3 broker(s) in metadata") == 3

        stop = run("stop", env=env, timeout=90)
        assert stop.returncode == 0, stop.stderr
        assert not any(alive(pid) for pid in pids)
        assert run("status", env=env).returncode == 3


def test_an_unknown_security_mode_is_one_line(tmp_path: Path) -> None:
    result = run("--security", "kerberos", "start", env=base_env(tmp_path))
    assert_one_line_error(result, "--security kerberos", "plaintext or sasl_ssl")
    assert not (tmp_path / "kafka").exists()


def test_help_lists_the_security_mode() -> None:
    result = run("help")
    assert "--security MODE" in result.stdout
    assert "KAFKA_INTERNAL_PORT" in result.stdout


def test_security_mode_is_fixed_when_the_data_dir_is_formatted(tmp_path: Path) -> None:
    env = base_env(tmp_path)
    version = run("status", env=env).stdout.split("Kafka ", 1)[1].split(",")[0]
    data_dir = Path(env["KAFKA_DATA_DIR"])
    data_dir.mkdir(parents=True)
    (data_dir / "cluster.properties").write_text(
        f"kafka.version={version}\nnodes=1\ncluster.id=AAAAAAAAAAAAAAAAAAAAAA\nsecurity=plaintext\n"
    )
    result = run("--security", "sasl_ssl", "start", env=env)
    assert_one_line_error(result, "formatted with --security plaintext", "reset")
