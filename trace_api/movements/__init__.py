"""Item movements: current state, path, route checks, and the dealer scan API."""
