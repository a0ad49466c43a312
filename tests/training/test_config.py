"""Run settings: validation with named culprits, preset defaults, fine-tuning preset."""

from __future__ import annotations

import pytest

from playground.core.presets import load_preset
from playground.training.config import ConfigError, RunConfig, config_for_graph, from_preset


def test_defaults_and_overrides():
    config = RunConfig.from_dict({"lr": 1, "optimizer": "sgd", "augment": "flip,zoom"})
    assert config.lr == 1.0 and config.optimizer == "sgd" and config.augment == ["flip", "zoom"]
    assert config.fine_tuning().lr == 0.1


@pytest.mark.parametrize("data, culprit", [
    ({"lr": 0}, "lr"), ({"epochs": 0}, "epochs"), ({"batch_size": 2.5}, "batch_size"),
    ({"optimizer": "lbfgs"}, "optimizer"), ({"val_split": 0.7, "test_split": 0.4}, "val_split"),
    ({"schedule": "wavy"}, "schedule"), ({"colour": 1}, "unknown setting 'colour'"),
    ({"augment": ["twirl"]}, "augment"), ({"lr": float("nan")}, "lr"),
])
def test_bad_settings_name_the_key(data, culprit):
    with pytest.raises(ConfigError, match=culprit):
        RunConfig.from_dict(data)


def test_preset_training_objects_map_onto_run_settings():
    config, notes = from_preset({"optimizer": "SGD", "learning_rate": 0.1, "momentum": 0.9,
                                 "lr_schedule": {"kind": "step", "factor": 0.1,
                                                 "epochs": [30, 60]},
                                 "augmentation": ["random_crop", "horizontal_flip"],
                                 "dropout": 0.5, "source": "paper"})
    assert (config.optimizer, config.lr, config.schedule) == ("sgd", 0.1, "step")
    assert config.step_milestones == [30, 60] and config.augment == ["crop", "flip"]
    assert notes == ["dropout = 0.5 (not applied by the run settings)"]
    with pytest.raises(ConfigError, match="lr_schedule kind 'spiral'"):
        from_preset({"lr_schedule": {"kind": "spiral"}})


def test_bundled_presets_give_valid_defaults():
    graph = load_preset("lenet5")
    config = config_for_graph(graph)
    assert (config.optimizer, config.lr, config.momentum, config.batch_size) == \
        ("sgd", 0.1, 0.9, 32)
    assert (config.schedule, config.epochs, config.augment) == ("cosine", 10, ["translate"])
