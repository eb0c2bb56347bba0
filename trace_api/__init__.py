"""The traceability service: settings, database, services, HTTP routes, pages, CLI, worker."""

__version__ = "0.1.0"
