"""Reading a request that is either JSON or a file plus its description (multipart).

Works, outputs and similarity searches all take a file with a JSON part beside it; this reads
both with the same bounds (one file, few fields, the JSON part checked for depth before it is
parsed) so every such endpoint refuses the same things the same way.
"""

import json
from dataclasses import dataclass
from typing import Generic, TypeVar

from fastapi import Request
from pydantic import BaseModel, ValidationError
from starlette.datastructures import UploadFile

from ledger.jsonshape import JsonLimits, JsonShapeError, check_json_text
from ledger.runtime import Ledger
from ledger.services.errors import InvalidInput, TooLarge

M = TypeVar("M", bound=BaseModel)


@dataclass(frozen=True)
class Upload(Generic[M]):
    spec: M
    file: bytes | None = None
    file_name: str | None = None
    media_type: str | None = None


async def read_file(request: Request, ledger: Ledger, what: str) -> tuple[UploadFile, dict[str, object]]:
    """The one file of a multipart request, and its other (text) fields."""
    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
        raise InvalidInput(f"send multipart/form-data with a 'file' part: the {what}")
    form = await request.form(max_files=1, max_fields=5, max_part_size=ledger.settings.max_json_bytes)
    upload = form.get("file")
    if not isinstance(upload, UploadFile):
        raise InvalidInput(f"multipart request needs a 'file' part with the {what}")
    if upload.size is not None and upload.size > ledger.settings.max_upload_bytes:
        raise TooLarge(f"a file may be at most {ledger.settings.max_upload_bytes} bytes; this one has {upload.size}")
    return upload, {k: v for k, v in form.items() if k != "file"}


async def read_upload(request: Request, ledger: Ledger, part: str, model: type[M]) -> Upload[M]:
    """JSON body -> the model alone; multipart -> ``file`` plus the model from the ``part`` field."""
    ctype = request.headers.get("content-type", "")
    try:
        if ctype.startswith("multipart/form-data"):
            upload, fields = await read_file(request, ledger, "file")
            raw = fields.get(part)
            if not isinstance(raw, str):
                raise InvalidInput(f"multipart request needs a '{part}' part: the {model.__name__} as JSON")
            try:
                check_json_text(raw.encode(), JsonLimits(max_depth=ledger.settings.max_json_depth))
            except JsonShapeError as exc:
                raise InvalidInput(f"the '{part}' part: {exc}") from None
            spec = model.model_validate_json(raw)
            return Upload(spec, await upload.read(), upload.filename, upload.content_type)
        if ctype.startswith("application/json"):
            return Upload(model.model_validate_json(await request.body()))
    except ValidationError as exc:
        raise InvalidInput(f"invalid {part}", errors=json.loads(exc.json(include_url=False))) from exc
    raise InvalidInput(f"send application/json, or multipart/form-data with 'file' and '{part}'")
