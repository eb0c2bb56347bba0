"""E-invoices (数电票): invoice profiles, numbering, issuing, batches, routes."""
