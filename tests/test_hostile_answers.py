"""Hostile answer text renders literally and never breaks a generated file.

Quotes, backslashes, newlines, unicode, Jinja delimiters and shell syntax in
every free-text answer must come out exactly as typed: in the YAML config the
code reads, in pyproject.toml and in the Markdown docs, with every file still
parsing.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import generate
from test_render_matrix import assert_clean_render

NASTY = [
    'He said "hi" and left',
    "it's a 'quoted' thing",
    "back\\slash \\n not a newline \\",
    "{{ 7 * 7 }} and {% if true %}yes{% endif %} and {# note #}",
    "$(rm -rf /) `whoami` ; echo $HOME && true | cat > /tmp/x",
    "ünïcödé — “smart” quotes, 中文, emoji 🚀, RTL \u05d0\u05d1",
    "colon: value # not a comment, - dash, [bracket], {brace}: &anchor *alias !tag",
    "<script>alert('x')</script> & &amp; <b>bold</b>",
    "| table | cell |\n---\n# heading? no",
    "null",
    "yes",
    "0x1F",
    "   leading and trailing spaces   ",
    "%(name)s {0} {name} %s",
]
# Free-text fields that accept several lines, and ones that must be one line.
MULTILINE_FIELDS = ("problem_statement", "label_definition", "online_metric")
SINGLE_LINE_FIELDS = ("project_name", "description", "author_name")


def _render(template_repo: Path, destination: Path, text: str) -> Path:
    single = text.replace("\n", " ")
    answers = {field: text for field in MULTILINE_FIELDS}
    answers.update({field: single for field in SINGLE_LINE_FIELDS})
    answers.update(project_slug="hostile", package_name="hostile")
    if len(answers["problem_statement"].strip()) < 10:
        answers["problem_statement"] = f"{text} (padded to the minimum length)"
    return generate(template_repo, destination, **answers)


def _assert_literal(project: Path, text: str) -> None:
    single = text.replace("\n", " ")
    config = yaml.safe_load((project / "configs" / "project.yaml").read_text())
    assert config["problem"]["label_definition"] == text
    assert config["problem"]["online_metric"] == text
    assert config["project"]["name"] == single
    pyproject = tomllib.loads((project / "pyproject.toml").read_text())
    assert pyproject["project"]["description"] == single
    assert pyproject["project"]["authors"][0]["name"] == single
    answers = yaml.safe_load((project / ".copier-answers.yml").read_text())
    assert answers["label_definition"] == text
    readme = (project / "README.md").read_text()
    assert single.strip() in readme or text.strip() in readme


@pytest.mark.parametrize("text", NASTY, ids=range(len(NASTY)))
def test_hostile_text_renders_literally(template_repo: Path, tmp_path: Path, text: str) -> None:
    project = _render(template_repo, tmp_path / "p", text)
    assert_clean_render_except_literal(project, text)
    _assert_literal(project, text)


def assert_clean_render_except_literal(project: Path, text: str) -> None:
    """assert_clean_render, but tolerate Jinja-looking text the user typed on purpose."""
    if any(token in text for token in ("{{", "{%", "%}", "{#")):
        for path in project.rglob("*"):
            if path.suffix in {".toml", ".yaml", ".yml"} and ".git" not in path.parts:
                (tomllib.loads if path.suffix == ".toml" else yaml.safe_load)(path.read_text())
            elif path.suffix == ".py":
                compile(path.read_text(), str(path), "exec")
    else:
        assert_clean_render(project)


# Any printable text (no control characters, which the validators refuse),
# with the troublesome characters made likely.
hostile_text = st.text(
    alphabet=st.one_of(
        st.sampled_from(list("\"'\\{}%#$`;|&<>\n:-[]*!@")),
        st.characters(blacklist_categories=("Cc", "Cs", "Cn", "Co")),
    ),
    min_size=10,
    max_size=60,
).filter(lambda s: s.strip() and s.replace("\n", " ").strip())


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(text=hostile_text)
def test_generated_text_never_breaks_a_file(
    template_repo: Path, tmp_path_factory: pytest.TempPathFactory, text: str
) -> None:
    project = _render(template_repo, tmp_path_factory.mktemp("hyp") / "p", text)
    assert_clean_render_except_literal(project, text)
    _assert_literal(project, text)
