"""A semantic image embedding plugged in from a model file on disk (ONNX), as a similarity method.

No embedding weights can be downloaded at run time here, so none ships; an operator who has a
model file (a CLIP or DINO image encoder exported to ONNX, say) names it in settings
(``LEDGER_IMAGE_EMBEDDING_MODEL``) and the ledger runs it beside the perceptual hashes.

The embedding's float vector becomes a 64-bit code by SimHash: the signs of its projections on
64 random hyperplanes, drawn from a seed derived from the model file itself. The Hamming
distance between two codes then estimates the angle between the embeddings (64 x angle / pi),
so the method fits the same binary index, calibration and evidence as every other method, and
two ledgers with the same model file make the same codes.

The method's name carries the first 12 hex digits of the model file's SHA-256: another model
(or another export of it) is another method, indexed apart, never silently mixed with codes of
the first. Until ``scripts/calibrate_similarity.py`` measures it, its matches are uncalibrated
and corroborate only (the decisive methods stay the calibrated perceptual ones).
"""

import hashlib
from pathlib import Path
from typing import Any, Literal

import numpy as np
from PIL import Image, ImageOps

from ledger.evidence.media import Media

BITS = 64
#: ImageNet normalisation, which the common image encoders (CLIP, DINO, ResNet) expect.
MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float32)
STD = np.array([0.229, 0.224, 0.225], dtype=np.float32)
DEFAULT_SIDE = 224
MAX_MODEL_BYTES = 2 << 30  # protobuf's own limit for one ONNX file


class EmbeddingUnavailable(RuntimeError):
    """The configured model file cannot be used: what is wrong is in the message."""


class OnnxImageEmbedding:
    """An ONNX image encoder taking one NCHW float32 picture and giving one vector."""

    version = 1
    media: Literal["image", "text"] = "image"
    bits = BITS

    def __init__(self, path: Path) -> None:
        try:
            import onnxruntime  # optional: only an operator with a model file needs it
        except ImportError as exc:
            raise EmbeddingUnavailable("LEDGER_IMAGE_EMBEDDING_MODEL needs onnxruntime: pip install 'ai-rights-ledger[embedding]'") from exc
        if not path.is_file():
            raise EmbeddingUnavailable(f"LEDGER_IMAGE_EMBEDDING_MODEL: no model file at {path}")
        if path.stat().st_size > MAX_MODEL_BYTES:
            raise EmbeddingUnavailable(f"LEDGER_IMAGE_EMBEDDING_MODEL: {path} is larger than an ONNX file can be")
        data = path.read_bytes()
        digest = hashlib.sha256(data).digest()
        self.name = "embed-" + digest.hex()[:12]
        self.model_sha256 = "0x" + digest.hex()
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = 1  # the API runs requests in threads already
        try:
            self._session: Any = onnxruntime.InferenceSession(data, options, providers=["CPUExecutionProvider"])
        except Exception as exc:  # onnxruntime raises its own exception types for bad files
            raise EmbeddingUnavailable(f"LEDGER_IMAGE_EMBEDDING_MODEL: {path} is not a usable ONNX model: {exc}") from exc
        inputs = self._session.get_inputs()
        shape = inputs[0].shape
        if len(inputs) != 1 or len(shape) != 4 or (isinstance(shape[1], int) and shape[1] != 3):
            raise EmbeddingUnavailable(f"LEDGER_IMAGE_EMBEDDING_MODEL: the model must take one picture as [N, 3, H, W], not {shape}")
        self._input = inputs[0].name
        side = lambda v: v if isinstance(v, int) and v > 0 else DEFAULT_SIDE  # noqa: E731
        self._size = (side(shape[3]), side(shape[2]))
        self._seed = int.from_bytes(digest[:8], "big")
        self._planes: np.ndarray | None = None

    def embed(self, img: Image.Image) -> np.ndarray:
        """The model's vector for a picture (RGB, resized to its input, normalised)."""
        pixels = np.asarray(img.convert("RGB").resize(self._size, Image.Resampling.BICUBIC), dtype=np.float32) / 255.0
        batch = ((pixels - MEAN) / STD).transpose(2, 0, 1)[np.newaxis]
        out = np.asarray(self._session.run(None, {self._input: batch})[0], dtype=np.float64).reshape(-1)
        if not out.size or not np.isfinite(out).all():
            raise ValueError("the embedding model gave no finite vector for this picture")
        return out

    def code(self, img: Image.Image) -> bytes:
        vector = self.embed(img)
        if self._planes is None or self._planes.shape[1] != vector.size:
            self._planes = np.random.default_rng(self._seed).standard_normal((BITS, vector.size))
        return np.packbits(self._planes @ vector > 0).tobytes()

    def index_codes(self, media: Media) -> list[bytes]:
        assert media.image is not None
        return [self.code(media.image)]

    def query_codes(self, media: Media) -> list[bytes]:
        assert media.image is not None
        return [self.code(media.image), self.code(ImageOps.mirror(media.image))]
