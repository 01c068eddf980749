"""Cluster training: Ray Train's LightGBMTrainer, data-parallel over Ray Data shards.

Each worker builds a LightGBM dataset from its shard and the workers grow one
model together (LightGBM's `data_parallel` tree learner). For ranking, a query
never straddles two shards: rows are routed to workers by a hash of the query
id. Every worker validates on the whole validation split, so all of them stop
early at the same round. Rank 0 reports once, at the end, with the model text:
a report per boosting round made a tiny job seven times slower.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Any

import lightgbm as lgb
import numpy as np
import pandas as pd
import ray.train
from ray.train.lightgbm import LightGBMTrainer

from ...config import ProjectConfig
from ...features import categorical_indices
from ...problems.base import Baseline
from ...recipe import (
    FittedModel,
    best_rounds_only,
    group_sizes,
    lightgbm_params,
    usable_labels,
)
from ..partitioned import BASELINE_ROWS, file_digest, fit_on_sample, window_start
from .datasets import (
    BASELINE,
    PREDICTION,
    SHARD,
    compute_cuts,
    encoded_split,
    outputs,
    raw_split,
    read_source,
)
from .session import ray_session, worker_count

MODEL_FILE = "model.txt"
VALIDATION_FILE = "validation.parquet"


def fit_on_ray(config: ProjectConfig, *, show_progress: bool = True) -> FittedModel:
    """Prepare the splits with Ray Data, train with LightGBMTrainer, score validation."""
    schema = config.feature_schema
    with ray_session(config):
        source, files = read_source(config)
        cuts = compute_cuts(source, config)
        workers = worker_count(config)
        # Materialised (in the object store, spilled to disk when full) before the
        # workers take their CPUs, so preparation never waits for a CPU they hold.
        datasets = {
            name: encoded_split(source, config, cuts, name, shards=workers).materialize()
            for name in ("train", "validation")
        }
        sample = _sample(raw_split(source, config, cuts, "train"), cuts.rows["train"], config)
        params = lightgbm_params(config)[0]
        started = time.perf_counter()
        baseline, booster = fit_on_sample(config, sample)
        if booster is None:  # the problem type fits no model of its own: boost on Ray
            booster, validation = _boost_on_ray(config, datasets, baseline, workers)
        else:
            validation = _validation_scores(
                datasets["validation"].to_pandas(), booster, baseline, config
            )
        seconds = time.perf_counter() - started
    group = schema.group_column
    return FittedModel(
        booster=booster,
        baseline=baseline,
        train_sample=sample[[*schema.feature_names, *schema.group_columns]],
        validation_labels=config.problem_type.encode_labels(
            validation[schema.label.name].to_numpy()
        ),
        validation_groups=validation[group].to_numpy() if group else None,
        validation_features=validation[list(config.problem_type.decision_features)],
        validation_outputs=outputs(validation, PREDICTION),
        validation_baseline=outputs(validation, BASELINE),
        # Counted after the split's filters (a forecast leaves out labels past the cut).
        rows={name: int(datasets[name].count()) for name in ("train", "validation")},
        time_range={
            **window_start(cuts),
            "train_end": str(cuts.validation_start),
            "validation_end": str(cuts.test_start),
        },
        fingerprint=file_digest(files),
        seconds=seconds,
        params=params,
        engine={"name": "ray", "ray_workers": workers},
    )


def _boost_on_ray(
    config: ProjectConfig, datasets: dict[str, Any], baseline: Baseline, workers: int
) -> tuple[lgb.Booster, pd.DataFrame]:
    """LightGBMTrainer over the workers: the booster, cut to its best round, and validation."""
    schema = config.feature_schema
    params, rounds = lightgbm_params(config)
    grouped = config.problem_type.grouped  # queries stay whole: no splitting by row
    trainer = LightGBMTrainer(
        _train_worker,
        train_loop_config={
            "params": params,
            "rounds": rounds,
            "early_stopping_rounds": config.model.early_stopping_rounds,
            "features": schema.feature_names,
            "categorical": categorical_indices(schema),
            "label": schema.label.name,
            "group": schema.group_column,
            "baseline": baseline,
            "problem": config.problem_type,
            "decision_features": list(config.problem_type.decision_features),
        },
        datasets=datasets,
        # Grouped rows: every worker sees the whole split and keeps its queries (by hash).
        dataset_config=ray.train.DataConfig(datasets_to_split=[] if grouped else ["train"]),
        scaling_config=ray.train.ScalingConfig(
            num_workers=workers, resources_per_worker={"CPU": 1}
        ),
        run_config=ray.train.RunConfig(
            name=f"lightgbm-{time.strftime('%Y%m%dT%H%M%S')}",
            storage_path=config.data.ray_storage or str(config.data_dir.resolve() / "ray_results"),
        ),
    )
    result = trainer.fit()
    if result.checkpoint is None:
        raise RuntimeError(f"Ray training ended without a model: {result.error}")
    with result.checkpoint.as_directory() as folder:
        booster = lgb.Booster(model_file=str(Path(folder) / MODEL_FILE))
        validation = pd.read_parquet(Path(folder) / VALIDATION_FILE)
    booster.best_iteration = int((result.metrics or {}).get("best_iteration", 0))
    return best_rounds_only(booster), validation


def _validation_scores(
    validation: pd.DataFrame, booster: lgb.Booster, baseline: Baseline, config: ProjectConfig
) -> pd.DataFrame:
    """Labels (and query ids) of the encoded validation split, with model and baseline output."""
    schema = config.feature_schema
    matrix = validation[schema.feature_names].to_numpy(dtype=np.float64)
    decided = list(config.problem_type.decision_features)
    scores = validation[[schema.label.name, *schema.group_columns, *decided]].copy()
    scores[PREDICTION] = booster.predict(matrix, num_threads=config.model.num_threads)
    scores[BASELINE] = config.problem_type.predict_baseline(baseline, matrix)
    return scores


def _sample(dataset: Any, rows: int, config: ProjectConfig) -> pd.DataFrame:
    """A uniform sample of about BASELINE_ROWS training rows, collected on the driver."""
    fraction = min(1.0, 1.2 * BASELINE_ROWS / max(rows, 1))
    if fraction < 1.0:
        dataset = dataset.random_sample(fraction, seed=config.model.seed)
    frame = dataset.to_pandas()
    return frame.head(BASELINE_ROWS) if fraction < 1.0 else frame


def _train_worker(settings: dict[str, Any]) -> None:
    """One training worker: its shard in, one LightGBM model grown by all workers together."""
    context = ray.train.get_context()
    rank, size = context.get_world_rank(), context.get_world_size()
    train = _shard_frame("train", settings, rank if settings["group"] else None)
    validation = _shard_frame("validation", settings, None)

    def dataset(frame: pd.DataFrame, reference: lgb.Dataset | None = None) -> lgb.Dataset:
        groups = settings["group"]
        labels = frame[settings["label"]].to_numpy(dtype=np.float64)
        labels, weights = usable_labels(settings["problem"], labels)
        return lgb.Dataset(
            frame[settings["features"]].to_numpy(dtype=np.float64),
            label=labels,
            weight=weights,
            group=group_sizes(frame[groups].to_numpy()) if groups else None,
            reference=reference,
            feature_name=settings["features"],
            categorical_feature=settings["categorical"],
        )

    params = dict(settings["params"])
    if size > 1:
        params.update(ray.train.lightgbm.get_network_params())
        params.update(tree_learner="data_parallel", pre_partition=True)
    train_set = dataset(train)
    booster = lgb.train(
        params,
        train_set,
        num_boost_round=settings["rounds"],
        valid_sets=[dataset(validation, reference=train_set)],
        callbacks=[lgb.early_stopping(settings["early_stopping_rounds"], verbose=False)],
    )
    best = int(booster.best_iteration or booster.current_iteration())
    if rank != 0:
        ray.train.report({"best_iteration": best})
        return
    with tempfile.TemporaryDirectory() as folder:
        booster.save_model(str(Path(folder) / MODEL_FILE))
        matrix = validation[settings["features"]].to_numpy(dtype=np.float64)
        keep = [settings["label"], *([settings["group"]] if settings["group"] else [])]
        keep += settings["decision_features"]  # read by `problem.decision` (a forecast's step)
        scores = validation[keep].copy()
        for prefix, values in (
            (PREDICTION, np.asarray(booster.predict(matrix, num_iteration=best))),
            (BASELINE, settings["problem"].predict_baseline(settings["baseline"], matrix)),
        ):
            if values.ndim == 1:
                scores[prefix] = values
            else:
                for k in range(values.shape[1]):
                    scores[f"{prefix}_{k}"] = values[:, k]
        scores.to_parquet(Path(folder) / VALIDATION_FILE, index=False)
        checkpoint = ray.train.Checkpoint.from_directory(folder)
        ray.train.report({"best_iteration": best}, checkpoint=checkpoint)


def _shard_frame(name: str, settings: dict[str, Any], rank: int | None) -> pd.DataFrame:
    """This worker's rows of a split; ranking keeps whole queries, in query order."""
    batches = ray.train.get_dataset_shard(name).iter_batches(batch_format="pandas")
    frame = pd.concat(list(batches), ignore_index=True)
    if settings["group"]:
        if rank is not None:
            frame = frame.loc[frame[SHARD] == rank]
        frame = frame.sort_values(settings["group"], kind="stable").reset_index(drop=True)
    return frame
