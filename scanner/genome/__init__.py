"""The genome store: FASTA ingest, base codes, one-hot encoding."""
