"""ONNX Runtime backend for the dense embedder (GUIDECITE_EMBEDDING__BACKEND=onnx|onnx-int8).

sentence-transformers' own `backend="onnx"` needs optimum-onnx, which pins transformers<4.58
(this project runs transformers 5), so the model is exported here with torch's dynamo ONNX
exporter, once, into a cache folder, optionally quantised to int8 with onnxruntime's dynamic
quantiser, and run with onnxruntime plus the model's own pooling and L2 normalisation.
Imported only when that backend is selected: it pulls in torch on first export.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import logging
import os
import shutil
import tempfile
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from assistant.errors import ConfigError

logger = logging.getLogger(__name__)

FP32_FILE = "model.onnx"
INT8_FILE = "model_int8_pc_rr.onnx"
# Rows per onnxruntime call: one. A call pads its rows to its longest, and the padding is
# computed like text; int8 dynamic quantisation also scales activations per call, so a text
# run with others got a slightly different vector than alone (max 0.03 per component). One
# row per call gives every text the vector it gets alone (a passage and the same text as a
# query match exactly) and was the fastest: 600 guideline chunks, 2 cores, int8, wall 8.2 s
# at 1 row, 11.0 s at 4, 12.0 s at 8; fp32 13.5 / 17.7 / 19.4 s. It also keeps onnxruntime's
# memory arena (sized by the largest call) small: 64 rows had held ~2.1 GB peak (issue 15).
ROWS_PER_RUN = 1


def export_dir_for(model_path: Path, cache_dir: Path) -> Path:
    """Cache folder of one model's exports, keyed by the weights' size and mtime."""
    stamp = []
    for weights in sorted(model_path.glob("*.safetensors")) + sorted(model_path.glob("*.bin")):
        stat = weights.stat()
        stamp.append(f"{weights.name}:{stat.st_size}:{int(stat.st_mtime)}")
    key = hashlib.blake2b(
        f"{model_path.resolve()}|{'|'.join(stamp)}".encode(), digest_size=6
    ).hexdigest()
    return cache_dir / "onnx" / f"{model_path.name}-{key}"


def _pooling_mode(model_path: Path) -> str:
    config_path = model_path / "1_Pooling" / "config.json"
    config = json.loads(config_path.read_text()) if config_path.is_file() else {}
    if config.get("pooling_mode_mean_tokens"):
        return "mean"
    if config.get("pooling_mode_cls_token"):
        return "cls"
    raise ConfigError(
        f"ONNX backend: unsupported pooling in {config_path}",
        user_message="The onnx embedding backend supports models with mean or CLS pooling only; "
        "set GUIDECITE_EMBEDDING__BACKEND=torch for this model.",
    )


def _export_fp32(model_path: Path, target: Path) -> None:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import torch
    from transformers import AutoModel, AutoTokenizer

    model = AutoModel.from_pretrained(str(model_path), local_files_only=True).eval()
    tokenizer = AutoTokenizer.from_pretrained(str(model_path), local_files_only=True)
    sample = tokenizer(
        ["a short text", "a somewhat longer sample text"], padding=True, return_tensors="pt"
    )
    takes_types = "token_type_ids" in inspect.signature(model.forward).parameters
    names = ["input_ids", "attention_mask"] + (["token_type_ids"] if takes_types else [])

    # torch.export needs a fixed positional signature (no *args) to attach dynamic shapes.
    class _Encoder(torch.nn.Module):
        def __init__(self, inner: Any) -> None:
            super().__init__()
            self.inner = inner

        def forward(self, input_ids: Any, attention_mask: Any) -> Any:
            return self.inner(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state

    class _EncoderWithTypes(_Encoder):
        def forward(  # type: ignore[override]
            self, input_ids: Any, attention_mask: Any, token_type_ids: Any
        ) -> Any:
            return self.inner(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            ).last_hidden_state

    wrapper = (_EncoderWithTypes if takes_types else _Encoder)(model).eval()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # exporter chatter (axis renames, deprecations)
        _run_export(torch, wrapper, sample=sample, names=names, target=target)


def _run_export(torch: Any, wrapper: Any, *, sample: Any, names: list[str], target: Path) -> None:
    batch = torch.export.Dim("batch")
    seq = torch.export.Dim("sequence")
    torch.onnx.export(
        wrapper,
        tuple(sample[n] for n in names),
        str(target),
        input_names=names,
        output_names=["last_hidden_state"],
        dynamic_shapes=tuple({0: batch, 1: seq} for _ in names),
        dynamo=True,
        external_data=False,
    )


def ensure_export(model_path: Path, *, cache_dir: Path, quantized: bool) -> Path:
    """Export (and quantise) the model once; later calls return the cached file."""
    folder = export_dir_for(model_path, cache_dir)
    wanted = folder / (INT8_FILE if quantized else FP32_FILE)
    if wanted.is_file():
        return wanted
    folder.mkdir(parents=True, exist_ok=True)
    # Build in a temp file and rename, so a concurrent or killed export never leaves a
    # half-written model behind.
    with tempfile.TemporaryDirectory(dir=folder) as tmp:
        fp32 = folder / FP32_FILE
        if not fp32.is_file():
            logger.info("exporting %s to ONNX (one-time)", model_path)
            try:
                _export_fp32(model_path, Path(tmp) / FP32_FILE)
            except ImportError as exc:
                raise ConfigError(
                    f"ONNX export needs the onnx and onnxscript packages: {exc}",
                    user_message="GUIDECITE_EMBEDDING__BACKEND=onnx needs the onnx and onnxscript "
                    "packages (pip install onnx onnxscript), or use the torch backend.",
                ) from exc
            os.replace(Path(tmp) / FP32_FILE, fp32)
        if quantized:
            from onnxruntime.quantization import QuantType, quantize_dynamic

            logger.info("quantising %s to int8 (one-time)", fp32)
            # per-channel + reduce_range: plain int8 dynamic quantisation saturates on AVX2
            # CPUs without VNNI (measured min cosine vs torch 0.77; with these, 0.97).
            quantize_dynamic(
                str(fp32),
                str(Path(tmp) / INT8_FILE),
                weight_type=QuantType.QInt8,
                per_channel=True,
                reduce_range=True,
            )
            os.replace(Path(tmp) / INT8_FILE, folder / INT8_FILE)
    return wanted


class OnnxEncoder:
    """Tokenise, run the exported transformer in onnxruntime, pool, L2-normalise."""

    def __init__(self, *, session: Any, tokenizer: Any, pooling: str) -> None:
        self.session = session
        self.tokenizer = tokenizer
        self.pooling = pooling
        self.input_names = [i.name for i in session.get_inputs()]

    @classmethod
    def load(
        cls, model_path: Path, *, cache_dir: Path, quantized: bool, max_tokens: int
    ) -> OnnxEncoder:
        """Export if needed, then open an onnxruntime session on CPU."""
        import onnxruntime as ort
        from tokenizers import Tokenizer

        pooling = _pooling_mode(model_path)
        tokenizer_json = model_path / "tokenizer.json"
        if not tokenizer_json.is_file():
            raise ConfigError(
                f"ONNX backend needs {tokenizer_json}",
                user_message="The onnx embedding backend needs a model with tokenizer.json; "
                "set GUIDECITE_EMBEDDING__BACKEND=torch for this model.",
            )
        onnx_file = ensure_export(model_path, cache_dir=cache_dir, quantized=quantized)
        tokenizer = Tokenizer.from_file(str(tokenizer_json))
        tokenizer.enable_truncation(max_length=max_tokens)
        tokenizer.enable_padding()
        session = ort.InferenceSession(str(onnx_file), providers=["CPUExecutionProvider"])
        return cls(session=session, tokenizer=tokenizer, pooling=pooling)

    def encode(self, texts: Sequence[str]) -> list[list[float]]:
        """L2-normalised sentence embeddings, computed ROWS_PER_RUN texts at a time."""
        out: list[list[float]] = []
        for start in range(0, len(texts), ROWS_PER_RUN):
            out.extend(self._encode_rows(texts[start : start + ROWS_PER_RUN]))
        return out

    def _encode_rows(self, texts: Sequence[str]) -> list[list[float]]:
        encodings = self.tokenizer.encode_batch(list(texts))
        feeds = {
            "input_ids": np.array([e.ids for e in encodings], dtype=np.int64),
            "attention_mask": np.array([e.attention_mask for e in encodings], dtype=np.int64),
            "token_type_ids": np.array([e.type_ids for e in encodings], dtype=np.int64),
        }
        hidden = self.session.run(None, {n: feeds[n] for n in self.input_names})[0]
        if self.pooling == "cls":
            pooled = hidden[:, 0, :]
        else:
            mask = feeds["attention_mask"][..., None].astype(hidden.dtype)
            pooled = (hidden * mask).sum(axis=1) / np.clip(mask.sum(axis=1), 1e-9, None)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        return (pooled / np.clip(norms, 1e-12, None)).tolist()


def clear_exports(model_path: Path, *, cache_dir: Path) -> None:
    """Remove the cached exports of one model (e.g. after a failed export)."""
    shutil.rmtree(export_dir_for(model_path, cache_dir), ignore_errors=True)
