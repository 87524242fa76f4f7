"""A semantic image embedding plugged in from a model file named in settings.

No image encoder's weights can be had here, so the model is a stand-in built by the test: a
real ONNX graph (average pooling, a fixed random projection, tanh) run by the real onnxruntime,
with the shape of an image encoder ([N, 3, H, W] in, a vector out). What is tested is the
plumbing a real encoder goes through: loading, preprocessing, SimHash codes, fingerprint rows,
backfill of files registered before, and the method's distances in search results.
"""

import json
import random
from pathlib import Path

import numpy as np
import onnx
import pytest
from sqlmodel import Session, select

from ledger.config import Settings
from ledger.evidence import specimens
from ledger.evidence.embedding import EmbeddingUnavailable, OnnxImageEmbedding
from ledger.evidence.media import Media, decode
from ledger.evidence.methods import hamming
from ledger.models import Fingerprint, Role
from ledger.runtime import open_ledger
from ledger.services import fingerprints
from ledger.services.keys import create_api_key
from tests.conftest import Server, client_for



def stand_in_encoder(path: Path, side: int = 32, dims: int = 128) -> Path:
    """An ONNX image encoder stand-in: 4x4 average pooling, a seeded projection, tanh."""
    from onnx import TensorProto, helper, numpy_helper

    pooled = 3 * (side // 4) ** 2
    weights = (np.random.default_rng(7).standard_normal((pooled, dims)) / np.sqrt(pooled)).astype(np.float32)
    graph = helper.make_graph(
        [
            helper.make_node("AveragePool", ["pixels"], ["pooled"], kernel_shape=[4, 4], strides=[4, 4]),
            helper.make_node("Flatten", ["pooled"], ["flat"], axis=1),
            helper.make_node("MatMul", ["flat", "w"], ["projected"]),
            helper.make_node("Tanh", ["projected"], ["embedding"]),
        ],
        "stand_in_encoder",
        [helper.make_tensor_value_info("pixels", TensorProto.FLOAT, ["N", 3, side, side])],
        [helper.make_tensor_value_info("embedding", TensorProto.FLOAT, ["N", dims])],
        [numpy_helper.from_array(weights, "w")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    path.write_bytes(model.SerializeToString())
    return path


def _media(data: bytes) -> Media:
    media = decode(data)
    assert media is not None
    return media


def _copy(seed: int, transform: str) -> bytes:
    return specimens.png(specimens.COPIES[transform](specimens.image(seed), random.Random(f"{seed}:{transform}")))


def test_the_embedding_codes_copies_near_and_distinct_pictures_far(tmp_path: Path) -> None:
    method = OnnxImageEmbedding(stand_in_encoder(tmp_path / "enc.onnx"))
    again = OnnxImageEmbedding(tmp_path / "enc.onnx")
    assert method.name == again.name and method.name.startswith("embed-") and len(method.name) == 18
    picture = _media(specimens.png(specimens.image(3)))
    assert method.index_codes(picture) == again.index_codes(picture)  # the same model file gives the same codes anywhere
    assert [len(c) for c in method.query_codes(picture)] == [8, 8]  # the picture and its mirror

    def distance(a: bytes, b: bytes) -> int:
        return min(hamming(q, method.index_codes(_media(b))[0]) for q in method.query_codes(_media(a)))

    copies = [distance(_copy(s, t), specimens.png(specimens.image(s))) for s in range(10) for t in ("resize", "jpeg", "flip")]
    distinct = [distance(specimens.png(specimens.image(s)), specimens.png(specimens.image(s + 50))) for s in range(10)]
    assert max(copies) < min(distinct), (copies, distinct)

    # Another model file is another method, never mixed with the first one's codes.
    other = tmp_path / "other.onnx"
    stand_in_encoder(other, dims=96)
    assert OnnxImageEmbedding(other).name != method.name


def test_a_model_that_cannot_be_used_stops_the_start_saying_why(tmp_path: Path) -> None:
    with pytest.raises(EmbeddingUnavailable, match="no model file"):
        OnnxImageEmbedding(tmp_path / "missing.onnx")
    (tmp_path / "bad.onnx").write_bytes(b"not a model")
    with pytest.raises(EmbeddingUnavailable, match="not a usable ONNX model"):
        OnnxImageEmbedding(tmp_path / "bad.onnx")


def test_a_configured_embedding_is_backfilled_and_corroborates_searches(settings: Settings, tmp_path: Path) -> None:
    first = open_ledger(settings, deploy=True)
    token = create_api_key(first, Role.rights_holder, "artist").token
    art = specimens.png(specimens.image(11))
    with Server(first) as srv:
        spec = {"title": "frame", "terms": {"training_allowed": True, "royalty_bps": 500}}
        made = client_for(srv, token).post("/works", files={"file": ("f.png", art, "image/png")}, data={"work": json.dumps(spec)})
        assert made.status_code == 201, made.text
    first.engine.dispose()

    # The operator configures an encoder later: the same ledger restarts with it.
    model = stand_in_encoder(tmp_path / "enc.onnx")
    ledger = open_ledger(settings.model_copy(update={"image_embedding_model": model}), deploy=True)
    label = ledger.methods.keys[OnnxImageEmbedding(model).name]
    with Session(ledger.engine) as s:
        assert label not in set(s.exec(select(Fingerprint.method)).all())
    result = fingerprints.backfill(ledger)
    assert result.fingerprinted == 1, result
    assert fingerprints.backfill(ledger).already == 1  # done once
    with Session(ledger.engine) as s:
        assert label in set(s.exec(select(Fingerprint.method)).all())
    with Server(ledger) as srv:
        found = client_for(srv, token).post("/similar", files={"file": ("q.png", _copy(11, "resize"), "image/png")}).json()["similar"]
        assert found[0]["match"] and found[0]["work_id"] == made.json()["work_id"]
        assert label in found[0]["corroboration"] and found[0]["corroboration"][label] < 16, found[0]
    ledger.engine.dispose()


def test_onnxruntime_loads_in_a_process_that_has_the_index() -> None:
    """Regression: onnxruntime imported after usearch crashed the process (segmentation fault
    in the full suite); the index module now loads onnxruntime first where it is installed."""
    import subprocess
    import sys

    code = "import ledger.evidence.index, usearch.index, onnxruntime; print('loaded')"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and "loaded" in done.stdout, done.stderr[-2000:]
