"""Consent in the standards' words: the terms word (CAWG uses, each allowed, notAllowed or
constrained), the signals files and sites carry (IPTC plus:DataMining, W3C TDMRep, C2PA
cawg.training-mining) recorded as consent evidence, the audit by use (constraints and their
acceptance, one-creator fine-tunes, conflicts), co-owners' positions, and the EU training-data
summary. One ledger (real anvil, SQLite, HTTP) is shared by the module's tests: each makes its
own works, keys and models."""

import hashlib
import io
import json
from collections.abc import Iterator
from pathlib import Path

import c2pa
import httpx
import pytest
from eth_utils import event_abi_to_log_topic, keccak
from hypothesis import given, strategies as st
from PIL import Image
from PIL.PngImagePlugin import PngInfo
from pypdf import PdfReader

from ledger.chain.node import AnvilNode
from ledger.consent import cawg, iptc, tdmrep, xmp
from ledger.consent.signals import CAWG, IPTC, TDMREP, conflicts
from ledger.consent.uses import USE_KEYS, State, Use, from_flags, from_format1, pack, state_of, unpack
from ledger.credentials.manifests import SigningKey
from ledger.indexer.decoding import ADDED_FIELDS, _without
from ledger.models import Role
from ledger.runtime import Ledger, open_ledger
from ledger.services.keys import create_api_key
from tests.certificates import CertificateAuthority, make_test_ca
from tests.conftest import Server, client_for, make_settings

TRAINING = {"training_allowed": True, "royalty_bps": 500}
ALL_ALLOWED = dict.fromkeys(USE_KEYS, "allowed")


# ---- the vocabulary and the standards' mappings (pure) -----------------------------------------

words = st.fixed_dictionaries({u: st.sampled_from(list(State)) for u in Use}).map(pack)


@given(words)
def test_a_terms_word_packs_each_use_in_its_own_slot(word: int) -> None:
    assert pack(unpack(word)) == word and word < 1 << 12
    assert all(state_of(word, u) is s for u, s in unpack(word).items())


@given(words)
def test_the_iptc_and_tdmrep_a_work_carries_never_claim_more_freedom_than_its_terms(word: int) -> None:
    constraints = "bafkrei-licence" if any(state_of(word, u) is State.CONSTRAINED for u in Use) else ""
    data_mining, other = iptc.from_terms(word, constraints)
    for signal in (iptc.read(data_mining, other), tdmrep.read(**{k.removeprefix("tdm-"): v for k, v in tdmrep.from_terms(word, constraints).items()})):
        assert signal is not None
        for use, said in signal.uses.items():
            # Never allowed where the terms do not allow it; "see constraints" spells the terms out.
            assert said is not State.ALLOWED or state_of(word, use) is State.ALLOWED, (use, said, word)
            if said is State.CONSTRAINED and state_of(word, use) is State.NOT_ALLOWED:
                assert f"{use.key} notAllowed" in signal.constraints, (use, signal)
    # CAWG's own assertion says exactly what the terms say, use by use.
    back = cawg.read(cawg.LABEL, cawg.assertion(word, constraints))
    assert back is not None and back.uses == {u: state_of(word, u) for u in (Use.DATA_MINING, Use.AI_INFERENCE, Use.AI_GENERATIVE_TRAINING, Use.AI_TRAINING)}


def test_format_one_flags_mean_the_uses_the_migration_documents() -> None:
    trained = unpack(from_format1(1))
    assert {u for u, s in trained.items() if s is State.ALLOWED} == {Use.DATA_MINING, Use.AI_GENERATIVE_TRAINING, Use.AI_TRAINING}
    assert {u for u, s in unpack(from_format1(2)).items() if s is State.ALLOWED} == {Use.REFERENCE, Use.AI_INFERENCE}
    assert from_format1(3) == from_flags(True, True) and from_format1(0) == 0


def test_iptc_values_name_only_what_they_prohibit() -> None:
    genai = iptc.read(iptc.VOCAB + iptc.PROHIBITED_GENAI)
    assert genai is not None and genai.uses == {Use.AI_GENERATIVE_TRAINING: State.NOT_ALLOWED}
    assert iptc.read("DMI-UNSPECIFIED") is None and iptc.read("nonsense") is None
    see = iptc.read("http://ns.useplus.org/ldf/vocab/DMI-PROHIBITED-SEECONSTRAINT", "licence at https://studio.example/tdm")
    assert see is not None and see.constraints == "licence at https://studio.example/tdm" and set(see.uses.values()) == {State.CONSTRAINED}
    # Terms the vocabulary cannot say exactly fall back to "see constraints", stating the uses.
    odd = pack({Use.DATA_MINING: State.NOT_ALLOWED, Use.AI_GENERATIVE_TRAINING: State.ALLOWED, Use.AI_TRAINING: State.ALLOWED})
    value, other = iptc.from_terms(odd, "")
    assert value.endswith("DMI-PROHIBITED-SEECONSTRAINT") and "data_mining notAllowed" in other


def test_tdmrep_well_known_rules_apply_first_match_and_refuse_malformed_files() -> None:
    rules = tdmrep.parse_well_known(json.dumps([
        {"location": "/gallery/free/*", "tdm-reservation": 0},
        {"location": "/gallery/*", "tdm-reservation": 1, "tdm-policy": "https://studio.example/policies/tdm.json"},
        {"location": "/*.png$", "tdm-reservation": 1},
    ]).encode())  # fmt: skip
    assert tdmrep.rule_for(rules, "/gallery/free/cel-1.png").reservation == 0  # type: ignore[union-attr]
    assert tdmrep.rule_for(rules, "/gallery/cel-2.png").policy == "https://studio.example/policies/tdm.json"  # type: ignore[union-attr]
    assert tdmrep.rule_for(rules, "/blog/a.png").reservation == 1 and tdmrep.rule_for(rules, "/blog/a.png.html") is None  # type: ignore[union-attr]
    for bad, message in ((b"{}", "JSON array"), (b"[{\"location\": \"/\", \"tdm-reservation\": 2}]", "0 or 1"),
                         (b"[{\"tdm-reservation\": 1}]", "location"), (b"[1", "not JSON"), (b"[" * 100_000, "JSON")):  # fmt: skip
        with pytest.raises(tdmrep.TdmRepError, match=message):
            tdmrep.parse_well_known(bad)


def _picture(seed: int, fmt: str = "PNG", packet: bytes | None = None) -> bytes:
    img = Image.new("RGB", (64, 64), (seed * 37 % 256, seed * 91 % 256, seed * 53 % 256))
    for x in range(0, 64, 8):
        img.paste((x * 3 % 256, seed % 256, 255 - x), (x, (seed * 5 + x) % 48, x + 8, (seed * 5 + x) % 48 + 16))
    out = io.BytesIO()
    if fmt == "PNG":
        info = PngInfo()
        if packet is not None:
            info.add_itxt("XML:com.adobe.xmp", packet.decode())
        img.save(out, "PNG", pnginfo=info)
    else:
        img.save(out, "JPEG", quality=90, **({"xmp": packet} if packet is not None else {}))
    return out.getvalue()


def test_xmp_signals_are_read_from_png_and_jpeg() -> None:
    packet = xmp.packet_for(data_mining=iptc.VOCAB + iptc.PROHIBITED_GENAI, tdm_reservation=1, tdm_policy="https://studio.example/tdm.json")
    for fmt in ("PNG", "JPEG"):
        signals = {s.standard: s for s in xmp.signals(_picture(1, fmt, packet))}
        assert signals[IPTC].uses == {Use.AI_GENERATIVE_TRAINING: State.NOT_ALLOWED}, fmt
        assert signals[TDMREP].constraints == "https://studio.example/tdm.json" and signals[TDMREP].uses[Use.AI_TRAINING] is State.CONSTRAINED
    assert xmp.signals(_picture(2)) == []
    # A packet with an entity is refused by the parser, not expanded.
    hostile = b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><!DOCTYPE a [<!ENTITY e "x">]><a>&e;</a></x:xmpmeta>'
    assert xmp.signals(b"junk" + hostile) == []


def test_events_of_terms_format_one_still_decode() -> None:
    """A deployment of the first WorkRegistry logged Terms as (uint16,uint16,uint40): the decoder
    knows that shape too (the projector reads its word as format 1)."""
    from ledger.chain.compiler import compile_contract

    abi = compile_contract("WorkRegistry.sol").abi
    updated = next(i for i in abi if i.get("type") == "event" and i["name"] == "TermsUpdated")
    legacy = _without(updated, ADDED_FIELDS["WorkRegistry"])
    assert legacy is not None
    old = "TermsUpdated(uint64,uint24,(uint16,uint16,uint40))"
    assert bytes(event_abi_to_log_topic(legacy)) == keccak(text=old)


# ---- over the API, on one shared ledger ---------------------------------------------------------


@pytest.fixture(scope="module")
def ca() -> CertificateAuthority:
    return make_test_ca()


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, anvil: AnvilNode, ca: CertificateAuthority) -> Iterator[tuple[Ledger, Server]]:
    root = tmp_path_factory.mktemp("consent")
    (root / "chain.pem").write_bytes(ca.chain_pem)
    (root / "key.pem").write_bytes(ca.key_pem)
    (root / "roots.pem").write_bytes(ca.root_pem)
    settings = make_settings(root / "data", anvil.url, f"sqlite:///{root / 'ledger.db'}").model_copy(
        update={"c2pa_cert_chain": root / "chain.pem", "c2pa_private_key": root / "key.pem", "c2pa_trust_anchors": root / "roots.pem"}
    )
    ledger = open_ledger(settings, deploy=True)
    with Server(ledger) as server:
        yield ledger, server
    ledger.engine.dispose()


def _client(world: tuple[Ledger, Server], role: Role, name: str) -> tuple[httpx.Client, str]:
    ledger, server = world
    key = create_api_key(ledger, role, name)
    assert key.holder_address is not None
    return client_for(server, key.token), key.holder_address


def _register(holder: httpx.Client, title: str, terms: dict[str, object], file: bytes | None = None, seed: int = 0, **extra: object) -> dict:
    spec = {"title": title, "terms": terms, **extra}
    if file is None:
        resp = holder.post("/works", json={**spec, "content_hash": "0x" + hashlib.sha256(f"{title} {seed}".encode()).hexdigest()})
    else:
        resp = holder.post("/works", files={"file": (f"{title}.png", file, "image/png")}, data={"work": json.dumps(spec)})
    assert resp.status_code == 201, resp.text
    return dict(resp.json())


def _model(platform: httpx.Client, work_ids: list[int], **extra: object) -> int:
    resp = platform.post("/models", json={"name": "m", "weights_hash": "0x" + "33" * 32, "work_ids": work_ids, **extra})
    assert resp.status_code == 201, resp.text
    return int(resp.json()["model_id"])


def test_an_iptc_reservation_in_the_file_is_evidence_and_fails_a_generative_audit(world: tuple[Ledger, Server]) -> None:
    """Done-when: a work registered with a file whose embedded IPTC plus:DataMining says
    prohibited for generative AI training shows that evidence and fails a generative model's audit."""
    holder, _ = _client(world, Role.rights_holder, "painter")
    platform, _ = _client(world, Role.platform, "gen")
    packet = xmp.packet_for(data_mining=iptc.VOCAB + iptc.PROHIBITED_GENAI)
    reserved = _register(holder, "reserved cel", TRAINING, _picture(10, "PNG", packet))
    [warning] = [w for w in reserved["warnings"] if w.get("kind") == "consent_conflict"]
    assert warning["use"] == "ai_generative_training" and warning["standard"] == IPTC and warning["terms"] == "allowed"
    clear = _register(holder, "clear cel", TRAINING, _picture(11))

    consent = holder.get(f"/works/{reserved['work_id']}/consent").json()
    [evidence] = consent["evidence"]
    assert evidence["source"] == {"kind": "embedded", "contentHash": reserved["content_hash"]}
    assert evidence["signals"][0]["value"] == {"plus:DataMining": iptc.VOCAB + iptc.PROHIBITED_GENAI}
    assert {"use": "ai_generative_training", "standard": IPTC, "signal": "notAllowed", "terms": "allowed", "signalIsStricter": True} in evidence["conflicts"]
    assert consent["as_iptc"] == {"plus:DataMining": iptc.VOCAB + iptc.ALLOWED} and consent["as_tdmrep"] == {"tdm-reservation": 0}
    report = holder.get(f"/evidence/reports/{evidence['document_hash']}")
    assert report.status_code == 200 and report.json()["document"]["schema"] == "ai-rights-ledger/consent-evidence/v1"

    generative = platform.get(f"/models/{_model(platform, [reserved['work_id'], clear['work_id']])}/audit").json()
    assert not generative["clean"] and generative["use"] == "ai_generative_training" and generative["consent_conflicts"] == 1
    [problem] = generative["problems"]
    assert problem["work_id"] == reserved["work_id"] and problem["status"] == "consent_conflict" and IPTC in problem["detail"]
    # A classifier needs ai_training, which the file does not reserve.
    classifier = platform.get(f"/models/{_model(platform, [reserved['work_id'], clear['work_id']], generative=False)}/audit").json()
    assert classifier["clean"] and classifier["use"] == "ai_training", classifier

    # The manager says the terms prevail over the file's old metadata: later models pass.
    stranger, _ = _client(world, Role.rights_holder, "not the manager")
    assert stranger.post(f"/works/{reserved['work_id']}/consent/acknowledgements", json={"evidence": evidence["document_hash"]}).status_code == 403
    wrong = holder.post(f"/works/{clear['work_id']}/consent/acknowledgements", json={"evidence": evidence["document_hash"]})
    assert wrong.status_code == 422 and "not consent evidence about work" in wrong.json()["detail"]
    acks = [holder.post(f"/works/{reserved['work_id']}/consent/acknowledgements", json={"evidence": evidence["document_hash"]}) for _ in range(2)]
    assert [a.status_code for a in acks] == [201, 201] and acks[0].json() == acks[1].json() and acks[0].json()["terms_version"] == 1
    [shown] = holder.get(f"/works/{reserved['work_id']}/consent").json()["evidence"]
    assert shown["acknowledged"]["documentHash"] == acks[0].json()["document_hash"]
    later = platform.get(f"/models/{_model(platform, [reserved['work_id'], clear['work_id']])}/audit").json()
    assert later["clean"] and later["consent_conflicts"] == 0, later


def test_a_cawg_assertion_in_a_c2pa_manifest_is_evidence_and_the_ledgers_copies_carry_the_terms(world: tuple[Ledger, Server], ca: CertificateAuthority) -> None:
    """Done-when: a work whose C2PA manifest carries cawg.training-mining shows it as evidence."""
    holder, _ = _client(world, Role.rights_holder, "studio")
    tool = make_test_ca("Paint tool")
    manifest = {
        "claim_generator_info": [{"name": "paint-tool", "version": "9"}], "title": "bg.jpg",
        "assertions": [
            {"label": "c2pa.actions", "data": {"actions": [{"action": "c2pa.created", "digitalSourceType": "http://cv.iptc.org/newscodes/digitalsourcetype/digitalCreation"}]}},
            {"label": "cawg.training-mining", "data": {"entries": {
                "cawg.ai_generative_training": {"use": "notAllowed"},
                "cawg.ai_training": {"use": "constrained", "constraint_info": "https://studio.example/licence"},
                "cawg.data_mining": {"use": "allowed"}}}},
        ],
    }  # fmt: skip
    signed = io.BytesIO()
    with SigningKey(tool.chain_pem, tool.key_pem).signer() as signer:
        c2pa.Builder(json.dumps(manifest)).sign(signer, "image/jpeg", io.BytesIO(_picture(20, "JPEG")), signed)
    spec = {"title": "background", "terms": {"uses": {"data_mining": "allowed", "ai_training": "allowed"}, "royalty_bps": 300}}
    made = holder.post("/works", files={"file": ("bg.jpg", signed.getvalue(), "image/jpeg")}, data={"work": json.dumps(spec)})
    assert made.status_code == 201, made.text
    assert {w["use"] for w in made.json()["warnings"] if w.get("kind") == "consent_conflict"} == {"ai_training"}  # constrained vs allowed

    consent = holder.get(f"/works/{made.json()['work_id']}/consent").json()
    [evidence] = consent["evidence"]
    [signal] = evidence["signals"]
    assert signal["standard"] == CAWG and signal["constraints"] == "https://studio.example/licence"
    assert signal["uses"] == {"data_mining": "allowed", "ai_generative_training": "notAllowed", "ai_training": "constrained"}
    stricter = {c["use"] for c in evidence["conflicts"] if c["signalIsStricter"]}
    assert stricter == {"ai_training"}  # generative training: both say notAllowed

    # The ledger's own C2PA copy of a work states its terms as cawg.training-mining.
    copy = holder.get(f"/works/{made.json()['work_id']}/file", params={"c2pa": "true"})
    assert copy.status_code == 200, copy.text
    settings = c2pa.Settings.from_dict({"verify": {"verify_trust": True}, "trust": {"trust_anchors": ca.root_pem.decode()}})
    doc = json.loads(c2pa.Reader("image/jpeg", io.BytesIO(copy.content), context=c2pa.Context(settings)).json())
    active = doc["manifests"][doc["active_manifest"]]
    [written] = [a["data"] for a in active["assertions"] if a["label"] == "cawg.training-mining"]
    assert written["entries"]["cawg.ai_training"] == {"use": "allowed"} and written["entries"]["cawg.ai_generative_training"] == {"use": "notAllowed"}


def test_a_sites_tdmrep_json_is_recorded_once_as_evidence(world: tuple[Ledger, Server]) -> None:
    holder, _ = _client(world, Role.rights_holder, "webcomic")
    work = _register(holder, "page 1", TRAINING)
    well_known = json.dumps([{"location": "/comics/*", "tdm-reservation": 1}]).encode()
    answers = [
        holder.post(f"/works/{work['work_id']}/consent/tdmrep", files={"file": ("tdmrep.json", well_known)}, data={"url": "https://comic.example/comics/p1.png"})
        for _ in range(2)
    ]
    assert [a.status_code for a in answers] == [201, 201] and answers[0].json()["document_hash"] == answers[1].json()["document_hash"], answers[0].text
    recorded = answers[0].json()
    assert recorded["source"]["rule"] == {"location": "/comics/*", "tdm-reservation": 1, "tdm-policy": ""}
    assert recorded["source"]["fileSha256"] == "0x" + hashlib.sha256(well_known).hexdigest()
    assert {c["use"] for c in recorded["conflicts"] if c["signalIsStricter"]} == {"data_mining", "ai_training", "ai_generative_training"}
    assert len(holder.get(f"/works/{work['work_id']}/consent").json()["evidence"]) == 1
    uncovered = holder.post(f"/works/{work['work_id']}/consent/tdmrep", files={"file": ("tdmrep.json", well_known)}, data={"url": "https://comic.example/about"})
    assert uncovered.status_code == 422 and "no rule" in uncovered.json()["detail"]
    bad = holder.post(f"/works/{work['work_id']}/consent/tdmrep", files={"file": ("tdmrep.json", b"{}")}, data={"url": "https://comic.example/comics/p1.png"})
    assert bad.status_code == 422 and "array" in bad.json()["detail"]


def test_terms_in_cawg_words_are_validated_at_the_edge(world: tuple[Ledger, Server]) -> None:
    holder, _ = _client(world, Role.rights_holder, "careful")
    for terms, message in (
        ({"uses": {"ai_training": "allowed"}, "training_allowed": True, "royalty_bps": 0}, "not both"),
        ({"uses": {"ai_training": "constrained"}, "royalty_bps": 0}, "needs constraints"),
        ({"uses": {"ai_training": "allowed"}, "constraints": "bafkrei-x", "royalty_bps": 0}, "only for constrained"),
        ({"uses": {"ai_painting": "allowed"}, "royalty_bps": 0}, "ai_painting"),
        ({"uses": {"ai_training": "maybe"}, "royalty_bps": 0}, "allowed"),
        ({"royalty_bps": 0}, "uses"),
        ({"uses": {"ai_training": "constrained"}, "constraints": "é" * 200, "royalty_bps": 0}, "256"),
    ):
        resp = holder.post("/works", json={"title": "t", "content_hash": "0x" + "ab" * 32, "terms": terms})
        assert resp.status_code == 422 and message in resp.text, (terms, resp.text)


def test_constrained_uses_count_only_once_the_platform_accepts_the_constraints(world: tuple[Ledger, Server]) -> None:
    holder, _ = _client(world, Role.rights_holder, "licensor")
    platform, platform_address = _client(world, Role.platform, "licensee")
    licence = "bafkreilicencetextforgenerativetrainingv1"
    terms = {"uses": {"ai_generative_training": "constrained", "reference": "allowed"}, "constraints": licence, "royalty_bps": 800}
    work = _register(holder, "licensed cel", terms)
    shown = holder.get(f"/works/{work['work_id']}").json()["terms"]
    assert shown["uses"]["ai_generative_training"] == "constrained" and shown["constraints"] == licence and shown["training_allowed"] is False

    before = _model(platform, [work["work_id"]])
    audit = platform.get(f"/models/{before}/audit").json()
    assert not audit["clean"] and audit["problems"][0]["status"] == "constraints_not_accepted" and licence in audit["problems"][0]["detail"]
    link = {"output_hash": "0x" + "c1" * 32, "model_id": before, "links": [{"work_id": work["work_id"], "weight_bps": 10_000}]}
    refused = platform.post("/outputs", json=link)
    assert refused.status_code == 422 and "not accepted" in refused.json()["detail"]

    accepted = [platform.post("/constraint-acceptances", json={"constraints": licence}) for _ in range(2)]
    assert [a.status_code for a in accepted] == [201, 201] and accepted[0].json() == accepted[1].json()
    assert accepted[0].json()["platform"] == platform_address
    assert holder.post("/constraint-acceptances", json={"constraints": licence}).status_code == 403
    listed = holder.get("/constraint-acceptances", params={"platform": platform_address.lower()}).json()
    assert [a["constraints"] for a in listed] == [licence]

    after = _model(platform, [work["work_id"]])
    audit = platform.get(f"/models/{after}/audit").json()
    assert audit["clean"] and audit["counts"] == {"licensed_under_constraints": 1}, audit
    assert not platform.get(f"/models/{before}/audit").json()["clean"]  # accepted after that model: it stays judged as it was
    assert platform.post("/outputs", json={**link, "model_id": after}).status_code == 201


def test_a_fine_tune_aimed_at_one_creator_is_flagged_and_needs_that_creators_allowance(world: tuple[Ledger, Server]) -> None:
    """Done-when: a one-creator fine-tune is flagged."""
    artist, artist_address = _client(world, Role.rights_holder, "one artist")
    others, _ = _client(world, Role.rights_holder, "many others")
    platform, _ = _client(world, Role.platform, "tuner")
    mine = [_register(artist, f"style {i}", TRAINING, seed=i)["work_id"] for i in range(3)]
    theirs = [_register(others, f"crowd {i}", TRAINING, seed=i)["work_id"] for i in range(3)]
    base = _model(platform, theirs + mine[:1])
    assert platform.get(f"/models/{base}/audit").json()["clean"]  # a base model is not a fine-tune

    tune = _model(platform, mine + theirs[:1], base_model_id=base)
    audit = platform.get(f"/models/{tune}/audit").json()
    [flag] = audit["one_creator"]
    assert flag == {"model_id": tune, "holder": artist_address, "works": 3, "of": 4, "share_bps": 7500}
    assert not audit["clean"] and {p["work_id"] for p in audit["problems"] if p["status"] == "creator_finetune_not_allowed"} == set(mine)

    for w in mine:  # the artist allows fine-tunes aimed at its style
        assert artist.put(f"/works/{w}/terms", json={"uses": {**ALL_ALLOWED}, "royalty_bps": 500}).status_code == 200
    retuned = platform.get(f"/models/{_model(platform, mine + theirs[:1], base_model_id=base)}/audit").json()
    assert retuned["clean"] and retuned["one_creator"][0]["holder"] == artist_address, retuned
    assert not platform.get(f"/models/{tune}/audit").json()["clean"]  # judged by the terms at its registration


def test_co_owners_record_positions_without_a_veto(world: tuple[Ledger, Server]) -> None:
    studio, studio_address = _client(world, Role.rights_holder, "production committee")
    animator, animator_address = _client(world, Role.rights_holder, "key animator")
    owners = sorted([{"account": studio_address, "share_bps": 9000}, {"account": animator_address, "share_bps": 1000}], key=lambda o: int(str(o["account"]), 16))
    work = _register(studio, "episode 1", TRAINING, owners=owners)
    no_training = {"data_mining": "allowed", "ai_generative_training": "notAllowed", "ai_training": "notAllowed"}
    changed = animator.put(f"/works/{work['work_id']}/position", json=no_training)
    assert changed.status_code == 200, changed.text
    assert changed.json()["terms"]["uses"]["ai_generative_training"] == "allowed"  # the terms stand
    consent = studio.get(f"/works/{work['work_id']}/consent").json()
    stands = {o["account"]: o for o in consent["owners"]}
    assert stands[animator_address]["dissent"] == ["ai_generative_training", "ai_training"] and stands[animator_address]["share_bps"] == 1000
    assert stands[studio_address]["positions"] is None and "no veto" in consent["veto"]
    outsider, _ = _client(world, Role.rights_holder, "outsider")
    assert outsider.put(f"/works/{work['work_id']}/position", json=no_training).status_code == 403


def test_a_thousand_work_models_training_data_summary_exports_as_json_and_pdf(world: tuple[Ledger, Server], tmp_path: Path) -> None:
    """Done-when: a 1000-work model's summary exports as JSON and PDF, every figure traceable."""
    ledger, server = world
    holders = [_client(world, Role.rights_holder, f"studio {i}") for i in range(2)]
    platform, platform_address = _client(world, Role.platform, "big model")
    ids: list[int] = []
    for h, (client, _) in enumerate(holders):
        for start in range(0, 500, 200):
            specs = [{"title": f"s{h}-{i}", "terms": TRAINING, "content_hash": "0x" + hashlib.sha256(f"summary {h} {i}".encode()).hexdigest()}
                     for i in range(start, min(start + 200, 500))]  # fmt: skip
            resp = client.post("/works/batch", json={"works": specs})
            assert resp.status_code == 201, resp.text
            ids += [r["work_id"] for r in resp.json()]
    model = _model(platform, ids)
    resp = platform.get(f"/models/{model}/summary")
    assert resp.status_code == 200 and resp.headers["content-type"] == "application/json"
    doc = resp.json()
    registered = platform.get(f"/models/{model}").json()
    assert doc["generalInformation"]["providerIdentification"]["account"] == platform_address
    assert doc["generalInformation"]["modalitiesAndSize"]["totalWorks"] == 1000
    licensed = doc["dataSources"]["privateDatasetsFromThirdParties"]["licensedByRightsHolders"]
    [training_set] = licensed["trainingSets"]
    assert training_set["merkleRoot"] == registered["training_root"] and training_set["registrationTx"] == registered["tx_hash"]
    assert sorted(h["holder"] for h in licensed["rightsHolders"]) == sorted(a for _, a in holders)
    assert sorted(i for h in licensed["rightsHolders"] for i in h["workIds"]) == sorted(ids)
    assert doc["dataSources"]["crawledAndScrapedData"]["declared"] is False
    assert doc["dataProcessing"]["respectOfReservationOfRights"]["audit"]["clean"] is True
    # Every work names the transaction of the terms it was trained under, and that transaction is on chain.
    assert len(doc["works"]) == 1000 and all(w["ai_generative_training"] == "allowed" for w in doc["works"])
    sample = doc["works"][417]
    receipt = ledger.w3.eth.get_transaction_receipt(sample["termsTx"])
    assert receipt["status"] == 1 and any(log["address"] == ledger.registry.address for log in receipt["logs"])

    pdf = platform.get(f"/models/{model}/summary", params={"format": "pdf"})
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.content)).pages)
    for heading in ("1. General information", "2. List of data sources", "3. Data processing aspects", registered["training_root"]):
        assert heading in text
    assert hashlib.sha256(resp.content).hexdigest() in text  # the PDF names the JSON it renders


def test_the_cli_speaks_the_same_words(world: tuple[Ledger, Server], tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from ledger.cli.main import app

    ledger, server = world
    holder_token = create_api_key(ledger, Role.rights_holder, "cli studio").token
    platform_token = create_api_key(ledger, Role.platform, "cli platform").token
    runner = CliRunner()
    art = tmp_path / "cel.png"
    art.write_bytes(_picture(40, "PNG", xmp.packet_for(data_mining=iptc.VOCAB + iptc.PROHIBITED)))
    as_holder = ["--api-url", server.url, "--api-key", holder_token]
    made = runner.invoke(app, ["works", "register", str(art), "--use", "ai_generative_training=allowed", "--use", "reference=constrained",
                               "--constraints", "bafkrei-reference-licence", *as_holder])  # fmt: skip
    said = " ".join(made.output.split())  # rich wraps long lines
    assert made.exit_code == 0 and "consent:" in said and "ai_generative_training is notAllowed" in said, made.output
    work_id = int(made.output.split("work ")[1].split()[0])
    shown = runner.invoke(app, ["works", "consent", str(work_id), *as_holder])
    assert shown.exit_code == 0 and "conflict" in shown.output and "constrained" in shown.output, shown.output
    well_known = tmp_path / "tdmrep.json"
    well_known.write_text(json.dumps([{"location": "/", "tdm-reservation": 0}]))
    recorded = runner.invoke(app, ["works", "tdmrep", str(work_id), str(well_known), "--url", "https://studio.example/cel.png", *as_holder])
    assert recorded.exit_code == 0 and "recorded" in recorded.output, recorded.output

    positioned = runner.invoke(app, ["works", "position", str(work_id), "--use", "data_mining=allowed", *as_holder])
    assert positioned.exit_code == 0 and "position recorded" in positioned.output, positioned.output
    [me] = client_for(server, holder_token).get(f"/works/{work_id}/consent").json()["owners"]
    assert me["positions"]["data_mining"] == "allowed" and me["dissent"] == ["ai_generative_training", "reference"]  # the terms allow them (reference under constraints), the owner does not

    as_platform = ["--api-url", server.url, "--api-key", platform_token]
    accepted = runner.invoke(app, ["models", "accept-constraints", "bafkrei-reference-licence", *as_platform])
    assert accepted.exit_code == 0 and "accepted" in accepted.output, accepted.output
    model = _model(client_for(server, platform_token), [work_id])
    audit = runner.invoke(app, ["models", "audit", str(model), *as_platform])
    assert audit.exit_code == 1 and "consent_conflict" in " ".join(audit.output.split()), audit.output
    out = tmp_path / "summary.pdf"
    summary = runner.invoke(app, ["models", "summary", str(model), "--output", str(out), *as_platform])
    assert summary.exit_code == 0 and out.read_bytes().startswith(b"%PDF"), summary.output
