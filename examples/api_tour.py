import numpy as np

import scratchcnn
from scratchcnn import datasets
from scratchcnn.layers import Conv2D, Dense, Flatten, MaxPool2D, ReLU
from scratchcnn.losses import softmax_cross_entropy
from scratchcnn.optim import Adam
from scratchcnn.preprocessing import normalize

rng = np.random.default_rng(0)                       # all randomness is explicit
model = scratchcnn.Sequential([
    Conv2D(1, 8, 3, padding="same", rng=rng), ReLU(), MaxPool2D(2),
    Flatten(), Dense(14 * 14 * 8, 10, rng=rng),
], input_shape=(28, 28, 1))
model.summary()                                      # layers, output shapes, parameters

images, labels = datasets.load("mnist-sample", "train")   # uint8 (4000, 28, 28), (4000,)
x = normalize(images)                                # float32 NHWC (4000, 28, 28, 1)
optimizer = Adam(model.parameters(), lr=3e-3)
for epoch in range(2):
    for i in range(0, len(x), 64):
        loss, grad = softmax_cross_entropy(model.forward(x[i:i + 64], training=True), labels[i:i + 64])
        model.backward(grad)                         # fills every layer's grads
        optimizer.step()                             # updates every layer's params
    print(f"epoch {epoch + 1}: last batch loss {loss:.3f}")

scratchcnn.save(model, "model.npz")                  # one .npz, no pickle, written atomically
test_images, test_labels = datasets.load("mnist-sample", "test")
print((scratchcnn.load("model.npz").predict(normalize(test_images)) == test_labels).mean())
