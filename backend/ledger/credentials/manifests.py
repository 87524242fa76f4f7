"""Reading C2PA manifests out of files, and signing the ledger's own into copies of them.

Reading gives what a demanding reviewer looks at: whether the manifest validates (and whether
its signer is trusted, against the trust anchors configured), who signed it, the claim
generator, the actions (an AI generation says so with ``digitalSourceType``
``trainedAlgorithmicMedia``), and the ingredients, each with the ledger assertion its own
manifest carries when it came from this ledger: that is how a file made from a registered work
names the work, by content hash, whatever was done to the bytes since.

Writing signs a copy of a registered file with a manifest holding the ledger assertion
(``org.ai-rights-ledger.registration``: chain, contract, work id or output hash, the registered
content hash of the original bytes, the registration transaction, the output's links). The
copy's own bytes differ from the registered ones (the manifest is inside): the assertion names
the original's hash, and the manifest's hard binding covers the copy.
"""

import io
import json
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, BinaryIO

import c2pa

LEDGER_ASSERTION = "org.ai-rights-ledger.registration"
AI_GENERATED = "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia"
DIGITAL_CREATION = "http://cv.iptc.org/newscodes/digitalsourcetype/digitalCreation"
MAX_INGREDIENTS = 256
TRAINING_MINING = "cawg.training-mining"
LEGACY_TRAINING_MINING = "c2pa.training-mining"


class CredentialsError(ValueError):
    """A manifest that cannot be read or written: what is wrong is in the message."""


@lru_cache(maxsize=1)
def signable_types() -> frozenset[str]:
    return frozenset(c2pa.Builder.get_supported_mime_types())


MAX_THUMBNAIL_BYTES = 1 << 20


@dataclass(frozen=True)
class Ingredient:
    title: str
    format: str
    relationship: str  # parentOf, componentOf, inputTo
    ledger: dict[str, Any] | None  # the ledger assertion of the ingredient's own manifest, if it came from a ledger
    thumbnail: bytes | None = field(default=None, repr=False)  # the picture the manifest keeps of it, when there is one


@dataclass(frozen=True)
class Credentials:
    validation_state: str  # Invalid, Valid, Trusted
    problems: list[str]  # validation failures (codes), "signingCredential.untrusted" included
    signer: dict[str, str]  # issuer, common_name
    claim_generator: str
    actions: list[dict[str, Any]]
    ingredients: list[Ingredient] = field(default_factory=list)
    ledger: dict[str, Any] | None = None  # this manifest's own ledger assertion
    label: str = ""  # the active manifest's label (urn:c2pa:...)
    #: The active manifest's training-and-data-mining assertion (``cawg.training-mining``, or the
    #: C2PA 1.x ``c2pa.training-mining``): label and data, as the file says it.
    training_mining: tuple[str, dict[str, Any]] | None = None

    @property
    def software_agent(self) -> str:
        """What made the file, as the manifest says: an action's software agent, or its claim generator."""
        for a in self.actions:
            agent = a.get("softwareAgent")
            name = agent.get("name") if isinstance(agent, dict) else agent
            if isinstance(name, str) and name:
                return name
        return self.claim_generator

    @property
    def ai_generated(self) -> bool:
        return any(a.get("digitalSourceType") == AI_GENERATED for a in self.actions)

    def as_json(self) -> dict[str, Any]:
        return {
            "validation_state": self.validation_state, "problems": self.problems, "signer": self.signer,
            "claim_generator": self.claim_generator, "actions": self.actions, "ai_generated": self.ai_generated,
            "ingredients": [{"title": i.title, "format": i.format, "relationship": i.relationship, "ledger": i.ledger} for i in self.ingredients],
            "ledger": self.ledger, "training_mining": self.training_mining[1] if self.training_mining else None,
        }  # fmt: skip


def _context(trust_anchors: bytes | None) -> c2pa.Context | None:
    if not trust_anchors:
        return None
    settings = c2pa.Settings.from_dict({"verify": {"verify_trust": True}, "trust": {"trust_anchors": trust_anchors.decode()}})
    return c2pa.Context(settings)


def _assertion(manifest: dict[str, Any], label: str) -> dict[str, Any] | None:
    for a in manifest.get("assertions", []):
        if a.get("label") == label and isinstance(a.get("data"), dict):
            return dict(a["data"])
    return None


def _thumbnail(reader: c2pa.Reader, ingredient: dict[str, Any]) -> bytes | None:
    """The ingredient's thumbnail, as the manifest stores it (bounded), or None."""
    uri = (ingredient.get("thumbnail") or {}).get("identifier") if isinstance(ingredient.get("thumbnail"), dict) else None
    if not isinstance(uri, str):
        return None
    out = io.BytesIO()
    try:
        written = reader.resource_to_stream(uri, out)
    except c2pa.C2paError:
        return None
    return out.getvalue() if 0 < written <= MAX_THUMBNAIL_BYTES else None


def read(data: bytes | BinaryIO, mime: str, trust_anchors: bytes | None = None) -> Credentials | None:
    """The file's active manifest, or None if it carries none (or its type cannot carry one)."""
    if mime not in signable_types():
        return None
    stream = io.BytesIO(data) if isinstance(data, bytes) else data
    try:
        context = _context(trust_anchors)
        reader = c2pa.Reader(mime, stream, context=context) if context else c2pa.Reader(mime, stream)
        doc = json.loads(reader.json())
    except c2pa.C2paError as exc:
        if "ManifestNotFound" in type(exc).__name__ or "no JUMBF" in str(exc) or "not found" in str(exc).lower():
            return None
        raise CredentialsError(f"the file's C2PA manifest cannot be read: {exc}") from None
    manifests = doc.get("manifests", {})
    active = manifests.get(doc.get("active_manifest", ""))
    if not isinstance(active, dict):
        return None
    actions: list[dict[str, Any]] = []
    for label in ("c2pa.actions.v2", "c2pa.actions"):
        found = _assertion(active, label)
        if found:
            actions = [a for a in found.get("actions", []) if isinstance(a, dict)]
            break
    ingredients = []
    for ing in active.get("ingredients", [])[:MAX_INGREDIENTS]:
        own = manifests.get(ing.get("active_manifest", "")) if isinstance(ing, dict) else None
        ingredients.append(
            Ingredient(str(ing.get("title", "")), str(ing.get("format", "")), str(ing.get("relationship", "")),
                       _assertion(own, LEDGER_ASSERTION) if isinstance(own, dict) else None, _thumbnail(reader, ing))  # fmt: skip
        )
    training_mining = next(
        ((label, data) for label in (TRAINING_MINING, LEGACY_TRAINING_MINING) if (data := _assertion(active, label)) is not None), None
    )
    generator = active.get("claim_generator_info") or [{}]
    sig = active.get("signature_info", {})
    status = doc.get("validation_results", {}).get("activeManifest", {}).get("failure", []) or doc.get("validation_status", [])
    return Credentials(
        validation_state=str(doc.get("validation_state", "Invalid")),
        problems=sorted({str(s.get("code")) for s in status if isinstance(s, dict)}),
        signer={"issuer": str(sig.get("issuer", "")), "common_name": str(sig.get("common_name", ""))},
        claim_generator=" ".join(str(generator[0].get(k, "")) for k in ("name", "version")).strip(),
        actions=actions, ingredients=ingredients, ledger=_assertion(active, LEDGER_ASSERTION), label=str(doc.get("active_manifest", "")),
        training_mining=training_mining,
    )  # fmt: skip


@dataclass(frozen=True)
class SigningKey:
    """The ledger's C2PA signing credentials: a certificate chain (leaf first) and its key, PEM."""

    cert_chain: bytes
    private_key: bytes

    def signer(self) -> c2pa.Signer:
        info = c2pa.C2paSignerInfo(alg=b"es256", sign_cert=self.cert_chain, private_key=self.private_key, ta_url=None)
        return c2pa.Signer.from_info(info)


def signed_copy(source: BinaryIO, dest: BinaryIO, mime: str, title: str, ai_generated: bool, assertion: dict[str, Any], key: SigningKey,
                software_agent: str | None = None, ingredients: list[tuple[str, str, bytes]] | None = None,
                training_mining: dict[str, Any] | None = None) -> None:  # fmt: skip
    """A copy of the file with the ledger's manifest: ``c2pa.created`` (``trainedAlgorithmicMedia``
    for an AI output, ``digitalCreation`` otherwise) and the ledger assertion. A manifest the file
    already carries becomes its parent ingredient (``c2pa.opened``), so its history stays readable.
    ``ingredients`` (title, media type, bytes): the files it was made from (an output's linked
    works), added as ``inputTo`` ingredients. ``training_mining``: the ``cawg.training-mining``
    assertion's data (a work's terms in CAWG's words). Streams to streams (seekable: temporary files), so
    a large picture is never held whole."""
    if mime not in signable_types():
        raise CredentialsError(f"C2PA manifests cannot be embedded in {mime} files")
    action: dict[str, Any] = {"action": "c2pa.created", "digitalSourceType": AI_GENERATED if ai_generated else DIGITAL_CREATION}
    if software_agent:
        action["softwareAgent"] = {"name": software_agent}
    manifest = {
        "claim_generator_info": [{"name": "ai-rights-ledger", "version": "0.1"}],
        "title": title,
        "assertions": [{"label": "c2pa.actions", "data": {"actions": [action]}}, {"label": LEDGER_ASSERTION, "data": assertion}],
    }
    if training_mining is not None:
        manifest["assertions"].append({"label": TRAINING_MINING, "data": training_mining})
    try:
        has_manifest = read(source, mime) is not None
        source.seek(0)
        if has_manifest:  # keep the file's own history: it becomes the parent ingredient
            manifest["assertions"] = manifest["assertions"][1:]  # c2pa.opened, added by the edit intent, says what happened
            builder = c2pa.Builder(json.dumps(manifest))
            builder.set_intent(c2pa.C2paBuilderIntent.EDIT)
            builder.add_ingredient(json.dumps({"title": title, "relationship": "parentOf"}), mime, source)
            source.seek(0)
        else:
            builder = c2pa.Builder(json.dumps(manifest))
        for name, kind, content in (ingredients or [])[:MAX_INGREDIENTS]:
            builder.add_ingredient(json.dumps({"title": name, "relationship": "inputTo"}), kind, io.BytesIO(content))
        with key.signer() as signer:
            builder.sign(signer, mime, source, dest)
    except c2pa.C2paError as exc:
        raise CredentialsError(f"the C2PA manifest cannot be signed into the file: {exc}") from None
