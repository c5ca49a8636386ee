"""
===========================================
Features on disk, training over partitions
===========================================

A manifest of file paths and texts, split into partitions, goes through
three steps of :mod:`sklearn_mbm.distributed`:

1. the features, written once: one Parquet file per partition
   (:func:`~sklearn_mbm.distributed.transform_to_parquet`), atomically and
   resumably;
2. a fusion-weight search over the stored features: each candidate weights
   the stored blocks as :class:`~sklearn_mbm.FusionTransformer` does and
   trains an ``SGDClassifier`` one partition at a time
   (:func:`~sklearn_mbm.distributed.fit_incremental`);
3. predictions, lazily, partition by partition
   (:class:`~sklearn_mbm.distributed.ParallelPostFit`).

Dask's threaded scheduler runs it here; with a ``distributed.Client`` (for
example ``sklearn_mbm.distributed.get_client()``, which starts a
``LocalCluster``, or ``get_client("tcp://scheduler:8786")``) the same code
runs on worker processes or on a cluster.
"""

# %%
# A manifest of files
# -------------------
# The bundled sample's digits and spoken digits, written as PNG and WAV
# files, with their transcripts: the manifest holds paths, not pixels.
import tempfile
from pathlib import Path

import dask.dataframe as dd
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import soundfile
from PIL import Image
from sklearn.linear_model import SGDClassifier
from sklearn.pipeline import make_pipeline

from sklearn_mbm import (
    AudioFeatureExtractor,
    FusionTransformer,
    ImageFeatureExtractor,
    TextFeatureExtractor,
    fusion_weight_grid,
    load_av_digits,
)
from sklearn_mbm.distributed import (
    ParallelPostFit,
    fit_incremental,
    transform_to_parquet,
)

data = load_av_digits()
folder = Path(tempfile.mkdtemp())
rows = []
for i, (image, audio, text) in enumerate(
    data.data[["image", "audio", "text"]].itertuples(index=False)
):
    Image.fromarray(image).save(folder / f"{i}.png")
    soundfile.write(folder / f"{i}.wav", audio, data.audio_sr, subtype="FLOAT")
    rows.append((str(folder / f"{i}.png"), str(folder / f"{i}.wav"), text))
frame = pd.DataFrame(rows, columns=["image", "audio", "text"])
frame["label"] = data.target
# shuffled once, so that every partition holds every digit
frame = frame.sample(frac=1.0, random_state=0).reset_index(drop=True)
manifest = dd.from_pandas(frame, npartitions=6)
print(manifest.npartitions, "partitions of", len(frame) // 6, "records")

# %%
# Extractors fitted on a sample, features written once
# ----------------------------------------------------
# A tf-idf vocabulary and the block normalisers need all their rows at
# once; a sample gives them. The classifier will learn from every row.
sample = frame.iloc[:150]
fusion = FusionTransformer(
    [
        ("image", ImageFeatureExtractor("pixels", input_size=8), "image"),
        ("audio", AudioFeatureExtractor(sr=data.audio_sr), "audio"),
        ("text", TextFeatureExtractor(), "text"),
    ],
    normalize="block",
).fit(sample, sample["label"])

out = folder / "features"
report = transform_to_parquet(fusion, manifest[["image", "audio", "text"]], out)
print(report[["partition", "status", "n_rows", "n_bad_cells"]])

# %%
# A second run finds every partition written for the same input and the
# same fitted estimator, and skips them all.
again = transform_to_parquet(
    fusion, manifest[["image", "audio", "text"]], out, progress=False
)
print(again["status"].value_counts().to_dict())

# %%
# A weight search over the stored features
# ----------------------------------------
# A FusionTransformer of ``"passthrough"`` blocks over the stored columns
# weights them as the extracting one would. Four partitions train, two
# validate.
features = dd.read_parquet(out)
labels = manifest["label"]
names = list(fusion.get_feature_names_out())
blocks = [
    (name, "passthrough", [c for c in names if c.startswith(f"{name}__")])
    for name in ("image", "audio", "text")
]
train, valid = features.partitions[:4], features.partitions[4:]
y_train, y_valid = labels.partitions[:4], labels.partitions[4:]
scores = {}
for weights in fusion_weight_grid(["image", "audio", "text"], (0, 1))[1:]:
    model = make_pipeline(
        FusionTransformer(blocks, weights=weights),
        SGDClassifier(random_state=0),
    )
    model[0].fit(train.partitions[0].compute())  # normalisers on a sample
    fit_incremental(model, train, y_train, epochs=5, random_state=0, progress=False)
    kept = "+".join(name for name, w in weights.items() if w) or "none"
    scores[kept] = ParallelPostFit(model).score(valid, y_valid)

fig, ax = plt.subplots(figsize=(6, 3))
ax.barh(list(scores), list(scores.values()))
ax.set_xlabel("validation accuracy")
ax.set_title("Modalities kept (weight 1), features extracted once")
fig.tight_layout()

# %%
# Predictions, partition by partition
# -----------------------------------
# The best candidate, wrapped: ``predict`` on the dask DataFrame is lazy
# (its schema comes from the fitted model), and the fitted model reaches
# each worker once.
best = max(scores, key=scores.get)
print("best:", best, f"{scores[best]:.2f}")
weights = {name: float(name in best.split("+")) for name in ("image", "audio", "text")}
model = make_pipeline(
    FusionTransformer(blocks, weights=weights), SGDClassifier(random_state=0)
)
model[0].fit(train.partitions[0].compute())
fit_incremental(model, train, y_train, epochs=5, random_state=0, progress=False)
predictions = ParallelPostFit(model).predict(valid)
print(predictions)
predicted = predictions.compute().to_numpy()
print("accuracy:", np.mean(predicted == y_valid.compute().to_numpy()).round(2))
