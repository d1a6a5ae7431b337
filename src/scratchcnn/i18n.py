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
    "images.frames": {
        "en": "{source}: an animated image with {frames} frames: save the one frame to read as PNG or JPEG",
        "zh": "{source}：这是有 {frames} 帧的动画图像：请把要识别的那一帧另存为 PNG 或 JPEG",
    },
    "images.too_large": {
        "en": "{source}: image too large to decode safely (over {limit} pixels): shrink it first",
        "zh": "{source}：图像过大，无法安全解码（超过 {limit} 像素）：请先缩小",
    },
    "images.truncated": {
        "en": "{source}: the file is truncated: it ends before the image data does",
        "zh": "{source}：文件不完整：图像数据尚未结束文件就已结束",
    },
    "images.no_ink": {
        "en": "{source}: no digit found: no ink stands out from the paper away from the picture's edges",
        "zh": "{source}：未找到数字：除图像边缘外，纸上没有明显的墨迹",
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
    "error.with_hint": {"en": "{message} ({hint})", "zh": "{message}（{hint}）"},
    "cli.description": {
        "en": "A convolutional neural network written from scratch in NumPy.",
        "zh": "一个完全用 NumPy 从零写成的卷积神经网络。",
    },
    "cli.help.version": {
        "en": "show the version and exit",
        "zh": "显示版本号并退出",
    },
    "cli.help.debug": {
        "en": "show the full traceback of any error",
        "zh": "出错时显示完整的调用栈",
    },
    "cli.help.lang": {
        "en": "language of every message: en or zh (default: $SCRATCHCNN_LANG, then the "
        "locale, then en)",
        "zh": "所有提示信息的语言：en 或 zh（默认：先看 $SCRATCHCNN_LANG，再看系统区域设置，"
        "否则为 en）",
    },
    "cli.usage_error": {
        "en": "{prog}: error: {message} (see '{prog} --help')",
        "zh": "{prog}：错误：{message}（参见 '{prog} --help'）",
    },
    "cli.error": {"en": "scratchcnn: error: {message}", "zh": "scratchcnn：错误：{message}"},
    "cli.interrupted": {"en": "scratchcnn: interrupted", "zh": "scratchcnn：已中断"},
    "cli.expected": {
        "en": "expected {expected}, got {value}",
        "zh": "应为{expected}，实际为 {value}",
    },
    "cli.expected.positive_int": {"en": "a positive integer", "zh": "正整数"},
    "cli.expected.non_negative_int": {"en": "an integer >= 0", "zh": "大于等于 0 的整数"},
    "cli.expected.positive_float": {"en": "a positive number", "zh": "正数"},
    "cli.expected.non_negative_float": {"en": "a number >= 0", "zh": "大于等于 0 的数"},
    "cli.expected.fraction": {"en": "a number in [0, 1)", "zh": "区间 [0, 1) 内的数"},
    "cli.help.dataset.train": {"en": "data set (default: mnist)", "zh": "数据集（默认：mnist）"},
    "cli.help.dataset.model": {
        "en": "data set (default: the one the model was trained on, else mnist)",
        "zh": "数据集（默认：模型训练时所用的数据集，未记录时为 mnist）",
    },
    "cli.help.data_dir": {
        "en": "folder holding the data set's files (default: $SCRATCHCNN_DATA, then the cache)",
        "zh": "存放数据集文件的文件夹（默认：先看 $SCRATCHCNN_DATA，再看缓存）",
    },
    "cli.help.model_file": {
        "en": "model or checkpoint file (.npz)",
        "zh": "模型文件或检查点文件（.npz）",
    },
    "cli.help.split": {
        "en": "which split (default: test)",
        "zh": "使用哪个划分（默认：test，即测试集）",
    },
    "cli.help.json": {"en": "print the results as JSON", "zh": "以 JSON 格式输出结果"},
    "cli.seconds": {"en": "{seconds} s", "zh": "{seconds} 秒"},
    "cli.minutes": {"en": "{minutes} min {seconds} s", "zh": "{minutes} 分 {seconds} 秒"},
    "cli.list_separator": {"en": ", ", "zh": "，"},
    # train
    "cli.train.help": {
        "en": "train a model on a data set, with checkpoints and resume",
        "zh": "在数据集上训练模型，支持检查点和断点续训",
    },
    "cli.train.description": {
        "en": "Train a preset model. Options left out take the preset's values "
        "(see `scratchcnn summary PRESET`). A checkpoint is written after every epoch "
        "beside the model; --resume continues from it exactly.",
        "zh": "训练一个预设模型。未给出的选项取预设的值（参见 `scratchcnn summary PRESET`）。"
        "每轮结束后在模型旁写入检查点；--resume 可从检查点精确地继续训练。",
    },
    "cli.train.help.model": {
        "en": "preset: {presets} (default: {default})",
        "zh": "预设模型：{presets}（默认：{default}）",
    },
    "cli.train.help.epochs": {
        "en": "passes over the training set (default: the preset's)",
        "zh": "遍历训练集的轮数（默认：取预设的值）",
    },
    "cli.train.help.batch_size": {
        "en": "images per step (default: the preset's)",
        "zh": "每步的图像数，即批大小（默认：取预设的值）",
    },
    "cli.train.help.lr": {
        "en": "(peak) learning rate (default: the preset's)",
        "zh": "（峰值）学习率（默认：取预设的值）",
    },
    "cli.train.help.optimizer": {
        "en": "optimiser (default: the preset's)",
        "zh": "优化器（默认：取预设的值）",
    },
    "cli.train.help.momentum": {
        "en": "SGD momentum (default: the preset's)",
        "zh": "SGD 的动量（默认：取预设的值）",
    },
    "cli.train.help.weight_decay": {
        "en": "weight decay (default: the preset's)",
        "zh": "权重衰减（默认：取预设的值）",
    },
    "cli.train.help.schedule": {
        "en": "learning-rate schedule (default: the preset's)",
        "zh": "学习率调度方式（默认：取预设的值）",
    },
    "cli.train.help.label_smoothing": {
        "en": "label smoothing (default: the preset's)",
        "zh": "标签平滑系数（默认：取预设的值）",
    },
    "cli.train.help.shift": {
        "en": "random shifts of up to PX pixels (default: the preset's)",
        "zh": "随机平移，最多 PX 个像素（默认：取预设的值）",
    },
    "cli.train.help.flip": {
        "en": "mirror images left-right at random (for Fashion-MNIST, not for digits; "
        "default: the preset's)",
        "zh": "随机左右翻转图像（适用于 Fashion-MNIST，不适用于数字；默认：取预设的值）",
    },
    "cli.train.help.validation_split": {
        "en": "hold out this fraction of the training set for validation (default: 0)",
        "zh": "从训练集中留出这一比例的图像用于验证（默认：0）",
    },
    "cli.train.help.seed": {
        "en": "seed of every random draw (default: 0)",
        "zh": "所有随机抽样的种子（默认：0）",
    },
    "cli.train.help.train_size": {
        "en": "train on the first N training images only (quick experiments; default: all)",
        "zh": "只用前 N 张训练图像训练（用于快速实验；默认：全部）",
    },
    "cli.train.help.out": {
        "en": "where to save the model (default: model.npz)",
        "zh": "模型的保存位置（默认：model.npz）",
    },
    "cli.train.help.checkpoint": {
        "en": "checkpoint file written after every epoch (default: OUT with .ckpt.npz)",
        "zh": "每轮结束后写入的检查点文件（默认：OUT 改用 .ckpt.npz 后缀）",
    },
    "cli.train.help.resume": {
        "en": "continue from the checkpoint exactly",
        "zh": "从检查点精确地继续训练",
    },
    "cli.train.help.no_progress": {
        "en": "one line per epoch instead of a progress bar (the default when not on a terminal)",
        "zh": "每轮输出一行，而不显示进度条（不在终端中运行时默认如此）",
    },
    "cli.train.help.no_test": {
        "en": "skip evaluating on the test split at the end",
        "zh": "训练结束后不在测试集上评估",
    },
    "cli.train.help.history": {
        "en": "also write the per-epoch history to FILE (.json or .csv); the model file "
        "keeps it in any case",
        "zh": "另将每轮的训练历史写入 FILE（.json 或 .csv）；模型文件中总会保存一份",
    },
    "cli.train.start": {
        "en": "training {preset} on {dataset} ({images} images): {settings}",
        "zh": "在 {dataset} 上训练 {preset}（{images} 张图像）：{settings}",
    },
    "cli.train.resuming": {
        "en": "resuming from {path} at epoch {epoch}, batch {batch}",
        "zh": "从 {path} 恢复训练：第 {epoch} 轮，第 {batch} 批",
    },
    "cli.train.interrupted": {
        "en": "interrupted at epoch {epoch}, batch {batch}; checkpoint saved to {path}\n"
        "resume with: {command}",
        "zh": "在第 {epoch} 轮第 {batch} 批中断；检查点已保存到 {path}\n恢复训练：{command}",
    },
    "cli.train.saved": {"en": "model saved to {path}", "zh": "模型已保存到 {path}"},
    "cli.train.history_saved": {
        "en": "history saved to {path}",
        "zh": "训练历史已保存到 {path}",
    },
    "cli.train.test": {
        "en": "test accuracy {accuracy} (loss {loss}) on {images} images",
        "zh": "测试准确率 {accuracy}（损失 {loss}），共 {images} 张图像",
    },
    "cli.train.final": {
        "en": "final training loss {loss}, accuracy {accuracy}",
        "zh": "最终训练损失 {loss}，准确率 {accuracy}",
    },
    "cli.train.best": {
        "en": "best validation accuracy {accuracy} (epoch {epoch})",
        "zh": "最佳验证准确率 {accuracy}（第 {epoch} 轮）",
    },
    "cli.train.epoch": {
        "en": "epoch {epoch}/{epochs}: loss {loss}, accuracy {accuracy}, lr {lr}, {seconds} s",
        "zh": "第 {epoch}/{epochs} 轮：损失 {loss}，准确率 {accuracy}，学习率 {lr}，{seconds} 秒",
    },
    "cli.train.epoch.validation": {
        "en": ", validation loss {loss}, accuracy {accuracy}",
        "zh": "，验证损失 {loss}，验证准确率 {accuracy}",
    },
    "cli.config.epochs": {"en": "{count} epochs", "zh": "{count} 轮"},
    "cli.config.epochs.one": {"en": "{count} epoch", "zh": "{count} 轮"},
    "cli.config.batch": {"en": "batch {size}", "zh": "批大小 {size}"},
    "cli.config.optimizer": {"en": "{optimizer} lr {lr}", "zh": "{optimizer}，学习率 {lr}"},
    "cli.config.schedule": {"en": "{schedule} schedule", "zh": "{schedule} 调度"},
    "cli.config.shift": {"en": "shifts up to {pixels} px", "zh": "随机平移至多 {pixels} 像素"},
    "cli.config.flip": {"en": "random mirroring", "zh": "随机翻转"},
    "cli.config.validation": {"en": "validation {fraction}", "zh": "验证集 {fraction}"},
    "cli.config.train_size": {"en": "first {count} images", "zh": "前 {count} 张图像"},
    "cli.train.no_checkpoint": {
        "en": "no checkpoint to resume from at {path}",
        "zh": "{path} 处没有可恢复训练的检查点",
    },
    "cli.train.no_checkpoint.hint": {
        "en": "run without --resume to start training, or pass --checkpoint PATH",
        "zh": "去掉 --resume 以开始训练，或用 --checkpoint PATH 指定检查点",
    },
    "cli.train.conflict": {
        "en": "{option} (checkpoint: {value})",
        "zh": "{option}（检查点中为 {value}）",
    },
    "cli.train.other_run": {
        "en": "{path} holds another run: {conflicts}",
        "zh": "{path} 保存的是另一次训练：{conflicts}",
    },
    "cli.train.other_run.hint": {
        "en": "drop those options to resume it, or start afresh without --resume",
        "zh": "去掉这些选项即可恢复它，或不加 --resume 重新开始",
    },
    "cli.train.changed_settings": {
        "en": "warning: resuming with changed settings ({settings}); the result will differ "
        "from an uninterrupted run",
        "zh": "警告：以改动过的设置恢复训练（{settings}）；结果将与不间断的训练不同",
    },
    "cli.train.no_checkpoint_written": {
        "en": "no checkpoint was written",
        "zh": "没有写入任何检查点",
    },
    "cli.help.batch_size": {
        "en": "images per batch (default: {default})",
        "zh": "每批的图像数（默认：{default}）",
    },
    "cli.images_of": {"en": "the images of {dataset}", "zh": "{dataset} 的图像"},
    # evaluate
    "cli.evaluate.help": {
        "en": "measure a saved model's accuracy on a data set",
        "zh": "在数据集上测量已保存模型的准确率",
    },
    "cli.evaluate.description": {
        "en": "Evaluate a model (or checkpoint) file on a data set split, in batches "
        "so that memory stays bounded however many images there are.",
        "zh": "在数据集的某个划分上评估模型（或检查点）文件。按批计算，"
        "因此无论图像有多少，占用的内存都有上限。",
    },
    "cli.evaluate.classes": {
        "en": "{model} predicts {classes} classes but {dataset} has {expected}",
        "zh": "{model} 预测 {classes} 个类别，但 {dataset} 有 {expected} 个",
    },
    "cli.evaluate.classes.hint": {
        "en": "evaluate it on the data set it was trained on",
        "zh": "请在它训练时所用的数据集上评估",
    },
    "cli.evaluate.cannot_run": {
        "en": "{model} cannot run on {dataset}: {reason}",
        "zh": "{model} 无法在 {dataset} 上运行：{reason}",
    },
    "cli.evaluate.title": {
        "en": "{model} on {dataset} {split} ({images} images)",
        "zh": "{model} 在 {dataset} {split}集上（{images} 张图像）",
    },
    "cli.evaluate.result": {
        "en": "accuracy {accuracy}   loss {loss}",
        "zh": "准确率 {accuracy}   损失 {loss}",
    },
    "cli.evaluate.corner": {"en": "true \\ predicted", "zh": "真实 \\ 预测"},
    "cli.evaluate.per_class": {"en": "per-class accuracy", "zh": "各类别准确率"},
    "cli.evaluate.of": {"en": "of {count}", "zh": "共 {count} 张"},
    "cli.evaluate.confusion": {
        "en": "confusion matrix (rows: true class, columns: predicted)",
        "zh": "混淆矩阵（行：真实类别，列：预测类别）",
    },
    # report
    "cli.report.help": {
        "en": "draw a saved model's curves, mistakes, filters and feature maps as an HTML page",
        "zh": "把已保存模型的训练曲线、错误样本、卷积核和特征图画成一个 HTML 页面",
    },
    "cli.report.description": {
        "en": "Evaluate a model on a data set split and write one HTML file holding "
        "its training curves, accuracy, per-class precision/recall/F1, confusion matrix, "
        "most confident mistakes, first-layer filters, feature maps and saliency maps, its "
        "layers, how it was trained and the machine. The file embeds every picture and "
        "opens offline. Needs matplotlib: pip install 'scratchcnn[plot]'.",
        "zh": "在数据集的某个划分上评估模型，并写出一个 HTML 文件，包含训练曲线、准确率、"
        "各类别的精确率/召回率/F1、混淆矩阵、最有把握的错误、第一层卷积核、特征图和显著性图、"
        "模型各层、训练方式以及运行机器。所有图片都嵌入文件中，离线也能打开。"
        "需要 matplotlib：pip install 'scratchcnn[plot]'。",
    },
    "cli.report.help.out": {
        "en": "HTML file to write (default: MODEL with .html)",
        "zh": "要写出的 HTML 文件（默认：MODEL 改用 .html 后缀）",
    },
    "cli.report.help.images": {
        "en": "test images whose feature maps and saliency are drawn (default: {default})",
        "zh": "绘制特征图和显著性图的测试图像数（默认：{default}）",
    },
    # errors the library raises with a catalogue key (scratchcnn.errors.ScratchCNNError)
    "error.choose_one_of": {"en": "choose one of: {choices}", "zh": "可选：{choices}"},
    "error.reinstall": {"en": "reinstall scratchcnn", "zh": "请重新安装 scratchcnn"},
    "error.no_such_file": {"en": "{path}: no such file", "zh": "{path}：文件不存在"},
    "error.cannot_open": {
        "en": "{path}: cannot open: {reason}",
        "zh": "{path}：无法打开：{reason}",
    },
    "error.cannot_read": {
        "en": "{path}: cannot read: {reason}",
        "zh": "{path}：无法读取：{reason}",
    },
    "error.model.missing.hint": {
        "en": "check the path; `scratchcnn train --out {path}` writes a model there",
        "zh": "请检查路径；`scratchcnn train --out {path}` 可在该处写出一个模型",
    },
    "error.model.folder": {
        "en": "{path}: is a folder, not a model file",
        "zh": "{path}：是文件夹，不是模型文件",
    },
    "error.model.not_checkpoint": {
        "en": "{path}: is a model file, not a training checkpoint (it has no optimiser state)",
        "zh": "{path}：是模型文件，不是训练检查点（其中没有优化器状态）",
    },
    "error.model.empty": {
        "en": "{path}: the file is empty, not a scratchcnn model file",
        "zh": "{path}：文件是空的，不是 scratchcnn 模型文件",
    },
    "error.model.truncated": {
        "en": "{path}: damaged or truncated archive ({reason})",
        "zh": "{path}：压缩包已损坏或不完整（{reason}）",
    },
    "error.model.is_png": {
        "en": "{path}: is a PNG image, not a scratchcnn model file",
        "zh": "{path}：是 PNG 图像，不是 scratchcnn 模型文件",
    },
    "error.model.is_jpeg": {
        "en": "{path}: is a JPEG image, not a scratchcnn model file",
        "zh": "{path}：是 JPEG 图像，不是 scratchcnn 模型文件",
    },
    "error.model.is_npy": {
        "en": "{path}: is a single .npy array, not a scratchcnn model file",
        "zh": "{path}：是单个 .npy 数组，不是 scratchcnn 模型文件",
    },
    "error.model.is_hdf5": {
        "en": "{path}: is an HDF5 file, not a scratchcnn model file",
        "zh": "{path}：是 HDF5 文件，不是 scratchcnn 模型文件",
    },
    "error.model.is_pickle": {
        "en": "{path}: is a Python pickle, not a scratchcnn model file",
        "zh": "{path}：是 Python pickle 文件，不是 scratchcnn 模型文件",
    },
    "error.model.is_gzip": {
        "en": "{path}: is a gzip file, not a scratchcnn model file",
        "zh": "{path}：是 gzip 文件，不是 scratchcnn 模型文件",
    },
    "error.model.not_npz": {
        "en": "{path}: not a scratchcnn model file (not an .npz archive)",
        "zh": "{path}：不是 scratchcnn 模型文件（不是 .npz 压缩包）",
    },
    "error.model.is_pytorch": {
        "en": "{path}: not a scratchcnn model file (it looks like a PyTorch file)",
        "zh": "{path}：不是 scratchcnn 模型文件（看起来是 PyTorch 文件）",
    },
    "error.model.foreign_npz": {
        "en": "{path}: not a scratchcnn model file (an .npz archive without a scratchcnn header)",
        "zh": "{path}：不是 scratchcnn 模型文件（是没有 scratchcnn 文件头的 .npz 压缩包）",
    },
    "error.model.other_zip": {
        "en": "{path}: not a scratchcnn model file (a zip archive of other files)",
        "zh": "{path}：不是 scratchcnn 模型文件（是装有其他文件的 zip 压缩包）",
    },
    "error.model.other_format": {
        "en": "{path}: not a scratchcnn model file (its header says format {format})",
        "zh": "{path}：不是 scratchcnn 模型文件（文件头中的格式为 {format}）",
    },
    "error.model.newer": {
        "en": "{path}: written by {writer} (file format version {version}); this scratchcnn "
        "{current} reads versions up to {supported}",
        "zh": "{path}：由 {writer} 写出（文件格式版本 {version}）；当前的 scratchcnn {current} "
        "最高只能读取版本 {supported}",
    },
    "error.model.newer.hint": {"en": "upgrade scratchcnn", "zh": "请升级 scratchcnn"},
    "error.fit.input_shape": {
        "en": "{source}: the model takes inputs of shape {shape}, not {expected} ({data})",
        "zh": "{source}：模型的输入形状是 {shape}，而不是 {expected}（{data}）",
    },
    "error.fit.cannot_take": {
        "en": "{source}: the model cannot take {data}: {reason}",
        "zh": "{source}：模型无法接受{data}：{reason}",
    },
    "error.fit.not_scores": {
        "en": "{source}: the model outputs shape {shape}, not class scores",
        "zh": "{source}：模型输出的形状是 {shape}，而不是各类别的得分",
    },
    "error.fit.class_names": {
        "en": "{source}: metadata names {names} classes, the model outputs {classes}",
        "zh": "{source}：元数据列出 {names} 个类别，而模型输出 {classes} 个",
    },
    "error.preset.unknown": {"en": "unknown model {name}", "zh": "未知的模型 {name}"},
    "error.data.unknown": {"en": "unknown data set {name}", "zh": "未知的数据集 {name}"},
    "error.data.unknown_split": {
        "en": "unknown split {split} for {name}",
        "zh": "{name} 没有名为 {split} 的划分",
    },
    "error.data.no_data_dir": {
        "en": "--data-dir {root}: no such folder",
        "zh": "--data-dir {root}：文件夹不存在",
    },
    "error.data.no_data_dir.hint": {
        "en": "pass a folder holding {name}/<files> or the files themselves",
        "zh": "请给出包含 {name}/<文件> 或直接包含这些文件的文件夹",
    },
    "error.data.no_env_dir": {
        "en": "{variable}={root}: no such folder",
        "zh": "{variable}={root}：文件夹不存在",
    },
    "error.data.no_env_dir.hint": {
        "en": "unset {variable} or point it at a folder holding <name>/<files>",
        "zh": "请取消设置 {variable}，或让它指向包含 <数据集名>/<文件> 的文件夹",
    },
    "error.data.bundled_missing": {
        "en": "{name}: the bundled files are missing from {folder}",
        "zh": "{name}：{folder} 中缺少随包附带的文件",
    },
    "error.download.needs_pooch": {
        "en": "{name}: {missing} must be downloaded, which needs the optional package pooch",
        "zh": "{name}：需要下载 {missing}，这需要可选的 pooch 包",
    },
    "error.download.needs_pooch.hint": {
        "en": "pip install 'scratchcnn[data]', or provide the files with SCRATCHCNN_DATA "
        "(a folder holding {name}/<files>) or --data-dir",
        "zh": "请运行 pip install 'scratchcnn[data]'，或通过 SCRATCHCNN_DATA"
        "（包含 {name}/<文件> 的文件夹）或 --data-dir 提供这些文件",
    },
    "error.download.offline": {
        "en": "{name}: no mirror could be reached (offline?), and {count} file(s) are not "
        "here: {files}",
        "zh": "{name}：无法连接任何镜像（是否处于离线状态？），且本地缺少 {count} 个文件：{files}",
    },
    "error.download.offline.hint": {
        "en": "to work offline, use --dataset mnist-sample (bundled, works offline); or set "
        "SCRATCHCNN_DATA to a folder holding {name}/<these files>, or pass --data-dir with a "
        "folder holding them",
        "zh": "离线使用时请改用 --dataset mnist-sample（随包附带，无需联网）；或将 "
        "SCRATCHCNN_DATA 设为包含 {name}/<这些文件> 的文件夹，或用 --data-dir 指定存放它们的文件夹",
    },
    "error.download.failed": {
        "en": "{name}: could not download {count} file(s): {files} [tried {tried}]",
        "zh": "{name}：有 {count} 个文件无法下载：{files} [已尝试 {tried}]",
    },
    "error.download.failed.hint": {
        "en": "use --dataset mnist-sample (bundled, works offline); or run `scratchcnn data "
        "download {name}` again later; or set SCRATCHCNN_DATA to a folder holding "
        "{name}/<these files>, or pass --data-dir with a folder holding them",
        "zh": "请改用 --dataset mnist-sample（随包附带，无需联网）；或稍后再运行 `scratchcnn data "
        "download {name}`；或将 SCRATCHCNN_DATA 设为包含 {name}/<这些文件> 的文件夹，"
        "或用 --data-dir 指定存放它们的文件夹",
    },
    "error.image.folder": {
        "en": "{path}: is a folder, not an image",
        "zh": "{path}：是文件夹，不是图像",
    },
    "error.image.unknown": {
        "en": "{path}: not an image Pillow can read (PNG, JPEG, BMP, GIF, TIFF...)",
        "zh": "{path}：不是 Pillow 能读取的图像（PNG、JPEG、BMP、GIF、TIFF 等）",
    },
    "error.image.too_large": {
        "en": "{path}: image too large: {reason}",
        "zh": "{path}：图像太大：{reason}",
    },
    "error.image.damaged": {
        "en": "{path}: damaged or unreadable image: {reason}",
        "zh": "{path}：图像已损坏或无法读取：{reason}",
    },
    "cli.split_adjective.train": {"en": "training", "zh": "训练"},
    "cli.split_adjective.test": {"en": "test", "zh": "测试"},
    # summary
    "cli.summary.help": {
        "en": "show a preset's or a model file's layers, output shapes and parameters",
        "zh": "显示预设模型或模型文件的各层、输出形状和参数",
    },
    "cli.summary.help.model": {
        "en": "a preset ({presets}) or a model file; none lists the presets",
        "zh": "预设模型（{presets}）或模型文件；不给出时列出所有预设",
    },
    "cli.summary.recipe": {"en": "Training recipe: {recipe}", "zh": "训练配方：{recipe}"},
    "cli.summary.recipe_on": {
        "en": "  on {dataset}: {settings}",
        "zh": "  在 {dataset} 上：{settings}",
    },
    "cli.summary.preset": {"en": "preset: {value}", "zh": "预设：{value}"},
    "cli.summary.dataset": {"en": "dataset: {value}", "zh": "数据集：{value}"},
    "cli.preset.classic": {
        "en": "the notebook's network: Conv 3x3 x8 -> MaxPool 2 -> Dense 1352 -> 10",
        "zh": "笔记本中的网络：Conv 3x3 x8 -> MaxPool 2 -> Dense 1352 -> 10",
    },
    "cli.preset.lenet": {
        "en": "LeNet-5 with ReLU: two 5x5 convolutions and three dense layers",
        "zh": "使用 ReLU 的 LeNet-5：两个 5x5 卷积层和三个全连接层",
    },
    "cli.preset.fast": {
        "en": "two conv/ReLU/pool/BatchNorm blocks (16-32 channels), one epoch: 99% in seconds",
        "zh": "两个 卷积/ReLU/池化/BatchNorm 块（16-32 通道），训练一轮：几秒内达到 99%",
    },
    "cli.preset.best": {
        "en": "three conv blocks (32-64-128 channels), three epochs of 1-pixel shifts: 99.5%",
        "zh": "三个卷积块（32-64-128 通道），三轮 1 像素随机平移训练：99.5%",
    },
    # data
    "cli.data.help": {
        "en": "list, download and verify data sets",
        "zh": "列出、下载和校验数据集",
    },
    "cli.data.description": {
        "en": "List, download and verify the data sets scratchcnn can load.",
        "zh": "列出、下载和校验 scratchcnn 可以加载的数据集。",
    },
    "cli.data.list.help": {
        "en": "show each data set, its splits and sizes, and where it is found",
        "zh": "显示每个数据集、它的各个划分和大小，以及在哪里找到",
    },
    "cli.data.download.help": {
        "en": "download a data set and check its SHA-256 checksums",
        "zh": "下载数据集并校验其 SHA-256 校验和",
    },
    "cli.data.download.description": {
        "en": "Download every file of a data set into the cache (or into DATA_DIR/NAME/ with "
        "--data-dir), verified by SHA-256. Files already there with the right checksum are kept.",
        "zh": "把数据集的每个文件下载到缓存中（使用 --data-dir 时下载到 DATA_DIR/NAME/），"
        "并用 SHA-256 校验。已存在且校验和正确的文件会保留。",
    },
    "cli.data.verify.help": {
        "en": "check the SHA-256 of a data set's files",
        "zh": "校验数据集文件的 SHA-256",
    },
    "cli.data.verify.description": {
        "en": "Find each file of a data set in lookup order and compare its SHA-256 with the "
        "published one. Exit status 1 if any file is missing or differs.",
        "zh": "按查找顺序找到数据集的每个文件，并将其 SHA-256 与公布的值比较。"
        "只要有文件缺失或不一致，退出状态就是 1。",
    },
    "cli.data.name": {"en": "one of: {names}", "zh": "以下之一：{names}"},
    "cli.data.help.download_dir": {
        "en": "download into DATA_DIR/NAME/ instead of the cache",
        "zh": "下载到 DATA_DIR/NAME/，而不是缓存",
    },
    "cli.data.help.data_dir": {
        "en": "look here first: a folder holding NAME/<files>, or the files themselves",
        "zh": "优先在这里查找：包含 NAME/<文件> 或直接包含这些文件的文件夹",
    },
    "cli.data.found_at": {"en": "{source}: {folder}", "zh": "{source}：{folder}"},
    "cli.data.bundled": {"en": "bundled", "zh": "随包附带"},
    "cli.data.not_downloaded": {"en": "not downloaded", "zh": "未下载"},
    "cli.data.col.name": {"en": "NAME", "zh": "名称"},
    "cli.data.col.split": {"en": "SPLIT", "zh": "划分"},
    "cli.data.col.images": {"en": "IMAGES", "zh": "图像数"},
    "cli.data.col.download": {"en": "DOWNLOAD", "zh": "下载大小"},
    "cli.data.col.found": {"en": "FOUND IN", "zh": "所在位置"},
    "cli.data.col.file": {"en": "FILE", "zh": "文件"},
    "cli.data.col.bytes": {"en": "BYTES", "zh": "字节数"},
    "cli.data.col.check": {"en": "CHECK", "zh": "校验"},
    "cli.data.col.source": {"en": "SOURCE", "zh": "来源"},
    "cli.data.col.status": {"en": "STATUS", "zh": "状态"},
    "cli.data.source.cache": {"en": "cache", "zh": "缓存"},
    "cli.data.source.package": {"en": "package", "zh": "安装包"},
    "cli.data.status.OK": {"en": "OK", "zh": "正确"},
    "cli.data.status.OK (recompressed)": {"en": "OK (recompressed)", "zh": "正确（重新压缩过）"},
    "cli.data.status.MISMATCH": {"en": "MISMATCH", "zh": "不一致"},
    "cli.data.status.missing": {"en": "missing", "zh": "缺失"},
    "cli.data.nothing_to_download": {
        "en": "{name} is bundled with scratchcnn: nothing to download",
        "zh": "{name} 随 scratchcnn 附带，无需下载",
    },
    "cli.data.downloaded_from": {"en": "downloaded from {url}", "zh": "下载自 {url}"},
    "cli.data.already_present": {"en": "already present", "zh": "已存在"},
    "cli.data.files_in": {
        "en": "{name}: {count} files in {folder}",
        "zh": "{name}：{count} 个文件，位于 {folder}",
    },
    "cli.data.files_in.one": {
        "en": "{name}: {count} file in {folder}",
        "zh": "{name}：{count} 个文件，位于 {folder}",
    },
    "cli.data.all_ok": {
        "en": "{name}: all {count} files OK",
        "zh": "{name}：全部 {count} 个文件正确",
    },
    "cli.data.all_ok.one": {
        "en": "{name}: the {count} file is OK",
        "zh": "{name}：{count} 个文件正确",
    },
    "cli.data.problems": {
        "en": "{name}: {summary} of {count} files",
        "zh": "{name}：共 {count} 个文件，其中 {summary}",
    },
    "cli.data.problems.one": {
        "en": "{name}: {summary} of {count} file",
        "zh": "{name}：共 {count} 个文件，其中 {summary}",
    },
    "cli.data.provide_missing": {
        "en": "provide missing files with `scratchcnn data download {name}`, SCRATCHCNN_DATA "
        "(a folder holding {name}/<files>) or --data-dir",
        "zh": "可用 `scratchcnn data download {name}`、SCRATCHCNN_DATA（包含 {name}/<文件> 的文件夹）"
        "或 --data-dir 提供缺失的文件",
    },
    # export
    "cli.export.help": {
        "en": "write a saved model as an ONNX graph (for ONNX Runtime and friends)",
        "zh": "把已保存的模型写成 ONNX 计算图（供 ONNX Runtime 等使用）",
    },
    "cli.export.description": {
        "en": "Export a model file to ONNX. The graph takes 'pixels', float32 (N, 28, 28, 1) "
        "with values 0-255, applies the model's own preprocessing, and outputs "
        "'probabilities' and 'logits'. Needs the onnx package (pip install "
        "'scratchcnn[onnx]'). See docs/export.md.",
        "zh": "把模型文件导出为 ONNX。计算图的输入 'pixels' 为 float32 (N, 28, 28, 1)、"
        "取值 0-255，图中执行模型自身的预处理，输出 'probabilities' 和 'logits'。"
        "需要 onnx 包（pip install 'scratchcnn[onnx]'）。参见 docs/export.md。",
    },
    "cli.export.help.output": {
        "en": "where to write the graph (default: the model's name with .onnx)",
        "zh": "计算图的写出位置（默认：模型文件名改用 .onnx 后缀）",
    },
    "cli.export.help.opset": {
        "en": "ONNX opset (default: {default})",
        "zh": "ONNX opset 版本（默认：{default}）",
    },
    # classic
    "cli.classic.help": {
        "en": "re-run the original notebook's experiments, with identical output",
        "zh": "重新运行原始笔记本中的实验，输出完全相同",
    },
    "cli.classic.description": {
        "en": "Run the original notebook's two experiments: the untrained network evaluated "
        "on the test images, then per-image SGD on the training images followed by a test. "
        "With the defaults the output is identical to the notebook's.",
        "zh": "运行原始笔记本中的两个实验：先用未训练的网络在测试图像上评估，"
        "再在训练图像上逐张做 SGD，然后测试。使用默认设置时，输出与笔记本完全相同。",
    },
    "cli.classic.help.lang": {
        "en": "print the notebook's own Chinese messages (default) or English ones",
        "zh": "输出笔记本原有的中文信息（默认）或英文信息",
    },
    "cli.classic.help.seed": {
        "en": "seed of the random stream (default: {default})",
        "zh": "随机数流的种子（默认：{default}）",
    },
    "cli.classic.help.train_size": {
        "en": "train on the first N training images (default: {default})",
        "zh": "用前 N 张训练图像训练（默认：{default}）",
    },
    "cli.classic.help.test_size": {
        "en": "test on the first N test images (default: {default})",
        "zh": "用前 N 张测试图像测试（默认：{default}）",
    },
    "cli.classic.help.epochs": {
        "en": "training epochs (default: {default})",
        "zh": "训练轮数（默认：{default}）",
    },
    "cli.classic.help.lr": {
        "en": "SGD learning rate (default: {default})",
        "zh": "SGD 学习率（默认：{default}）",
    },
    "cli.classic.help.filters": {
        "en": "number of 3x3 filters (default: {default})",
        "zh": "3x3 卷积核的个数（默认：{default}）",
    },
    "cli.classic.help.dataset": {
        "en": "data set to use (default: mnist, the notebook's)",
        "zh": "使用的数据集（默认：mnist，即笔记本所用的）",
    },
    "cli.classic.too_many": {
        "en": "{option} {size}: {dataset} has only {available} {split} images",
        "zh": "{option} {size}：{dataset} 只有 {available} 张{split}图像",
    },
    "cli.classic.too_many.hint": {"en": "choose at most {most}", "zh": "最多选择 {most}"},
    # predict
    "cli.predict.help": {
        "en": "classify PNG/JPEG images of digits with a saved model",
        "zh": "用已保存的模型识别 PNG/JPEG 数字图像",
    },
    "cli.predict.description": {
        "en": "Classify images with a saved model. Each image (a drawing, a scan or a phone "
        "photo of paper) is turned into an MNIST-style 28x28 digit: EXIF orientation applied, "
        "light flattened, ink thresholded, ruled lines and shadows along the edges left out, "
        "cropped, scaled to fit 20x20, centred by centre of mass. "
        "Needs Pillow: pip install 'scratchcnn[images]'.",
        "zh": "用已保存的模型识别图像。每张图像（手绘、扫描件或纸张的手机照片）先转换成 "
        "MNIST 风格的 28x28 数字：按 EXIF 方向旋正，拉平光照，对墨迹取阈值，去掉横线和沿边缘的"
        "阴影，裁剪，缩放到 20x20 以内，按质心居中。需要 Pillow：pip install 'scratchcnn[images]'。",
    },
    "cli.predict.help.show_input": {
        "en": "write a PNG with one row per image: the picture, the digit's crop outlined, "
        "and the 28x28 input the network saw",
        "zh": "写出一张 PNG，每张图像一行：原图（框出数字的裁剪区域）以及网络看到的 28x28 输入",
    },
    "images.cannot_write": {
        "en": "{path}: cannot write: {reason}",
        "zh": "{path}：无法写入：{reason}",
    },
    "images.not_2d": {
        "en": "{source}: expected a 2-D gray image, got shape {shape}",
        "zh": "{source}：需要二维灰度图像，实际形状为 {shape}",
    },
    "images.too_faint": {
        "en": "{source}: no digit found: the marks are too faint",
        "zh": "{source}：未找到数字：笔迹太淡",
    },
    "cli.predict.help.images": {
        "en": "image files (PNG, JPEG...)",
        "zh": "图像文件（PNG、JPEG 等）",
    },
    "cli.predict.help.top": {
        "en": "how many of the most probable classes to show (default: {default})",
        "zh": "显示概率最高的前几个类别（默认：{default}）",
    },
    "cli.predict.help.batch_size": {
        "en": "images per forward pass (default: {default})",
        "zh": "每次前向传播的图像数（默认：{default}）",
    },
    "cli.predict.reads": {
        "en": "predict reads 28x28 grayscale digits",
        "zh": "predict 读取的是 28x28 灰度数字图像",
    },
    "cli.predict.col.image": {"en": "image", "zh": "图像"},
    "cli.predict.col.class": {"en": "class", "zh": "类别"},
    "cli.predict.col.top": {"en": "top {count}", "zh": "前 {count} 名"},
    # --- scratchcnn serve: the command line, then the page (serve.page.*) -------------
    "serve.listening": {
        "en": "serving {model} on {url} (Ctrl-C to stop)",
        "zh": "正在 {url} 提供 {model}（按 Ctrl-C 停止）",
    },
    "serve.workers": {
        "en": "{count} worker processes answer predictions",
        "zh": "{count} 个工作进程回答预测请求",
    },
    "serve.workers.one": {
        "en": "1 worker process answers predictions",
        "zh": "1 个工作进程回答预测请求",
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
    # --- scratchcnn serve: its options ----------------------------------------------
    "cli.serve.help": {
        "en": "draw a digit in the browser and watch the network think",
        "zh": "在浏览器里写一个数字，看网络如何思考",
    },
    "cli.serve.description": {
        "en": "Serve a local web page where you draw a digit (or drop a photo) and see the "
        "prediction, the 28x28 input, every layer's feature maps and the saliency map. "
        "Needs Pillow: pip install 'scratchcnn[images]'.",
        "zh": "启动一个本地网页：在上面写一个数字（或拖入一张照片），即可看到预测结果、"
        "28x28 输入、每一层的特征图和显著性图。需要 Pillow：pip install 'scratchcnn[images]'。",
    },
    "cli.serve.help.model": {
        "en": "model file (.npz; default: the bundled demo model)",
        "zh": "模型文件（.npz；默认：随包附带的演示模型）",
    },
    "cli.serve.help.host": {
        "en": "address to listen on (default: 127.0.0.1, this machine only; 0.0.0.0 exposes it)",
        "zh": "监听地址（默认：127.0.0.1，仅本机可访问；0.0.0.0 会对外开放）",
    },
    "cli.serve.help.port": {
        "en": "port (default: 8000; 0 picks a free one)",
        "zh": "端口（默认：8000；0 表示自动选择一个空闲端口）",
    },
    "cli.serve.help.open": {"en": "open the page in a web browser", "zh": "在网页浏览器中打开页面"},
    "cli.serve.help.lang": {
        "en": "the page's first language (default: the command line's)",
        "zh": "网页的初始语言（默认：与命令行相同）",
    },
    "cli.serve.help.log": {
        "en": "print one line per request to stderr",
        "zh": "每个请求在标准错误输出打印一行",
    },
    "cli.serve.help.workers": {
        "en": "processes answering predictions, each with its own copy of the model; 0 answers "
        "in the server process (default: one per core, at most {most}: {default} here)",
        "zh": "回答预测请求的进程数，每个进程持有一份模型；0 表示在服务器进程内回答"
        "（默认：每个核心一个，至多 {most} 个；本机为 {default}）",
    },
    "cli.serve.bad_workers": {
        "en": "{value!r} is not a number of workers (0 or more)",
        "zh": "{value!r} 不是有效的工作进程数（应为 0 或更大）",
    },
    "cli.serve.bad_port": {
        "en": "expected a port from 0 to 65535, got {value!r}",
        "zh": "端口应在 0 到 65535 之间，实际为 {value!r}",
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
    "cli.help.threads": {
        "en": "run on N threads: batches cut into up to N parts computed side by side, "
        "each matrix product on one BLAS thread (default: one per core; needs threadpoolctl)",
        "zh": "使用 N 个线程运行：批次最多切成 N 份并行计算，每个矩阵乘法只用一个 BLAS 线程"
        "（默认：每个核心一个；需要 threadpoolctl）",
    },
    "cli.summary.table.layer": {"en": "Layer", "zh": "层"},
    "cli.summary.table.output_shape": {"en": "Output shape", "zh": "输出形状"},
    "cli.summary.table.params": {"en": "Params", "zh": "参数"},
    "cli.summary.table.total": {"en": "Total params", "zh": "参数总数"},
    "cli.summary.table.input": {"en": "Input shape", "zh": "输入形状"},
    "train.progress.epoch": {"en": "epoch {epoch}/{epochs}", "zh": "第 {epoch}/{epochs} 轮"},
}

#: argparse's own words in Chinese, keyed by the English text argparse passes to gettext
#: (its ``%``-placeholders kept). The command line hands these to argparse while it parses;
#: a text argparse changes in a later Python stays English until added here.
ARGPARSE_ZH: dict[str, str] = {
    "usage: ": "用法：",
    "positional arguments": "位置参数",
    "options": "选项",
    "optional arguments": "选项",
    "show this help message and exit": "显示此帮助信息并退出",
    "show program's version number and exit": "显示程序的版本号并退出",
    "argument %(argument_name)s: %(message)s": "参数 %(argument_name)s：%(message)s",
    "the following arguments are required: %s": "缺少以下必需参数：%s",
    "invalid choice: %(value)r (choose from %(choices)s)": "无效的选择：%(value)r（可选：%(choices)s）",
    "invalid %(type)s value: %(value)r": "无效的 %(type)s 值：%(value)r",
    "unrecognized arguments: %s": "无法识别的参数：%s",
    "expected one argument": "需要一个值",
    "expected at least one argument": "至少需要一个值",
    "expected at most one argument": "最多只能有一个值",
    "expected %s argument": "需要 %s 个值",
    "expected %s arguments": "需要 %s 个值",
    "ambiguous option: %(option)s could match %(matches)s": "有歧义的选项：%(option)s 可以匹配 %(matches)s",
    "not allowed with argument %s": "不能与参数 %s 同时使用",
    "one of the arguments %s is required": "必须给出参数 %s 之一",
    "ignored explicit argument %r": "忽略了显式给出的值 %r",
    "can't open '%(filename)s': %(error)s": "无法打开 '%(filename)s'：%(error)s",
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
