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


def word_vocabulary(size):
    """A WordPiece vocabulary of ``size`` entries: BERT's special tokens, the
    digit words, single letters with their ``##`` continuations, then made-up
    words (as long as ``size`` asks, 30522 for a BERT-sized one)."""
    letters = [chr(c) for c in range(ord("a"), ord("z") + 1)]
    base = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *DIGIT_WORDS]
    base += [*letters, *(f"##{c}" for c in letters)]
    vocabulary = list(dict.fromkeys(base))  # "a" is a word and a letter
    seen = set(vocabulary)
    number = 26
    while len(vocabulary) < size:
        # base-26 spellings "ba", "bb", ..., "baa", ...: distinct words
        word, n = "", number
        while n:
            n, digit = divmod(n, 26)
            word = letters[digit] + word
        number += 1
        if word not in seen:
            seen.add(word)
            vocabulary.append(word)
    return vocabulary


def save_tiny_distil_bert(
    folder,
    *,
    vocabulary_size=None,
    hidden_dim=16,
    num_layers=1,
    num_heads=2,
    intermediate_dim=None,
    max_sequence_length=64,
):
    """A DistilBERT backbone and its WordPiece tokenizer (:func:`word_vocabulary`).

    The defaults are tiny; ``vocabulary_size=30522, hidden_dim=768,
    num_layers=6, num_heads=12`` is the size of ``distil_bert_base_en``.
    """
    import keras_hub

    vocabulary = word_vocabulary(vocabulary_size or 0)
    keras_hub.models.DistilBertBackbone(
        vocabulary_size=len(vocabulary),
        num_layers=num_layers,
        num_heads=num_heads,
        hidden_dim=hidden_dim,
        intermediate_dim=intermediate_dim or 4 * hidden_dim,
        max_sequence_length=max_sequence_length,
    ).save_to_preset(folder)
    keras_hub.tokenizers.DistilBertTokenizer(
        vocabulary=vocabulary, lowercase=True
    ).save_to_preset(folder)
    return os.fspath(folder)


def save_tiny_roberta(folder, *, hidden_dim=16, max_sequence_length=64):
    """A RoBERTa backbone (1 layer, 2 heads) and its byte-pair tokenizer over
    letters, with RoBERTa's ``<s>``, ``</s>``, ``<pad>`` and ``<mask>``."""
    import keras_hub

    vocabulary = {"<s>": 0, "<pad>": 1, "</s>": 2, "<mask>": 3}
    letters = [chr(c) for c in range(ord("a"), ord("z") + 1)]
    # byte-level BPE: a space before a word is the byte "Ġ"
    for token in ["Ġ", *letters, *(f"Ġ{c}" for c in letters), "th", "Ġth", "Ġthe"]:
        vocabulary[token] = len(vocabulary)
    keras_hub.models.RobertaBackbone(
        vocabulary_size=len(vocabulary),
        num_layers=1,
        num_heads=2,
        hidden_dim=hidden_dim,
        intermediate_dim=2 * hidden_dim,
        max_sequence_length=max_sequence_length,
    ).save_to_preset(folder)
    keras_hub.tokenizers.RobertaTokenizer(
        vocabulary=vocabulary, merges=["t h", "Ġ t", "Ġt h", "Ġth e"]
    ).save_to_preset(folder)
    return os.fspath(folder)


def _digit_sentencepiece(**special):
    """A SentencePiece word model of the digit words, as serialised bytes;
    ``special`` sets its size and special pieces (ids, pieces, symbols)."""
    import io

    import sentencepiece

    proto = io.BytesIO()
    sentences = [" ".join(DIGIT_WORDS[i:] + DIGIT_WORDS[:i]) for i in range(20)]
    sentencepiece.SentencePieceTrainer.train(
        sentence_iterator=iter(sentences),
        model_writer=proto,
        model_type="word",
        minloglevel=2,
        **special,
    )
    return proto.getvalue()


def save_tiny_deberta(folder, *, hidden_dim=16, max_sequence_length=64):
    """A DeBERTa-v3 backbone (1 layer, 2 heads) and a SentencePiece tokenizer
    trained on the digit words (word model, DeBERTa's special pieces)."""
    import keras_hub

    proto = _digit_sentencepiece(
        vocab_size=len(DIGIT_WORDS) + 6,
        pad_id=0,
        unk_id=1,
        bos_id=2,
        eos_id=3,
        pad_piece="[PAD]",
        unk_piece="[UNK]",
        bos_piece="[CLS]",
        eos_piece="[SEP]",
        user_defined_symbols="[MASK]",
    )
    tokenizer = keras_hub.tokenizers.DebertaV3Tokenizer(proto=proto)
    keras_hub.models.DebertaV3Backbone(
        vocabulary_size=tokenizer.vocabulary_size(),
        num_layers=1,
        num_heads=2,
        hidden_dim=hidden_dim,
        intermediate_dim=2 * hidden_dim,
        max_sequence_length=max_sequence_length,
        bucket_size=8,
    ).save_to_preset(folder)
    tokenizer.save_to_preset(folder)
    return os.fspath(folder)


def save_tiny_vit(
    folder,
    *,
    image_size=16,
    patch_size=4,
    hidden_dim=16,
    num_layers=1,
    num_heads=2,
    mlp_dim=None,
    use_class_token=True,
):
    """A ViT backbone (a class token unless ``use_class_token=False``) with its
    image converter ([-1, 1] pixels).

    The defaults are tiny; ``image_size=224, patch_size=32, hidden_dim=768,
    num_layers=12, num_heads=12`` is ViT-B/32 (the size of CLIP ViT-B/32's
    vision tower).
    """
    import keras_hub

    keras_hub.models.ViTBackbone(
        image_shape=(image_size, image_size, 3),
        patch_size=patch_size,
        num_layers=num_layers,
        num_heads=num_heads,
        hidden_dim=hidden_dim,
        mlp_dim=mlp_dim or 4 * hidden_dim,
        use_class_token=use_class_token,
    ).save_to_preset(folder)
    keras_hub.layers.ViTImageConverter(
        image_size=(image_size, image_size), scale=1 / 127.5, offset=-1.0
    ).save_to_preset(folder)
    return os.fspath(folder)


def save_tiny_dinov2(folder, *, image_size=28, patch_size=14, hidden_dim=16):
    """A DINOv2 backbone (1 layer, 2 heads, 1 register token) with its image
    converter (ImageNet mean and std)."""
    import keras_hub

    keras_hub.models.DINOV2Backbone(
        patch_size=patch_size,
        num_layers=1,
        hidden_dim=hidden_dim,
        num_heads=2,
        intermediate_dim=2 * hidden_dim,
        num_register_tokens=1,
        image_shape=(image_size, image_size, 3),
        position_embedding_shape=(image_size, image_size, 3),
    ).save_to_preset(folder)
    mean, std = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)
    keras_hub.layers.DINOV2ImageConverter(
        image_size=(image_size, image_size),
        scale=[1 / (255 * s) for s in std],
        offset=[-m / s for m, s in zip(mean, std)],
    ).save_to_preset(folder)
    return os.fspath(folder)


def save_tiny_siglip(
    folder, *, image_size=16, patch_size=4, hidden_dim=16, sequence_length=16
):
    """A SigLIP (1-layer vision and text encoders) with a SentencePiece
    tokenizer trained on the digit words, its image converter ([-1, 1]
    pixels) and its preprocessor, whose fixed sequence length is the text
    encoder's (SigLIP's text tower pools the last position)."""
    import keras_hub

    proto = _digit_sentencepiece(
        vocab_size=len(DIGIT_WORDS) + 2,
        unk_id=0,
        eos_id=1,
        bos_id=-1,
        pad_id=-1,
        unk_piece="<unk>",
        eos_piece="</s>",
    )
    tokenizer = keras_hub.tokenizers.SigLIPTokenizer(proto=proto)
    vision = keras_hub.models.SigLIPVisionEncoder(
        patch_size=patch_size,
        hidden_dim=hidden_dim,
        num_layers=1,
        num_heads=2,
        intermediate_dim=2 * hidden_dim,
        image_shape=(image_size, image_size, 3),
    )
    text = keras_hub.models.SigLIPTextEncoder(
        vocabulary_size=tokenizer.vocabulary_size(),
        embedding_dim=hidden_dim,
        hidden_dim=hidden_dim,
        num_layers=1,
        num_heads=2,
        intermediate_dim=2 * hidden_dim,
        max_sequence_length=sequence_length,
    )
    keras_hub.models.SigLIPBackbone(vision, text).save_to_preset(folder)
    tokenizer.save_to_preset(folder)
    converter = keras_hub.layers.SigLIPImageConverter(
        image_size=(image_size, image_size), scale=1 / 127.5, offset=-1.0
    )
    converter.save_to_preset(folder)
    keras_hub.models.SigLIPPreprocessor(
        tokenizer, converter, sequence_length=sequence_length
    ).save_to_preset(folder)
    return os.fspath(folder)
