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
LANGUAGE_VARIABLES: tuple[str, ...] = (
    "SCRATCHCNN_LANG",
    "LANGUAGE",
    "LC_ALL",
    "LC_MESSAGES",
    "LANG",
)

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
    # --- report: scratchcnn.report and `scratchcnn report` ------------------------------
    "report.needs_matplotlib": {
        "en": "the report needs matplotlib, which is not installed (pip install 'scratchcnn[plot]')",
        "zh": "报告需要 matplotlib，但尚未安装（pip install 'scratchcnn[plot]'）",
    },
    "report.wrong_size": {
        "en": "the model takes {model_size} images but the data set's are {data_size}",
        "zh": "模型接受 {model_size} 的图像，但数据集的图像是 {data_size}",
    },
    "report.wrong_classes": {
        "en": "the model predicts {classes} classes but the labels go up to {largest}",
        "zh": "模型预测 {classes} 个类别，但标签最大为 {largest}",
    },
    "report.no_images": {
        "en": "nothing to report on: no images",
        "zh": "没有可报告的内容：没有图像",
    },
    "report.title": {"en": "scratchcnn report: {name}", "zh": "scratchcnn 报告：{name}"},
    "report.made": {
        "en": "Made {when} by scratchcnn {version}.",
        "zh": "由 scratchcnn {version} 于 {when} 生成。",
    },
    "report.results": {"en": "Results", "zh": "结果"},
    "report.results.line": {
        "en": "{dataset} {split} set, {images} images: accuracy {accuracy}, mean loss {loss}",
        "zh": "{dataset} {split} 集，共 {images} 张图像：准确率 {accuracy}，平均损失 {loss}",
    },
    "report.curves": {"en": "Training curves", "zh": "训练曲线"},
    "report.no_history": {
        "en": "No training history: this model file records no per-epoch losses, "
        "so there are no curves to draw.",
        "zh": "没有训练历史：该模型文件未记录每轮的损失，因此无法绘制曲线。",
    },
    "report.classes": {
        "en": "Precision, recall and F1 per class",
        "zh": "各类别的精确率、召回率和 F1",
    },
    "report.col.class": {"en": "class", "zh": "类别"},
    "report.col.precision": {"en": "precision", "zh": "精确率"},
    "report.col.recall": {"en": "recall", "zh": "召回率"},
    "report.col.f1": {"en": "F1", "zh": "F1"},
    "report.col.support": {"en": "images", "zh": "图像数"},
    "report.confusion": {"en": "Confusion matrix", "zh": "混淆矩阵"},
    "report.confusion.caption": {
        "en": "Rows: true class; columns: predicted class. Each cell counts images; "
        "its colour is that count's share of the row.",
        "zh": "行：真实类别；列：预测类别。每格是图像数，颜色表示它占该行的比例。",
    },
    "report.mistakes": {"en": "Most confident mistakes", "zh": "最有把握的错误"},
    "report.mistakes.caption": {
        "en": "The {count} wrong answers the model was surest of: true class -> predicted "
        "class, and the predicted class's probability.",
        "zh": "模型最有把握却答错的 {count} 张图像：真实类别 -> 预测类别，以及预测类别的概率。",
    },
    "report.no_mistakes": {"en": "No mistakes on this set.", "zh": "在这组数据上没有错误。"},
    "report.filters": {"en": "First layer's filters", "zh": "第一层的卷积核"},
    "report.filters.caption": {
        "en": "{layer}: the weights of each filter (red positive, blue negative, one scale "
        "for all).",
        "zh": "{layer}：每个卷积核的权重（红色为正，蓝色为负，所有卷积核同一色标）。",
    },
    "report.no_convolution": {
        "en": "The model has no convolution layer.",
        "zh": "该模型没有卷积层。",
    },
    "report.features": {"en": "Feature maps", "zh": "特征图"},
    "report.features.caption": {
        "en": "The output of every convolution and pooling layer for {count} test images, "
        "each map scaled to its own range (at most {limit} channels per layer).",
        "zh": "{count} 张测试图像在每个卷积层和池化层的输出，每张特征图按自身范围缩放"
        "（每层最多显示 {limit} 个通道）。",
    },
    "report.saliency": {"en": "Saliency", "zh": "显著性图"},
    "report.saliency.caption": {
        "en": "|d (predicted class's score) / d pixel| from the engine's own backward pass: "
        "the brightest pixels change the answer most.",
        "zh": "|d（预测类别的得分）/ d 像素|，由引擎自身的反向传播求得：越亮的像素对答案影响越大。",
    },
    "report.model": {"en": "Model", "zh": "模型"},
    "report.col.layer": {"en": "layer", "zh": "层"},
    "report.col.output": {"en": "output shape", "zh": "输出形状"},
    "report.col.params": {"en": "parameters", "zh": "参数数量"},
    "report.total_params": {"en": "Total parameters: {count}", "zh": "参数总数：{count}"},
    "report.training": {"en": "How it was trained", "zh": "训练方式"},
    "report.training.epochs": {
        "en": "{epochs} epochs recorded, {seconds} in all.",
        "zh": "共记录 {epochs} 轮，总计 {seconds}。",
    },
    "report.training.epochs.one": {
        "en": "{epochs} epoch recorded, {seconds} in all.",
        "zh": "共记录 {epochs} 轮，总计 {seconds}。",
    },
    "report.training.nothing": {
        "en": "The model file records nothing about its training.",
        "zh": "模型文件没有记录任何训练信息。",
    },
    "report.machine": {"en": "Machine", "zh": "运行机器"},
    "report.machine.note": {
        "en": "Where this report was made.",
        "zh": "生成本报告的机器。",
    },
    "report.machine.cpu": {"en": "CPU", "zh": "处理器"},
    "report.machine.cores": {
        "en": "{usable} usable of {total} logical cores",
        "zh": "可用 {usable} 个，共 {total} 个逻辑核心",
    },
    "report.machine.cores_label": {"en": "cores", "zh": "核心"},
    "report.machine.blas": {"en": "BLAS", "zh": "BLAS"},
    "report.fig.epoch": {"en": "epoch", "zh": "轮次"},
    "report.fig.loss": {"en": "loss", "zh": "损失"},
    "report.fig.accuracy": {"en": "accuracy", "zh": "准确率"},
    "report.fig.lr": {"en": "learning rate", "zh": "学习率"},
    "report.fig.train": {"en": "training", "zh": "训练"},
    "report.fig.validation": {"en": "validation", "zh": "验证"},
    "report.fig.true": {"en": "true class", "zh": "真实类别"},
    "report.fig.predicted": {"en": "predicted class", "zh": "预测类别"},
    "report.fig.input": {"en": "input", "zh": "输入"},
    "report.fig.saliency": {"en": "saliency", "zh": "显著性"},
    "report.fig.overlay": {"en": "overlay", "zh": "叠加"},
    "report.fig.answer": {
        "en": "true {true}, predicted {predicted} ({confidence})",
        "zh": "真实 {true}，预测 {predicted}（{confidence}）",
    },
    "report.fig.channels": {
        "en": "{layer}: {shape}, {shown} of {channels} channels",
        "zh": "{layer}：{shape}，显示 {channels} 个通道中的 {shown} 个",
    },
    # --- cli: the command line (scratchcnn.cli), its help, progress, tables and errors ----
    "cli.warning.other_dataset.evaluate": {
        "en": "warning: {model} was trained on {trained}; evaluating it on {dataset}",
        "zh": "警告：{model} 是在 {trained} 上训练的，现在却在 {dataset} 上评估它",
    },
    "cli.warning.other_dataset.report": {
        "en": "warning: {model} was trained on {trained}; reporting on it with {dataset}",
        "zh": "警告：{model} 是在 {trained} 上训练的，现在却用 {dataset} 为它生成报告",
    },
    "cli.train.checkpoint": {
        "en": "checkpoint: {path}, written after every epoch (resume with: {command})",
        "zh": "检查点：{path}，每轮结束后写入（恢复训练：{command}）",
    },
    "cli.train.already_finished": {
        "en": "{path}: training already finished ({count} epochs); nothing to do",
        "zh": "{path}：训练已经完成（{count} 轮），无需再做",
    },
    "cli.train.already_finished.one": {
        "en": "{path}: training already finished ({count} epoch); nothing to do",
        "zh": "{path}：训练已经完成（{count} 轮），无需再做",
    },
    "cli.train.last_checkpoint": {
        "en": "the last good checkpoint ({count} epochs) is {path}: {command}",
        "zh": "最后一个正常的检查点（{count} 轮）是 {path}：{command}",
    },
    "cli.train.last_checkpoint.one": {
        "en": "the last good checkpoint ({count} epoch) is {path}: {command}",
        "zh": "最后一个正常的检查点（{count} 轮）是 {path}：{command}",
    },
    "cli.train.trained": {
        "en": "trained {count} epochs ({steps} steps) in {duration}, {speed} images/s",
        "zh": "训练 {count} 轮（{steps} 步），用时 {duration}，每秒 {speed} 张图像",
    },
    "cli.train.trained.one": {
        "en": "trained {count} epoch ({steps} steps) in {duration}, {speed} images/s",
        "zh": "训练 {count} 轮（{steps} 步），用时 {duration}，每秒 {speed} 张图像",
    },
    "cli.summary.description": {
        "en": "Show a preset's layers, output shapes, parameter counts and training recipe, "
        "or a model file's layers and how it was trained: the data set, every epoch's "
        "loss, accuracy and learning rate, and the final test accuracy. Without an "
        "argument, list the presets.",
        "zh": "显示预设模型的各层、输出形状、参数数量和训练配方；或显示模型文件的各层及其训练"
        "经过：数据集、每轮的损失、准确率和学习率，以及最终的测试准确率。不带参数时列出所有预设。",
    },
    "cli.summary.trained": {
        "en": "trained on {dataset}: {count} epochs in {duration}",
        "zh": "在 {dataset} 上训练：{count} 轮，用时 {duration}",
    },
    "cli.summary.trained.one": {
        "en": "trained on {dataset}: {count} epoch in {duration}",
        "zh": "在 {dataset} 上训练：{count} 轮，用时 {duration}",
    },
    "cli.summary.no_history": {
        "en": "the file records no training history",
        "zh": "该文件没有记录训练历史",
    },
    "cli.summary.test": {
        "en": "{split} accuracy {accuracy} (loss {loss}) on {images} images of {dataset}",
        "zh": "{split}准确率 {accuracy}（损失 {loss}），基于 {dataset} 的 {images} 张图像",
    },
    "cli.summary.no_test": {
        "en": "the file records no test result (trained with --no-test, or before it was kept)",
        "zh": "该文件没有记录测试结果（训练时用了 --no-test，或训练早于记录测试结果的版本）",
    },
    "cli.split.test": {"en": "test", "zh": "测试"},
    "cli.split.train": {"en": "train", "zh": "训练"},
    "cli.col.epoch": {"en": "epoch", "zh": "轮次"},
    "cli.col.loss": {"en": "loss", "zh": "损失"},
    "cli.col.accuracy": {"en": "accuracy", "zh": "准确率"},
    "cli.col.val_loss": {"en": "val. loss", "zh": "验证损失"},
    "cli.col.val_accuracy": {"en": "val. accuracy", "zh": "验证准确率"},
    "cli.col.lr": {"en": "lr", "zh": "学习率"},
    "cli.col.seconds": {"en": "seconds", "zh": "秒"},
    "cli.data.list.description": {
        "en": "Show each data set and split: how many images, how large its download is, "
        "and the folder it is found in (--data-dir, $SCRATCHCNN_DATA, the cache) or "
        "'not downloaded'.",
        "zh": "列出每个数据集及其各个划分：图像数量、下载大小，以及在哪个文件夹中找到"
        "（--data-dir、$SCRATCHCNN_DATA 或缓存），未找到时显示“未下载”。",
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


def tr_count(key: str, count: int, language: str | None = None, /, **values: object) -> str:
    """:func:`tr` for a sentence about ``count`` things: ``key + ".one"`` when it is 1.

    English needs the singular ("1 epoch"); Chinese has no plural, so both entries of a
    pair may read alike there. ``count`` is passed on as a placeholder too.
    """
    single = f"{key}.one"
    chosen = single if count == 1 and single in MESSAGES else key
    return tr(chosen, language, count=count, **values)
