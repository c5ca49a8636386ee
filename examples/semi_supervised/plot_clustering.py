"""
====================================
No labels: clustering fused features
====================================

Without any label, do the records group by digit? We cluster the fused
features with :class:`~sklearn.cluster.KMeans` into ten clusters and compare
the clusters with the digits using the adjusted Rand index (ARI: 1 for a
perfect match, about 0 for a random assignment). Each modality alone is
compared with the fusion.
"""

# %%
import matplotlib.pyplot as plt
from sklearn.cluster import KMeans
from sklearn.metrics import adjusted_rand_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklearn_mbm import (
    AudioFeatureExtractor,
    FusionTransformer,
    ImageFeatureExtractor,
    TextFeatureExtractor,
    load_av_digits,
)

digits = load_av_digits()
X, y = digits.data, digits.target

extractors = {
    "image": ImageFeatureExtractor(backbone="pixels"),
    "audio": make_pipeline(
        AudioFeatureExtractor(sr=8000, input_sr=digits.audio_sr),
        StandardScaler(),
    ),
    "text": TextFeatureExtractor(),
}

# %%
# Features without labels
# -----------------------
# ``fit_transform(X)`` needs no ``y``. ``normalize="block"`` gives every
# block the same energy, so no modality dominates the k-means distances by
# its width alone. We try both fusion methods: ``"concat"`` keeps every
# block's columns, ``"weighted_sum"`` projects the blocks to 20 dimensions
# and adds them.


def cluster_ari(transformers, **params):
    """ARI between the digits and k-means clusters of the fused features."""
    fusion = FusionTransformer(transformers, normalize="block", **params)
    features = fusion.fit_transform(X)
    clusters = KMeans(n_clusters=10, n_init=10, random_state=0).fit_predict(
        features
    )
    return adjusted_rand_score(y, clusters)


results = {}
for name, extractor in extractors.items():
    results[name] = cluster_ari([(name, extractor, name)])
all_three = [(name, extractor, name) for name, extractor in extractors.items()]
results["concat"] = cluster_ari(all_three)
results["weighted sum"] = cluster_ari(
    all_three, method="weighted_sum", n_components=20
)
for name, ari in results.items():
    print(f"{name:>13}: ARI {ari:.3f}")

# %%
fig, ax = plt.subplots(figsize=(5, 3))
names = list(results)
ax.barh(
    names,
    [results[n] for n in names],
    color=["tab:gray"] * 3 + ["tab:blue"] * 2,
)
ax.invert_yaxis()
ax.set_xlabel("adjusted Rand index with the digits")
fig.tight_layout()

# %%
# Each modality alone recovers part of the digit structure; the clusters of
# the concatenated features agree with the digits better than any of them,
# with no label used anywhere. The modalities make different mistakes (two
# images of different digits may look alike while their recordings do not),
# so together they separate the digits better. The weighted sum squeezes the
# three modalities into the same 20 coordinates, and here loses much of that
# gain.
