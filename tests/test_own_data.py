"""A team brings its own table: `data infer`, `data check`, `run`, then its own tests, green.

For each problem type a generated project gets a table it has never seen, made
here the way real exports look (text labels, numeric-coded categories with
blanks, missing values, day-first dates, a semicolon CSV with decimal commas,
id and free-text columns, a leaking column, a table without a time column).
It goes through the three commands of the generated README's "Bring your own
data" and then runs its own test suite in a fresh clone, where the table is
absent (data/ is git-ignored), as CI would. Bad tables get a clear message
and leave the configs untouched.
"""

from __future__ import annotations

import csv
import json
import math
import random
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from conftest import ProjectEnv, generate, git, run_project_tests

Rows = list[dict[str, object]]


def _sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


def clinical_table(rng: random.Random, n: int = 1500) -> Rows:
    """Binary: yes/no outcome, sex coded 1/2 with blanks, day-first visit dates, notes, ids."""
    rows: Rows = []
    for i in range(n):
        age = rng.randint(18, 90)
        bmi = round(rng.gauss(27, 5), 1)
        smoker = rng.choice(["yes", "no", "no"])
        sex = rng.choice([1, 2, ""])
        risk = 0.08 * (age - 55) + 0.2 * (bmi - 27) + (1.5 if smoker == "yes" else 0.0)
        outcome = "yes" if rng.random() < _sigmoid(risk - 1.0) else "no"
        day = 1 + i * 300 // n
        rows.append({
            "patient_id": f"P{i:05d}",
            "visit_date": f"{1 + day % 28:02d}/{1 + day // 28:02d}/2024",
            "age": age,
            "sex": sex,
            "bmi": "" if rng.random() < 0.05 else str(bmi).replace(".", ","),
            "smoker": smoker,
            "clinic": "north",
            "notes": f"patient reports {rng.choice(['mild', 'no', 'severe'])} symptoms after "
                     f"visit {i} with follow-up code {rng.randint(10**6, 10**7)}",
            "outcome_code": 1 if outcome == "yes" else 0,  # the label again: a leak
            "outcome": outcome,
        })  # fmt: skip
    return rows


def wine_table(rng: random.Random, n: int = 178) -> Rows:
    """Multiclass: 178 rows, class names, numbers only, no time column."""
    centres = {"barolo": (13.7, 2.0, 5.5), "grignolino": (12.3, 1.9, 3.1),
               "barbera": (13.1, 3.3, 7.4)}  # fmt: skip
    rows: Rows = []
    for _ in range(n):
        name = rng.choice(list(centres))
        alcohol, acid, colour = centres[name]
        rows.append({
            "alcohol": round(rng.gauss(alcohol, 0.5), 2),
            "malic_acid": round(abs(rng.gauss(acid, 0.8)), 2),
            "color_intensity": round(abs(rng.gauss(colour, 1.2)), 2),
            "ash": "" if rng.random() < 0.05 else round(rng.gauss(2.4, 0.3), 2),
            "cultivar": name,
        })  # fmt: skip
    return rows


def house_table(rng: random.Random, n: int = 1500) -> Rows:
    """Regression: prices in the hundreds of thousands, district coded 1-5, ISO dates."""
    rows: Rows = []
    for i in range(n):
        rooms = rng.randint(1, 7)
        area = round(rng.gauss(30 + 22 * rooms, 12), 1)
        district = rng.randint(1, 5)
        price = 40_000 + 2_300 * area + 25_000 * district + rng.gauss(0, 30_000)
        rows.append({
            "sold_on": f"2023-{1 + i * 12 // n:02d}-{1 + i % 28:02d}",
            "rooms": rooms,
            "area": "" if rng.random() < 0.04 else area,
            "district": district,
            "price": round(max(price, 20_000), 0),
        })  # fmt: skip
    return rows


def travel_table(rng: random.Random, cases: int = 300) -> Rows:
    """Ranking: one row per (trip, mode), the chosen mode relevant; no time column."""
    modes = {"air": (1.5, 300.0), "train": (5.0, 90.0), "bus": (8.0, 40.0), "car": (6.0, 70.0)}
    rows: Rows = []
    for case in range(cases):
        income = rng.randint(10, 90)
        utilities = {}
        for mode, (hours, cost) in modes.items():
            hours_here, cost_here = hours * rng.uniform(0.7, 1.3), cost * rng.uniform(0.7, 1.3)
            value_of_time = income / 10
            utilities[mode] = (-value_of_time * hours_here - 0.08 * cost_here
                               + rng.gauss(0, 2), hours_here, cost_here)  # fmt: skip
        chosen = max(utilities, key=lambda m: utilities[m][0])
        for mode, (_, hours_here, cost_here) in utilities.items():
            rows.append({
                "case_id": case,
                "mode": mode,
                "travel_hours": round(hours_here, 2),
                "cost": round(cost_here, 2),
                "income": income,
                "chosen": int(mode == chosen),
            })  # fmt: skip
    return rows


def write_csv(path: Path, rows: Rows, *, delimiter: str = ",") -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]), delimiter=delimiter)
        writer.writeheader()
        writer.writerows(rows)
    return path


# problem type -> (table maker, CSV delimiter, the `data infer` flags)
TABLES: dict[str, tuple[Callable[[random.Random], Rows], str, list[str]]] = {
    "binary_classification": (
        clinical_table, ";",
        ["--label", "outcome", "--time", "visit_date", "--id", "patient_id", "--positive", "yes"],
    ),
    "multiclass_classification": (wine_table, ",", ["--label", "cultivar"]),
    "regression": (house_table, ",", ["--label", "price", "--time", "sold_on"]),
    "ranking": (travel_table, ",", ["--label", "chosen", "--query", "case_id"]),
}  # fmt: skip


def _batch_project(template: Path, env: ProjectEnv, folder: Path, package: str) -> Path:
    """A generated batch project of the default problem type, installed into the shared env."""
    name = package.replace("_", " ").capitalize()
    project = generate(template, folder, project_name=name, package_name=package,
                       serving_mode="batch")  # fmt: skip
    env.install(project)
    return project


def _configs(project: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted((project / "configs").glob("*.yaml"))}


@pytest.mark.slow
@pytest.mark.parametrize("problem_type", list(TABLES))
def test_own_table_goes_from_infer_to_a_green_fresh_clone(
    template_repo: Path, project_env: ProjectEnv, tmp_path: Path, problem_type: str
) -> None:
    make_rows, delimiter, flags = TABLES[problem_type]
    short = problem_type.split("_")[0]
    package = f"own_{short}"
    project = generate(
        template_repo, tmp_path / "project", project_name=f"Own {short}",
        package_name=package, problem_type=problem_type,
    )  # fmt: skip
    project_env.install(project)
    cli = ["python", "-m", package]
    table = write_csv(project / "data" / "export.csv", make_rows(random.Random(7)),
                      delimiter=delimiter)  # fmt: skip

    started = time.perf_counter()
    inferred = project_env.run(project, *cli, "data", "infer", "--source", str(table), *flags)
    schema_text = (project / "configs" / "schema.yaml").read_text()
    assert "data/export.csv" in (project / "configs" / "project.yaml").read_text()
    checked = project_env.run(project, *cli, "data", "check")
    assert "every rule" in checked.stdout, checked.stdout
    ran = project_env.run(project, *cli, "run", timeout=1200)
    seconds = time.perf_counter() - started
    evaluation = json.loads((project / "reports" / "evaluation.json").read_text())
    assert evaluation["gate_passed"] is True, ran.stdout[-3000:]  # threshold and baseline
    print(
        f"\n{problem_type}: infer -> run {seconds:.0f} s; {evaluation['metric']} "
        f"{evaluation['value']:.4g} vs baseline {evaluation['baseline']:.4g}\n"
        f"{inferred.stdout[-2500:]}"
    )

    # What each table needed from `infer` (the decisions a user reviews).
    schema = yaml.safe_load(schema_text)
    features = {feature["name"]: feature for feature in schema["features"]}
    if problem_type == "binary_classification":
        assert "outcome_code" not in features and "notes" not in features  # leak, free text
        assert "clinic" not in features  # constant
        assert schema["time_format"] == "%d/%m/%Y" and schema["id_columns"] == ["patient_id"]
        assert schema["label"]["classes"] == ["no", "yes"]  # the positive second
        assert features["sex"]["kind"] == "categorical"  # coded 1/2 with blanks
        assert features["sex"]["categories"] == ["1", "2"] and features["sex"]["nullable"]
    if problem_type == "multiclass_classification":
        assert sorted(schema["label"]["classes"]) == ["barbera", "barolo", "grignolino"]
    if problem_type == "regression":
        assert features["district"]["kind"] == "categorical"
    if problem_type in ("multiclass_classification", "ranking"):
        assert schema["time_column"] is None

    # A colleague's (or CI's) fresh clone: the table is git-ignored and absent.
    git(project, "init", "-q", "-b", "main")
    git(project, "add", "-A")
    git(project, "commit", "-q", "-m", "own data")
    assert "export.csv" not in git(project, "ls-files")
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(project), str(clone))
    output = run_project_tests(project_env, clone, "-x")
    assert " passed" in output and "failed" not in output, output[-3000:]


@pytest.mark.slow
def test_a_ci_checkout_runs_the_pipeline_on_schema_shaped_rows(
    template_repo: Path, project_env: ProjectEnv, tmp_path: Path
) -> None:
    """`run --sample-if-missing` (`make run` passes it when $CI is set) without the data."""
    project = _batch_project(template_repo, project_env, tmp_path / "project", "own_ci")
    make_rows, delimiter, flags = TABLES["binary_classification"]
    write_csv(project / "data" / "export.csv", make_rows(random.Random(3)), delimiter=delimiter)
    cli = ["python", "-m", "own_ci"]
    project_env.run(project, *cli, "data", "infer", "--source", "data/export.csv", *flags)
    (project / "data" / "export.csv").unlink()  # as in a fresh checkout
    plain = project_env.run(project, *cli, "run", check=False)
    assert plain.returncode != 0 and "does not exist" in plain.stdout + plain.stderr
    ran = project_env.run(project, *cli, "run", "--sample-if-missing", timeout=1200)
    said = " ".join(ran.stdout.split())
    assert "SAMPLE DATA" in said and "its metrics say nothing about your data" in said
    assert (project / "data" / "sample.parquet").is_file()
    makefile = (project / "Makefile").read_text()
    assert "$(if $(CI),--sample-if-missing)" in makefile


BAD_TABLES: dict[str, tuple[str, list[str], str]] = {
    # case: (CSV text, extra flags, what the message must say)
    "empty file": ("", [], "empty"),
    "header only": ("age;outcome\n", [], "no rows"),
    "missing label column": ("age;sex\n1;2\n3;4\n", [], "outcome"),
    "label with one class": (
        "age;outcome\n" + "".join(f"{i};yes\n" for i in range(50)), [], "one"),
    "unparseable dates": (
        "visit;age;outcome\n" + "".join(f"not a date {i};{i};{'yes' if i % 2 else 'no'}\n"
                                        for i in range(50)), ["--time", "visit"], "visit"),
}  # fmt: skip


@pytest.mark.slow
def test_bad_tables_get_a_clear_message_and_change_nothing(
    template_repo: Path, project_env: ProjectEnv, tmp_path: Path
) -> None:
    project = _batch_project(template_repo, project_env, tmp_path / "project", "own_bad")
    before = _configs(project)
    for case, (text, flags, words) in BAD_TABLES.items():
        source = project / "data" / "bad.csv"
        source.write_text(text, encoding="utf-8")
        result = project_env.run(
            project, "python", "-m", "own_bad", "data", "infer", "--source", str(source),
            "--label", "outcome", "--positive", "yes", *flags, check=False,
        )  # fmt: skip
        said = result.stdout + result.stderr
        assert result.returncode == 2, (case, said)
        assert words in said.lower(), (case, said)
        assert "Traceback" not in said, (case, said)
        assert _configs(project) == before, case
        assert not list((project / "configs").glob("*.bak*")), case
