"""Does a model fit the inputs it is about to be given? One check for every front end.

``evaluate`` (data-set images) and ``predict`` (photos made MNIST-style) both need the
same answer before running a model: it takes inputs of this shape, outputs one score per
class, and its metadata names those classes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from scratchcnn.errors import ModelFileError

if TYPE_CHECKING:
    from scratchcnn.model import Sequential

#: Data sets cut from another one's images: a model trained on either meets the other fairly.
SAME_IMAGES = {"mnist-sample": "mnist"}


def other_training_dataset(metadata: dict[str, Any], dataset: str) -> str | None:
    """The data set a model was trained on, if it is not ``dataset``; else None.

    ``metadata`` is the model's (``metadata["dataset"]``); a model that records no data
    set gives None. ``mnist-sample`` counts as ``mnist``: its digits are MNIST's.
    """
    trained = metadata.get("dataset")
    if not isinstance(trained, str) or not trained:
        return None
    if SAME_IMAGES.get(trained, trained) == SAME_IMAGES.get(dataset, dataset):
        return None
    return trained


def check_model_fits(
    model: Sequential, input_shape: tuple[int, ...], source: str, data: str
) -> list[str]:
    """The names of the model's classes, once it is known to fit ``input_shape`` (H, W, C).

    ``source`` names the model (its file) and ``data`` what feeds it, for the messages.
    The names come from ``model.metadata["class_names"]``, else ``"0"``, ``"1"``...
    Raises :class:`~scratchcnn.errors.ModelFileError` saying what does not fit.
    """
    input_shape = tuple(input_shape)
    shape = tuple(model.input_shape or input_shape)
    if shape != input_shape:
        raise ModelFileError(
            message_key="error.fit.input_shape",
            source=source,
            shape=shape,
            expected=input_shape,
            data=data,
        )
    try:
        output = model.output_shapes(input_shape)[-1]
    except ValueError as exc:
        raise ModelFileError(
            message_key="error.fit.cannot_take", source=source, data=data, reason=exc
        ) from None
    if len(output) != 1:
        raise ModelFileError(message_key="error.fit.not_scores", source=source, shape=output)
    classes = output[0]
    names = model.metadata.get("class_names")
    if names is None:
        return [str(i) for i in range(classes)]
    if not (isinstance(names, list) and all(isinstance(n, str) for n in names)):
        raise ModelFileError(f"{source}: metadata 'class_names' is not a list of strings")
    if len(names) != classes:
        raise ModelFileError(
            message_key="error.fit.class_names", source=source, names=len(names), classes=classes
        )
    return names
