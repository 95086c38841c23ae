"""Models: the built-in architectures, model cards and files, user models, training.

``scanner.models.build_model("deepcre")`` builds an architecture;
``scanner.models.load_model(path)`` loads a ``.model`` file or a user model card;
the recipes in :mod:`scanner.models.recipes` train models from a genome store.
"""

from __future__ import annotations

from .._exports import lazy_getattr

_EXPORTS = {
    "ARCHITECTURES": "scanner.models.architectures",
    "build_model": "scanner.models.architectures",
    "ModelCard": "scanner.models.card",
    "ModelCardError": "scanner.models.card",
    "save_model": "scanner.models.model_file",
    "load_model": "scanner.models.model_file",
    "read_card": "scanner.models.model_file",
    "write_user_card": "scanner.models.model_file",
    "LoadedModel": "scanner.models.model_file",
    "TrainingSet": "scanner.models.training",
    "FitSettings": "scanner.models.training",
    "fit": "scanner.models.training",
    "one_hot_batch": "scanner.models.training",
    "filter_motifs": "scanner.models.readout",
    "attention_instances": "scanner.models.readout",
}

__all__ = sorted(_EXPORTS)

__getattr__ = lazy_getattr(__name__, _EXPORTS)
