"""Channel tree, territories, product scopes, cross-edges, locations and allocations."""
