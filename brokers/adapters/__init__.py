"""One interface for every venue; adapters are found through `registry`."""
