"""Every private scikit-learn name the package uses, imported in one place.

scikit-learn moves or renames its private helpers between releases without a
deprecation. Modules import them from here, so a scikit-learn upgrade touches
this file only; ``tests/test_compat.py`` fails when another module imports a
private scikit-learn name directly. Each line says since which scikit-learn
release the name lives where it is imported from; all are present in 1.7.0,
1.8.0 (the lower bound in pyproject.toml) and 1.9.1.
"""

# parameter validation (_parameter_constraints) and fit
from sklearn.base import _fit_context  # 1.3

# row and column selection of arrays, lists, pandas and polars: documented in
# the API reference although private; in sklearn.utils since 0.22
from sklearn.utils import _safe_indexing  # 0.22
from sklearn.utils._param_validation import (
    HasMethods,  # 1.2
    Interval,  # 1.2
    RealNotInt,  # 1.3
    StrOptions,  # 1.2
)

# HTML display of composite estimators: sklearn.utils._repr_html since 1.7
# (sklearn.utils._estimator_html_repr before, removed in 1.8)
from sklearn.utils._repr_html.estimator import _VisualBlock  # 1.7

# set_output containers (pandas, polars): _get_output_config 1.2,
# _get_container_adapter 1.4
from sklearn.utils._set_output import (
    _get_container_adapter,  # 1.4
    _get_output_config,  # 1.2
)

# verbose=True timing lines: sklearn.utils._user_interface since 1.5
from sklearn.utils._user_interface import _print_elapsed_time  # 1.5

# metadata routing of fit parameters
from sklearn.utils.metadata_routing import (
    _raise_for_params,  # 1.4
    _routing_enabled,  # 1.3
)

# get_params / set_params over named sub-estimators: since 0.20
from sklearn.utils.metaestimators import _BaseComposition  # 0.20
from sklearn.utils.validation import (
    _check_method_params,  # 1.4 (_check_fit_params before)
    _check_sample_weight,  # 0.22
    _num_samples,  # before 0.20
)

__all__ = [
    "HasMethods",
    "Interval",
    "RealNotInt",
    "StrOptions",
    "_BaseComposition",
    "_VisualBlock",
    "_check_method_params",
    "_check_sample_weight",
    "_fit_context",
    "_get_container_adapter",
    "_get_output_config",
    "_num_samples",
    "_print_elapsed_time",
    "_raise_for_params",
    "_routing_enabled",
    "_safe_indexing",
]
