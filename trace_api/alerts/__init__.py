"""Diversion alerts: raised by the route checks, reviewed through a status workflow."""
