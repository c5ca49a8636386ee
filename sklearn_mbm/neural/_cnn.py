"""The ``"cnn"`` branch's network: a small image CNN trained from scratch.

:func:`build_cnn` encodes an image ``(height, width, channels)`` with pixels
in [0, 1] (as ``ImageFeatureExtractor(backbone="pixels")`` reads them, grey
or colour) into one vector: blocks of two 3x3 convolutions and a 2x2 max
pooling, as many as bring the smaller side down to about 7 pixels (2 blocks
for 28x28 digits, 5 for 224x224 photos), then a flatten. Keras is passed in
by the caller.
"""

import math

__all__ = ["build_cnn", "cnn_blocks"]


def cnn_blocks(shape, target=7):
    """Conv blocks (each halving the size) that bring ``min(H, W)`` near 7."""
    side = min(shape[0], shape[1])
    return max(1, round(math.log2(max(side, 2) / target)))


def build_cnn(keras, image_input, *, filters=32, max_filters=128, index=0):
    """A CNN over ``image_input`` (pixels in [0, 1]); returns a flat vector.

    Block ``b`` has ``min(filters * 2**b, max_filters)`` channels: two 3x3
    convolutions with ReLU ("same" padding), then 2x2 max pooling; the number
    of blocks follows the input size (:func:`cnn_blocks`).
    """
    shape = tuple(image_input.shape[1:])
    x = image_input
    for block in range(cnn_blocks(shape)):
        width = min(filters * 2**block, max_filters)
        for conv in range(2):
            x = keras.layers.Conv2D(
                width,
                3,
                padding="same",
                activation="relu",
                name=f"modality_{index}_conv{block}_{conv}",
            )(x)
        x = keras.layers.MaxPooling2D(2, name=f"modality_{index}_pool{block}")(x)
    return keras.layers.Flatten(name=f"modality_{index}_flatten")(x)
