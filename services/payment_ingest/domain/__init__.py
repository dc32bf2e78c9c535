"""The pure core of payment ingest: what to do with each receipt of a batch."""
