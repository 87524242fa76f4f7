"""A document served as canonical JSON (what verifiers check: sorted keys, no whitespace) or as a
PDF rendering of that JSON that prints its SHA-256: provenance certificates, training-data
summaries. One place builds both, so the PDF always names the exact JSON bytes."""

import hashlib
import json
from collections.abc import Callable
from typing import Annotated, Any, Literal

from fastapi import Query
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from ledger.content.canonical import canonical

Format = Annotated[Literal["json", "pdf"], Query(description="json (sorted keys, no whitespace: what verifiers check) or pdf (readable, printing the JSON's SHA-256)")]
RESPONSES: dict[int | str, dict[str, Any]] = {200: {"content": {"application/json": {}, "application/pdf": {}}}}


async def document_download(build: Callable[[], dict[str, Any]], pdf: Callable[[dict[str, Any], str], bytes], fmt: str, name: str) -> Response:
    """``build()`` (run off the event loop) as ``name.json`` or ``name.pdf``, an attachment."""
    def render() -> tuple[bytes, str]:
        doc = canonical(build())
        if fmt == "json":
            return doc, "application/json"
        return pdf(json.loads(doc), hashlib.sha256(doc).hexdigest()), "application/pdf"

    body, media = await run_in_threadpool(render)
    return Response(content=body, media_type=media, headers={"Content-Disposition": f'attachment; filename="{name}.{fmt}"'})
