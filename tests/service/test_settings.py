"""Settings: safe local defaults, and production refuses the unsafe ones."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from pydantic import SecretStr

from trace_api.errors import UnsafeSettings
from trace_api.keystore import MasterKeyError, load_master_key
from trace_api.settings import Settings


def test_defaults_are_local_and_embedded(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("TRACE_"):
            monkeypatch.delenv(name)
    settings = Settings()
    assert settings.env == "development"
    assert settings.resolved_database_url == "sqlite:///.trace/trace.db"
    assert settings.chain_url == "embedded"
    assert (settings.host, settings.port) == ("127.0.0.1", 8000)
    settings.check_production_safety()  # development accepts its defaults


def test_environment_variables_use_trace_prefix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRACE_PORT", "9123")
    monkeypatch.setenv("TRACE_CHAIN_CONFIRMATIONS", "6")
    settings = Settings()
    assert settings.port == 9123
    assert settings.chain_confirmations == 6


def test_production_refuses_every_unsafe_default() -> None:
    with pytest.raises(UnsafeSettings) as caught:
        Settings(env="production").check_production_safety()
    text = str(caught.value)
    for name in (
        "TRACE_MASTER_KEY",
        "TRACE_SIGNING_KEY",
        "TRACE_DATABASE_URL",
        "TRACE_CHAIN_URL",
        "https",
    ):
        assert name in text


def test_production_starts_on_safe_settings() -> None:
    Settings(
        env="production",
        master_key=SecretStr("00" * 16),
        signing_key=SecretStr("11" * 32),
        database_url="postgresql://db.internal/trace",
        chain_url="https://rpc.example.invalid",
        chain_private_key=SecretStr("11" * 32),
        public_base_url="https://id.brand.example",
    ).check_production_safety()


def test_webhooks_to_private_networks_are_off_by_default_and_refused_in_production(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("TRACE_EPCIS_WEBHOOK_ALLOW_PRIVATE", raising=False)
    assert Settings().epcis_webhook_allow_private is False
    safe = {
        "env": "production",
        "master_key": SecretStr("00" * 16),
        "signing_key": SecretStr("11" * 32),
        "database_url": "postgresql://db.internal/trace",
        "chain_url": "https://rpc.example.invalid",
        "chain_private_key": SecretStr("11" * 32),
        "public_base_url": "https://id.brand.example",
    }
    with pytest.raises(UnsafeSettings) as caught:
        Settings(**safe, epcis_webhook_allow_private=True).check_production_safety()
    assert "TRACE_EPCIS_WEBHOOK_ALLOW_PRIVATE" in str(caught.value)
    Settings(**safe, epcis_webhook_allow_private=False).check_production_safety()


def test_generated_master_key_is_0600_and_stable(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    key, source = load_master_key(settings)
    path = tmp_path / "master.key"
    assert source == str(path)
    assert len(key) == 16
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_master_key(settings)[0] == key


def test_world_readable_master_key_is_refused(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    load_master_key(settings)
    (tmp_path / "master.key").chmod(0o644)
    with pytest.raises(MasterKeyError, match="chmod 600"):
        load_master_key(settings)


def test_master_key_from_environment_must_be_32_hex(tmp_path: Path) -> None:
    with pytest.raises(MasterKeyError):
        load_master_key(Settings(data_dir=tmp_path, master_key=SecretStr("abcd")))
    key, source = load_master_key(Settings(data_dir=tmp_path, master_key=SecretStr("ab" * 16)))
    assert key == bytes.fromhex("ab" * 16)
    assert source == "environment"
    assert not (tmp_path / "master.key").exists()
