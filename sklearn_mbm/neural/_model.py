"""The Keras model of the neural fusion estimators.

The model takes one input per modality (built by its branch, see
:mod:`sklearn_mbm.neural._branches`) plus a ``(n_samples, n_modalities)``
float mask that is 1 where the modality is present. Each modality is
projected to a common width; the fusion layer mixes the projections while
ignoring absent modalities (a masked softmax renormalises the weights of the
present ones per sample); hidden layers and a head follow (softmax for
classification, linear for regression).
"""

from sklearn_mbm._keras import import_keras
from sklearn_mbm.neural._layers import fusion_layers

#: Name of the model input that carries the presence mask. Modality names
#: cannot contain ``"__"`` (see ``_routing.check_unique_names``), so it
#: cannot clash with a modality.
PRESENT_INPUT = "present__mask"


def build_model(
    branches,
    inputs,
    train_rows,
    fusion_layer,
    *,
    n_outputs,
    output_activation,
    projection_units,
    hidden_units,
    dropout,
    modality_dropout=0.0,
    aux_heads=False,
    seed=None,
):
    """Build the uncompiled fusion model.

    Parameters
    ----------
    branches : list of _Branch
        One per modality, in order.
    inputs : list of ndarray
        Each branch's host inputs (all training rows).
    train_rows : ndarray of int
        The rows the model trains on (a vocabulary adapts on them).
    fusion_layer : keras.layers.Layer
        The fusion rule's layer, called ``fusion(projections, present)``.
    n_outputs : int
        Units of the head: the number of classes, or of targets.
    output_activation : {"softmax"} or None
        Activation of the head.
    projection_units : int
        Common width of the per-modality projections.
    hidden_units : tuple of int
    dropout : float
    modality_dropout : float, default=0.0
        Rate of the ``ModalityDropout`` layer on the presence mask (training
        only): each record loses one present modality with this probability.
    aux_heads : bool, default=False
        Add one auxiliary head per modality on its projection (same units
        and activation as the head), named ``modality_{i}_head``, as extra
        outputs for per-modality losses.
    seed : int or None, default=None
        Seed of the modality dropout.

    Returns
    -------
    model : keras.Model
        Inputs ``[modality_0, ..., modality_{k-1}, present__mask]``; output
        the head's ``(n_samples, n_outputs)``, followed by the auxiliary
        heads' with ``aux_heads``. The fusion layer is named ``"fusion"``,
        the head ``"head"``.
    """
    keras = import_keras()
    tensors, projections = [], []
    for index, (branch, values) in enumerate(zip(branches, inputs)):
        spec = branch.input_spec(values)
        tensor = keras.Input(
            shape=tuple(spec["shape"]), dtype=spec["dtype"], name=f"modality_{index}"
        )
        features = branch.build(keras, tensor, index, values[train_rows])
        tensors.append(tensor)
        projections.append(
            keras.layers.Dense(
                projection_units,
                activation="relu",
                name=f"modality_{index}_projection",
            )(features)
        )
    present = keras.Input(shape=(len(branches),), name=PRESENT_INPUT)
    mask = present
    if modality_dropout > 0:
        mask = fusion_layers()["ModalityDropout"](
            modality_dropout, seed=seed, name="modality_dropout"
        )(present)
    x = fusion_layer(projections, mask)
    for i, units in enumerate(hidden_units):
        x = keras.layers.Dense(units, activation="relu", name=f"hidden_{i}")(x)
        if dropout > 0:
            x = keras.layers.Dropout(dropout, name=f"dropout_{i}")(x)
    outputs = [
        keras.layers.Dense(n_outputs, activation=output_activation, name="head")(x)
    ]
    if aux_heads:
        outputs += [
            keras.layers.Dense(
                n_outputs, activation=output_activation, name=f"modality_{i}_head"
            )(projection)
            for i, projection in enumerate(projections)
        ]
    return keras.Model(
        [*tensors, present],
        outputs if aux_heads else outputs[0],
        name="neural_fusion",
    )
