"""Offline retraining: history from the database -> windowed features -> scikit-learn
model -> evaluation (NAB, labelled alerts) -> a registry version.

``models.train.run`` is the entry point used by ``netvigil models train`` and the
notebooks; the other modules are its parts (``data`` I/O, ``forest`` the model,
``evaluate`` the metrics, ``online`` the stream detector's family, ``report`` tables
and figures, ``synthetic`` seed data for tests and demos).
"""

__all__: list[str] = []
