"""The in-memory engine: pandas tables and LightGBM on numpy matrices, one process.

Every step reads the whole table (it fits in memory, that is the tier's
promise). The other engines produce the same results from data that does not.
"""

from __future__ import annotations

import time
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Unpack

import lightgbm as lgb
import numpy as np
import pandas as pd

from .. import data
from ..batch import BatchResult, ScoreOptions, score_chunked
from ..config import ProjectConfig
from ..evaluation.results import TestSet
from ..features import categorical_indices, encode_frame
from ..recipe import (
    FittedModel,
    boost,
    group_sizes,
    labels_of,
    lightgbm_params,
    own_model,
    usable_labels,
)
from ..registry import LoadedModel
from ..validation import validate_frame


@dataclass(frozen=True)
class MemoryEngine:
    """`data.engine: pandas`."""

    config: ProjectConfig
    name: str = "pandas"

    def session(self) -> AbstractContextManager[None]:
        return nullcontext()

    def write_sample(
        self,
        *,
        rows: int | None = None,
        seed: int | None = None,
        drift_after: pd.Timestamp | None = None,
    ) -> Path:
        """The sample as one Parquet file, data/sample.parquet."""
        config = self.config
        frame = data.make_sample(
            config,
            rows=rows or config.data.sample_rows,
            seed=config.model.seed if seed is None else seed,
            drift_after=drift_after,
        )
        validate_frame(frame, config.feature_schema, require_label=True)
        path = data.sample_path(config)
        path.parent.mkdir(parents=True, exist_ok=True)
        frame.to_parquet(path, index=False)
        return path

    def fit(self, *, show_progress: bool = True) -> FittedModel:
        config, schema, problem = self.config, self.config.feature_schema, self.config.problem_type
        splits = data.split_dataset(data.load_dataset(config), config)
        x_train, y_train = encode_frame(splits.train, schema), labels_of(splits.train, config)
        x_valid = encode_frame(splits.validation, schema)
        y_valid = labels_of(splits.validation, config)
        problem.check_training_labels(y_train)
        baseline = problem.fit_baseline(x_train, y_train, schema)

        def dataset(
            matrix: np.ndarray,
            labels: np.ndarray,
            frame: pd.DataFrame,
            reference: lgb.Dataset | None = None,
        ) -> lgb.Dataset:
            groups = None
            if schema.group_column:
                groups = group_sizes(frame[schema.group_column].to_numpy())
            labels, weights = usable_labels(problem, labels)
            return lgb.Dataset(
                matrix,
                label=labels,
                weight=weights,
                group=groups,
                feature_name=schema.feature_names,
                categorical_feature=categorical_indices(schema),
                reference=reference,
            )

        started = time.perf_counter()
        booster = own_model(problem, x_train, config)  # the Isolation Forest, or None
        if booster is None:
            train_set = dataset(x_train, y_train, splits.train)
            validation_set = dataset(x_valid, y_valid, splits.validation, reference=train_set)
            booster = boost(config, train_set, validation_set, show_progress=show_progress)
        seconds = time.perf_counter() - started
        outputs = np.asarray(booster.predict(x_valid, num_threads=config.model.num_threads))
        time_column = schema.time_column
        return FittedModel(
            booster=booster,
            baseline=baseline,
            train_sample=splits.train[[*schema.feature_names, *schema.group_columns]],
            validation_labels=y_valid,
            validation_groups=_groups(splits.validation, config),
            validation_outputs=outputs,
            validation_baseline=problem.predict_baseline(baseline, x_valid),
            rows={"train": len(splits.train), "validation": len(splits.validation)},
            time_range={
                "train_start": _iso(splits.train[time_column].min()),
                "train_end": _iso(splits.train[time_column].max()),
                "validation_end": _iso(splits.validation[time_column].max()),
            }
            if time_column
            else {"split": "random"},
            fingerprint=data.fingerprint(splits.train),
            seconds=seconds,
            params=lightgbm_params(config)[0],
            engine={"name": self.name},
            validation_features=splits.validation[list(problem.decision_features)],
        )

    def score_test_split(self, model: LoadedModel) -> TestSet:
        frame = data.split_dataset(data.load_dataset(self.config), self.config).test
        matrix = encode_frame(frame, model.schema)
        labels = frame[model.schema.label.name].to_numpy()
        return TestSet(
            frame,
            labels,
            model.predict(matrix),
            model.predict_baseline(matrix),
            _groups(frame, self.config),
        )

    def validation_rows(self, max_rows: int) -> pd.DataFrame:
        config = self.config
        validation = data.split_dataset(data.load_dataset(config), config).validation
        return data.bounded_rows(validation, max_rows, config.feature_schema.group_column)

    def write_test_split(self) -> Path:
        """The test split's inputs as data/batch_input.parquet."""
        config = self.config
        test = data.split_dataset(data.load_dataset(config), config).test
        target = config.data_dir / "batch_input.parquet"
        test[config.feature_schema.input_columns].to_parquet(target, index=False)
        return target

    def score_file(
        self, input_path: Path, output_path: Path, **options: Unpack[ScoreOptions]
    ) -> BatchResult:
        return score_chunked(self.config, input_path, output_path, **options)


def _groups(frame: pd.DataFrame, config: ProjectConfig) -> np.ndarray | None:
    group = config.feature_schema.group_column
    return frame[group].to_numpy() if group else None


def _iso(value: Any) -> str:
    return pd.Timestamp(value).isoformat(timespec="seconds")
