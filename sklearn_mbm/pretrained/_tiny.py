"""Tiny, randomly initialised KerasHub presets, written to a local folder.

For tests, the example gallery and the benchmarks, which run offline: each
builder makes a real KerasHub model from a small config, with its real
tokenizer or converter, and writes it with ``save_to_preset``, so the
embedders load it through the same ``preset=`` path as a downloaded preset.
The weights are random: the embeddings mean nothing.
"""

import os

# A WordPiece vocabulary for the digit prompts of the examples.
DIGIT_WORDS = (
    "zero one two three four five six seven eight nine "
    "a photo of the digit number is spoken handwritten"
).split()


def save_tiny_bert(folder, *, hidden_dim=16, num_layers=1, max_sequence_length=64):
    """A BERT backbone (hidden 16, 1 layer, 2 heads) and its WordPiece tokenizer."""
    import keras_hub

    vocabulary = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *DIGIT_WORDS]
    keras_hub.models.BertBackbone(
        vocabulary_size=len(vocabulary),
        num_layers=num_layers,
        num_heads=2,
        hidden_dim=hidden_dim,
        intermediate_dim=2 * hidden_dim,
        max_sequence_length=max_sequence_length,
    ).save_to_preset(folder)
    keras_hub.tokenizers.BertTokenizer(
        vocabulary=vocabulary, lowercase=True
    ).save_to_preset(folder)
    return os.fspath(folder)


def save_tiny_clip(
    folder, *, image_size=16, patch_size=4, hidden_dim=16, max_sequence_length=20
):
    """A CLIP (1-layer vision and text encoders, projection 8) with its
    byte-pair tokenizer over letters and its image converter."""
    import keras_hub

    letters = [chr(c) for c in range(ord("a"), ord("z") + 1)]
    vocabulary = {}
    for token in [*letters, *(f"{c}</w>" for c in letters), "th", "the</w>"]:
        vocabulary[token] = len(vocabulary)
    vocabulary["<|startoftext|>"] = len(vocabulary)
    vocabulary["<|endoftext|>"] = len(vocabulary)
    vision = keras_hub.models.CLIPVisionEncoder(
        patch_size=patch_size,
        hidden_dim=hidden_dim,
        num_layers=1,
        num_heads=2,
        intermediate_dim=2 * hidden_dim,
        image_shape=(image_size, image_size, 3),
    )
    text = keras_hub.models.CLIPTextEncoder(
        vocabulary_size=len(vocabulary),
        embedding_dim=hidden_dim,
        hidden_dim=hidden_dim,
        num_layers=1,
        num_heads=2,
        intermediate_dim=2 * hidden_dim,
        max_sequence_length=max_sequence_length,
    )
    keras_hub.models.CLIPBackbone(vision, text, projection_dim=8).save_to_preset(folder)
    keras_hub.tokenizers.CLIPTokenizer(
        vocabulary=vocabulary, merges=["t h", "th e</w>"]
    ).save_to_preset(folder)
    # CLIP's normalisation: (pixel / 255 - mean) / std per channel
    mean, std = (0.4815, 0.4578, 0.4082), (0.2686, 0.2613, 0.2758)
    keras_hub.layers.CLIPImageConverter(
        image_size=(image_size, image_size),
        scale=[1 / (255 * s) for s in std],
        offset=[-m / s for m, s in zip(mean, std)],
    ).save_to_preset(folder)
    return os.fspath(folder)


def save_tiny_whisper(folder, *, sampling_rate=1600, seconds=2, num_mels=8):
    """A Whisper backbone (hidden 8, 1 layer) with its audio converter: 2 s
    windows at 1.6 kHz, 64-point FFT, hop 32 (100 frames, 50 encoder states)."""
    import keras_hub

    stride = 32
    frames = sampling_rate * seconds // stride
    keras_hub.models.WhisperBackbone(
        vocabulary_size=16,
        num_layers=1,
        num_heads=2,
        hidden_dim=8,
        intermediate_dim=16,
        num_mels=num_mels,
        max_encoder_sequence_length=frames,
        max_decoder_sequence_length=8,
    ).save_to_preset(folder)
    keras_hub.layers.WhisperAudioConverter(
        num_mels=num_mels,
        num_fft_bins=64,
        stride=stride,
        sampling_rate=sampling_rate,
        max_audio_length=seconds,
    ).save_to_preset(folder)
    return os.fspath(folder)
