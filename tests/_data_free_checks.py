"""scikit-learn checks that need no data, for the extractors.

The extractors take raw cells (``two_d_array=False`` tags), so scikit-learn's
generic suite runs only the clone check on them; these data-free checks run on
top of it, next to each module's contract tests on real cells.
"""

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
