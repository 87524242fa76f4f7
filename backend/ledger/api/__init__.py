"""HTTP API (FastAPI): routers per audience, auth by API key and role."""
