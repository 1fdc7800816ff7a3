"""The ADR linter rules; importing this package registers every rule function."""

from nds.standards.checks.api.rules import content, design, validity  # noqa: F401  (registration)
from nds.standards.checks.api.rules.base import RULE_FUNCTIONS, Finding, is_oas3

__all__ = ["RULE_FUNCTIONS", "Finding", "is_oas3"]
