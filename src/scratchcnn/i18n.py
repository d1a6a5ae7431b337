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
    # --- export: ONNX graphs (scratchcnn.export, scratchcnn.onnx_import, `scratchcnn export`)
    "export.needs_onnx": {
        "en": "ONNX export and import need the onnx package",
        "zh": "ONNX 导出和导入需要 onnx 包",
    },
    "export.needs_onnx_hint": {
        "en": "install it with: pip install 'scratchcnn[onnx]'",
        "zh": "请用以下命令安装：pip install 'scratchcnn[onnx]'",
    },
    "export.opset_range": {
        "en": "cannot write ONNX opset {opset}: choose an opset from {low} to {high}",
        "zh": "无法写出 ONNX opset {opset}：请选择 {low} 到 {high} 之间的 opset",
    },
    "export.input_shape": {
        "en": "the model's input shape {shape} is not (height, width, channels)",
        "zh": "模型的输入形状 {shape} 不是（高，宽，通道）",
    },
    "export.unsupported_layer": {
        "en": "layer {index} ({layer}) has no ONNX equivalent",
        "zh": "第 {index} 层（{layer}）没有对应的 ONNX 运算",
    },
    "export.supported_layers": {
        "en": "export supports {names}",
        "zh": "导出支持 {names}",
    },
    "export.bad_model": {
        "en": "the model cannot be exported: {reason}",
        "zh": "无法导出该模型：{reason}",
    },
    "export.not_classifier": {
        "en": "the model ends in per-image shape {shape}, not one score per class",
        "zh": "模型最后输出的每张图像形状为 {shape}，而不是每个类别一个分数",
    },
    "export.written": {
        "en": "wrote {path} (ONNX opset {opset}; input 'pixels' (N, {height}, {width}, {channels}) with values 0-255)",
        "zh": "已写出 {path}（ONNX opset {opset}；输入 'pixels' 形状 (N, {height}, {width}, {channels})，取值 0-255）",
    },
    "export.unreadable": {
        "en": "{path} is not a readable ONNX model: {reason}",
        "zh": "{path} 不是可读取的 ONNX 模型：{reason}",
    },
    "export.unsupported_op": {
        "en": "{path}: node {node!r} uses {op}, which import_onnx does not support{detail}",
        "zh": "{path}：节点 {node!r} 使用了 import_onnx 不支持的运算 {op}{detail}",
    },
    "export.supported_ops": {
        "en": "import_onnx reads chains of {names}",
        "zh": "import_onnx 支持由 {names} 组成的链式图",
    },
    "export.bad_graph": {
        "en": "{path}: {reason}",
        "zh": "{path}：{reason}",
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
