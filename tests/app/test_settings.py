"""Settings from the environment."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from app.settings import ENV_VARS, Settings


def test_defaults_target_the_local_broker() -> None:
    settings = Settings.from_env({})
    assert settings == Settings()
    assert settings.bootstrap_servers == "127.0.0.1:9092"
    assert settings.store == "rocksdb://"
    assert settings.partitions == 8
    assert settings.card_bootstrap_servers == settings.bootstrap_servers


def test_every_field_has_a_variable() -> None:
    settings = Settings.from_env(
        {
            ENV_VARS["partitions"]: "4",
            ENV_VARS["advertised_bootstrap_servers"]: "kafka.example:9092",
        }
    )
    assert settings.partitions == 4
    assert settings.card_bootstrap_servers == "kafka.example:9092"


def test_a_bad_number_names_the_variable() -> None:
    with pytest.raises(ValueError, match="FAUST_A2A_MAX_IN_FLIGHT"):
        Settings.from_env({"FAUST_A2A_MAX_IN_FLIGHT": "lots"})


def test_faust_datadir_option_wins_over_the_environment() -> None:
    environ = {"FAUST_A2A_DATADIR": "/from/env", "FAUST_DATADIR": "/from/cli"}
    assert Settings.from_env(environ).datadir == "/from/cli"
    assert Settings.from_env({"FAUST_A2A_DATADIR": "/from/env"}).datadir == "/from/env"


def test_importing_faust_reads_the_datadir_option() -> None:
    """The seam the setting relies on: ``import faust`` copies ``--datadir`` from argv."""
    code = "import sys, os; sys.argv = ['faust', '--datadir', 'DIR', '-A', 'app']; import faust; print(os.environ.get('FAUST_DATADIR'))"
    env = {k: v for k, v in os.environ.items() if k not in ("FAUST_DATADIR", "F_DATADIR")}
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, timeout=60)
    assert done.stdout.decode().strip() == "DIR", done.stderr.decode()


def test_request_handler_choice_is_checked() -> None:
    assert Settings.from_env({"FAUST_A2A_REQUEST_HANDLER": "default"}).request_handler == "default"
    with pytest.raises(ValueError, match="FAUST_A2A_REQUEST_HANDLER"):
        Settings.from_env({"FAUST_A2A_REQUEST_HANDLER": "fast"})


def test_consumer_choice_is_checked() -> None:
    assert Settings.from_env({}).consumer == "inline"
    assert Settings.from_env({"FAUST_A2A_CONSUMER": "thread"}).consumer == "thread"
    with pytest.raises(ValueError, match="FAUST_A2A_CONSUMER"):
        Settings.from_env({"FAUST_A2A_CONSUMER": "threaded"})
