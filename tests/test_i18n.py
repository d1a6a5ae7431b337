"""The message catalogue: both languages for every message, and how the language is chosen."""

from __future__ import annotations

import string

import pytest

from scratchcnn import i18n


def placeholders(text: str) -> set[str]:
    return {field for _, field, _, _ in string.Formatter().parse(text) if field is not None}


@pytest.mark.parametrize("key", sorted(i18n.MESSAGES))
def test_every_message_exists_in_both_languages_with_the_same_placeholders(key):
    texts = i18n.MESSAGES[key]
    assert set(texts) == set(i18n.LANGUAGES), f"{key}: languages {sorted(texts)}"
    assert all(texts[lang].strip() for lang in i18n.LANGUAGES), f"{key}: an empty text"
    fields = {lang: placeholders(texts[lang]) for lang in i18n.LANGUAGES}
    assert fields["en"] == fields["zh"], f"{key}: placeholders differ: {fields}"


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({}, "en"),
        ({"LANG": "zh_CN.UTF-8"}, "zh"),
        ({"LANG": "zh_CN.UTF-8", "LC_ALL": "C"}, "en"),
        ({"LANG": "en_US.UTF-8", "LC_MESSAGES": "zh_TW"}, "zh"),
        ({"LANGUAGE": "fr:zh_CN:en", "LANG": "en_US"}, "zh"),
        ({"LANGUAGE": "de", "LANG": "zh_CN.UTF-8"}, "zh"),
        ({"SCRATCHCNN_LANG": "en", "LANGUAGE": "zh"}, "en"),
        ({"SCRATCHCNN_LANG": "zh", "LC_ALL": "en_US.UTF-8"}, "zh"),
        ({"LANG": "fr_FR.UTF-8"}, "en"),
    ],
)
def test_language_comes_from_the_first_variable_that_names_one(environ, expected):
    assert i18n.resolve_language(None, environ) == expected


def test_an_explicit_language_wins_and_an_unknown_one_is_named():
    assert i18n.resolve_language("zh", {"SCRATCHCNN_LANG": "en"}) == "zh"
    with pytest.raises(ValueError, match="'fr'"):
        i18n.resolve_language("fr", {})


def test_tr_formats_in_the_chosen_language():
    saved = i18n.get_language()
    try:
        i18n.set_language("zh")
        assert "'xx'" in i18n.tr("lang.unknown", value="xx", choices="en, zh")
        assert i18n.tr("lang.unknown", "en", value="xx", choices="en").startswith("unknown")
    finally:
        i18n.set_language(saved)
