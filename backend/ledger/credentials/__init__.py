"""Content Credentials (C2PA): the ledger's records travel inside the files, and the manifests
files already carry are read as evidence (c2pa-python; pure of the database and the chain)."""
