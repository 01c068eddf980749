"""docs/design.md: filled in from the answers, with honest numbers, valid Markdown.

For every problem type and serving mode the doc is rendered and checked: no
template syntax or placeholder left, the answers in the sections they belong
to, the capacity arithmetic equal to a reference computed here from the
answers and the generated schema, the why-ML warning exactly when fewer than
two reasons are ticked, a Mermaid diagram, and an ML Test Score table whose
"automated" rows name files that exist in the generated project.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from markdown_it import MarkdownIt
from markdown_it.token import Token

from conftest import PROBLEM_TYPES, ProjectEnv, generate, run_project_tests

MODES = ("online", "batch")
SECTIONS = [
    "1. Problem",
    "2. Should this be ML?",
    "3. Metrics",
    "4. Requirements",
    "5. Capacity arithmetic",
    "6. Data",
    "7. Baseline and model",
    "8. Serving architecture",
    "9. Evaluation, rollout and monitoring",
    "10. The iterative loop",
    "11. ML Test Score",
    "12. Risks, open questions and alternatives",
    "Status",
]
ML_TEST_SECTIONS = {"D": "Data", "M": "Model", "I": "Infrastructure", "N": "Monitoring"}
# Outputs that the pipeline writes at run time; the doc may name them before they exist.
RUN_OUTPUTS = ("reports/", "models/", "data/")
MD = MarkdownIt("commonmark").enable("table")


def answers_for(problem_type: str, mode: str, **extra: Any) -> dict[str, Any]:
    """Distinctive answers, so each can be found in the doc where it belongs."""
    slug = f"dd-{problem_type.split('_')[0]}-{mode}"
    answers: dict[str, Any] = {
        "project_name": f"Design {problem_type} {mode}",
        "project_slug": slug,
        "package_name": slug.replace("-", "_"),
        "problem_type": problem_type,
        "serving_mode": mode,
        "problem_statement": f"Score every {problem_type} case for the Quokka desk each morning.",
        "label_definition": "Whatever the Quokka desk decided, known after 9 days.",
        "online_metric": "quokka-desk hours saved per week",
        "rows_per_day": 250_000,
        "why_ml": ["repetitive", "at_scale", "labelled_data"],
    }
    if mode == "online":
        answers.update(latency_p99_ms=40.0, peak_rps=120.0)
    else:
        answers.update(batch_schedule="30 4 * * 1-5", batch_deadline_minutes=45)
    if problem_type == "ranking":
        answers.update(candidates_per_request=80, ranking_k=5)
    if problem_type == "multiclass_classification":
        answers.update(n_classes=6)
    answers.update(extra)
    return answers


class Rendered:
    """A generated project and its parsed design doc."""

    def __init__(self, project: Path, answers: dict[str, Any]) -> None:
        self.project = project
        self.answers = answers
        self.text = (project / "docs" / "design.md").read_text(encoding="utf-8")
        self.tokens = MD.parse(self.text)
        self.sections = split_sections(self.text)


@pytest.fixture(scope="module")
def render(template_repo: Path, tmp_path_factory: pytest.TempPathFactory) -> Any:
    cache: dict[str, Rendered] = {}

    def _render(**answers: Any) -> Rendered:
        key = json.dumps(answers, sort_keys=True)
        if key not in cache:
            destination = tmp_path_factory.mktemp("design")
            cache[key] = Rendered(generate(template_repo, destination, **answers), answers)
        return cache[key]

    return _render


# --------------------------------------------------------------- helpers ---


def split_sections(text: str) -> dict[str, str]:
    """Level-2 heading -> the text under it (outside code fences)."""
    sections: dict[str, str] = {}
    current: str | None = None
    in_fence = False
    for line in text.splitlines():
        if line.startswith("```"):
            in_fence = not in_fence
        if not in_fence and line.startswith("## "):
            current = line[3:].strip()
            sections[current] = ""
        elif current is not None:
            sections[current] += line + "\n"
    return sections


def plain(token: Token) -> str:
    """The text an inline token displays (escapes resolved, code spans unwrapped)."""
    parts = []
    for child in token.children or []:
        if child.type in ("softbreak", "hardbreak"):
            parts.append("\n")
        else:
            parts.append(child.content)
    return "".join(parts)


def tables(markdown: str, *, raw: bool = False) -> list[list[list[str]]]:
    """Every table in `markdown` as rows of cells (header row first): plain text,
    or the cell's Markdown source with `raw`."""
    found: list[list[list[str]]] = []
    in_table = False
    for token in MD.parse(markdown):
        if token.type in ("table_open", "table_close"):
            in_table = token.type == "table_open"
            if in_table:
                found.append([])
        elif in_table and token.type == "tr_open":
            found[-1].append([])
        elif in_table and token.type == "inline":
            found[-1][-1].append(token.content if raw else plain(token))
    return found


def table_with(markdown: str, header: str, *, raw: bool = False) -> dict[str, list[str]]:
    """The table whose first header cell is `header`, keyed by first cell."""
    for table in tables(markdown, raw=raw):
        if table[0][0] == header:
            return {row[0]: row for row in table[1:]}
    raise AssertionError(f"no table with header {header!r}")


def raw_table_widths(text: str) -> list[set[int]]:
    """For each block of table lines in the source, the set of cell counts per line."""
    blocks: list[set[int]] = []
    previous = False
    for line in text.splitlines():
        is_row = line.startswith("|")
        if is_row:
            cells = len(re.findall(r"(?<!\\)\|", line)) - 1
            if not previous:
                blocks.append(set())
            blocks[-1].add(cells)
        previous = is_row
    return blocks


def blockquotes(markdown: str) -> list[str]:
    """Plain text of each top-level blockquote."""
    quotes: list[str] = []
    depth = 0
    for token in MD.parse(markdown):
        if token.type == "blockquote_open":
            depth += 1
            if depth == 1:
                quotes.append("")
        elif token.type == "blockquote_close":
            depth -= 1
        elif depth and token.type == "paragraph_open" and quotes[-1]:
            quotes[-1] += "\n\n"
        elif depth and token.type == "inline":
            quotes[-1] += plain(token)
    return quotes


def as_displayed(text: str) -> str:
    """How a free-text answer should read in the doc: lines trimmed, breaks kept."""
    lines = [line.strip() for line in text.replace("\r\n", "\n").split("\n")]
    return re.sub(r"\n{2,}", "\n\n", "\n".join(lines)).strip("\n")


def format_bytes(size: int) -> str:
    value, unit = float(size), "B"
    for next_unit in ("kB", "MB", "GB", "TB", "PB"):
        if value < 1000:
            break
        value, unit = value / 1000, next_unit
    return f"{size} B" if unit == "B" else f"{value:,.1f} {unit}"


def reference_capacity(rendered: Rendered) -> dict[str, str]:
    """Section 5's table, computed here from the answers and the generated schema."""
    answers = rendered.answers
    schema = yaml.safe_load((rendered.project / "configs" / "schema.yaml").read_text())
    n_features = len(schema["features"])
    ids = len(schema.get("id_columns") or [])
    n_columns = n_features + 2 + (1 if schema.get("group_column") else 0) + ids
    rows_per_day = answers["rows_per_day"]
    expected: dict[str, str] = {}
    if answers["serving_mode"] == "online":
        requests = round(answers["peak_rps"] * 86_400)
        expected["requests per day at peak"] = f"{requests:,}"
        candidates = answers.get("candidates_per_request", 1)
        if answers["problem_type"] == "ranking":
            per_second = answers["peak_rps"] * candidates
            expected["candidates scored per second at peak"] = f"{per_second:,.1f}"
        log_rows = requests * candidates
    else:
        log_rows = rows_per_day
        rate = rows_per_day / (answers["batch_deadline_minutes"] * 60)
        expected["rows per second to meet the deadline"] = f"{rate:,.1f}"
        expected["rows scored per day"] = f"{log_rows:,}"
    row_bytes = 28 + 4 * n_features
    expected["prediction-log rows per day"] = f"{log_rows:,}"
    expected["prediction-log bytes per row"] = f"{row_bytes:,}"
    for label, count in (
        ("per day", log_rows * row_bytes),
        ("per month", log_rows * row_bytes * 30),
    ):
        expected[f"prediction log {label}"] = f"{count:,} B ({format_bytes(count)})"
    expected["new training rows per day"] = f"{rows_per_day:,}"
    expected["training rows per month"] = f"{rows_per_day * 30:,}"
    expected["training rows per year"] = f"{rows_per_day * 365:,}"
    for label, days in (("per month", 30), ("per year", 365)):
        count = rows_per_day * days * 8 * n_columns
        expected[f"training data {label}"] = f"{count:,} B ({format_bytes(count)})"
    return expected


def ml_test_rows(rendered: Rendered) -> dict[str, list[str]]:
    return table_with(rendered.sections["11. ML Test Score"], "#", raw=True)


COMBOS = [(p, m) for p in PROBLEM_TYPES for m in MODES]
COMBO_IDS = [f"{p.split('_')[0]}-{m}" for p, m in COMBOS]


# ----------------------------------------------------------------- tests ---


@pytest.mark.parametrize(("problem_type", "mode"), COMBOS, ids=COMBO_IDS)
def test_doc_is_complete_and_parses(render: Any, problem_type: str, mode: str) -> None:
    doc = render(**answers_for(problem_type, mode))
    for leftover in ("{{", "}}", "{%", "%}", "{#", "#}", "TODO", "TBD", "lorem", "XXX"):
        assert leftover not in doc.text, f"{leftover!r} left in the design doc"
    assert not re.search(r"\b(None|nan|undefined)\b", doc.text)
    assert list(doc.sections) == SECTIONS
    headings = [t for t in doc.tokens if t.type == "heading_open" and t.tag == "h2"]
    assert len(headings) == len(SECTIONS)
    assert not [t for t in doc.tokens if t.type in ("html_inline",)]
    for name, body in doc.sections.items():
        assert ("- [ ] **Decide:**" in body) is (name != "Status"), name
    assert all(len(widths) == 1 for widths in raw_table_widths(doc.text))
    for table in tables(doc.text):
        assert all(cell.strip() for row in table for cell in row[:2]), table[0]
    ordered_lists = [t for t in doc.tokens if t.type == "ordered_list_open"]
    numbered = re.findall(r"^\d+\. ", doc.text, flags=re.MULTILINE)
    assert len(numbered) >= len(ordered_lists) > 0


METRICS_OF = {
    "binary_classification": ["roc_auc", "pr_auc", "log_loss", "brier"],
    "multiclass_classification": ["macro_f1", "accuracy", "log_loss"],
    "regression": ["rmse", "mae", "mape", "r2"],
    "ranking": ["ndcg_at_k", "map_at_k", "mrr", "recall_at_k"],
    "anomaly_detection": ["pr_auc", "roc_auc"],
    "forecasting": ["mase", "smape", "rmsse"],
}
# What a reader must be able to find in the definitions, per problem type.
CONVENTIONS = {
    "binary_classification": ["one class only", "clipped to [1e-15, 1 - 1e-15]"],
    "multiclass_classification": ["absent classes lower the average", "renormalised"],
    "regression": ["floored at machine epsilon", "fewer than two different labels"],
    "ranking": ["gain 2^rel - 1", "min(k, relevant items", "left out of the average",
                "average over all orders of the tied candidates", "k is not used"],
    "anomaly_detection": ["labelled rows only", "one class only"],
    "forecasting": ["in-sample seasonal naive error", "the scale cancels", "P10-P90"],
}  # fmt: skip


@pytest.mark.parametrize("problem_type", PROBLEM_TYPES)
def test_metric_definitions_state_every_convention(render: Any, problem_type: str) -> None:
    doc = render(**answers_for(problem_type, "online"))
    section = doc.sections["3. Metrics"]
    assert "### Metric definitions" in section
    rows = table_with(section, "metric")
    assert list(rows) == METRICS_OF[problem_type]
    assert all(row[1] and row[2] for row in rows.values())
    for phrase in CONVENTIONS[problem_type]:
        assert phrase in section, phrase


@pytest.mark.parametrize(("problem_type", "mode"), COMBOS, ids=COMBO_IDS)
def test_answers_appear_where_they_belong(render: Any, problem_type: str, mode: str) -> None:
    doc = render(**answers_for(problem_type, mode))
    answers = doc.answers
    copier_answers = yaml.safe_load((doc.project / ".copier-answers.yml").read_text())
    problem = doc.sections["1. Problem"]
    assert blockquotes(problem) == [answers["problem_statement"], answers["label_definition"]]
    metrics = doc.sections["3. Metrics"]
    metric = copier_answers["primary_metric"]
    threshold = copier_answers["metric_threshold"]
    assert f"`{metric}`" in metrics and f" {threshold}." in metrics
    assert blockquotes(metrics) == [answers["online_metric"]]
    requirements = table_with(doc.sections["4. Requirements"], "requirement")
    if mode == "online":
        assert requirements["p99 latency target"][1] == "40.0 ms per request"
        assert requirements["peak load"][1] == "120.0 requests per second"
        assert "POST /" in doc.sections["8. Serving architecture"]
    else:
        assert requirements["schedule (cron)"][1] == "30 4 * * 1-5"
        assert requirements["deadline"][1] == "45 minutes per run"
        assert "scheduler: 30 4 * * 1-5" in doc.sections["8. Serving architecture"]
    engine = {"memory": "pandas", "out_of_core": "polars", "cluster": "ray"}
    data_scale = copier_answers["data_scale"]
    assert f"**Data engine:** {engine[data_scale]} (scale tier `{data_scale}`)" in doc.text
    if problem_type == "ranking":
        assert "80 candidates and the user sees the top 5" in problem
        assert "top 5 shown to the user" in doc.sections["8. Serving architecture"]
    if problem_type == "multiclass_classification":
        assert "with 6 classes" in problem
    status = table_with(doc.sections["Status"], "check")
    assert status[f"primary metric {metric}"][1].endswith(
        f"{threshold} and better than the baseline"
    )


@pytest.mark.parametrize(("problem_type", "mode"), COMBOS, ids=COMBO_IDS)
def test_capacity_numbers_match_a_reference(render: Any, problem_type: str, mode: str) -> None:
    doc = render(**answers_for(problem_type, mode))
    table = table_with(doc.sections["5. Capacity arithmetic"], "quantity")
    expected = reference_capacity(doc)
    assert {name: table[name][1] for name in expected} == expected
    assert set(table) == set(expected)


@pytest.mark.parametrize(
    ("target", "shares"),
    [
        (4.0, (0.30, 0.10, 0.40, 0.20)),
        (40.0, (0.20, 0.30, 0.35, 0.15)),
        (100.0, (0.20, 0.30, 0.35, 0.15)),
        (250.0, (0.10, 0.30, 0.45, 0.15)),
        (3000.0, (0.05, 0.25, 0.60, 0.10)),
    ],
)
def test_latency_budget_is_scaled_to_the_target(
    render: Any, target: float, shares: tuple[float, ...]
) -> None:
    doc = render(**answers_for("ranking", "online", latency_p99_ms=target))
    section = doc.sections["4. Requirements"]
    budget = table_with(section, "part")
    parts = ["network", "feature fetch", "model", "overhead"]
    assert list(budget) == parts
    for part, share in zip(parts, shares, strict=True):
        assert budget[part][2] == f"{target * share:,.2f}"
    assert sum(float(budget[p][2].replace(",", "")) for p in parts) == pytest.approx(
        target, abs=0.02
    )
    tiers = table_with(section, "tier")
    marked = [name for name, row in tiers.items() if row[3] == "here"]
    tier = 0 if target <= 10 else 1 if target <= 100 else 2 if target <= 1000 else 3
    assert marked == [list(tiers)[tier]]
    per_candidate = target * shares[2] * 1000 / 80
    assert f"{per_candidate:,.1f} µs per candidate" in section


def test_batch_deadline_budget(render: Any) -> None:
    doc = render(**answers_for("regression", "batch"))
    budget = table_with(doc.sections["4. Requirements"], "stage")
    assert sum(float(row[2]) for row in budget.values()) == pytest.approx(45)
    tiers = table_with(doc.sections["4. Requirements"], "tier")
    assert [name for name, row in tiers.items() if row[3] == "here"] == ["batch (or over 1 s)"]


@pytest.mark.parametrize(
    ("ticks", "warned"),
    [
        ([], True),
        (["changing_patterns"], True),
        (["repetitive", "at_scale"], False),
        (["repetitive", "cheap_mistakes", "at_scale", "changing_patterns", "labelled_data"], False),
    ],
)
def test_fewer_than_two_why_ml_ticks_warn(render: Any, ticks: list[str], warned: bool) -> None:
    doc = render(**answers_for("binary_classification", "online", why_ml=ticks))
    section = doc.sections["2. Should this be ML?"]
    reasons = table_with(section, "reason")
    assert [row[1] for row in reasons.values()].count("yes") == len(ticks)
    assert ("[!WARNING]" in section) is warned
    assert ("### Heuristic-first plan" in section) is warned
    assert (f"five reasons for ML hold ({len(ticks)} ticked)" in section) is warned
    risks = doc.sections["12. Risks, open questions and alternatives"]
    assert ("ML may not be warranted at all" in risks) is warned


@pytest.mark.parametrize(("problem_type", "mode"), COMBOS, ids=COMBO_IDS)
def test_mermaid_diagram_matches_serving_mode(render: Any, problem_type: str, mode: str) -> None:
    doc = render(**answers_for(problem_type, mode))
    fences = [t for t in doc.tokens if t.type == "fence" and t.info.strip() == "mermaid"]
    funnel = problem_type == "ranking"
    assert len(fences) == (2 if funnel else 1)
    assert all(fence.content.startswith("flowchart ") for fence in fences)
    first = fences[0].content
    if mode == "online":
        assert ("POST /rank" if problem_type == "ranking" else "POST /predict") in first
    else:
        assert "batch score job" in first and "rejects" in first
    if funnel:
        assert "80 candidates per request" in fences[1].content
    for fence in fences:  # every node label is quoted, so answers cannot break the syntax
        for label in re.findall(r"\[\(?(.*?)\)?\]", fence.content):
            assert label.startswith('"') and label.endswith('"'), label


@pytest.mark.parametrize(
    ("problem_type", "mode", "ci_provider"),
    [
        ("binary_classification", "online", "github"),
        ("ranking", "online", "none"),
        ("regression", "batch", "gitlab"),
        ("multiclass_classification", "batch", "none"),
        ("forecasting", "online", "github"),
    ],
)
def test_ml_test_score_is_honest(
    render: Any, problem_type: str, mode: str, ci_provider: str
) -> None:
    extra = {} if ci_provider == "github" else {"ci_provider": ci_provider}
    doc = render(**answers_for(problem_type, mode, **extra))
    rows = ml_test_rows(doc)
    assert sorted(rows) == sorted(f"{p}{i}" for p in ML_TEST_SECTIONS for i in range(1, 8))
    scores: dict[str, float] = {}
    automated: dict[str, int] = {}
    for row_id, (_, _, how, status, points) in rows.items():
        assert status in ("automated", "manual")
        assert points == ("1" if status == "automated" else "0.5")
        section = ML_TEST_SECTIONS[row_id[0]]
        scores[section] = scores.get(section, 0) + float(points)
        automated[section] = automated.get(section, 0) + (status == "automated")
        cited = re.findall(r"`([^`\s]+)`", how)
        paths = [c for c in cited if "/" in c or "." in c]
        if status == "automated":
            assert paths, f"{row_id} is automated but names no file"
        for path in paths:
            if not path.startswith(RUN_OUTPUTS):
                assert (doc.project / path).is_file(), f"{row_id} cites {path}, which is missing"
    summary = table_with(doc.sections["11. ML Test Score"], "section")
    for section, score in scores.items():
        assert float(summary[section][3]) == score
        assert int(summary[section][1]) == automated[section]
    final = min(scores.values())
    assert f"**Final ML Test Score: {final}**" in doc.text
    assert f"automated today, it is {min(automated.values())}.\n" in doc.text
    ci_rows = [r for r in rows.values() if ".github/" in r[2] or ".gitlab-ci.yml" in r[2]]
    assert bool(ci_rows) is (ci_provider != "none")
    assert (rows["N6"][3] == "automated") is (mode == "online" and ci_provider != "none")


@pytest.mark.parametrize("problem_type", PROBLEM_TYPES)
def test_every_problem_type_automates_five_rows_in_every_section(
    render: Any, problem_type: str
) -> None:
    # Batch is the harder case: N6 (latency) has no scheduled check there.
    doc = render(**answers_for(problem_type, "batch"))
    summary = table_with(doc.sections["11. ML Test Score"], "section")
    automated = {section: int(summary[section][1]) for section in ML_TEST_SECTIONS.values()}
    assert min(automated.values()) >= 5, automated
    assert "automated today, it is 5.\n" in doc.text or min(automated.values()) > 5


HOSTILE = (
    "  # Not a heading\n- not a list | not a cell\n```\n<script>alert('x')</script> &amp;\n"
    "\n1. {{ 7 * 7 }} {% if x %} `tick` *star* _under_ [link](http://x) \\ back\n===\n> quote"
)


DATA_START, DATA_END = "<!-- data:start -->", "<!-- data:end -->"


def _without_data_summary(text: str) -> str:
    head, rest = text.split(DATA_START, 1)
    return head + rest.split(DATA_END, 1)[1]


def test_hostile_free_text_renders_literally(render: Any) -> None:
    default = render(**answers_for("ranking", "online"))
    doc = render(
        **answers_for(
            "ranking",
            "online",
            project_name="<b>Bold</b> *x* | `y` {{ z }}",
            problem_statement=HOSTILE,
            label_definition=HOSTILE.upper(),
            online_metric="clicks | `rev` <i>",
        )
    )
    assert list(doc.sections) == list(default.sections)
    assert [t.type for t in doc.tokens if t.level == 0] == [
        t.type for t in default.tokens if t.level == 0
    ]
    html = [t.content for t in doc.tokens if t.type in ("html_block", "html_inline")]
    assert html == [  # only the markers `doc` rewrites between: nothing of the answers
        "<!-- data:start -->\n",
        "<!-- data:end -->\n",
        "<!-- status:start -->\n",
        "<!-- status:end -->\n",
    ]
    assert blockquotes(doc.sections["1. Problem"]) == [
        as_displayed(HOSTILE),
        as_displayed(HOSTILE.upper()),
    ]
    assert blockquotes(doc.sections["3. Metrics"]) == ["clicks | `rev` <i>"]
    title = next(t for i, t in enumerate(doc.tokens) if i and doc.tokens[i - 1].tag == "h1")
    assert plain(title) == "Design: <b>Bold</b> *x* | `y` {{ z }}"


@pytest.mark.slow
@pytest.mark.parametrize("mode", MODES)
def test_generated_design_tools_work(
    template_repo: Path, project_env: ProjectEnv, tmp_path: Path, mode: str
) -> None:
    """The project's own capacity and status tests pass; `doc` on a fresh project
    changes nothing (the generated Status equals the Python rendering), and
    capacity.py computes the numbers the doc shows."""
    problem_type = "ranking" if mode == "online" else "binary_classification"
    answers = answers_for(problem_type, mode)
    answers.update(project_slug=f"ddt-{mode}", package_name=f"ddt_{mode}")
    project = generate(template_repo, tmp_path / mode, **answers)
    output = run_project_tests(
        project_env, project, "tests/test_capacity.py", "tests/test_design_status.py"
    )
    assert " passed" in output and "failed" not in output

    doc_path = project / "docs" / "design.md"
    before = doc_path.read_text(encoding="utf-8")
    result = project_env.run(project, f"ddt-{mode}", "doc")
    assert "prediction log per month" in result.stdout
    after = doc_path.read_text(encoding="utf-8")
    # Only the data summary is new (`doc` describes the schema in use there);
    # the Status the template rendered is exactly what the project computes.
    assert _without_data_summary(after) == _without_data_summary(before)
    summary = after.split(DATA_START)[1].split(DATA_END)[0]
    assert "- **Label:**" in summary and "| feature | kind |" in summary
    project_env.run(project, f"ddt-{mode}", "doc")
    assert doc_path.read_text(encoding="utf-8") == after  # and a second run changes nothing

    script = (
        "import dataclasses, json\n"
        f"from ddt_{mode}.capacity import capacity_from_config\n"
        f"from ddt_{mode}.config import load_config\n"
        "print(json.dumps(dataclasses.asdict(capacity_from_config(load_config()))))\n"
    )
    computed = json.loads(project_env.run(project, "python", "-c", script).stdout)
    rendered = Rendered(project, answers)
    table = table_with(rendered.sections["5. Capacity arithmetic"], "quantity")
    assert table["prediction-log rows per day"][1] == f"{computed['scored_rows_per_day']:,}"
    assert table["prediction log per month"][1].startswith(f"{computed['log_bytes_per_month']:,} B")
    assert table["training data per year"][1].startswith(
        f"{computed['training_bytes_per_year']:,} B"
    )
    assert f"fits the `{computed['suggested_scale']}` tier" in rendered.text
