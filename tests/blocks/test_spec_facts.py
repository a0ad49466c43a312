"""Per-type facts live on BlockSpec (issue 12): every catalogue entry declares them consistently.

The checker, quick fixes, retargeting and docs/FORMAT.md read these fields instead of core tables
of type names, so a new block that forgets a fact, or declares one that cannot hold, fails here.
"""

from __future__ import annotations

import pytest

from playground.blocks import CATALOGUE
from playground.blocks.spec import BlockSpec, resolve_params

SPECS = sorted(CATALOGUE.values(), key=lambda s: s.type)


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.type)
def test_padding_fix_needs_a_valid_same_padding_param(spec: BlockSpec) -> None:
    padding = next((p for p in spec.params if p.name == "padding"), None)
    can_fix = padding is not None and padding.kind == "choice" and "same" in padding.choices
    # Declared exactly where the "padding_same" fix can work: a block with such a param that
    # does not declare it would silently lose the quick fix.
    assert spec.padding_fix == can_fix, spec.type


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.type)
def test_head_width_param_names_a_positive_int_param(spec: BlockSpec) -> None:
    if spec.head_width_param is None:
        return
    p = spec.param(spec.head_width_param)
    assert p.kind == "int" and p.minimum == 1, spec.type
    assert spec.max_inputs == 1 and not spec.composite


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.type)
def test_pass_through_keeps_one_input_and_its_width(spec: BlockSpec) -> None:
    if not spec.pass_through:
        return
    assert spec.min_inputs == spec.max_inputs == 1, spec.type
    assert spec.head_width_param is None
    inference = spec.infer(resolve_params(spec, {})[0], [(10,)])
    assert inference.shape[-1] == 10 and inference.params == 0, spec.type


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.type)
def test_elementwise_merges_take_two_or_more_same_shaped_inputs(spec: BlockSpec) -> None:
    if not spec.elementwise:
        return
    assert spec.category == "merge" and spec.min_inputs == 2 and spec.max_inputs is None
    assert spec.infer({}, [(4, 4, 3), (4, 4, 3)]).shape == (4, 4, 3)


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.type)
def test_natural_outputs_include_every_head_and_input(spec: BlockSpec) -> None:
    if spec.head_width_param is not None or spec.type == "Input" or spec.composite:
        assert spec.natural_output, spec.type


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.type)
def test_every_composite_documents_sample_configurations(spec: BlockSpec) -> None:
    if not spec.composite:
        assert spec.doc_samples == (), spec.type
        return
    assert spec.doc_samples, f"{spec.type}: no doc_samples for docs/FORMAT.md"
    parts: set[str] = set()
    for label, params, shape in spec.doc_samples:
        values, problems = resolve_params(spec, params)
        assert not problems, (spec.type, label, problems)
        parts |= {inner.name for inner in spec.infer(values, [shape]).inner}
    assert parts, spec.type


def test_the_facts_match_the_tables_they_replace() -> None:
    """The values the core tables held before the move (behaviour kept identical)."""
    def having(fact: str) -> set[str]:
        return {s.type for s in SPECS if getattr(s, fact)}

    assert having("natural_output") >= {"Dense", "Activation", "Softmax", "Conv2D",
                                        "Conv2DTranspose", "Reshape", "Input",
                                        "InceptionModule", "ResidualBlock"}
    assert having("padding_fix") >= {"Conv2D", "DepthwiseConv2D", "SeparableConv2D",
                                     "Conv2DTranspose", "MaxPooling2D", "AveragePooling2D"}
    heads = {s.type: s.head_width_param for s in SPECS if s.head_width_param}
    assert heads.items() >= {"Dense": "units", "Conv2D": "filters"}.items()
    assert having("pass_through") >= {"Activation", "Softmax", "Dropout", "Reshape", "ReLU",
                                      "LeakyReLU"}
    assert having("elementwise") >= {"Add", "Multiply", "Average", "Maximum"}


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.type)
def test_training_behaviour_is_one_of_the_known_kinds(spec: BlockSpec) -> None:
    assert spec.training_behaviour in (None, "random", "batch_statistics"), spec.type
    if spec.training_behaviour == "random":
        # A draw that keeps the shape (a mask), never a layer with weights.
        values = resolve_params(spec, {})[0]
        inference = spec.infer(values, [(4, 4, 3)])
        assert inference.shape == (4, 4, 3) and inference.params == 0, spec.type


def test_training_behaviour_replaces_the_keras_class_tables() -> None:
    """Once importer.TRAINING_DEPENDENT and feature_cache.RANDOM_LAYERS (Keras class names):
    now one declaration per block, read by both."""
    from playground.keras_build import importer
    from playground.training import feature_cache

    assert not hasattr(importer, "TRAINING_DEPENDENT")
    assert not hasattr(feature_cache, "RANDOM_LAYERS")
    kinds = {s.type: s.training_behaviour for s in SPECS if s.training_behaviour}
    assert kinds == {"Dropout": "random", "SpatialDropout2D": "random",
                     "StochasticDepth": "random", "BatchNormalization": "batch_statistics"}
