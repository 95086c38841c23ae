"""Model cards and files: round trips, refusals, user models."""

import json

import numpy as np
import pytest
import torch
from torch import nn

from scanner.models.architectures import build_model
from scanner.models.card import ModelCard, ModelCardError
from scanner.models.model_file import load_model, read_card, save_model, write_user_card
from scanner.models.training import one_hot_batch


def small_card(**changes):
    fields = dict(architecture="regioncnn", hyperparameters={"input_length": 120, "targets": 2, "channels": 8, "layers": 2},
                  input_length=120, targets=["open", "closed"], window_layout={"layout": "tiles"})
    fields.update(changes)
    return ModelCard(**fields)


class TinyUserModel(nn.Module):
    """A user's own architecture taking (N, L, 4), for the 'python' card route."""

    def __init__(self, length: int = 50):
        super().__init__()
        self.dense = nn.Linear(length * 4, 1)

    def forward(self, x):
        return self.dense(x.flatten(1))


def test_save_load_round_trip_is_bit_identical(tmp_path):
    torch.manual_seed(3)
    card = small_card()
    model = build_model(card.architecture, **card.hyperparameters).eval()
    path = save_model(model, card, tmp_path / "m.model")
    x = one_hot_batch(np.random.default_rng(0).integers(0, 5, (5, 120)).astype(np.uint8))
    loaded = load_model(path)
    with torch.no_grad():
        assert torch.equal(model(x), loaded(x))
    assert loaded.card == card
    assert read_card(path).targets == ["open", "closed"]
    assert not list(tmp_path.glob(".*partial"))
    from safetensors import safe_open

    with safe_open(str(path), framework="pt") as handle:  # readable by any safetensors reader
        assert json.loads(handle.metadata()["cre_scanner_card"])["input_length"] == 120


def test_strand_average_uses_the_reverse_complement(tmp_path):
    torch.manual_seed(0)
    card = small_card(strand="average")
    model = build_model(card.architecture, **card.hyperparameters).eval()
    loaded = load_model(save_model(model, card, tmp_path / "m.model"))
    codes = np.random.default_rng(1).integers(0, 4, (3, 120)).astype(np.uint8)
    reverse = (3 - codes)[:, ::-1].copy()
    with torch.no_grad():
        expected = (model(one_hot_batch(codes)) + model(one_hot_batch(reverse))) / 2
        assert torch.allclose(loaded(one_hot_batch(codes)), expected, atol=1e-6)
        both = load_model(save_model(model, small_card(strand="both"), tmp_path / "b.model"))(one_hot_batch(codes))
    assert both.shape == (3, 2, 2)


def test_wrong_input_length_is_refused_with_both_lengths():
    card = small_card()
    with pytest.raises(ModelCardError, match="expects 120-base windows with alphabet ACGT, but the windows are 3020 bases"):
        card.check_windows(3020, "tiles")
    with pytest.raises(ModelCardError, match="alphabet TGCA"):
        card.check_windows(120, "tiles", alphabet="TGCA")
    with pytest.raises(ModelCardError, match="trained on 'tiles' windows, but the windows have layout 'deepcre'"):
        card.check_windows(120, "deepcre")
    card.check_windows(120, "regions")


def test_card_validation_names_the_file_and_field(tmp_path):
    path = tmp_path / "user.json"
    path.write_text(json.dumps({"architecture": "torchscript", "source": "m.pt", "input_length": 0, "targets": ["a"]}))
    with pytest.raises(ModelCardError, match=r"user.json: input_length must be a positive integer"):
        ModelCard.read(path)
    path.write_text(json.dumps({"architecture": "deepcre", "input_length": 5, "targets": ["a"], "colour": 1}))
    with pytest.raises(ModelCardError, match="unknown field.*colour"):
        ModelCard.read(path)
    path.write_text('{"architecture": "deepcre",')
    with pytest.raises(ModelCardError, match="not valid JSON"):
        ModelCard.read(path)
    with pytest.raises(ModelCardError, match="missing field.*targets"):
        ModelCard.from_dict({"architecture": "deepcre", "input_length": 5})


def test_weights_that_do_not_fit_are_refused(tmp_path):
    card = small_card()
    model = build_model(card.architecture, **card.hyperparameters)
    path = save_model(model, card, tmp_path / "m.model")
    other = tmp_path / "other.model"
    wrong = small_card(hyperparameters={**card.hyperparameters, "channels": 16})
    # the card promises 16 channels, the weights have 8
    from safetensors.torch import save_file

    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(other), metadata={"cre_scanner_card": wrong.to_json()})
    with pytest.raises(ModelCardError, match="do not fit the architecture"):
        load_model(other)
    plain = tmp_path / "plain.safetensors"
    save_file({"w": torch.zeros(1)}, str(plain))
    with pytest.raises(ModelCardError, match="without a cre-scanner model card"):
        load_model(plain)
    assert load_model(path).card.input_length == 120


def test_torchscript_user_model(tmp_path):
    torch.manual_seed(0)
    model = build_model("deepcre", input_length=3020).eval()
    torch.jit.script(model).save(str(tmp_path / "user.pt"))
    card = ModelCard(architecture="torchscript", source="user.pt", input_length=3020, targets=["expressed"],
                     window_layout={"layout": "deepcre"})
    path = write_user_card(card, tmp_path / "user.json")
    loaded = load_model(path)
    x = torch.rand(2, 4, 3020)
    with torch.no_grad():
        assert torch.equal(loaded(x), model(x))
    # a card that claims another input length does not survive the probe
    lying = ModelCard(architecture="torchscript", source="user.pt", input_length=1000, targets=["expressed"])
    with pytest.raises(ModelCardError, match=r"fails on input of shape \(2, 4, 1000\)"):
        write_user_card(lying, tmp_path / "lying.json")
    assert not (tmp_path / "lying.json").exists() and not list(tmp_path.glob(".*partial*"))
    two = ModelCard(architecture="torchscript", source="user.pt", input_length=3020, targets=["a", "b"])
    with pytest.raises(ModelCardError, match="names 2 target"):
        write_user_card(two, tmp_path / "two.json")


def test_python_class_user_model_with_channels_last_input(tmp_path):
    from safetensors.torch import save_file

    torch.manual_seed(0)
    model = TinyUserModel(50).eval()
    save_file(dict(model.state_dict()), str(tmp_path / "tiny.safetensors"))
    card = ModelCard(architecture="python", source=f"{__name__}:TinyUserModel", hyperparameters={"length": 50},
                     weights="tiny.safetensors", input_length=50, input_layout="NLC", targets=["y"])
    loaded = load_model(write_user_card(card, tmp_path / "tiny.json"))
    x = torch.rand(3, 4, 50)
    with torch.no_grad():
        assert torch.equal(loaded(x), model(x.transpose(1, 2)))
    bad = ModelCard(architecture="python", source="nowhere.module:Model", input_length=50, targets=["y"])
    with pytest.raises(ModelCardError, match="cannot import 'nowhere.module:Model'"):
        write_user_card(bad, tmp_path / "bad.json")
