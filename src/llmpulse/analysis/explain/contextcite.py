"""ContextCite-style ablation surrogate for RAG attribution (METHODS.md §5.5).

Sources (sentences or chunks) are ablated with random keep masks; for every mask the fixed
original response is scored (teacher forcing) and its logit y = log p - log(1 - p) becomes the
target of a sparse linear surrogate y ≈ w·mask + b, fitted by LASSO on standardised masks with
the target divided by the number of response tokens (weights rescaled back), as in the reference
package ``MadryLab/context-cite`` (``solver.py``). The LASSO is a numpy coordinate descent with
scikit-learn's objective (1/(2n))·‖y - Xw - b‖² + alpha‖w‖₁; scikit-learn is not a dependency.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from llmpulse.domain.errors import InvalidInput

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

TokenScorer = Callable[[frozenset[int]], Sequence[float]]
"""Per-token log-probs of the fixed response given only the kept sources (teacher forcing)."""

DEFAULT_ABLATIONS = 64
DEFAULT_KEEP_PROB = 0.5
DEFAULT_ALPHA = 0.01
MAX_LOG_P = -1e-12
"""log p is capped just below 0 so that the logit of a certain response stays finite."""


@dataclass(frozen=True)
class Surrogate:
    """A fitted linear surrogate y ≈ weights·mask + intercept (§5.5).

    Attributes:
        weights: Attribution per source; positive means the source supports the response.
        intercept: Predicted logit with every source ablated.
    """

    weights: tuple[float, ...]
    intercept: float

    def ranking(self) -> list[int]:
        """Source indices by decreasing weight (ties by index)."""
        return sorted(range(len(self.weights)), key=lambda j: (-self.weights[j], j))


def response_logit(token_logprobs: Sequence[float]) -> float:
    """Logit of the response probability from its token log-probs (§5.5).

    log p = Σ_t log p(token_t); y = log p - log(1 - p), computed as log p - log(-expm1(log p)).

    Args:
        token_logprobs: Natural-log probability of each response token (each ≤ 0).

    Returns:
        The logit y.

    Raises:
        InvalidInput: If there are no tokens or a log-prob is positive or not finite.
    """
    if not token_logprobs:
        raise InvalidInput("token_logprobs must not be empty")
    for value in token_logprobs:
        if not math.isfinite(value) or value > 0:
            raise InvalidInput(f"token_logprobs must be finite and ≤ 0, got {value}")
    log_p = min(math.fsum(token_logprobs), MAX_LOG_P)
    return log_p - math.log(-math.expm1(log_p))


def ablation_masks(
    n_sources: int,
    n_ablations: int = DEFAULT_ABLATIONS,
    keep_prob: float = DEFAULT_KEEP_PROB,
    seed: int = 0,
) -> BoolArray:
    """Random ablation masks, each source kept independently with ``keep_prob`` (§5.5).

    Args:
        n_sources: Number of sources.
        n_ablations: Number of masks (rows).
        keep_prob: Probability that a source is kept.
        seed: Seed of the numpy generator (results are reproducible).

    Returns:
        A boolean array of shape (n_ablations, n_sources); True = kept.

    Raises:
        InvalidInput: If a count is below 1 or keep_prob is outside (0, 1).
    """
    if n_sources < 1:
        raise InvalidInput(f"n_sources must be at least 1, got {n_sources}")
    if n_ablations < 1:
        raise InvalidInput(f"n_ablations must be at least 1, got {n_ablations}")
    if not 0.0 < keep_prob < 1.0:
        raise InvalidInput(f"keep_prob must be in (0, 1), got {keep_prob}")
    rng = np.random.default_rng(seed)
    masks: BoolArray = rng.random((n_ablations, n_sources)) < keep_prob
    return masks


def lasso(
    x: FloatArray, y: FloatArray, alpha: float, max_iter: int = 10_000, tol: float = 1e-10
) -> tuple[FloatArray, float]:
    """LASSO with intercept by cyclic coordinate descent (scikit-learn's objective, §5.5).

    Minimises (1/(2n))·‖y - Xw - b‖² + alpha‖w‖₁. Columns with zero variance get weight 0.

    Args:
        x: Design matrix, shape (n, p).
        y: Targets, shape (n,).
        alpha: L1 strength (≥ 0; 0 gives least squares).
        max_iter: Maximum number of full sweeps.
        tol: Stop when no weight moves by more than this in a sweep.

    Returns:
        (weights, intercept).

    Raises:
        InvalidInput: If shapes disagree or alpha is negative.
    """
    if x.ndim != 2 or y.ndim != 1 or x.shape[0] != y.shape[0] or x.shape[0] == 0:
        raise InvalidInput(f"x must be (n, p) and y (n,), got {x.shape} and {y.shape}")
    if alpha < 0 or not math.isfinite(alpha):
        raise InvalidInput(f"alpha must be finite and ≥ 0, got {alpha}")
    n, p = x.shape
    x_mean = x.mean(axis=0)
    y_mean = float(y.mean())
    xc = x - x_mean
    yc = y - y_mean
    norms = (xc * xc).sum(axis=0) / n
    w = np.zeros(p)
    residual = yc.copy()
    for _ in range(max_iter):
        biggest = 0.0
        for j in range(p):
            if norms[j] <= 0.0:
                continue
            old = w[j]
            rho = float(xc[:, j] @ residual) / n + norms[j] * old
            new = math.copysign(max(abs(rho) - alpha, 0.0), rho) / norms[j]
            if new != old:
                residual -= xc[:, j] * (new - old)
                w[j] = new
                biggest = max(biggest, abs(new - old))
        if biggest <= tol:
            break
    intercept = y_mean - float(x_mean @ w)
    return w, intercept


def fit_surrogate(
    masks: BoolArray | Sequence[Sequence[bool]],
    targets: Sequence[float] | FloatArray,
    alpha: float = DEFAULT_ALPHA,
    num_tokens: int = 1,
) -> Surrogate:
    """Fit ContextCite's sparse linear surrogate (§5.5).

    Masks are standardised (mean 0, population s.d. 1; constant columns left unscaled), the
    target divided by ``num_tokens``, LASSO fitted, and weights and intercept rescaled back to
    mask units and the original target scale.

    Args:
        masks: Ablation masks, shape (n, sources).
        targets: Logit of the response per mask.
        alpha: LASSO strength in standardised units (0 gives ordinary least squares).
        num_tokens: Number of response tokens the target is divided by.

    Returns:
        The fitted surrogate.

    Raises:
        InvalidInput: If shapes disagree or num_tokens is below 1.
    """
    if num_tokens < 1:
        raise InvalidInput(f"num_tokens must be at least 1, got {num_tokens}")
    x = np.asarray(masks, dtype=np.float64)
    y = np.asarray(targets, dtype=np.float64)
    if x.ndim != 2 or y.shape != (x.shape[0],):
        raise InvalidInput(f"masks must be (n, sources) and targets (n,), got {x.shape}, {y.shape}")
    mean = x.mean(axis=0)
    scale = x.std(axis=0)
    scale[scale == 0.0] = 1.0
    w_std, b_std = lasso((x - mean) / scale, y / num_tokens, alpha)
    weights = w_std / scale * num_tokens
    intercept = (b_std - float((w_std * mean / scale).sum())) * num_tokens
    return Surrogate(tuple(float(v) for v in weights), float(intercept))


def context_cite(
    n_sources: int,
    scorer: TokenScorer,
    n_ablations: int = DEFAULT_ABLATIONS,
    keep_prob: float = DEFAULT_KEEP_PROB,
    alpha: float = DEFAULT_ALPHA,
    seed: int = 0,
) -> Surrogate:
    """Attribute a fixed response to its sources by ablation and a LASSO surrogate (§5.5).

    Args:
        n_sources: Number of sources in the context.
        scorer: Returns the response's token log-probs given the kept source indices.
        n_ablations: Number of random masks (one scorer call each).
        keep_prob: Probability that a source is kept in a mask.
        alpha: LASSO strength in standardised units.
        seed: Seed for the masks.

    Returns:
        The surrogate; ``weights[j]`` is source j's attribution.

    Raises:
        InvalidInput: If arguments are out of range or the scorer returns bad log-probs.
    """
    masks = ablation_masks(n_sources, n_ablations, keep_prob, seed)
    targets: list[float] = []
    num_tokens = 0
    for row in masks:
        logprobs = scorer(frozenset(int(j) for j in np.flatnonzero(row)))
        if num_tokens and len(logprobs) != num_tokens:
            raise InvalidInput("scorer must return the same number of tokens for every mask")
        num_tokens = len(logprobs)
        targets.append(response_logit(logprobs))
    return fit_surrogate(masks, targets, alpha=alpha, num_tokens=num_tokens)
