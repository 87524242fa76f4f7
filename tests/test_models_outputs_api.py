"""Models, training-set proofs and audits, outputs with attribution links: over HTTP, real anvil."""

import hashlib
from pathlib import Path

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlmodel import Session, select
from web3.exceptions import ContractLogicError

from ledger.chain.links import pack_link, unpack_link
from ledger.chain.merkle import leaf_hash, process_proof
from ledger.chain.registry import Owner, Terms, WorkInput
from ledger.chain.work_codec import pack_works
from ledger.models import ApiKey, Output, OutputLink, Role
from ledger.runtime import Ledger
from ledger.services.keys import authenticate, create_api_key, custodial_signer
from tests.conftest import Server, client_for, operation_outcome, rebuilt_from_chain

TERMS = {"training_allowed": True, "royalty_bps": 500, "expires_at": 0}
WEIGHTS = "0x" + hashlib.sha256(b"weights v1").hexdigest()


@pytest.fixture
def platform(ledger: Ledger, server: Server) -> httpx.Client:
    token = create_api_key(ledger, Role.platform, "anime-gen").token
    return client_for(server, token)


def _works(holder: httpx.Client, n: int, seed: int) -> list[int]:
    specs = [{"title": f"cel {i}", "terms": TERMS, "content_hash": "0x" + f"{seed:032x}{i:032x}"} for i in range(n)]
    ids: list[int] = []
    for i in range(0, n, 200):
        resp = holder.post("/works/batch", json={"works": specs[i : i + 200]})
        assert resp.status_code == 201, resp.text
        ids += [r["work_id"] for r in resp.json()]
    return ids


def _model(platform: httpx.Client, work_ids: list[int], base: int | None = None, name: str = "anime-diffusion") -> dict:
    resp = platform.post("/models", json={"name": name, "version": "1", "weights_hash": WEIGHTS, "work_ids": work_ids, "base_model_id": base})
    assert resp.status_code == 201, resp.text
    return dict(resp.json())


def _links(work_ids: list[int]) -> list[dict[str, int]]:
    n = len(work_ids)
    weights = [10_000 // n] * n
    weights[0] += 10_000 - sum(weights)
    return [{"work_id": w, "weight_bps": x} for w, x in zip(work_ids, weights)]


def _holder_key(ledger: Ledger, token: str) -> ApiKey:
    with Session(ledger.engine) as s:
        key = authenticate(s, token)
    assert key is not None
    return key


def test_model_over_ten_thousand_works_proves_members_only(ledger: Ledger, holder_key: str, platform: httpx.Client) -> None:
    # 10,000 works registered on chain by the holder (10 relayed transactions of 1,000).
    signer = custodial_signer(ledger, _holder_key(ledger, holder_key))
    me = Owner(signer.address, signer.address, 10_000)
    for batch in range(10):
        inputs = [
            WorkInput(hashlib.sha256(f"cel {batch} {i}".encode()).digest(), "bafkreimetadata", Terms.from_flags(True, 500), (me,))
            for i in range(1000)
        ]
        ledger.relayer.relay(signer, ledger.call("WorkRegistry", "registerWorks", pack_works(inputs)))
    ledger.indexer.sync()
    work_ids = list(range(1, 10_001))
    model = _model(platform, work_ids)
    assert model["training_set_size"] == 10_000 and model["training_set_status"] == "verified"
    assert ledger.models.functions.modelOf(model["model_id"]).call()[3] == bytes.fromhex(model["training_root"][2:])

    proof = platform.get(f"/models/{model['model_id']}/proof/4242").json()
    assert proof["verified_on_chain"] is True
    path = [bytes.fromhex(p[2:]) for p in proof["proof"]]
    assert process_proof(leaf_hash(4242), path) == bytes.fromhex(model["training_root"][2:])  # off chain
    assert ledger.models.functions.isInTrainingSet(model["model_id"], 4242, path).call()  # on chain
    assert not ledger.models.functions.isInTrainingSet(model["model_id"], 10_001, path).call()
    missing = platform.get(f"/models/{model['model_id']}/proof/10001")
    assert missing.status_code == 404 and "no proof" in missing.json()["detail"]
    audit = platform.get(f"/models/{model['model_id']}/audit").json()
    assert audit["clean"] and audit["works"] == 10_000 and audit["counts"] == {"licensed": 10_000}


def test_audit_flags_works_revoked_before_the_model_only(ledger: Ledger, holder: httpx.Client, platform: httpx.Client) -> None:
    a, b, c = _works(holder, 3, 1)
    assert holder.put(f"/works/{a}/terms", json={**TERMS, "training_allowed": False}).status_code == 200
    model = _model(platform, [a, b, c, 999_999])
    assert holder.put(f"/works/{b}/terms", json={**TERMS, "training_allowed": False}).status_code == 200  # after: not retroactive
    audit = platform.get(f"/models/{model['model_id']}/audit").json()
    assert audit["clean"] is False
    assert {(p["work_id"], p["status"]) for p in audit["problems"]} == {(a, "training_forbidden"), (999_999, "unregistered")}
    assert audit["counts"] == {"licensed": 2, "training_forbidden": 1, "unregistered": 1}


def test_fine_tune_inherits_base_training_set(holder: httpx.Client, platform: httpx.Client) -> None:
    base_works = _works(holder, 4, 2)
    tune_works = _works(holder, 1, 3)
    base = _model(platform, base_works, name="base")
    tuned = _model(platform, tune_works, base=base["model_id"], name="tuned")
    proof = platform.get(f"/models/{tuned['model_id']}/proof/{base_works[2]}").json()
    assert proof["declared_by"] == base["model_id"] and proof["verified_on_chain"]
    assert platform.get(f"/models/{base['model_id']}/proof/{tune_works[0]}").status_code == 404
    assert platform.get(f"/models/{tuned['model_id']}/audit").json()["works"] == 5


def test_thousand_outputs_with_eight_links_rebuilt_from_logs(
    ledger: Ledger, holder: httpx.Client, platform: httpx.Client, tmp_path: Path
) -> None:
    work_ids = _works(holder, 40, 4)
    model = _model(platform, work_ids)
    outputs = [
        {"output_hash": "0x" + hashlib.sha256(f"image {i}".encode()).hexdigest(), "model_id": model["model_id"],
         "links": _links([work_ids[(i + k * 5) % 40] for k in range(8)])}
        for i in range(1000)
    ]  # fmt: skip
    resp = platform.post("/outputs/batch", json={"outputs": outputs})
    assert resp.status_code == 201, resp.text
    created = resp.json()["created"]
    assert len(created) == 1000 and len({o["tx_hash"] for o in created}) == 1  # one transaction
    assert all(len(o["links"]) == 8 for o in created)

    # A brand-new database synced from the chain alone holds the same outputs and links.
    rebuilt = rebuilt_from_chain(ledger, tmp_path / "rebuild")

    def links(led: Ledger) -> list[tuple[str, int, int]]:
        with Session(led.engine) as s:
            rows = s.exec(select(Output.output_hash, OutputLink.work_id, OutputLink.weight_bps).join(OutputLink)).all()
        return sorted(rows)

    assert len(links(rebuilt)) == 8000 and links(rebuilt) == links(ledger)

    # Retrying the batch changes nothing and says so.
    again = platform.post("/outputs/batch", json={"outputs": outputs[:10]})
    assert again.status_code == 200 and len(again.json()["existing"]) == 10 and again.json()["created"] == []


def test_output_read_back_with_owners_and_derivative(ledger: Ledger, holder: httpx.Client, platform: httpx.Client) -> None:
    a, b = _works(holder, 2, 5)
    model = _model(platform, [a, b])
    image = b"generated image bytes"
    out_hash = "0x" + hashlib.sha256(image).hexdigest()
    body = {"output_hash": out_hash, "model_id": model["model_id"], "links": [{"work_id": b, "weight_bps": 2500}, {"work_id": a, "weight_bps": 7500}]}
    first = platform.post("/outputs", json=body)
    assert first.status_code == 201, first.text
    assert [l["work_id"] for l in first.json()["links"]] == sorted([a, b])  # stored sorted by work id
    assert platform.post("/outputs", json=body).status_code == 200  # idempotent
    changed = platform.post("/outputs", json={**body, "links": [{"work_id": a, "weight_bps": 10_000}]})
    assert changed.status_code == 409

    got = holder.get(f"/outputs/{out_hash}").json()
    assert got["model_name"] == "anime-diffusion" and got["derived_work_id"] is None
    assert got["links"][0]["owners"][0]["share_bps"] == 10_000
    assert [o["output_hash"] for o in holder.get(f"/works/{a}/outputs").json()] == [out_hash]

    # The output, registered later as a work of its own, is linked as a derivative.
    derivative = holder.post("/works", files={"file": ("gen.png", image)}, data={"work": '{"title": "remix", "terms": {"training_allowed": true, "royalty_bps": 0}}'})
    assert derivative.status_code == 201
    assert holder.get(f"/outputs/{out_hash}").json()["derived_work_id"] == derivative.json()["work_id"]


@pytest.mark.parametrize(
    ("change", "status", "message"),
    [
        ({"links": [{"work_id": 424242, "weight_bps": 10_000}]}, 422, "not registered"),
        ({"links": [{"work_id": 1, "weight_bps": 5000}]}, 422, "sum to 5000"),
        ({"links": [{"work_id": 1, "weight_bps": 5000}, {"work_id": 1, "weight_bps": 5000}]}, 422, "more than once"),
        ({"links": [{"work_id": 1, "weight_bps": 1}] * 65}, 422, "links"),  # none is fine (its model's pool is paid); 65 too many
        ({"model_id": 777}, 422, "unknown model"),
        ({"output_hash": "0x12"}, 422, "output_hash"),
        ("revoked", 422, "does not allow generative training"),
    ],
)
def test_bad_outputs_are_refused_clearly(
    ledger: Ledger, holder: httpx.Client, platform: httpx.Client, change: object, status: int, message: str
) -> None:
    a, b = _works(holder, 2, 6)
    model = _model(platform, [a, b])
    body: dict[str, object] = {"output_hash": "0x" + "ab" * 32, "model_id": model["model_id"], "links": [{"work_id": a, "weight_bps": 10_000}]}
    if change == "revoked":
        holder.put(f"/works/{a}/terms", json={**TERMS, "training_allowed": False})
    else:
        assert isinstance(change, dict)
        body.update({k: [{**l, "work_id": a if l["work_id"] == 1 else l["work_id"]} for l in v] if k == "links" else v for k, v in change.items()})
    before = ledger.outputs.functions.outputCount().call()
    resp = platform.post("/outputs", json=body)
    assert resp.status_code == status and message in resp.text, resp.text
    assert ledger.outputs.functions.outputCount().call() == before


def test_only_the_models_platform_registers_its_outputs(ledger: Ledger, server: Server, holder: httpx.Client, platform: httpx.Client) -> None:
    a, _ = _works(holder, 2, 7)
    model = _model(platform, [a])
    body = {"output_hash": "0x" + "cd" * 32, "model_id": model["model_id"], "links": [{"work_id": a, "weight_bps": 10_000}]}
    rival = create_api_key(ledger, Role.platform, "rival").token
    with client_for(server, rival) as c:
        resp = c.post("/outputs", json=body)
        assert resp.status_code == 403 and "belongs to platform" in resp.json()["detail"]
    assert holder.post("/outputs", json=body).status_code == 403  # a rights holder is not a platform
    assert holder.post("/models", json={"name": "x", "weights_hash": WEIGHTS, "work_ids": [a]}).status_code == 403


def test_a_training_link_outside_the_models_training_set_is_refused(holder: httpx.Client, platform: httpx.Client) -> None:
    """Regression: a platform linked an output to a licensed work its model never trained on,
    and nothing in the output's record said so. A training link must be in the set (inherited
    through fine-tunes); a work used as an input is a reference link, which its terms must allow."""
    inside, inherited, outside = _works(holder, 3, 0x0F1A)
    base = _model(platform, [inherited], name="base")
    tuned = _model(platform, [inside], base=base["model_id"], name="tuned")
    links = [{"work_id": w, "weight_bps": x} for w, x in ((inside, 5000), (inherited, 3000), (outside, 2000))]
    body = {"output_hash": "0x" + "0f" * 32, "model_id": tuned["model_id"], "links": links}
    resp = platform.post("/outputs", json=body)
    assert resp.status_code == 422 and f"work {outside} is not in the training set" in resp.text, resp.text
    links[2]["kind"] = "reference"
    resp = platform.post("/outputs", json=body)
    assert resp.status_code == 422 and f"work {outside} does not allow reference use" in resp.text, resp.text
    assert holder.put(f"/works/{outside}/terms", json={**TERMS, "reference_allowed": True}).status_code == 200
    resp = platform.post("/outputs", json=body)
    assert resp.status_code == 201, resp.text
    out = platform.get(f"/outputs/{'0x' + '0f' * 32}").json()
    assert {l["work_id"]: (l["kind"], l["in_training_set"]) for l in out["links"]} == {
        inside: ("training", True), inherited: ("training", True), outside: ("reference", False)}  # fmt: skip
    assert out["links_outside_training_set"] == []
    assert platform.post("/outputs", json=body).status_code == 200  # the same retry: the same record
    links[2]["kind"] = "training"
    assert platform.post("/outputs", json=body).status_code == 409  # the same output with another kind of link


_LINK_FIELDS = st.tuples(st.integers(1, 2**64 - 1), st.integers(0, 2**16 - 1), st.integers(0, 1))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(fields=_LINK_FIELDS, junk=st.integers(1, 2**168 - 1))
def test_links_pack_as_the_contract_packs_them(ledger: Ledger, fields: tuple[int, int, int], junk: int) -> None:
    """The backend's link word is OutputRegistry's, both ways; a word the contract refuses is refused."""
    registry = ledger.outputs.functions
    word = pack_link(*fields)
    assert registry.linkOf(*fields).call() == word
    assert tuple(registry.unpackLink(word).call()) == unpack_link(word) == fields
    bad = word | junk << 88
    with pytest.raises(ValueError, match="not an OutputRegistry link"):
        unpack_link(bad)
    with pytest.raises(ContractLogicError):
        registry.unpackLink(bad).call()
    with pytest.raises(ValueError, match="does not fit"):
        pack_link(fields[0], fields[1], 2)


def test_a_platform_that_will_not_wait_registers_models_and_outputs_in_the_background(holder: httpx.Client, platform: httpx.Client) -> None:
    """`Prefer: respond-async` on models, one output and a batch of outputs: 202 at once; each
    operation then holds what the request would have answered (201, then 200 for the same
    outputs again), and the records read back as registered synchronously."""
    a, b = _works(holder, 2, 0xA5)
    later = {"Prefer": "respond-async"}
    op = operation_outcome(platform, platform.post("/models", json={"name": "later", "version": "1", "weights_hash": WEIGHTS, "work_ids": [a, b]}, headers=later))
    assert op["kind"] == "register_model" and op["http_status"] == 201, op
    model = op["result"]
    assert platform.get(f"/models/{model['model_id']}").json() == model and model["training_set_size"] == 2

    one = {"output_hash": "0x" + "a5" * 32, "model_id": model["model_id"], "links": [{"work_id": a, "weight_bps": 10_000}]}
    op = operation_outcome(platform, platform.post("/outputs", json=one, headers=later))
    assert op["kind"] == "register_outputs" and op["http_status"] == 201 and op["result"]["output_hash"] == one["output_hash"], op
    assert platform.get(f"/outputs/{one['output_hash']}").json()["links"] == op["result"]["links"]

    batch = [{"output_hash": "0x" + f"{0xA6 + i:02x}" * 32, "model_id": model["model_id"], "links": [{"work_id": b, "weight_bps": 10_000}]} for i in range(3)]
    op = operation_outcome(platform, platform.post("/outputs/batch", json={"outputs": batch}, headers=later))
    assert op["http_status"] == 201 and [o["output_hash"] for o in op["result"]["created"]] == [o["output_hash"] for o in batch], op
    again = operation_outcome(platform, platform.post("/outputs/batch", json={"outputs": batch}, headers=later))
    assert again["http_status"] == 200 and again["result"]["created"] == [] and len(again["result"]["existing"]) == 3
    assert platform.post("/outputs/batch", json={"outputs": []}, headers=later).status_code == 422  # validated before accepting
