"""Run one of scikit-learn's estimator checks as scikit-learn means it to run.

scikit-learn's generic checks assume the default output container: they
prepare data with StandardScaler and index or ``tolist`` the result, so under
``sklearn.set_config(transform_output="pandas")`` they fail for scikit-learn's
own estimators too (GaussianNB in check_classifiers_train, StandardScaler in
check_transformer_general). The pandas setting itself is covered by the
checks that set it on purpose (check_global_output_transform_pandas,
check_set_output_transform_pandas) and by each module's own tests.
"""

import sklearn


def run_sklearn_check(check, estimator):
    """Run ``check(estimator)`` with scikit-learn's default output container."""
    with sklearn.config_context(transform_output="default"):
        check(estimator)


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
