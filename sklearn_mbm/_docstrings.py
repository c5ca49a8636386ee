"""The one docstring templater of the package.

Estimators that document parameters alike (the extractors' ``on_error``, the
neural estimators' network parameters, the late-fusion estimators' shared
attributes) write a placeholder ``{name}`` in their docstring and are
decorated with :func:`substitute_docs`, as imbalanced-learn's
``Substitution`` does. Under ``python -OO`` docstrings are stripped
(``__doc__`` is None) and the decorator leaves the class alone.
"""

__all__ = ["substitute_docs"]


def substitute_docs(**docs):
    """Class decorator: replace each placeholder ``{name}`` by ``docs[name]``.

    Only the given placeholders are replaced, so the rest of the docstring
    keeps its braces (``{"raise", "warn"}``) as written. A placeholder that
    the docstring lacks is an error (a template and its users drifted apart).

    Parameters
    ----------
    **docs : str
        The text of each placeholder, indented as it must appear.

    Returns
    -------
    decorate : callable
        The class decorator.
    """

    def decorate(cls):
        if cls.__doc__ is None:  # python -OO
            return cls
        doc = cls.__doc__
        for name, text in docs.items():
            placeholder = "{" + name + "}"
            if placeholder not in doc:
                raise ValueError(f"{cls.__name__}'s docstring has no {placeholder}")
            doc = doc.replace(placeholder, text)
        cls.__doc__ = doc
        return cls

    return decorate
