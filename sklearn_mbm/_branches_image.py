"""A small image CNN trained from scratch, for any image size and channels.

:func:`build_cnn_branch` encodes an image ``(height, width, channels)`` with
pixels in [0, 255] (what :func:`sklearn_mbm._io.load_image_cell` gives) into
one vector: blocks of two 3x3 convolutions and a 2x2 max pooling, as many as
bring the smaller side down to about 7 pixels (2 blocks for 28x28 digits, 5
for 224x224 photos), then a flatten. Keras is passed in by the caller.
"""

import math

__all__ = ["build_cnn_branch", "cnn_blocks"]


def cnn_blocks(shape, target=7):
    """Conv blocks (each halving the size) that bring ``min(H, W)`` near 7."""
    side = min(shape[0], shape[1])
    return max(1, round(math.log2(max(side, 2) / target)))


def build_cnn_branch(keras, image_input, *, filters=32, max_filters=128, index=0):
    """A CNN over ``image_input`` (pixels in [0, 255]); returns a flat vector.

    Block ``b`` has ``min(filters * 2**b, max_filters)`` channels: two 3x3
    convolutions with ReLU ("same" padding), then 2x2 max pooling; the number
    of blocks follows the input size (:func:`cnn_blocks`).
    """
    shape = tuple(image_input.shape[1:])
    x = keras.layers.Rescaling(1.0 / 255, name=f"modality_{index}_rescale")(image_input)
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
