"""Generate docs/settings.md from the settings declarations (a test keeps the page current)."""

from __future__ import annotations

import importlib
import importlib.util

from nds.components import COMPONENTS
from nds.settings import ComponentSettings


def _all_settings_classes() -> list[type[ComponentSettings]]:
    for comp in COMPONENTS:
        name = f"nds.{comp.package}.settings"
        try:
            if importlib.util.find_spec(name) is not None:
                importlib.import_module(name)
        except ModuleNotFoundError:
            continue
    found: list[type[ComponentSettings]] = []
    stack = list(ComponentSettings.__subclasses__())
    while stack:
        cls = stack.pop(0)
        found.append(cls)
        stack.extend(cls.__subclasses__())
    return sorted(found, key=lambda c: (c.__module__, c.__name__))


def settings_markdown() -> str:
    lines = [
        "# Settings",
        "",
        "Generated from the declarations by `nds settings-doc`; a test fails when this page is stale.",
        "Every setting is an environment variable.",
        "",
    ]
    for cls in _all_settings_classes():
        prefix = str(cls.model_config.get("env_prefix", ""))
        lines += [
            f"## {cls.__module__}.{cls.__name__}",
            "",
            "| Variable | Type | Default | Meaning |",
            "|---|---|---|---|",
        ]
        for fname, field in cls.model_fields.items():
            ann = getattr(field.annotation, "__name__", None) or str(field.annotation).replace("typing.", "")
            default = "" if field.is_required() else f"`{field.default!s}`"
            desc = (field.description or "").replace("|", "\\|").replace("\n", " ")
            ann = ann.replace("|", "\\|")
            lines.append(f"| `{prefix}{fname.upper()}` | {ann} | {default} | {desc} |")
        lines.append("")
    return "\n".join(lines)
