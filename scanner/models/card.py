"""The model card: everything needed to use a trained model correctly.

A card is a JSON object. For built-in architectures it travels inside the model
file (see :mod:`scanner.models.model_file`); for user models it is a ``.json`` file
beside a TorchScript file or naming an importable class. Fields:

``architecture``
    A built-in name (``deepcre``, ``deepplantcre``, ``argminn``, ``regioncnn``),
    ``"torchscript"`` or ``"python"``.
``hyperparameters``
    Keyword arguments that rebuild the architecture (built-in and ``python``).
``source``
    TorchScript file (relative to the card) or ``module:Class`` (``python``).
``weights``
    Safetensors file with the state dict (``python`` user models; relative path).
``input_length``, ``alphabet``, ``input_layout``
    Bases per window, the one-hot channel order (always ``ACGT`` here) and whether
    the model takes ``(N, 4, L)`` (``NCL``) or ``(N, L, 4)`` (``NLC``).
``window_layout``
    How windows are cut: ``{"layout": "deepcre", "upstream": 1000, ...}``, a
    promoter layout, ``{"layout": "tiles"}`` or ``{"layout": "regions"}``.
``targets``, ``task``
    Output names, and ``classification`` (outputs are logits) or ``regression``.
``strand``
    ``forward`` (windows as given), ``average`` (mean of the window and its reverse
    complement) or ``both`` (both kept).
``receptive_field``
    Bases that influence one output position of the convolutional trunk.
``training``, ``metrics``
    Data checksum, seed, held-out contigs and regions, recipe; metrics per fold.
``readout``
    For ARGMINN-style models: the motifs read from the filters on the training
    positives (``{"motifs": [{"motif_id", "name", "probabilities", "n_sites"}]}``).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

CARD_VERSION = 1
TASKS = ("classification", "regression")
STRANDS = ("forward", "average", "both")
LAYOUTS = ("NCL", "NLC")
USER_ARCHITECTURES = ("torchscript", "python")


class ModelCardError(ValueError):
    """A model card is malformed or does not fit the data it is used on."""


@dataclass
class ModelCard:
    """A trained model's description; see the module notes for the fields."""

    architecture: str
    input_length: int
    targets: list[str]
    task: str = "classification"
    hyperparameters: dict = field(default_factory=dict)
    alphabet: str = "ACGT"
    input_layout: str = "NCL"
    window_layout: dict = field(default_factory=lambda: {"layout": "regions"})
    strand: str = "forward"
    receptive_field: int | None = None
    source: str | None = None
    weights: str | None = None
    training: dict = field(default_factory=dict)
    metrics: dict = field(default_factory=dict)
    readout: dict = field(default_factory=dict)
    format_version: int = CARD_VERSION

    def __post_init__(self):
        self.validate()

    def validate(self, where: str = "model card") -> None:
        """Raise :class:`ModelCardError` naming ``where`` for any bad field."""
        problems = []
        if not isinstance(self.input_length, int) or self.input_length < 1:
            problems.append(f"input_length must be a positive integer, got {self.input_length!r}")
        if sorted(self.alphabet) != ["A", "C", "G", "T"] or len(self.alphabet) != 4:
            problems.append(f"alphabet must be an order of A, C, G, T, got {self.alphabet!r}")
        if self.input_layout not in LAYOUTS:
            problems.append(f"input_layout must be one of {LAYOUTS}, got {self.input_layout!r}")
        if self.task not in TASKS:
            problems.append(f"task must be one of {TASKS}, got {self.task!r}")
        if self.strand not in STRANDS:
            problems.append(f"strand must be one of {STRANDS}, got {self.strand!r}")
        if not self.targets or not all(isinstance(t, str) and t for t in self.targets):
            problems.append(f"targets must be a non-empty list of names, got {self.targets!r}")
        if len(set(self.targets or [])) != len(self.targets or []):
            problems.append(f"target names repeat: {self.targets!r}")
        if not isinstance(self.window_layout, dict) or "layout" not in self.window_layout:
            problems.append(f"window_layout must be an object with a 'layout' key, got {self.window_layout!r}")
        if self.architecture in USER_ARCHITECTURES and not self.source:
            problems.append(f"a {self.architecture} model needs 'source'")
        if self.format_version > CARD_VERSION:
            problems.append(f"format_version {self.format_version} is newer than this cre-scanner reads ({CARD_VERSION})")
        if problems:
            raise ModelCardError(f"{where}: " + "; ".join(problems))

    @property
    def layout(self) -> str:
        return str(self.window_layout["layout"])

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, sort_keys=True)

    @classmethod
    def from_dict(cls, data: dict, where: str = "model card") -> "ModelCard":
        if not isinstance(data, dict):
            raise ModelCardError(f"{where}: expected a JSON object, got {type(data).__name__}")
        known = set(cls.__dataclass_fields__)
        unknown = sorted(set(data) - known)
        if unknown:
            raise ModelCardError(f"{where}: unknown field(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}")
        missing = [name for name in ("architecture", "input_length", "targets") if name not in data]
        if missing:
            raise ModelCardError(f"{where}: missing field(s) {', '.join(missing)}")
        try:
            return cls(**data)
        except ModelCardError as error:
            raise ModelCardError(str(error).replace("model card:", f"{where}:", 1)) from None

    @classmethod
    def from_json(cls, text: str, where: str = "model card") -> "ModelCard":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as error:
            raise ModelCardError(f"{where}: not valid JSON (line {error.lineno}, column {error.colno}: {error.msg})") from None
        return cls.from_dict(data, where)

    @classmethod
    def read(cls, path: str | Path) -> "ModelCard":
        path = Path(path)
        return cls.from_json(path.read_text(), str(path))

    def check_windows(self, input_length: int, layout: str | None = None, alphabet: str = "ACGT",
                      where: str = "model") -> None:
        """Refuse windows the model was not made for.

        Parameters
        ----------
        input_length : int
            Bases per window to be fed.
        layout : str, optional
            The windows' layout (``deepcre``, ``promoter``, ``tiles``, ...). Gene
            layouts must match the card's; ``tiles`` and ``regions`` are
            interchangeable.
        alphabet : str
            Channel order of the one-hot input.
        """
        if input_length != self.input_length or alphabet != self.alphabet:
            raise ModelCardError(
                f"{where} expects {self.input_length}-base windows with alphabet {self.alphabet}, "
                f"but the windows are {input_length} bases with alphabet {alphabet}"
            )
        plain = {"tiles", "regions"}
        if layout is not None and layout != self.layout and not {layout, self.layout} <= plain:
            raise ModelCardError(
                f"{where} was trained on '{self.layout}' windows, but the windows have layout '{layout}'"
            )
