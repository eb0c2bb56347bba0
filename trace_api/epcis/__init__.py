"""The EPCIS 2.0 repository: GS1's REST binding under /epcis (capture, query, subscriptions)."""
