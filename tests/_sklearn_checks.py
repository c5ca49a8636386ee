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
