"""The English pages and their Simplified Chinese twins stay in step.

Every guide in docs/ (tutorial pages have a test of their own) and the README exist in
both languages, link to each other from their first line, hold the same code (the fenced
blocks are equal once comments, the only prose inside them, are removed) and the same
outline of headings; every relative link and image in every page, either language,
points at a file that exists and, where it names a heading, at a heading that exists.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
ZH_SUFFIX = ".zh-CN.md"
TUTORIAL_PREFIX = "tutorial"

FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})(.*)$")
HEADING = re.compile(r"^ {0,3}(#{1,6})\s+(.*?)\s*#*\s*$")
INLINE_CODE = re.compile(r"(`+)(.+?)\1")
LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
REFERENCE_DEFINITION = re.compile(r"^ {0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s+\S.*)?$")
HTML_TARGET = re.compile(r"""<(?:a|img)\b[^>]*?\b(?:href|src)\s*=\s*["']([^"']+)["']""", re.I)
EXTERNAL = re.compile(r"^(?:[a-z][a-z0-9+.-]*:|//)", re.I)


def zh_twin(page: Path) -> Path:
    """docs/name.md -> docs/name.zh-CN.md."""
    return page.with_name(page.name[: -len(".md")] + ZH_SUFFIX)


def english_twin(page: Path) -> Path:
    """docs/name.zh-CN.md -> docs/name.md."""
    return page.with_name(page.name[: -len(ZH_SUFFIX)] + ".md")


def is_chinese(page: Path) -> bool:
    return page.name.endswith(ZH_SUFFIX)


def paired_guides() -> list[Path]:
    """Every page in docs/ that must have a twin: all but the tutorial pages."""
    return sorted(p for p in DOCS.glob("*.md") if not p.name.startswith(TUTORIAL_PREFIX))


def all_pages() -> list[Path]:
    """Every Markdown page whose links must resolve: the READMEs and all of docs/."""
    return sorted([*ROOT.glob("README*.md"), *DOCS.glob("*.md")])


def english_pages() -> list[Path]:
    return [ROOT / "README.md", *(p for p in paired_guides() if not is_chinese(p))]


def split_fenced(text: str) -> tuple[list[str], list[tuple[str, list[str]]]]:
    """The lines outside fenced code blocks, and each block as (info string, lines)."""
    prose: list[str] = []
    blocks: list[tuple[str, list[str]]] = []
    fence: str | None = None
    for line in text.splitlines():
        match = FENCE.match(line)
        if fence is None:
            if match:
                fence = match.group(1)
                blocks.append((match.group(2).strip(), []))
            else:
                prose.append(line)
        elif match and match.group(1).startswith(fence) and not match.group(2).strip():
            fence = None
        else:
            blocks[-1][1].append(line)
    assert fence is None, "a code block is never closed"
    return prose, blocks


def strip_comment(line: str) -> str:
    """The line without a trailing `# comment` (a '#' at the start or after a space,
    outside quotes), and without trailing spaces."""
    quote: str | None = None
    for index, char in enumerate(line):
        if quote:
            if char == quote:
                quote = None
        elif char in "'\"":
            quote = char
        elif char == "#" and (index == 0 or line[index - 1].isspace()):
            return line[:index].rstrip()
    return line.rstrip()


def code_of(block_lines: list[str]) -> list[str]:
    """A block's code: its lines with comments removed, empty lines dropped."""
    return [code for code in map(strip_comment, block_lines) if code.strip()]


def headings(prose: list[str]) -> list[tuple[int, str]]:
    """(level, text) of every ATX heading outside code blocks."""
    found = []
    for line in prose:
        match = HEADING.match(line)
        if match:
            found.append((len(match.group(1)), match.group(2)))
    return found


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped (letters of any
    script, digits, '_', '-' and spaces kept), spaces turned into hyphens."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading).replace("`", "")
    return re.sub(r"[^\w\- ]", "", text.strip().lower()).replace(" ", "-")


def anchors(page: Path) -> set[str]:
    """Every anchor a page's headings define, duplicates numbered as GitHub does."""
    seen: dict[str, int] = {}
    result = set()
    for _, text in headings(split_fenced(page.read_text(encoding="utf-8"))[0]):
        base = slug(text)
        count = seen.get(base, 0)
        seen[base] = count + 1
        result.add(base if count == 0 else f"{base}-{count}")
    return result


def link_targets(prose: list[str]) -> list[str]:
    """The targets of every Markdown link, image, reference definition and HTML
    a/img in the prose (inline code excluded)."""
    targets = []
    for line in prose:
        definition = REFERENCE_DEFINITION.match(line)
        if definition:
            targets.append(definition.group(1))
            continue
        line = INLINE_CODE.sub("", line)
        targets += LINK.findall(line) + HTML_TARGET.findall(line)
    return targets


def first_line(page: Path) -> str:
    lines = page.read_text(encoding="utf-8").splitlines()
    return lines[0].strip() if lines else ""


def existing_twin(english: Path) -> Path:
    chinese = zh_twin(english)
    assert chinese.is_file(), f"{english.name} has no Chinese twin {chinese.name}"
    return chinese


# The helpers decide what the page tests compare, so they get checks of their own.


def test_strip_comment_keeps_code_and_hashes_inside_quotes() -> None:
    assert (
        strip_comment("scratchcnn train --out a.npz   # trains") == "scratchcnn train --out a.npz"
    )
    assert strip_comment("# a whole comment") == ""
    assert strip_comment('url = "https://x.org/#top"  # 注释') == 'url = "https://x.org/#top"'
    assert strip_comment("echo 'a # b'") == "echo 'a # b'"
    assert strip_comment("x = a#b") == "x = a#b"


def test_split_fenced_and_headings() -> None:
    text = "# Title\n\n```bash\n# not a heading\nrun  # go\n```\n## Part\n~~~\nx\n~~~\n"
    prose, blocks = split_fenced(text)
    assert blocks == [("bash", ["# not a heading", "run  # go"]), ("", ["x"])]
    assert code_of(blocks[0][1]) == ["run"]
    assert headings(prose) == [(1, "Title"), (2, "Part")]


def test_slug_follows_github() -> None:
    assert slug("Why not `np.save` and a memory-mapped `np.load`?") == (
        "why-not-npsave-and-a-memory-mapped-npload"
    )
    assert slug("“完全一致”需要什么") == "完全一致需要什么"
    assert slug("ONNX：把模型带到任何地方") == "onnx把模型带到任何地方"


def test_link_targets_skip_inline_code() -> None:
    prose = [
        "See [a](a.md#x), ![p](images/p.png) and `[no](not-a-link.md)`.",
        '<img src="images/q.png">',
        "[ref]: other.md",
    ]
    assert link_targets(prose) == ["a.md#x", "images/p.png", "images/q.png", "other.md"]


# The pages.


def test_every_guide_has_a_twin_in_the_other_language() -> None:
    guides = paired_guides()
    assert guides, "docs/ holds no guides"
    missing = [
        str(twin.relative_to(ROOT))
        for page in [ROOT / "README.md", *guides]
        for twin in [english_twin(page) if is_chinese(page) else zh_twin(page)]
        if not twin.is_file()
    ]
    assert not missing, f"pages without a twin: {missing}"


@pytest.mark.parametrize("english", english_pages(), ids=lambda p: p.name)
def test_pair_links_to_each_other(english: Path) -> None:
    chinese = existing_twin(english)
    assert first_line(english) == f"English | [简体中文]({chinese.name})"
    assert first_line(chinese) == f"[English]({english.name}) | 简体中文"


@pytest.mark.parametrize("english", english_pages(), ids=lambda p: p.name)
def test_pair_holds_the_same_code(english: Path) -> None:
    chinese = existing_twin(english)
    _, english_blocks = split_fenced(english.read_text(encoding="utf-8"))
    _, chinese_blocks = split_fenced(chinese.read_text(encoding="utf-8"))
    assert len(english_blocks) == len(chinese_blocks), "the pages differ in number of code blocks"
    for number, ((en_info, en_lines), (zh_info, zh_lines)) in enumerate(
        zip(english_blocks, chinese_blocks, strict=True), start=1
    ):
        assert en_info == zh_info, f"code block {number}: language {en_info!r} vs {zh_info!r}"
        assert code_of(en_lines) == code_of(zh_lines), f"code block {number} differs"


@pytest.mark.parametrize("english", english_pages(), ids=lambda p: p.name)
def test_pair_has_the_same_outline(english: Path) -> None:
    chinese = existing_twin(english)
    english_levels = [level for level, _ in headings(split_fenced(english.read_text("utf-8"))[0])]
    chinese_levels = [level for level, _ in headings(split_fenced(chinese.read_text("utf-8"))[0])]
    assert english_levels == chinese_levels, "the pages' headings differ in number or level"


@pytest.mark.parametrize("page", all_pages(), ids=lambda p: str(p.relative_to(ROOT)))
def test_relative_links_and_images_resolve(page: Path) -> None:
    prose, _ = split_fenced(page.read_text(encoding="utf-8"))
    broken = []
    for target in link_targets(prose):
        if EXTERNAL.match(target):
            continue
        path_part, _, fragment = target.partition("#")
        destination = (page.parent / path_part).resolve() if path_part else page
        if not destination.exists():
            broken.append(f"{target} (no such file)")
        elif fragment and destination.suffix == ".md" and fragment not in anchors(destination):
            broken.append(f"{target} (no heading with that anchor)")
    assert not broken, f"{page.relative_to(ROOT)}: broken links {broken}"
