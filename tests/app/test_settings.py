"""Settings from the environment."""

from __future__ import annotations

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
    environ = {"FAUST_A2A_DATADIR": "/from/env"}
    argv = ["/venv/bin/faust", "--datadir", "/from/cli", "-A", "app", "worker"]
    assert Settings.from_env(environ, argv).datadir == "/from/cli"
    assert Settings.from_env(environ, ["/venv/bin/faust", "-D", "/short", "-A", "app"]).datadir == "/short"
    assert Settings.from_env(environ, ["faust", "--datadir=/eq", "worker"]).datadir == "/eq"
    assert Settings.from_env(environ, ["faust", "-A", "app", "worker"]).datadir == "/from/env"
    # Another program's -D is not Faust's.
    assert Settings.from_env(environ, ["pytest", "-D", "x"]).datadir == "/from/env"


def test_request_handler_choice_is_checked() -> None:
    assert Settings.from_env({"FAUST_A2A_REQUEST_HANDLER": "default"}, []).request_handler == "default"
    with pytest.raises(ValueError, match="FAUST_A2A_REQUEST_HANDLER"):
        Settings.from_env({"FAUST_A2A_REQUEST_HANDLER": "fast"}, [])
