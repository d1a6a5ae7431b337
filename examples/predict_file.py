"""Classify image files (PNG, JPEG...) of digits with a saved model.

    python examples/predict_file.py MODEL.npz IMAGE [IMAGE...]

Each picture is made MNIST-like (grayscale, light background inverted, cropped, centred)
and normalised the way the model was trained; needs Pillow.
"""

import sys

import numpy as np

import scratchcnn
from scratchcnn.images import load_image_as_mnist
from scratchcnn.preprocessing import normalize

model = scratchcnn.load(sys.argv[1])
names = model.metadata.get("class_names") or [str(i) for i in range(10)]
pixels = np.stack([load_image_as_mnist(path) for path in sys.argv[2:]])   # uint8 (N, 28, 28)
x = normalize(pixels, model.metadata.get("preprocessing"), model.dtype)
for path, p in zip(sys.argv[2:], model.predict_proba(x)):
    best = int(np.argmax(p))
    print(f"{path}: {names[best]} ({p[best]:.1%})")
