"""Planted credit decisions for the explanation API tests: ``income`` drives the score."""

from __future__ import annotations

import math
import random
from datetime import UTC, datetime, timedelta
from typing import Any

START = datetime(2026, 12, 1, tzinfo=UTC)


def credit_records(n: int, *, seed: int = 1, with_shap: bool = False) -> list[dict[str, Any]]:
    """``n`` predictions over two hours; ``score`` = logistic(0.25 (income - 50)); region and
    tenure do not drive it. With ``with_shap`` the client sends the true linear log-odds
    contributions as SHAP values (``debt`` drives those, by construction)."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        income = rng.gauss(50, 15)
        debt = rng.gauss(0, 1)
        region = rng.choice(["eu", "us"])
        score = 1 / (1 + math.exp(-0.25 * (income - 50)))
        rec: dict[str, Any] = {
            "prediction_id": f"p-{i}",
            "model_version": "v1",
            "timestamp": (START + timedelta(seconds=7200 * i / n)).isoformat(),
            "features": {
                "income": income,
                "tenure": rng.randint(0, 20),
                "region": region,
                "debt": debt,
            },
            "tags": {"region": region},
            "prediction_score": score,
            "prediction_label": "approve" if score >= 0.5 else "deny",
        }
        if with_shap:
            rec["shap_values"] = {"debt": 2.0 * debt, "income": 0.1 * rng.gauss(0, 1)}
        out.append(rec)
    return out
