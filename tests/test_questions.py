"""The questionnaire: defaults that fit together, and validators that say what is wrong.

Every invalid answer must be refused with a sentence that names the problem,
and nothing may be written to the destination.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from conftest import TEMPLATE_ROOT, copier_copy_cli

COPIER_YML = yaml.safe_load((TEMPLATE_ROOT / "copier.yml").read_text())
QUESTIONS = {k: v for k, v in COPIER_YML.items() if not k.startswith("_")}
ASKED = {
    k: v
    for k, v in QUESTIONS.items()
    if str(v.get("when", "")).strip() != "False" and v.get("when") is not False
}

# (answers, fragment the error must contain)
INVALID: list[tuple[dict[str, Any], str]] = [
    ({"project_name": "   "}, "cannot be empty"),
    ({"project_name": "two\nlines"}, "must be one line"),
    ({"project_slug": "Churn_Risk"}, "not a valid project slug"),
    ({"project_slug": "1churn"}, "not a valid project slug"),
    ({"project_slug": "churn--risk"}, "not a valid project slug"),
    ({"project_slug": "a" * 41}, "keep the project slug (the command name) to 40 or fewer"),
    ({"package_name": "class"}, "it is a Python keyword"),
    ({"package_name": "import"}, "it is a Python keyword"),
    ({"package_name": "json"}, "shadow the standard-library module"),
    ({"package_name": "logging"}, "shadow the standard-library module"),
    ({"package_name": "pandas"}, "shadow the dependency"),
    ({"package_name": "1abc"}, "'1abc' is not a valid Python package name"),
    ({"package_name": "my-package"}, "not a valid Python package name"),
    ({"package_name": "Pkg"}, "not a valid Python package name"),
    ({"package_name": "p" * 31}, "keep the package name to 30 or fewer"),
    ({"description": "first line\nsecond line"}, "single line"),
    ({"author_email": "not-an-email"}, "is not a valid email address"),
    ({"author_email": "team@localhost"}, "is not a valid email address"),
    ({"author_name": ""}, "cannot be empty"),
    ({"license": "WTFPL"}, "WTFPL"),
    ({"python_version": "3.9"}, "3.9"),
    ({"problem_type": "clustering"}, "clustering"),
    ({"problem_statement": "short"}, "too short to be precise"),
    ({"label_definition": " "}, "cannot be empty"),
    ({"problem_type": "multiclass_classification", "n_classes": 2}, "needs at least 3 classes"),
    ({"problem_type": "ranking", "candidates_per_request": 1}, "at least 2 candidates"),
    (
        {"problem_type": "ranking", "candidates_per_request": 20, "ranking_k": 30},
        "cannot exceed the candidates per request",
    ),
    ({"problem_type": "ranking", "ranking_k": 0}, "k must be at least 1"),
    ({"problem_type": "anomaly_detection", "alert_budget_per_day": 0}, "at least 1 alert per day"),
    (
        {"problem_type": "anomaly_detection", "alert_budget_per_day": 500, "rows_per_day": 400},
        "every row would be an alert",
    ),
    ({"problem_type": "anomaly_detection", "contamination": 0.6}, "strictly between 0 and 0.5"),
    ({"problem_type": "anomaly_detection", "labels_available": "lots"}, "'lots' is not in"),
    ({"problem_type": "forecasting", "forecast_horizon": 0}, "at least 1 period ahead"),
    ({"problem_type": "forecasting", "forecast_horizon": 500}, "at most 400"),
    ({"problem_type": "forecasting", "seasonal_period": 1}, "at least 2 periods long"),
    ({"problem_type": "forecasting", "n_series": 0}, "at least 1 series"),
    ({"problem_type": "forecasting", "forecast_frequency": "minute"}, "'minute' is not in"),
    ({"label_delay_days": -1}, "label delay cannot be negative, got -1 days"),
    ({"label_delay_days": 4000}, "more than ten years"),
    ({"why_ml": ["repetitive", "vibes"]}, "vibes"),
    ({"primary_metric": "rmse"}, "rmse"),
    ({"problem_type": "regression", "primary_metric": "roc_auc"}, "roc_auc"),
    ({"metric_threshold": 1.5}, "outside the range of roc_auc"),
    ({"metric_threshold": -0.1}, "outside the range of roc_auc"),
    ({"metric_threshold": 1.0}, "would demand a perfect model"),
    (
        {"problem_type": "regression", "primary_metric": "rmse", "metric_threshold": -3},
        "outside the range of rmse",
    ),
    (
        {"problem_type": "regression", "primary_metric": "r2", "metric_threshold": 1.2},
        "outside the range of r2",
    ),
    ({"primary_metric": "log_loss", "metric_threshold": 0}, "would demand a perfect model"),
    ({"online_metric": ""}, "cannot be empty"),
    ({"latency_p99_ms": 0}, "must be a positive number of milliseconds"),
    ({"latency_p99_ms": -5}, "must be a positive number of milliseconds"),
    ({"peak_rps": 0}, "must be a positive number"),
    ({"serving_mode": "streaming"}, "streaming"),
    ({"serving_mode": "batch", "batch_schedule": "nightly"}, "not a five-field cron"),
    ({"retrain_schedule": "weekly"}, "not a five-field cron"),
    ({"retrain_schedule": "0 5 * * 9"}, "outside"),
    ({"serving_mode": "batch", "batch_schedule": "0 2 * *"}, "not a five-field cron"),
    ({"serving_mode": "batch", "batch_schedule": "0 2 * * * *"}, "not a five-field cron"),
    (
        {"serving_mode": "batch", "batch_schedule": "61 2 * * *"},
        "minute field '61' is outside 0-59",
    ),
    ({"serving_mode": "batch", "batch_schedule": "0 25 * * *"}, "hour field '25' is outside 0-23"),
    (
        {"serving_mode": "batch", "batch_schedule": "0 2 32 * *"},
        "day of month field '32' is outside 1-31",
    ),
    ({"serving_mode": "batch", "batch_schedule": "0 2 0 * *"}, "day of month field '0' is outside"),
    ({"serving_mode": "batch", "batch_schedule": "0 2 * 13 *"}, "month field '13' is outside 1-12"),
    ({"serving_mode": "batch", "batch_schedule": "0 2 * 0 *"}, "month field '0' is outside 1-12"),
    (
        {"serving_mode": "batch", "batch_schedule": "0 2 * * 8"},
        "day of week field '8' is outside 0-6",
    ),
    ({"serving_mode": "batch", "batch_schedule": "0 2 * * 7"}, "use 0 for Sunday"),
    ({"serving_mode": "batch", "batch_schedule": "0 2 * * MON-FOO"}, "'FOO', which is neither"),
    ({"serving_mode": "batch", "batch_schedule": "0 2 * JAN-FOO *"}, "nor a month name"),
    ({"serving_mode": "batch", "batch_schedule": "*/0 2 * * *"}, "has the step '0'"),
    (
        {"serving_mode": "batch", "batch_schedule": "0 5-2 * * *"},
        "'5-2' is a range that runs backwards",
    ),
    ({"serving_mode": "batch", "batch_schedule": "0 1- * * *"}, "'1-' is not a complete range"),
    ({"serving_mode": "batch", "batch_schedule": "0 -3 * * *"}, "'-3' is not a complete range"),
    ({"serving_mode": "batch", "batch_schedule": "1,,2 2 * * *"}, "'1,,2' has an empty item"),
    ({"serving_mode": "batch", "batch_schedule": "*/2 * * * *"}, "at most once every 5 minutes"),
    ({"serving_mode": "batch", "batch_schedule": "* * * * *"}, "at most once every 5 minutes"),
    ({"serving_mode": "batch", "batch_schedule": "0,58 * * * *"}, "minute 0 of the next hour"),
    ({"serving_mode": "batch", "batch_deadline_minutes": 0}, "must be a positive number"),
    ({"data_scale": "huge"}, "huge"),
    ({"rows_per_day": 0}, "must be a positive integer"),
    ({"experiment_tracking": "wandb"}, "wandb"),
    ({"ci_provider": "jenkins"}, "jenkins"),
]


@pytest.mark.parametrize(
    ("answers", "message"),
    INVALID,
    ids=[f"{i:02d}-{next(iter(a))}" for i, (a, _) in enumerate(INVALID)],
)
def test_invalid_answer_is_refused_with_a_sentence(
    copie: Any, template_repo: Path, answers: dict[str, Any], message: str
) -> None:
    result = copie.copy(extra_answers=answers, template_dir=template_repo)
    assert result.exit_code != 0, f"{answers} was accepted"
    assert message in str(result.exception)
    # nothing written: pytest-copie creates the destination folder itself
    written = list(copie.test_dir.glob(f"copie{copie.counter - 1:03d}/*"))
    assert written == []


def test_there_are_at_least_twenty_invalid_cases() -> None:
    assert len(INVALID) >= 20


@pytest.mark.parametrize(
    "schedule",
    [
        "*/15 * * * *",
        "0 2 * * 1-5",
        "30 4 1,15 * *",
        "0 0 * JAN,jul SUN",
        "15 */6 * * MON-FRI",
        "0 2 * * *",
        "0,58 2 * * *",  # 02:58 then 02:00 the next day: the wrap-around gap is a day
    ],
)
def test_valid_cron_schedule_is_accepted(copie: Any, template_repo: Path, schedule: str) -> None:
    result = copie.copy(
        extra_answers={"serving_mode": "batch", "batch_schedule": schedule},
        template_dir=template_repo,
    )
    assert result.exit_code == 0, result.exception
    config = yaml.safe_load((result.project_dir / "configs" / "project.yaml").read_text())
    assert config["batch"]["schedule"] == schedule


def test_cli_refuses_a_bad_answer_and_writes_nothing(template_repo: Path, tmp_path: Path) -> None:
    destination = tmp_path / "project"
    result = copier_copy_cli(template_repo, destination, "-d", "package_name=class")
    assert result.returncode != 0
    assert "it is a Python keyword" in result.stderr + result.stdout
    assert not destination.exists() or not any(destination.iterdir())


def test_every_asked_question_has_help_and_default() -> None:
    for name, spec in ASKED.items():
        assert spec.get("help"), f"{name} has no help text"
        assert "default" in spec, f"{name} has no default"


def test_questions_use_the_public_answer_keys_in_order() -> None:
    # The problem type comes first: the project name and the problem questions
    # default from it, and Copier asks in file order.
    public = [
        "problem_type",
        "project_name",
        "project_slug",
        "package_name",
        "description",
        "author_name",
        "author_email",
        "license",
        "python_version",
        "problem_statement",
        "label_definition",
        "n_classes",
        "candidates_per_request",
        "ranking_k",
        "alert_budget_per_day",
        "labels_available",
        "contamination",
        "forecast_frequency",
        "forecast_horizon",
        "seasonal_period",
        "n_series",
        "why_ml",
        "primary_metric",
        "metric_threshold",
        "online_metric",
        "serving_mode",
        "latency_p99_ms",
        "peak_rps",
        "batch_schedule",
        "batch_deadline_minutes",
        "data_scale",
        "rows_per_day",
        "experiment_tracking",
        "retrain_schedule",
        "ci_provider",
        "docker",
    ]
    asked = [name for name in QUESTIONS if name in public]
    assert asked == public


def test_template_needs_no_trust() -> None:
    assert "_tasks" not in COPIER_YML
    assert "_jinja_extensions" not in COPIER_YML


@pytest.mark.parametrize(
    ("problem_type", "metric", "direction"),
    [
        ("binary_classification", "roc_auc", "higher"),
        ("multiclass_classification", "macro_f1", "higher"),
        ("regression", "rmse", "lower"),
        ("ranking", "ndcg_at_k", "higher"),
    ],
)
def test_defaults_fit_together(
    copie: Any, template_repo: Path, problem_type: str, metric: str, direction: str
) -> None:
    result = copie.copy(extra_answers={"problem_type": problem_type}, template_dir=template_repo)
    assert result.exit_code == 0, result.exception
    text = (result.project_dir / "configs" / "project.yaml").read_text()
    config = yaml.safe_load(text)
    assert config["metric"]["primary"] == metric
    # the direction is the metric registry's, not a second copy in the config
    assert "direction" not in config["metric"] and f"({direction} is better)" in text
    assert metric not in config["metric"]["secondary"]
    delays = {"binary_classification": 30, "multiclass_classification": 2}
    assert config["problem"]["label_delay_days"] == delays.get(problem_type, 1)
    answers = yaml.safe_load((result.project_dir / ".copier-answers.yml").read_text())
    # questions that do not apply are neither asked nor recorded
    assert ("n_classes" in answers) == (problem_type == "multiclass_classification")
    assert ("ranking_k" in answers) == (problem_type == "ranking")
    assert "batch_schedule" not in answers  # default serving mode is online
    # computed values stay out of the answers file
    assert "metric_direction" not in answers and "metric_catalog" not in answers


# The default project of each problem type: name, slug, package name.
DEFAULT_NAMES = {
    "binary_classification": ("Churn Risk", "churn-risk", "churn_risk"),
    "multiclass_classification": ("Ticket Routing", "ticket-routing", "ticket_routing"),
    "regression": ("Delivery Time", "delivery-time", "delivery_time"),
    "ranking": ("Search Ranking", "search-ranking", "search_ranking"),
    "anomaly_detection": ("Sensor Watch", "sensor-watch", "sensor_watch"),
    "forecasting": ("Demand Forecast", "demand-forecast", "demand_forecast"),
}


@pytest.mark.parametrize("problem_type", list(DEFAULT_NAMES))
def test_default_answers_tell_the_story_of_the_problem_type(
    copie: Any, template_repo: Path, problem_type: str
) -> None:
    result = copie.copy(extra_answers={"problem_type": problem_type}, template_dir=template_repo)
    assert result.exit_code == 0, result.exception
    answers = yaml.safe_load((result.project_dir / ".copier-answers.yml").read_text())
    name, slug, package = DEFAULT_NAMES[problem_type]
    assert (answers["project_name"], answers["project_slug"]) == (name, slug)
    assert answers["package_name"] == package
    assert answers["description"].startswith(f"{name}: ")
    assert (result.project_dir / "src" / package / "cli.py").is_file()
    pyproject = (result.project_dir / "pyproject.toml").read_text()
    assert f'{slug} = "{package}.cli:main"' in pyproject
    stories = ("problem_statement", "label_definition", "online_metric", "description")
    if problem_type != "binary_classification":  # no churn story left in another problem's answers
        for text in [name, *(str(answers[key]) for key in stories)]:
            assert not any(word in text.lower() for word in ("churn", "cancel", "retention")), text


def test_a_ranking_project_from_the_command_line_is_named_for_ranking(
    template_repo: Path, tmp_path: Path
) -> None:
    destination = tmp_path / "rank"
    result = copier_copy_cli(template_repo, destination, "-d", "problem_type=ranking")
    assert result.returncode == 0, result.stderr
    answers = yaml.safe_load((destination / ".copier-answers.yml").read_text())
    assert answers["project_name"] == "Search Ranking"
    assert answers["project_slug"] == "search-ranking"
    assert (destination / "src" / "search_ranking").is_dir()
    readme = (destination / "README.md").read_text()
    assert readme.startswith("# Search Ranking") and "churn" not in readme.lower()


def test_an_explicit_name_wins_over_the_problem_types(copie: Any, template_repo: Path) -> None:
    result = copie.copy(
        extra_answers={"problem_type": "regression", "project_name": "Basket Size"},
        template_dir=template_repo,
    )
    assert result.exit_code == 0, result.exception
    answers = yaml.safe_load((result.project_dir / ".copier-answers.yml").read_text())
    assert (answers["project_slug"], answers["package_name"]) == ("basket-size", "basket_size")


def test_batch_answers_replace_latency_answers(copie: Any, template_repo: Path) -> None:
    result = copie.copy(extra_answers={"serving_mode": "batch"}, template_dir=template_repo)
    assert result.exit_code == 0, result.exception
    answers = yaml.safe_load((result.project_dir / ".copier-answers.yml").read_text())
    assert answers["batch_schedule"] == "0 2 * * *"
    assert "latency_p99_ms" not in answers and "peak_rps" not in answers


def test_default_threshold_follows_the_metric(copie: Any, template_repo: Path) -> None:
    catalog = COPIER_YML["metric_catalog"]["default"]
    for metric in ("pr_auc", "brier", "log_loss"):
        result = copie.copy(extra_answers={"primary_metric": metric}, template_dir=template_repo)
        assert result.exit_code == 0, result.exception
        config = yaml.safe_load((result.project_dir / "configs" / "project.yaml").read_text())
        assert config["metric"]["threshold"] == pytest.approx(catalog[metric]["default"])
