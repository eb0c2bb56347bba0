"""Fixtures for real parts: databases (SQLite and PostgreSQL), the app, anvil."""

pytest_plugins = ["fixtures.database", "fixtures.app", "fixtures.anvil"]
