"""Train a preset with the library's training loop, as `scratchcnn train` does.

    python examples/train_with_trainer.py [OUT.npz]

Schedules, validation, history and checkpoints come with the Trainer; the model file
keeps the per-epoch history and the test metrics.
"""

import sys

import scratchcnn
from scratchcnn import datasets
from scratchcnn.presets import build_model
from scratchcnn.training import EpochPrinter, TrainConfig, Trainer, evaluate
from scratchcnn.training.history import test_record

out = sys.argv[1] if len(sys.argv) > 1 else "classic.npz"
images, labels = datasets.load("mnist-sample", "train")
model = build_model("classic", seed=0)              # the notebook's network
model.metadata.update({"dataset": "mnist-sample", "class_names": datasets.class_names("mnist-sample")})
config = TrainConfig(epochs=2, batch_size=64, lr=3e-3, validation_split=0.1)
trainer = Trainer(model, config, callbacks=[EpochPrinter()], checkpoint=out + ".ckpt.npz")
trainer.fit(images, labels)                          # one line per epoch

test = evaluate(model, *datasets.load("mnist-sample", "test"))
model.metadata["test"] = test_record(test, "mnist-sample")
scratchcnn.save(model, out)
print(f"test accuracy {test.accuracy:.2%} on {test.count} images; saved to {out}")
