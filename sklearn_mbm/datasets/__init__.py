"""Multimodal data sets: spoken digits paired with handwritten digits.

- :func:`load_av_digits`: a 600-record sample shipped with the package.
- :func:`fetch_av_digits`: the full 3,000-record set, from local files or
  downloaded.
"""

from sklearn_mbm.datasets._av_digits import fetch_av_digits, load_av_digits

__all__ = ["fetch_av_digits", "load_av_digits"]
