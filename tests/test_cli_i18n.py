"""The command line in English and Simplified Chinese: help, argparse's words, errors, output."""

from __future__ import annotations

import argparse
import inspect
import os
import re
import subprocess
import sys

import pytest

from scratchcnn import i18n
from scratchcnn.cli import _nested_parsers, build_parser, language_from_argv, main, wrap_columns
from scratchcnn.errors import ModelFileError
from scratchcnn.persistence import load, save
from scratchcnn.presets import build_model
from scratchcnn.tables import display_width, format_table

ENGLISH_ARGPARSE = ("usage:", "options:", "positional arguments", "show this help message")


def run_cli(*argv: str, **env: str) -> subprocess.CompletedProcess[str]:
    environ = {**os.environ, **env}
    return subprocess.run(
        [sys.executable, "-m", "scratchcnn", *argv],
        capture_output=True,
        text=True,
        env=environ,
        timeout=60,
    )


def test_train_help_in_chinese_from_scratchcnn_lang():
    result = run_cli("train", "--help", SCRATCHCNN_LANG="zh")
    assert result.returncode == 0
    text = result.stdout
    for phrase in ("用法：scratchcnn train", "选项：", "显示此帮助信息并退出", "数据集（默认：mnist）",
                   "遍历训练集的轮数（默认：取预设的值）", "训练一个预设模型。"):  # fmt: skip
        assert phrase in text, phrase
    for word in (*ENGLISH_ARGPARSE, "default:", "(default", "training set"):
        assert word not in text, word


def test_a_missing_model_file_is_a_chinese_error(tmp_path):
    missing = tmp_path / "missing.npz"
    result = run_cli("evaluate", str(missing), SCRATCHCNN_LANG="zh")
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        f"scratchcnn：错误：{missing}：文件不存在"
        f"（请检查路径；`scratchcnn train --out {missing}` 可在该处写出一个模型）"
    ]


def test_global_lang_overrides_the_environment(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("SCRATCHCNN_LANG", "zh")
    missing = tmp_path / "missing.npz"
    assert main(["--lang", "en", "evaluate", str(missing)]) == 1
    assert capsys.readouterr().err.startswith(f"scratchcnn: error: {missing}: no such file")
    assert main(["--lang=zh", "evaluate", str(missing)]) == 1
    assert capsys.readouterr().err.startswith(f"scratchcnn：错误：{missing}：文件不存在")


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({"LANG": "zh_CN.UTF-8"}, "zh"),
        ({"LANG": "zh_CN.UTF-8", "LC_ALL": "C"}, "en"),
        ({"LANGUAGE": "zh_CN:en", "LANG": "en_US.UTF-8"}, "zh"),
        ({"SCRATCHCNN_LANG": "en", "LANG": "zh_CN.UTF-8"}, "en"),
        ({}, "en"),
    ],
)
def test_the_locale_is_the_fallback(environ, expected, monkeypatch, capsys):
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    assert main(["summary", "--help"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("用法：" if expected == "zh" else "usage:")


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["--lang", "zh", "train"], "zh"),
        (["--debug", "--lang=zh", "evaluate", "m.npz"], "zh"),
        (["classic", "--lang", "zh"], "en"),  # the notebook's language, not the CLI's
        (["--lang", "fr", "train"], "en"),  # left to the parser to refuse
    ],
)
def test_language_from_argv_reads_only_the_global_option(argv, expected):
    assert language_from_argv(argv, {}) == expected


def test_argparse_errors_in_chinese(capsys, monkeypatch):
    monkeypatch.setenv("SCRATCHCNN_LANG", "zh")
    assert main(["train", "--dataset", "mnsit"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("scratchcnn train：错误：参数 --dataset：无效的选择：'mnsit'（可选：")
    assert err.rstrip().endswith("（参见 'scratchcnn train --help'）")
    assert main(["evaluate"]) == 2
    assert "缺少以下必需参数：MODEL" in capsys.readouterr().err
    assert main(["train", "--epochs", "0"]) == 2
    assert "参数 --epochs：应为正整数，实际为 '0'" in capsys.readouterr().err
    # argparse is itself again after the command line has run.
    assert argparse._("usage: ") == "usage: "  # type: ignore[attr-defined]


def test_argparse_translations_name_texts_argparse_has_with_the_same_placeholders():
    source = inspect.getsource(argparse)
    for english, chinese in i18n.ARGPARSE_ZH.items():
        if english == "optional arguments":  # the title before Python 3.10
            continue
        assert repr(english) in source or f'"{english}"' in source, english
        fields = re.compile(r"%(?:\(\w+\))?[rsd]")
        assert sorted(fields.findall(english)) == sorted(fields.findall(chinese)), english


def parsers_by_prog() -> dict[str, argparse.ArgumentParser]:
    parser = build_parser()
    return {p.prog: p for p in [parser, *_nested_parsers(parser)]}


def test_every_help_text_of_every_command_is_translated():
    i18n.set_language("en")
    english = parsers_by_prog()
    i18n.set_language("zh")
    chinese = parsers_by_prog()
    assert english.keys() == chinese.keys()
    for prog, parser in english.items():
        other = chinese[prog]
        assert parser.description != other.description, prog
        for action, translated in zip(parser._actions, other._actions):
            if action.help in (None, argparse.SUPPRESS) or isinstance(action, argparse._HelpAction):
                continue
            assert action.help != translated.help, f"{prog} {action.dest}: {action.help!r}"
            assert re.search(r"[\u4e00-\u9fff]", translated.help), translated.help


def test_library_errors_are_rendered_in_the_language_chosen_later(tmp_path):
    missing = tmp_path / "gone.npz"
    with pytest.raises(ModelFileError) as caught:
        load(missing)  # raised while the language is English
    i18n.set_language("zh")
    assert str(caught.value).startswith(f"{missing}：文件不存在（")
    i18n.set_language("en")
    assert str(caught.value).startswith(f"{missing}: no such file (")


def test_chinese_output_of_train_summary_and_evaluate(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("LANG", "zh_CN.UTF-8")
    out = tmp_path / "m.npz"
    argv = ["train", "--dataset", "mnist-sample", "--epochs", "1", "--train-size", "64",
            "--no-progress", "--out", str(out)]  # fmt: skip
    assert main(argv) == 0
    text = capsys.readouterr().out
    for phrase in ("在 mnist-sample 上训练 lenet（64 张图像）：1 轮", "检查点：", "第 1/1 轮：损失",
                   f"模型已保存到 {out}", "测试准确率"):  # fmt: skip
        assert phrase in text, phrase
    prose = re.sub(r"scratchcnn train [^）]*", "", text.replace(str(tmp_path), ""))
    assert re.search(r"[A-Za-z]{4,} [a-z]{4,}", prose) is None, text  # no English sentence
    assert main(["summary", str(out)]) == 0
    assert "在 mnist-sample 上训练：1 轮" in capsys.readouterr().out
    model = build_model("classic")
    model.metadata["dataset"] = "fashion-mnist"
    save(model, tmp_path / "f.npz")
    assert main(["evaluate", str(tmp_path / "f.npz"), "--dataset", "mnist-sample"]) == 0
    captured = capsys.readouterr()
    assert captured.err.strip() == (
        "警告：f.npz 是在 fashion-mnist 上训练的，现在却在 mnist-sample 上评估它"
    )
    assert "各类别准确率" in captured.out and "混淆矩阵" in captured.out


CLASSIC = ["classic", "--dataset", "mnist-sample", "--train-size", "40", "--test-size", "40",
           "--epochs", "1"]  # fmt: skip


@pytest.mark.parametrize("notebook_language", ["zh", "en"])
def test_classic_lang_keeps_its_output_whatever_the_cli_language(
    notebook_language, capsys, monkeypatch
):
    argv = [*CLASSIC, "--lang", notebook_language]
    assert main(argv) == 0
    reference = capsys.readouterr().out
    assert reference
    monkeypatch.setenv("SCRATCHCNN_LANG", "zh" if notebook_language == "en" else "en")
    assert main(argv) == 0
    assert capsys.readouterr().out == reference
    assert main(["--lang", "zh", *argv]) == 0
    assert capsys.readouterr().out == reference


def test_classic_without_lang_still_prints_the_notebooks_chinese(capsys, monkeypatch):
    assert main(["--lang", "en", *CLASSIC]) == 0
    english_cli = capsys.readouterr().out
    assert main([*CLASSIC, "--lang", "zh"]) == 0
    assert english_cli == capsys.readouterr().out


def test_chinese_help_wraps_within_the_terminal_width():
    text = "训练一个预设模型。未给出的选项取预设的值（参见 `scratchcnn summary PRESET`）。" * 3
    lines = wrap_columns(text, 40)
    assert "".join(lines).replace(" ", "") == text.replace(" ", "")
    assert all(display_width(line) <= 40 for line in lines), lines
    assert not any(line.startswith(("，", "。", "）")) for line in lines)
    assert wrap_columns("a few plain words here", 10) == ["a few", "plain", "words here"]


def test_tables_line_up_chinese_by_terminal_columns():
    table = format_table([["名称", "图像数"], ["mnist", "60,000"]], "lr")
    first, second = table.splitlines()
    assert display_width(first) == display_width(second)
    assert first == "名称   图像数"


def test_the_layer_table_speaks_the_chosen_language_and_stays_aligned(capsys):
    from scratchcnn.tables import display_width

    assert main(["--lang", "zh", "summary", "fast"]) == 0
    lines = capsys.readouterr().out.splitlines()
    header = next(line for line in lines if line.startswith("层"))
    assert "输出形状" in header and "参数" in header and "Layer" not in header
    rows = [line for line in lines if line[:2] in ("0:", "1:")]
    # Wide characters count two columns: the header ends where the rows end.
    assert display_width(header) == display_width(rows[0])
    assert any(line.startswith("参数总数") for line in lines)
