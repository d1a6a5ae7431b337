"""User-facing text in English and Simplified Chinese.

Every sentence a user reads (command line, report, web page) is one entry of
:data:`MESSAGES`: a key and its text in each language, side by side, with the same
``str.format`` placeholders. :func:`tr` picks the current language, which
:func:`resolve_language` chooses from ``--lang``, then ``SCRATCHCNN_LANG``, then the
locale (``LANGUAGE``, ``LC_ALL``, ``LC_MESSAGES``, ``LANG``), and English by default.

A dictionary in Python rather than gettext: the package ships no compiled ``.mo`` files,
the test that both languages have every message with the same placeholders is a few
lines, and a reader sees both texts of a message in one place.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

LANGUAGES: tuple[str, ...] = ("en", "zh")
DEFAULT_LANGUAGE = "en"
#: Environment variables that name the language, in the order they are consulted.
LANGUAGE_VARIABLES: tuple[str, ...] = ("SCRATCHCNN_LANG", "LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG")

#: key -> {language -> text}. Keys are grouped by where the text is shown.
MESSAGES: dict[str, dict[str, str]] = {
    "lang.unknown": {
        "en": "unknown language {value!r}: choose one of {choices}",
        "zh": "未知语言 {value!r}：请选择 {choices} 之一",
    },
    "threads.invalid": {
        "en": "the number of threads must be a whole number of at least 1, got {value!r}",
        "zh": "线程数必须是不小于 1 的整数，收到 {value!r}",
    },
    "threads.unavailable": {
        "en": "limiting the number of threads needs the threadpoolctl package",
        "zh": "限制线程数需要 threadpoolctl 软件包",
    },
    "threads.install_hint": {
        "en": "install it with `pip install threadpoolctl`",
        "zh": "请用 `pip install threadpoolctl` 安装",
    },
}

_current = DEFAULT_LANGUAGE


def language_of(value: str | None) -> str | None:
    """The catalogue language a locale or language name means, or None if it names none.

    ``"zh_CN.UTF-8"``, ``"zh-Hans"`` and ``"zh"`` mean Chinese; ``"en_US"``, ``"C"`` and
    ``"POSIX"`` English. ``LANGUAGE`` may list several, separated by colons: the first
    known one wins.
    """
    for item in (value or "").split(":"):
        name = item.strip().lower().replace("-", "_")
        if not name:
            continue
        base = name.split(".")[0].split("@")[0].split("_")[0]
        if base in LANGUAGES:
            return base
        if base in ("c", "posix"):
            return "en"
    return None


def resolve_language(explicit: str | None = None, environ: Mapping[str, str] | None = None) -> str:
    """``explicit`` (from ``--lang``) if given, else the first variable that names a language."""
    if explicit is not None:
        if explicit not in LANGUAGES:
            raise ValueError(tr("lang.unknown", value=explicit, choices=", ".join(LANGUAGES)))
        return explicit
    env = os.environ if environ is None else environ
    for variable in LANGUAGE_VARIABLES:
        found = language_of(env.get(variable))
        if found is not None:
            return found
    return DEFAULT_LANGUAGE


def set_language(language: str) -> None:
    """Make ``language`` the one :func:`tr` uses from now on."""
    global _current
    if language not in LANGUAGES:
        raise ValueError(tr("lang.unknown", value=language, choices=", ".join(LANGUAGES)))
    _current = language


def get_language() -> str:
    """The language :func:`tr` uses now."""
    return _current


def tr(key: str, language: str | None = None, /, **values: object) -> str:
    """The message ``key`` in ``language`` (default: the current one), formatted with ``values``."""
    texts = MESSAGES[key]
    return texts[language or _current].format(**values)
