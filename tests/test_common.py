"""Package-level contracts and scikit-learn's estimator checks for fusion."""

import pytest
from _probes import modules_loaded
from _sklearn_checks import (
    LATE_FUSION_EXPECTED_FAILURES,
    HalfColumns,
    run_sklearn_check,
)
from sklearn.linear_model import Ridge
from sklearn.preprocessing import StandardScaler
from sklearn.tree import DecisionTreeRegressor
from sklearn.utils.estimator_checks import parametrize_with_checks

import sklearn_mbm
from sklearn_mbm import FusionTransformer, LateFusionRegressor


def test_import_is_light():
    """`import sklearn_mbm` must not import TensorFlow, Keras or librosa."""
    heavy = ("tensorflow", "keras", "librosa", "keras_hub")
    assert modules_loaded("import sklearn_mbm", heavy) == []


def test_estimators_import_without_compilers_or_deep_learning():
    """Importing the extractors loads neither TensorFlow nor numba: numba
    (the audio kernels) loads with the first audio batch, TensorFlow with the
    first Keras backbone."""
    code = (
        "from sklearn_mbm import (AudioFeatureExtractor, "
        "ImageFeatureExtractor, TextFeatureExtractor, FusionTransformer, "
        "TextEmbedder, ImageEmbedder, AudioEmbedder)"
    )
    heavy = ("tensorflow", "keras", "numba", "keras_hub")
    assert modules_loaded(code, heavy) == []


@pytest.mark.parametrize("name", sklearn_mbm.__all__)
def test_public_names_resolve(name):
    assert getattr(sklearn_mbm, name) is not None
    assert name in dir(sklearn_mbm)


def test_unknown_attribute():
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        sklearn_mbm.nope  # noqa: B018


# Numeric configurations: sklearn's checks feed 2-D float arrays, so blocks are
# integer column indices. Checks use as few as 1-2 columns, hence [0] and [1].
FUSION_CONFIGS = [
    FusionTransformer([("a", "passthrough", [0]), ("b", StandardScaler(), [1])]),
    FusionTransformer(
        [("a", "passthrough", [0]), ("b", "passthrough", [1])],
        method="weighted_sum",
        normalize="block",
    ),
    FusionTransformer(
        [("a", "passthrough", [0]), ("b", "passthrough", [1])],
        weights=[1.0, 0.5],
        normalize="l2",
        missing="zero",
    ),
]

# Each expected failure of scikit-learn's generic checks, with the reason.
_TWO_COLUMNS = (
    "Modalities are fixed column indices [0] and [1]; with a single input column "
    "the routing raises a clear ValueError naming the missing column index, "
    "which this check does not expect."
)


def _expected_failed_checks(estimator):
    return {"check_fit2d_1feature": _TWO_COLUMNS}


@parametrize_with_checks(FUSION_CONFIGS, expected_failed_checks=_expected_failed_checks)
def test_sklearn_compatible_fusion(estimator, check):
    run_sklearn_check(check, estimator)


def _regressor_modalities():
    return [
        ("first", Ridge(), HalfColumns(0)),
        ("second", DecisionTreeRegressor(random_state=0), HalfColumns(1)),
    ]


LATE_FUSION_REGRESSOR_CONFIGS = [
    LateFusionRegressor(_regressor_modalities()),
    LateFusionRegressor(_regressor_modalities(), weights=[1.0, 2.0]),
    LateFusionRegressor(_regressor_modalities(), method="stacking", cv=3),
]


@parametrize_with_checks(
    LATE_FUSION_REGRESSOR_CONFIGS,
    expected_failed_checks=lambda estimator: LATE_FUSION_EXPECTED_FAILURES,
)
def test_sklearn_compatible_late_fusion_regressor(estimator, check):
    run_sklearn_check(check, estimator)
