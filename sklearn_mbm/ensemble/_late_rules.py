"""Late fusion's rules: the late-fusion estimators' ``method`` options as
objects.

Each rule says which method of the modalities' estimators it needs
(:meth:`_LateRule.needed_method`), whether it stacks out-of-fold outputs
under a final estimator (:attr:`_LateRule.stacks`, which makes ``fit`` learn
``final_estimator_``), how it predicts (:meth:`_LateRule.predict`) and
which other prediction methods it offers (:meth:`_LateRule.check`).
LateFusionClassifier and LateFusionRegressor look their rule up by the
``method`` name in :data:`CLASSIFIER_RULES` and :data:`REGRESSOR_RULES`;
adding a rule is one class here and one table entry.
"""

import numpy as np


class _LateRule:
    """Base of the late-fusion rules (see the module docstring)."""

    #: Whether the rule learns a final estimator on out-of-fold outputs.
    stacks = False

    def needed_method(self, owner):
        """The method every modality's estimator must have."""
        return owner._stacked_method

    def predict(self, owner, X):
        """Predictions: class indices (classifier) or values (regressor)."""
        raise NotImplementedError

    def predict_proba(self, owner, X):
        raise NotImplementedError

    def check(self, owner, method):
        """Raise AttributeError unless the rule offers ``method``
        (``"predict_proba"``, ``"decision_function"``)."""
        raise AttributeError(f"{method} is only available with method='stacking'.")


class Soft(_LateRule):
    """The weighted mean of the modalities' probabilities."""

    def predict(self, owner, X):
        return self.predict_proba(owner, X).argmax(axis=1)

    def predict_proba(self, owner, X):
        return owner._weighted_mean(X, "predict_proba")

    def check(self, owner, method):
        if method != "predict_proba":
            super().check(owner, method)


class Hard(_LateRule):
    """A weighted majority vote of the modalities' predictions (ties go to
    the class that comes first in ``classes_``)."""

    def needed_method(self, owner):
        return "predict"

    def predict(self, owner, X):
        predictions, missing = owner._modality_outputs(X, "predict")
        row_weights = owner._row_weights(missing)
        votes = np.zeros((len(predictions[0]), len(owner.classes_)))
        rows = np.arange(len(predictions[0]))
        for prediction, weight in zip(predictions, row_weights):
            present = prediction >= 0
            np.add.at(votes, (rows[present], prediction[present]), weight[present])
        return votes.argmax(axis=1)

    def check(self, owner, method):
        raise AttributeError(
            f"{method} is not available when method='hard'; use "
            "method='soft' or 'stacking'."
            if method == "predict_proba"
            else f"{method} is only available with method='stacking'."
        )


class Mean(_LateRule):
    """The weighted mean of the modalities' predictions (regression)."""

    def needed_method(self, owner):
        return "predict"

    def predict(self, owner, X):
        return owner._weighted_mean(X, "predict")[:, 0]


class Stacking(_LateRule):
    """A final estimator learned on the modalities' out-of-fold outputs."""

    stacks = True

    def predict(self, owner, X):
        return owner.final_estimator_.predict(owner._stacked(X))

    def predict_proba(self, owner, X):
        return owner.final_estimator_.predict_proba(owner._stacked(X))

    def check(self, owner, method):
        final = getattr(owner, "final_estimator_", owner.final_estimator)
        if final is not None and not hasattr(final, method):
            raise AttributeError(
                f"{method} is not available: the final estimator "
                f"{final!r} has no {method}."
            )


#: LateFusionClassifier's ``method`` options.
CLASSIFIER_RULES = {"soft": Soft(), "hard": Hard(), "stacking": Stacking()}

#: LateFusionRegressor's ``method`` options.
REGRESSOR_RULES = {"mean": Mean(), "stacking": Stacking()}
