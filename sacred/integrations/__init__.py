"""Adapters between sacred runs and training frameworks (docs/integrations.md).

Each integration is its own module and imports its framework when that module is
imported, never before: ``import sacred`` (and ``import sacred.integrations``) loads
none of them.

* ``sacred.integrations.torch``: save a model/optimizer state as an artifact of the
  running run and load it back from a stored run (``save_state``, ``load_state``).
* ``sacred.integrations.lightning``: ``SacredLogger(_run)``, a Lightning ``Logger``.
* ``sacred.integrations.keras``: ``SacredCallback(_run)``, a Keras 3 callback.
* ``sacred.integrations.transformers``: ``SacredCallback(_run)``, a Hugging Face
  ``TrainerCallback``.
* ``sacred.integrations.tensorboard``: ``import_scalars``, a run's TensorBoard
  scalars as its metrics (``sacred import-tensorboard STORE ID LOGDIR``).
"""

__all__: list[str] = []
