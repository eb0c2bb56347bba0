"""The tenant audit log: append-only entries, signed checkpoints, witnesses, exports."""
