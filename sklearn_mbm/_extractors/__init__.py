"""What the extractors share: the base class with the batch loop and
``on_error`` (``_base.py``), and the private machinery of the public
extractor modules (:mod:`sklearn_mbm.image`, :mod:`sklearn_mbm.text`,
:mod:`sklearn_mbm.audio`): Keras applications for images
(``_keras_applications.py``), the batched audio features
(``_audio_features.py``) and their numba kernels (``_spectral_kernels.py``).
See :ref:`architecture`.
"""
