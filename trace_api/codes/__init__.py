"""Per-item codes: products, batches, issuing codes in bulk, GS1 Digital Link, labels."""
