"""Ranking: order the candidates of each query, judged per query at k.

Rows are (query, candidate) pairs with a graded relevance; a query's rows
always stay together (in the splits, in training, in the metrics). LightGBM's
lambdarank objective optimises NDCG at the answered k. The baseline scores a
candidate by the popularity of its categories (the mean training relevance
of each category value, shrunk towards the overall mean for rare values).
The sample world is product search with a per-query intent.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Self

import numpy as np
import pandas as pd

from ..schema import FeatureSchema, LabelSpec
from .base import Baseline, Figure, ProblemBase, ValueKind, with_missing

if TYPE_CHECKING:
    from ..evaluation.results import TestSet

# Rare category values pull their popularity towards the overall mean as if
# they had this many more rows at the mean.
SHRINK_ROWS = 10
# The NDCG@k-by-k plot stops at this k.
PLOT_MAX_K = 20


@dataclass(frozen=True)
class Ranking(ProblemBase):
    name: ClassVar[str] = "ranking"
    label: ClassVar[str] = "ranking"
    label_kind: ClassVar[str] = "relevance"
    prediction_kind: ClassVar[ValueKind] = "numeric"
    grouped: ClassVar[bool] = True
    prediction_meaning: ClassVar[str] = "The score (higher ranks first, within one query)"

    @classmethod
    def from_settings(cls, settings: dict[str, Any], schema: FeatureSchema) -> Self:
        """k and the candidates of a query, as answered (k defaults to 10, at most the list)."""
        candidates = int(settings.get("candidates_per_request") or 20)
        k = int(settings.get("ranking_k") or min(10, candidates))
        return cls(k=k, rows_per_request=candidates)

    def lightgbm_params(self) -> dict[str, Any]:
        return {"objective": "lambdarank", "eval_at": [self.k]}

    def fit_baseline(
        self, matrix: np.ndarray, labels: np.ndarray, schema: FeatureSchema
    ) -> Baseline:
        labels = np.asarray(labels, dtype=float)
        overall = float(labels.mean())
        tables: dict[str, list[float]] = {}
        for index, spec in enumerate(schema.features):
            if spec.kind != "categorical":
                continue
            codes = matrix[:, index]
            known = ~np.isnan(codes)
            size = len(spec.categories)
            sums = np.bincount(codes[known].astype(int), labels[known], size)
            counts = np.bincount(codes[known].astype(int), minlength=size)
            shrunk = (sums + SHRINK_ROWS * overall) / (counts + SHRINK_ROWS)
            tables[str(index)] = shrunk.tolist()
        return {"kind": "popularity", "overall": overall, "tables": tables}

    def predict_baseline(self, baseline: Baseline, matrix: np.ndarray) -> np.ndarray:
        overall = baseline["overall"]
        score = np.zeros(len(matrix))
        for index, table in baseline["tables"].items():
            values = np.asarray([*table, overall], dtype=float)  # last slot: missing/unknown
            codes = matrix[:, int(index)]
            slot = np.where(np.isnan(codes), len(table), codes).astype(int)
            score += values[np.clip(slot, 0, len(table))] - overall
        return score

    def labels_from_signal(
        self,
        rng: np.random.Generator,
        signal: np.ndarray,
        label: LabelSpec,
        groups: np.ndarray | None,
    ) -> np.ndarray:
        """Grades from the label's range: most candidates irrelevant, a few highly relevant."""
        low = int(label.min) if label.min is not None else 0
        high = int(label.max) if label.max is not None else low + 3
        noisy = signal[:, 0] + rng.normal(0.0, 0.5, len(signal))
        quantile = (np.argsort(np.argsort(noisy)) + 0.5) / len(noisy)
        return np.minimum(low + np.floor(quantile**3 * (high - low + 1)), high).astype(int)

    def describe_baseline(self, baseline: Baseline) -> str:
        return "category popularity (mean training relevance of the candidate's categories)"

    def sample(self, rng: np.random.Generator, rows: int) -> pd.DataFrame:
        queries = max(rows // self.rows_per_request, 20)
        return search_world(rng, queries, self.rows_per_request)

    def figures(self, test: TestSet) -> list[Figure]:
        from ..evaluation import plots

        if test.groups is None:
            return []
        top = min(self.rows_per_request, PLOT_MAX_K)
        args = (test.labels, test.predictions, test.baseline, test.groups, top)
        return [("NDCG@k by k", plots.ndcg_by_k, args)]


def search_world(rng: np.random.Generator, n_queries: int, size: int) -> pd.DataFrame:
    """Search results: `size` candidates per query with graded relevance 0-4."""
    categories = np.array(["books", "electronics", "fashion", "home", "sports", "toys"])
    n = n_queries * size
    query = np.repeat(np.arange(n_queries), size)
    intent = np.repeat(rng.integers(0, len(categories), n_queries), size)
    device = np.repeat(
        rng.choice(["desktop", "mobile", "tablet"], size=n_queries, p=[0.45, 0.45, 0.1]), size
    )
    item_category = rng.integers(0, len(categories), n)
    match = item_category == intent
    text_match = np.clip(rng.beta(2.0, 5.0, n) + 0.25 * match, 0, 1)
    popularity = np.clip(np.round(rng.lognormal(6.0, 1.5, n)), 0, 1_000_000)
    price = np.clip(np.round(rng.lognormal(3.5, 1.0, n), 2), 0, 100_000)
    age = np.clip(np.round(rng.exponential(300.0, n)), 0, 10_000)
    affinity = np.tanh(rng.normal(0.4 * match, 0.5))

    latent = (
        3.0 * text_match
        + 1.2 * match
        + 0.25 * np.log1p(popularity)
        + 0.6 * affinity
        - 0.3 * np.log1p(price) * (device == "mobile")
        - 0.001 * age
        + rng.gumbel(0.0, 0.5, n)
    )
    cuts = np.quantile(latent, [0.82, 0.91, 0.96, 0.99])
    return pd.DataFrame(
        {
            "_group": query,
            "text_match": text_match,
            "item_popularity": popularity,
            "item_price": price,
            "item_age_days": with_missing(rng, age, 0.07),
            "user_affinity": with_missing(rng, affinity, 0.15),
            "item_category": categories[item_category],
            "device": device,
            "_day": np.repeat(rng.random(n_queries), size),
            "_label": np.searchsorted(cuts, latent).astype(int),
        }
    )
