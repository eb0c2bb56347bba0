"""What the scan page shows of a brand: its name, hotline, website, logo, product photos."""
