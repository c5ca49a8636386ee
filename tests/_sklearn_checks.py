"""Run scikit-learn's estimator checks as scikit-learn means them to run.

Every test that runs one of scikit-learn's checks goes through
``run_sklearn_check``, for two reasons:

- scikit-learn's generic checks assume the default output container: they
  prepare data with StandardScaler and index or ``tolist`` the result, so under
  ``sklearn.set_config(transform_output="pandas")`` they fail for
  scikit-learn's own estimators too (GaussianNB in check_classifiers_train,
  StandardScaler in check_transformer_general);
- scikit-learn caches its regression data set at first use (module-level
  ``REGRESSION_DATASET``, scaled by StandardScaler): one check run under the
  pandas setting, even a data-free one such as check_estimators_unfitted,
  stores a DataFrame there and breaks the regressor checks that run after it
  in the same process.

The pandas setting itself is covered by the checks that set it on purpose
(check_global_output_transform_pandas, check_set_output_transform_pandas) and
by each module's own tests.

The extractors take raw cells (``two_d_array=False`` tags), so scikit-learn's
generic suite yields only the clone check on them (``parametrize_extractor_checks``);
the data-free checks (``DATA_FREE_CHECKS``, ``parametrize_data_free_checks``)
run on top of it, next to each module's contract tests on real cells.
"""

import pytest
import sklearn
from sklearn.base import clone
from sklearn.utils.estimator_checks import (
    check_do_not_raise_errors_in_init_or_set_params,
    check_estimator_repr,
    check_estimator_tags_renamed,
    check_estimators_unfitted,
    check_get_feature_names_out_error,
    check_get_params_invariance,
    check_mixin_order,
    check_no_attributes_set_in_init,
    check_param_validation,
    check_parameters_default_constructible,
    check_set_params,
    check_transformers_unfitted,
    check_valid_tag_types,
    parametrize_with_checks,
)

DATA_FREE_CHECKS = [
    check_estimator_repr,
    check_get_params_invariance,
    check_set_params,
    check_no_attributes_set_in_init,
    check_estimators_unfitted,
    check_transformers_unfitted,
    check_parameters_default_constructible,
    check_do_not_raise_errors_in_init_or_set_params,
    check_get_feature_names_out_error,
    check_mixin_order,
    check_valid_tag_types,
    check_estimator_tags_renamed,
    check_param_validation,
]


def run_sklearn_check(check, *args):
    """Run ``check(*args)`` with scikit-learn's default output container."""
    with sklearn.config_context(transform_output="default"):
        check(*args)


def parametrize_extractor_checks(estimators):
    """``parametrize_with_checks`` for extractors of raw cells.

    With ``two_d_array=False`` scikit-learn yields only
    check_estimator_cloneable, which passes: no failure is expected.
    """
    return parametrize_with_checks(
        list(estimators), expected_failed_checks=lambda estimator: {}
    )


def parametrize_data_free_checks(estimators):
    """Parametrize ``(estimator, check)`` over ``DATA_FREE_CHECKS``.

    ``estimators`` is a dict (its keys name the test ids) or a list.
    """
    if not isinstance(estimators, dict):
        estimators = {type(e).__name__: e for e in estimators}
    return pytest.mark.parametrize(
        ("estimator", "check"),
        [
            pytest.param(estimator, check, id=f"{name}-{check.__name__}")
            for name, estimator in estimators.items()
            for check in DATA_FREE_CHECKS
        ],
    )


def run_data_free_check(check, estimator):
    """Run a data-free check on a fresh clone of ``estimator``."""
    estimator = clone(estimator)
    run_sklearn_check(check, type(estimator).__name__, estimator)


class HalfColumns:
    """Select the first or second half of the columns (both when there is one).

    A picklable, clonable column selector for the late-fusion estimators that
    fits whatever number of features the estimator checks use.
    """

    def __init__(self, part):
        self.part = part

    def __call__(self, X):
        n = X.shape[1]
        return list(range(max(1, n // 2))) if self.part == 0 else list(range(n // 2, n))

    def __repr__(self):
        return f"HalfColumns({self.part})"


# The expected failures of scikit-learn's generic checks for the late-fusion
# estimators (HalfColumns modalities), each with its reason.
LATE_FUSION_EXPECTED_FAILURES = {
    "check_estimators_pickle": (
        "with allow_nan=True the check puts NaN at random cells; a row where "
        "every modality has a NaN has nothing to learn from, and the late-fusion "
        "estimators raise a ValueError naming it rather than dropping it silently"
    )
}
