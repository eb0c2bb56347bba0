"""Tenants, organisations and API keys."""
