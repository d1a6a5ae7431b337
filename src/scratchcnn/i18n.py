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
    # --- scratchcnn serve: the command line, then the page (serve.page.*) -------------
    "serve.listening": {
        "en": "serving {model} on {url} (Ctrl-C to stop)",
        "zh": "正在 {url} 提供 {model}（按 Ctrl-C 停止）",
    },
    "serve.exposed": {
        "en": "warning: listening on {host}, which other machines can reach; anyone who can "
        "connect can use the demo",
        "zh": "警告：正在监听 {host}，其他机器也能访问；任何能连接的人都可以使用此演示",
    },
    "serve.stopped": {"en": "server stopped", "zh": "服务器已停止"},
    "serve.bundled": {"en": "the bundled demo model", "zh": "内置演示模型"},
    "serve.cannot_listen": {
        "en": "cannot listen on {host}:{port}: {reason}",
        "zh": "无法在 {host}:{port} 上监听：{reason}",
    },
    "serve.cannot_listen_hint": {
        "en": "choose another --port, or --port 0 for a free one",
        "zh": "请换一个 --port，或用 --port 0 自动选择空闲端口",
    },
    "serve.page.title": {"en": "Watch a CNN read your digit", "zh": "看卷积网络如何读懂你写的数字"},
    "serve.page.subtitle": {
        "en": "Draw a digit from 0 to 9. The network written from scratch in NumPy answers as "
        "you draw and shows what each layer sees.",
        "zh": "写一个 0 到 9 的数字。这个用 NumPy 从零写成的网络会边写边回答，并展示每一层看到的内容。",
    },
    "serve.page.language": {"en": "Language", "zh": "语言"},
    "serve.page.pad_label": {"en": "Drawing pad", "zh": "画板"},
    "serve.page.draw_hint": {
        "en": "Draw here with a mouse, finger or pen",
        "zh": "用鼠标、手指或触控笔在这里书写",
    },
    "serve.page.clear": {"en": "Clear", "zh": "清除"},
    "serve.page.upload": {"en": "Choose a photo…", "zh": "选择照片…"},
    "serve.page.drop_hint": {
        "en": "or drop a PNG or JPEG of a digit anywhere on the page",
        "zh": "或把数字的 PNG、JPEG 图片拖到页面任意位置",
    },
    "serve.page.photo": {"en": "Your photo", "zh": "你的照片"},
    "serve.page.prediction": {"en": "The network reads", "zh": "网络的判断"},
    "serve.page.confidence": {"en": "{percent} sure", "zh": "把握 {percent}"},
    "serve.page.waiting": {"en": "Draw a digit to begin", "zh": "写一个数字开始"},
    "serve.page.probabilities": {"en": "Probability of each digit", "zh": "每个数字的概率"},
    "serve.page.input_title": {"en": "What the network sees", "zh": "网络看到的图像"},
    "serve.page.input_help": {
        "en": "Your drawing cropped, scaled to 20x20 and centred in 28x28, like MNIST",
        "zh": "你的笔迹经裁剪、缩放到 20x20 并居中放入 28x28，与 MNIST 一样",
    },
    "serve.page.saliency_title": {"en": "Where it looks", "zh": "它关注哪里"},
    "serve.page.saliency_help": {
        "en": "Saliency: how strongly each pixel changes the score of the answer (the input gradient)",
        "zh": "显著性：每个像素对答案得分的影响有多大（输入梯度）",
    },
    "serve.page.maps_title": {"en": "Inside the network", "zh": "网络内部"},
    "serve.page.maps_help": {
        "en": "The feature maps of each stage: bright means strongly active",
        "zh": "每一阶段的特征图：越亮表示激活越强",
    },
    "serve.page.channels": {
        "en": "{shown} of {total} channels, {height}x{width}",
        "zh": "共 {total} 个通道，显示 {shown} 个，{height}x{width}",
    },
    "serve.page.model_info": {
        "en": "Model: {preset}, {params} parameters, {accuracy} accuracy on the {dataset} test set",
        "zh": "模型：{preset}，{params} 个参数，在 {dataset} 测试集上准确率 {accuracy}",
    },
    "serve.page.model_info_untested": {
        "en": "Model: {preset}, {params} parameters",
        "zh": "模型：{preset}，{params} 个参数",
    },
    "serve.page.error": {"en": "Could not read that: {message}", "zh": "无法识别：{message}"},
    "serve.page.not_image": {
        "en": "Please choose a PNG or JPEG image",
        "zh": "请选择 PNG 或 JPEG 图片",
    },
    "serve.page.offline": {
        "en": "The server is not answering; is scratchcnn serve still running?",
        "zh": "服务器没有响应；scratchcnn serve 还在运行吗？",
    },
    "serve.page.footer": {
        "en": "Everything runs on this computer; nothing is sent anywhere else.",
        "zh": "一切都在这台电脑上运行，不会发送到其他任何地方。",
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
