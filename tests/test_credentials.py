"""Content Credentials: the ledger signs its manifest into copies of registered files, reads the
manifests uploaded files carry, and an output whose own manifest says it was made from a
registered work, without linking to it, is reported (the issue's C2PA done-when: a manifest
written by the ledger reads back with c2pa-python)."""

import hashlib
import io
import json
import os
from collections.abc import Iterator
from pathlib import Path

import c2pa
import pytest
from PIL import Image

from ledger.config import Settings
from ledger.evidence import specimens
from ledger.credentials.manifests import AI_GENERATED, LEDGER_ASSERTION, SigningKey
from ledger.models import Role
from ledger.runtime import Ledger, open_ledger
from ledger.services.keys import create_api_key
from tests.conftest import Server, client_for
from tests.certificates import CertificateAuthority, make_test_ca

TERMS = {"training_allowed": True, "royalty_bps": 500}


def _jpeg(seed: int) -> bytes:
    img = Image.new("RGB", (96, 96), (seed * 37 % 256, seed * 91 % 256, seed * 53 % 256))
    for x in range(0, 96, 8):
        img.paste((x * 2 % 256, seed % 256, 255 - x), (x, (seed * 7 + x) % 80, x + 8, (seed * 7 + x) % 80 + 16))
    out = io.BytesIO()
    img.save(out, "JPEG", quality=92)
    return out.getvalue()


def _read(data: bytes, anchors: bytes) -> dict[str, object]:
    settings = c2pa.Settings.from_dict({"verify": {"verify_trust": True}, "trust": {"trust_anchors": anchors.decode()}})
    reader = c2pa.Reader("image/jpeg", io.BytesIO(data), context=c2pa.Context(settings))
    return dict(json.loads(reader.json()))


@pytest.fixture
def ca() -> CertificateAuthority:
    return make_test_ca()


@pytest.fixture
def signing_ledger(settings: Settings, ca: CertificateAuthority, tmp_path: Path) -> Iterator[Ledger]:
    (tmp_path / "chain.pem").write_bytes(ca.chain_pem)
    (tmp_path / "key.pem").write_bytes(ca.key_pem)
    (tmp_path / "roots.pem").write_bytes(ca.root_pem)
    configured = settings.model_copy(
        update={"c2pa_cert_chain": tmp_path / "chain.pem", "c2pa_private_key": tmp_path / "key.pem", "c2pa_trust_anchors": tmp_path / "roots.pem"}
    )
    led = open_ledger(configured, deploy=True)
    yield led
    led.engine.dispose()


def test_the_ledgers_manifest_reads_back_and_an_ingredient_names_its_work(signing_ledger: Ledger, ca: CertificateAuthority) -> None:
    ledger = signing_ledger
    with Server(ledger) as server:
        holder = client_for(server, create_api_key(ledger, Role.rights_holder, "studio").token)
        platform_key = create_api_key(ledger, Role.platform, "gen")
        platform = client_for(server, platform_key.token)
        art = _jpeg(1)
        spec = {"title": "key frame", "terms": TERMS}
        made = holder.post("/works", files={"file": ("kf.jpg", art, "image/jpeg")}, data={"work": json.dumps(spec)})
        assert made.status_code == 201, made.text
        work_id, content_hash = made.json()["work_id"], made.json()["content_hash"]
        other = holder.post("/works", json={"title": "bg", "content_hash": "0x" + "b0" * 32, "terms": TERMS}).json()["work_id"]

        # The work's file with the ledger's manifest: trusted against the ledger's root, naming the registration.
        credentialed = holder.get(f"/works/{work_id}/file", params={"c2pa": "true"})
        assert credentialed.status_code == 200 and credentialed.headers["content-type"] == "image/jpeg"
        doc = _read(credentialed.content, ca.root_pem)
        assert doc["validation_state"] == "Trusted", doc.get("validation_status")
        active = doc["manifests"][doc["active_manifest"]]  # type: ignore[index]
        [assertion] = [a["data"] for a in active["assertions"] if a["label"] == LEDGER_ASSERTION]
        assert assertion["workId"] == work_id and assertion["contentHash"] == content_hash
        assert assertion["chainId"] == ledger.deployment.chain_id and assertion["contract"] == ledger.registry.contract.address
        assert holder.get(f"/works/{work_id}/file").content == art  # the registered bytes are unchanged

        # A generation service makes an output from that file and says so in its own manifest
        # (signed with its own certificate), but links the output to another work only.
        service = make_test_ca("Generation service")
        manifest = {
            "claim_generator_info": [{"name": "diffusion-service", "version": "3.1"}], "title": "frame.jpg",
            "assertions": [{"label": "c2pa.actions", "data": {"actions": [{"action": "c2pa.created", "digitalSourceType": AI_GENERATED}]}}],
        }  # fmt: skip
        builder = c2pa.Builder(json.dumps(manifest))
        builder.add_ingredient(json.dumps({"title": "key frame.jpg", "relationship": "inputTo"}), "image/jpeg", io.BytesIO(credentialed.content))
        generated = io.BytesIO()
        with SigningKey(service.chain_pem, service.key_pem).signer() as signer:
            builder.sign(signer, "image/jpeg", io.BytesIO(_jpeg(2)), generated)
        output_file = generated.getvalue()
        output_hash = "0x" + hashlib.sha256(output_file).hexdigest()
        model = platform.post("/models", json={"name": "m", "weights_hash": "0x" + "22" * 32, "work_ids": [work_id, other]}).json()["model_id"]
        spec_out = {"output_hash": output_hash, "model_id": model, "links": [{"work_id": other, "weight_bps": 10_000}]}
        registered = platform.post("/outputs", files={"file": ("frame.jpg", output_file, "image/jpeg")}, data={"output": json.dumps(spec_out)})
        assert registered.status_code == 201, registered.text
        reliance = registered.json()["reliance"]
        assert reliance["outcome"] == "warned"
        assert {"kind": "ingredient_not_linked", "workId": work_id, "ingredient": "key frame.jpg"} in reliance["findings"]
        report = holder.get(f"/evidence/reports/{reliance['report']}").json()["document"]
        assert report["c2pa"]["ai_generated"] and report["c2pa"]["signer"]["common_name"] == "Generation service"
        assert "signingCredential.untrusted" in report["c2pa"]["problems"]  # the service's root is not among the ledger's anchors

        read = holder.post("/credentials/read", files={"file": ("frame.jpg", output_file, "image/jpeg")}).json()
        assert read["registered_ingredients"] == [{"work_id": work_id, "ingredient": "key frame.jpg"}]
        assert holder.post("/credentials/read", files={"file": ("plain.jpg", _jpeg(3), "image/jpeg")}).json()["credentials"] is None

        # The output's file with the ledger's manifest: the service's manifest is kept as its parent.
        out_doc = _read(holder.get(f"/outputs/{output_hash}/file", params={"c2pa": "true"}).content, ca.root_pem)
        out_active = out_doc["manifests"][out_doc["active_manifest"]]  # type: ignore[index]
        [out_assertion] = [a["data"] for a in out_active["assertions"] if a["label"] == LEDGER_ASSERTION]
        assert out_assertion["outputHash"] == output_hash and out_assertion["links"] == [{"workId": other, "weightBps": 10_000}]
        assert [i["relationship"] for i in out_active["ingredients"]] == ["parentOf"]  # its linked work was registered by hash: no file to add
        # An output linked to the key frame (whose file the ledger holds) shows it as an ingredient.
        plain_output = _jpeg(7)
        plain_hash = "0x" + hashlib.sha256(plain_output).hexdigest()
        spec_plain = {"output_hash": plain_hash, "model_id": model, "links": [{"work_id": work_id, "weight_bps": 10_000}]}
        assert platform.post("/outputs", files={"file": ("o.jpg", plain_output, "image/jpeg")}, data={"output": json.dumps(spec_plain)}).status_code == 201
        plain_doc = _read(holder.get(f"/outputs/{plain_hash}/file", params={"c2pa": "true"}).content, ca.root_pem)
        plain_active = plain_doc["manifests"][plain_doc["active_manifest"]]  # type: ignore[index]
        assert [(i["title"], i["relationship"]) for i in plain_active["ingredients"]] == [(f"work {work_id}", "inputTo")]
        assert plain_doc["validation_state"] == "Trusted"

        # A finished picture whose own manifest (an outside AI tool's) says AI made it from the key
        # frame: its provenance names the tool, with no model registered here, as the failure.
        outside = make_test_ca("Outside image service")
        manifest = {
            "claim_generator_info": [{"name": "image-service", "version": "5"}], "title": "poster.jpg",
            "assertions": [{"label": "c2pa.actions", "data": {"actions": [
                {"action": "c2pa.created", "digitalSourceType": AI_GENERATED, "softwareAgent": {"name": "ImageGen 5"}}]}}],
        }  # fmt: skip
        builder = c2pa.Builder(json.dumps(manifest))
        builder.add_ingredient(json.dumps({"title": "key frame.jpg", "relationship": "inputTo"}), "image/jpeg", io.BytesIO(credentialed.content))
        poster = io.BytesIO()
        with SigningKey(outside.chain_pem, outside.key_pem).signer() as signer:
            builder.sign(signer, "image/jpeg", io.BytesIO(_jpeg(4)), poster)
        spec = {"title": "poster", "terms": TERMS}
        finished = holder.post("/works", files={"file": ("poster.jpg", poster.getvalue(), "image/jpeg")}, data={"work": json.dumps(spec)})
        assert finished.status_code == 201, finished.text
        p = holder.get(f"/works/{finished.json()['work_id']}/provenance").json()
        [failure] = p["verdict"]["failures"]
        assert failure["contentHash"] == finished.json()["content_hash"] and failure["modelId"] is None and "ImageGen 5" in failure["reason"]
        assert p["verdict"]["complete"] is True  # the key frame it names is a registered work
        assert {f["contentHash"] for f in p["files"]} == {finished.json()["content_hash"], content_hash}
        # Any file's manifest can be recorded on its own, once.
        recorded = holder.post("/records/manifests", files={"file": ("poster.jpg", poster.getvalue(), "image/jpeg")})
        assert recorded.status_code == 200 and recorded.json()["recorded"] is False  # the registration recorded it
        intermediate = io.BytesIO()
        builder = c2pa.Builder(json.dumps(manifest))
        with SigningKey(outside.chain_pem, outside.key_pem).signer() as signer:
            builder.sign(signer, "image/jpeg", io.BytesIO(_jpeg(5)), intermediate)
        first = holder.post("/records/manifests", files={"file": ("x.jpg", intermediate.getvalue(), "image/jpeg")})
        assert first.status_code == 201 and first.json()["credentials"]["ai_generated"], first.text
        assert holder.post("/records/manifests", files={"file": ("plain.jpg", _jpeg(6), "image/jpeg")}).status_code == 422

        # An ingredient from another tool carries only a title and a thumbnail: the thumbnail
        # matches a registered work the output does not link to.
        art_picture = io.BytesIO()
        specimens.image(31).convert("RGB").save(art_picture, "JPEG", quality=90)
        painted = holder.post("/works", files={"file": ("bg.jpg", art_picture.getvalue(), "image/jpeg")}, data={"work": json.dumps({"title": "bg art", "terms": TERMS})})
        assert painted.status_code == 201, painted.text
        manifest = {
            "claim_generator_info": [{"name": "diffusion-service", "version": "3.1"}], "title": "frame2.jpg",
            "assertions": [{"label": "c2pa.actions", "data": {"actions": [{"action": "c2pa.created", "digitalSourceType": AI_GENERATED}]}}],
        }  # fmt: skip
        builder = c2pa.Builder(json.dumps(manifest))
        builder.add_ingredient(json.dumps({"title": "found online.jpg", "relationship": "inputTo"}), "image/jpeg", io.BytesIO(art_picture.getvalue()))
        second = io.BytesIO()
        with SigningKey(service.chain_pem, service.key_pem).signer() as signer:
            builder.sign(signer, "image/jpeg", io.BytesIO(_jpeg(8)), second)
        second_hash = "0x" + hashlib.sha256(second.getvalue()).hexdigest()
        spec_second = {"output_hash": second_hash, "model_id": model, "links": [{"work_id": other, "weight_bps": 10_000}]}
        found = platform.post("/outputs", files={"file": ("frame2.jpg", second.getvalue(), "image/jpeg")}, data={"output": json.dumps(spec_second)})
        assert found.status_code == 201, found.text
        [looks] = [f for f in found.json()["reliance"]["findings"] if f["kind"] == "ingredient_looks_like_work"]
        assert looks["workId"] == painted.json()["work_id"] and looks["ingredient"] == "found online.jpg" and looks["match"]

        # A file of several blocks (over 256 KiB) is streamed as stored, and signed from a spool.
        noise = io.BytesIO()
        Image.frombytes("RGB", (700, 700), os.urandom(700 * 700 * 3)).save(noise, "JPEG", quality=95)
        assert len(noise.getvalue()) > 2 * 256 * 1024  # three blocks
        big = holder.post("/works", files={"file": ("big.jpg", noise.getvalue(), "image/jpeg")}, data={"work": json.dumps({"title": "big", "terms": TERMS})})
        assert big.status_code == 201, big.text
        assert holder.get(f"/works/{big.json()['work_id']}/file").content == noise.getvalue()
        big_doc = _read(holder.get(f"/works/{big.json()['work_id']}/file", params={"c2pa": "true"}).content, ca.root_pem)
        assert big_doc["validation_state"] == "Trusted"

        # Without signing credentials the ledger says what to configure.
        ledger.__dict__["c2pa_key"] = None
        refused = holder.get(f"/works/{work_id}/file", params={"c2pa": "true"})
        assert refused.status_code == 409 and "LEDGER_C2PA_CERT_CHAIN" in refused.text
