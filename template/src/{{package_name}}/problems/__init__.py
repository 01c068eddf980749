"""Problem types: one module each, and the one table from `problem.type` to its module.

`config.problem_type` (built here by `build_problem`) is how the rest of the
package learns what varies by problem type; nothing else looks at
`config.problem.type`. To add a type, write a module like `binary.py` and add
it to `PROBLEM_TYPES`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .anomaly import AnomalyDetection
from .base import ProblemError, ProblemType
from .binary import BinaryClassification
from .forecasting import Forecasting
from .multiclass import MulticlassClassification
from .ranking import Ranking
from .regression import Regression

if TYPE_CHECKING:
    from ..schema import FeatureSchema

PROBLEM_TYPES: dict[str, type[Any]] = {
    problem.name: problem
    for problem in (
        BinaryClassification,
        MulticlassClassification,
        Regression,
        Ranking,
        AnomalyDetection,
        Forecasting,
    )
}

__all__ = ["PROBLEM_TYPES", "ProblemError", "ProblemType", "build_problem"]


def build_problem(settings: dict[str, Any], schema: FeatureSchema) -> ProblemType:
    """The problem object for a `problem:` section (as a dict) and the feature schema.

    Checks that the section and the schema agree on what the type needs (the
    number of classes, the query column, k) and says what is wrong when not.
    """
    name = str(settings.get("type"))
    if name not in PROBLEM_TYPES:
        raise ProblemError(
            f"problem.type '{name}' is not a problem type of this project: choose one of "
            f"{', '.join(PROBLEM_TYPES)}"
        )
    problem_class = PROBLEM_TYPES[name]
    if schema.label.kind != problem_class.label_kind:
        raise ProblemError(
            f"the schema's label '{schema.label.name}' has kind '{schema.label.kind}', but "
            f"{name} needs kind '{problem_class.label_kind}' (configs/schema.yaml)"
        )
    if problem_class.grouped != (schema.group_column is not None):
        need = "needs" if problem_class.grouped else "cannot have"
        raise ProblemError(f"{name} {need} a group_column (the query id) in configs/schema.yaml")
    problem: ProblemType = problem_class.from_settings(settings, schema)
    return problem
