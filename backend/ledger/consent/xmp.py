"""Consent signals embedded in a file's XMP: IPTC's ``plus:DataMining`` (with
``plus:OtherConstraints``) and TDMRep's ``tdm:reservation`` / ``tdm:policy``.

XMP packets are found by scanning the bytes for ``<x:xmpmeta``, the way Adobe's XMP
specification (part 3) tells readers of unknown formats to: one reader for JPEG, PNG, WebP,
TIFF, PDF, MP4 alike (compressed PNG text chunks excepted). Packets are parsed with defusedxml
(no entities, no external references) and bounded in size and number before parsing.
"""

import re
from dataclasses import dataclass
from xml.etree.ElementTree import Element

from defusedxml import ElementTree as SafeET

from ledger.consent import iptc, tdmrep
from ledger.consent.signals import Signal

MAX_PACKETS = 8
MAX_PACKET = 1 << 20
_RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
_START = re.compile(rb"<x:xmpmeta\b")
_END = b"</x:xmpmeta>"


@dataclass(frozen=True)
class XmpValues:
    data_mining: str = ""
    other_constraints: str = ""
    tdm_reservation: str = ""
    tdm_policy: str = ""


def packets(data: bytes) -> list[bytes]:
    out = []
    for m in _START.finditer(data):
        end = data.find(_END, m.start(), m.start() + MAX_PACKET)
        if end < 0:
            continue
        out.append(data[m.start() : end + len(_END)])
        if len(out) == MAX_PACKETS:
            break
    return out


def _text(el: Element) -> str:
    """A property's value: its text, its rdf:resource, or the first item of an rdf:Alt/Seq/Bag."""
    resource = el.get(f"{{{_RDF}}}resource")
    if resource:
        return resource
    for li in el.iter(f"{{{_RDF}}}li"):
        return (li.text or "").strip()
    return (el.text or "").strip()


def _values(packet: bytes) -> XmpValues | None:
    try:
        root = SafeET.fromstring(packet)
    except Exception:  # defusedxml refuses entities and DTDs; a broken packet is no signal
        return None
    found: dict[str, str] = {}
    wanted = {
        f"{{{iptc.NAMESPACE}}}DataMining": "data_mining", f"{{{iptc.NAMESPACE}}}OtherConstraints": "other_constraints",
        f"{{{tdmrep.NAMESPACE}}}reservation": "tdm_reservation", f"{{{tdmrep.NAMESPACE}}}policy": "tdm_policy",
    }  # fmt: skip
    for desc in root.iter(f"{{{_RDF}}}Description"):
        for name, key in wanted.items():
            if key in found:
                continue
            if (attr := desc.get(name)) is not None:
                found[key] = attr.strip()
            elif (child := desc.find(name)) is not None:
                found[key] = _text(child)
    return XmpValues(**{k: v[:1024] for k, v in found.items()}) if found else None


def signals(data: bytes) -> list[Signal]:
    """Every consent signal the file's XMP carries (the first packet saying each one counts)."""
    merged: dict[str, str] = {}
    for packet in packets(data):
        values = _values(packet)
        if values is None:
            continue
        for key, value in values.__dict__.items():
            if value and key not in merged:
                merged[key] = value
    out: list[Signal] = []
    if merged.get("data_mining") and (s := iptc.read(merged["data_mining"], merged.get("other_constraints", ""))):
        out.append(s)
    if merged.get("tdm_reservation") and (s := tdmrep.read(merged["tdm_reservation"], merged.get("tdm_policy", ""))):
        out.append(s)
    return out


def packet_for(data_mining: str = "", other_constraints: str = "", tdm_reservation: int | None = None, tdm_policy: str = "") -> bytes:
    """An XMP packet stating the given values (for files the ledger writes, and for tests)."""
    from xml.sax.saxutils import escape, quoteattr

    attrs = ""
    if data_mining:
        attrs += f" plus:DataMining={quoteattr(data_mining)}"
    if tdm_reservation is not None:
        attrs += f' tdm:reservation="{int(tdm_reservation)}"'
    if tdm_policy:
        attrs += f" tdm:policy={quoteattr(tdm_policy)}"
    body = ""
    if other_constraints:
        body = f'<plus:OtherConstraints><rdf:Alt><rdf:li xml:lang="x-default">{escape(other_constraints)}</rdf:li></rdf:Alt></plus:OtherConstraints>'
    return (
        '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>'
        f'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="{_RDF}">'
        f'<rdf:Description rdf:about="" xmlns:plus="{iptc.NAMESPACE}" xmlns:tdm="{tdmrep.NAMESPACE}"{attrs}>{body}</rdf:Description>'
        '</rdf:RDF></x:xmpmeta><?xpacket end="r"?>'
    ).encode()
