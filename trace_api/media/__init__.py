"""Images tenants upload (brand logos, product photos): checked, re-encoded, served."""
