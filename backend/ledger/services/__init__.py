"""Use cases shared by the API and the CLI; routers and commands only translate in and out."""
