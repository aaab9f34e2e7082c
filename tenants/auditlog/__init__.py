"""The firm's access log: append-only, hash-chained, written with the access it records."""
