"""The tutorials' code runs: every ```python block of each page, in order, in one namespace.

The English page and its Chinese twin must hold the same code; only comments and prose
differ. The blocks use the bundled ``mnist-sample`` data, so no download is needed.
"""

from __future__ import annotations

import io
import re
import tokenize
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parents[1] / "docs"
PAGES = {"en": DOCS / "tutorial.md", "zh": DOCS / "tutorial.zh-CN.md"}
BLOCK = re.compile(r"^```python\n(.*?)^```", re.DOTALL | re.MULTILINE)


def code_blocks(page: Path) -> list[str]:
    """The page's ```python blocks, in order."""
    return BLOCK.findall(page.read_text(encoding="utf-8"))


def without_comments(source: str) -> list[tuple[int, str]]:
    """The source's tokens, comments and layout-only tokens left out."""
    skip = {tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT}
    tokens = tokenize.generate_tokens(io.StringIO(source).readline)
    return [(t.type, t.string) for t in tokens if t.type not in skip]


@pytest.mark.parametrize("lang", sorted(PAGES))
def test_tutorial_code_runs(lang: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocks = code_blocks(PAGES[lang])
    assert len(blocks) >= 10, f"{PAGES[lang].name}: expected the tutorial's code blocks"
    monkeypatch.chdir(tmp_path)  # anything a block writes lands here
    namespace: dict[str, object] = {"__name__": f"tutorial_{lang}"}
    for number, block in enumerate(blocks, start=1):
        try:
            exec(compile(block, f"{PAGES[lang].name}, block {number}", "exec"), namespace)
        except Exception as exc:
            raise AssertionError(f"{PAGES[lang].name}: block {number} failed: {exc!r}") from exc


def test_both_languages_hold_the_same_code() -> None:
    english, chinese = code_blocks(PAGES["en"]), code_blocks(PAGES["zh"])
    assert len(english) == len(chinese), "the two tutorials have different numbers of blocks"
    for number, (en, zh) in enumerate(zip(english, chinese), start=1):
        assert without_comments(en) == without_comments(zh), f"block {number} differs"


def test_pages_link_each_other() -> None:
    assert "tutorial.zh-CN.md" in PAGES["en"].read_text(encoding="utf-8")
    assert "tutorial.md" in PAGES["zh"].read_text(encoding="utf-8")
