from __future__ import annotations

from pathlib import Path

from nds.settings_doc import settings_markdown

ROOT = Path(__file__).resolve().parents[2]


def test_settings_page_is_current() -> None:
    page = (ROOT / "docs" / "settings.md").read_text(encoding="utf-8")
    assert page == settings_markdown(), "docs/settings.md is stale: run `nds settings-doc > docs/settings.md`"


def test_every_setting_has_help_text() -> None:
    from nds.settings_doc import _all_settings_classes

    for cls in _all_settings_classes():
        for name, field in cls.model_fields.items():
            assert field.description, f"{cls.__name__}.{name} has no help text"
