from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from grounddefake.prompts import (
    ImagePart,
    PromptPackError,
    SampleInputError,
    TextPart,
    list_packs,
    load_pack,
    pack_from_mapping,
)

BASE = {
    "name": "t",
    "version": 1,
    "description": "test pack",
    "task": "grounded",
    "convention": "norm1000",
    "turns": ["Is this {{ image.width }}x{{ image.height }} image fake?"],
}


def test_shipped_packs_load() -> None:
    names = {p.stem for p in list_packs()}
    assert {"verdict", "grounded"} <= names
    grounded = load_pack("grounded")
    assert grounded.task == "grounded" and grounded.convention == "norm1000"
    assert grounded.schema is not None and "regions" in grounded.schema["properties"]
    assert load_pack("verdict").task == "verdict"


def test_render_places_image_and_context() -> None:
    pack = pack_from_mapping(BASE, "mem")
    message = pack.render_turn(0, (640, 480))
    assert message.role == "user"
    assert isinstance(message.parts[0], ImagePart)
    assert message.parts[1] == TextPart("Is this 640x480 image fake?")


def test_multi_turn_uses_earlier_reply() -> None:
    data = {**BASE, "image_placement": "after", "turns": ["Describe.", "You said: {{ replies[0] }}. Verdict?"]}
    pack = pack_from_mapping(data, "mem")
    first = pack.render_turn(0, (10, 10))
    assert isinstance(first.parts[-1], ImagePart)
    second = pack.render_turn(1, (10, 10), ["a cat"])
    assert second.parts == (TextPart("You said: a cat. Verdict?"),)


def test_hash_tracks_content_and_is_recorded_as_id() -> None:
    a = pack_from_mapping(BASE, "a")
    b = pack_from_mapping(dict(BASE), "b")
    c = pack_from_mapping({**BASE, "version": 2}, "c")
    assert a.hash == b.hash != c.hash
    assert a.id == f"t@{a.hash}"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"name": None}, "name"),
        ({"name": "Bad Name"}, "name"),
        ({"task": "segment"}, "task"),
        ({"convention": "nope"}, "convention"),
        ({"convention": None}, "convention"),
        ({"turns": []}, "turns"),
        ({"turns": [{"txt": "x"}]}, "turns[0]"),
        ({"turns": [{"text": "x", "image": "left"}]}, "turns[0].image"),
        ({"turns": [{"text": "x", "image": "none"}]}, "turns"),
        ({"turns": ["{{ unclosed"]}, "turns[0]"),
        ({"system": "{% for %}"}, "system"),
        ({"image_placement": "middle"}, "image_placement"),
        ({"schema": "a string"}, "schema"),
        ({"extra": 1}, "extra"),
        ({"answers": {"yes": "maybe"}}, "answers"),
        ({"answers": ["yes"]}, "answers"),
        ({"answers": {}}, "answers"),
    ],
)
def test_validation_names_file_and_field(tmp_path: Path, change: dict, field: str) -> None:
    data = {**BASE, **change}
    data = {k: v for k, v in data.items() if v is not None or k == "convention"}
    if change.get("convention", "x") is None:
        data.pop("convention")
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(PromptPackError) as info:
        load_pack(path)
    assert str(path) in str(info.value)
    assert f"'{field}'" in str(info.value)


def test_not_yaml_names_file(tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text("name: [unclosed")
    with pytest.raises(PromptPackError, match=r"broken\.yaml"):
        load_pack(path)


def test_unknown_pack_name_lists_shipped() -> None:
    with pytest.raises(PromptPackError, match="grounded"):
        load_pack("no-such-pack")


# Ground truth must be unreachable: the context is an allow-list, and the sandbox blocks introspection escapes.
@pytest.mark.parametrize(
    "template",
    [
        "{{ sample.label }}",
        "{{ label }}",
        "{{ truth }}",
        "{{ mask }}",
        "{{ regions }}",
        "{{ meta.generator }}",
        "{{ image.label }}",
        "{{ image.__class__.__mro__[1].__subclasses__() }}",
        "{{ replies.__class__.__init__.__globals__ }}",
        "{{ ''.__class__.__mro__[1].__subclasses__() }}",
        "{{ self._TemplateReference__context }}",
        "{{ lipsum.__globals__ }}",
        "{{ cycler.__init__.__globals__ }}",
        "{% for x in range(10**9) %}{% endfor %}",
        "{{ replies.append('x') }}",
        "{{ 'x' * 10**9 }}",
        "{{ 9 ** 99999999 }}",
        "{{ 'x' | center(10**8) }}",
        "{{ 'x' | indent(10**8, true) }}",
        "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}",
        "{% for i in range(1000) %}{{ 'y' * 1000 }}{% endfor %}",
    ],
)
def test_template_cannot_reach_ground_truth_or_code(template: str) -> None:
    with pytest.raises(PromptPackError):  # refused when the pack is loaded (rehearsed), or else when rendered
        pack_from_mapping({**BASE, "turns": [template]}, "evil").render_turn(0, (64, 48), [])


def test_context_holds_only_the_allow_list() -> None:
    pack = pack_from_mapping(BASE, "mem")
    assert set(pack.context((1, 1))) == {"image", "convention", "box_example", "schema", "replies"}
    rendered = pack_from_mapping({**BASE, "turns": ["{{ image }}"]}, "mem").render_turn(0, (3, 2)).text
    assert rendered == "{'width': 3, 'height': 2}"


def test_native_pack_renders_the_model_convention_and_its_example() -> None:
    data = {**BASE, "convention": "native", "turns": ["Boxes like {{ box_example }} ({{ convention }})."]}
    pack = pack_from_mapping(data, "mem")
    text = pack.render_turn(0, (640, 480), convention="internvl").text
    assert "<ref>fused fingers</ref><box>[[100, 250, 500, 750]]</box> (internvl)" in text


def test_native_pack_needs_a_model_with_a_convention() -> None:
    from grounddefake.pipeline import resolve_convention

    from .conftest import ScriptedBackend

    pack = pack_from_mapping({**BASE, "convention": "native"}, "mem")
    backend = ScriptedBackend(lambda r: "")
    with pytest.raises(PromptPackError, match="has none"):
        resolve_convention(pack, backend)
    backend.convention = "paligemma"
    assert resolve_convention(pack, backend) == "paligemma"


def test_answers_map_short_replies_and_survive_yaml_booleans() -> None:
    pack = load_pack("paligemma-verdict")
    assert pack.answers == {"yes": "fake", "no": "real"}  # YAML 1.1 reads yes / no as booleans
    assert load_pack("verdict").answers is None


# Declared sample inputs: only the fields a pack names in `inputs` reach its templates, never ground truth.
VQA = {
    **BASE,
    "task": "verdict",
    "inputs": ["question", "choices"],
    "turns": ["{{ inputs.question }} {{ inputs.choices }}"],
}
VQA.pop("convention")


def test_declared_inputs_reach_the_template_and_nothing_else() -> None:
    pack = pack_from_mapping(VQA, "mem")
    meta = {"question": "Is the sky real?", "choices": ["real", "fake"], "generator": "sdxl", "label": "fake"}
    assert pack.inputs == ("question", "choices")
    assert pack.inputs_of(meta) == {"question": "Is the sky real?", "choices": ["real", "fake"]}
    assert pack.render_turn(0, (8, 8), inputs=meta).text == "Is the sky real? ['real', 'fake']"
    assert set(pack.context((8, 8), inputs=meta)["inputs"]) == {"question", "choices"}


def test_system_text_reads_inputs_too() -> None:
    pack = pack_from_mapping({**VQA, "system": "Answer: {{ inputs.question }}"}, "mem")
    assert pack.render_system((8, 8), inputs={"question": "Real?", "choices": []}) == "Answer: Real?"


def test_declared_inputs_are_part_of_the_pack_identity() -> None:
    assert pack_from_mapping(VQA, "a").id != pack_from_mapping({**VQA, "inputs": ["question", "choices", "x"]}, "a").id


@pytest.mark.parametrize("name", ["label", "rules", "regions", "mask", "heatmap", "image", "id", "score", "truth"])
def test_reserved_names_cannot_be_declared(name: str) -> None:
    with pytest.raises(PromptPackError, match=rf"field 'inputs': '{name}' is reserved") as info:
        pack_from_mapping({**VQA, "inputs": [name]}, "mem")
    assert "\n" not in str(info.value)


@pytest.mark.parametrize(
    ("inputs", "problem"),
    [
        ("question", "must be a list"),
        ([1], "must be a list"),
        (["Label"], "reserved"),
        (["a-b"], "not a name"),
        (["question", "question"], "twice"),
    ],
)
def test_malformed_inputs_are_refused(inputs: object, problem: str) -> None:
    with pytest.raises(PromptPackError, match=f"field 'inputs': .*{problem}"):
        pack_from_mapping({**VQA, "turns": ["Real?"], "inputs": inputs}, "mem")


@pytest.mark.parametrize(
    ("turns", "field"),
    [
        (["{{ inputs.answer }}"], "uses inputs.answer"),
        (["{{ inputs['answer'] }}"], "uses inputs.answer"),
    ],
)
def test_a_template_reading_an_undeclared_input_is_refused_when_loaded(turns: list[str], field: str) -> None:
    with pytest.raises(PromptPackError, match=rf"turns\[0\]': {field}, which 'inputs' does not declare"):
        pack_from_mapping({**VQA, "turns": turns}, "mem")


def test_a_pack_without_inputs_cannot_read_any() -> None:
    with pytest.raises(PromptPackError, match="uses inputs"):
        pack_from_mapping({**BASE, "turns": ["{{ inputs }}"]}, "mem")
    pack = pack_from_mapping(BASE, "mem")
    assert "inputs" not in pack.context((8, 8), inputs={"question": "q"})


def test_an_undeclared_input_reached_indirectly_fails_when_the_pack_is_loaded() -> None:
    with pytest.raises(PromptPackError, match="UndefinedError"):  # the load-time rehearsal renders it once
        pack_from_mapping({**VQA, "turns": ["{% set k = 'answer' %}{{ inputs[k] }}"]}, "mem")


@pytest.mark.parametrize(
    ("meta", "problem"),
    [
        ({"choices": []}, "sample 's1' has no meta.question, which the prompt pack 't' declares"),
        ({"question": None, "choices": []}, "has no meta.question"),
        ({"question": "  ", "choices": []}, "has no meta.question"),
        ({"question": {"label": "fake"}, "choices": []}, r"meta.question is a dict: an input must be text"),
        ({"question": "q", "choices": [["a"]]}, r"meta.choices is a list"),
        ({"question": float("nan"), "choices": []}, r"meta.question is a float"),
        ({"question": "x" * 20_000, "choices": []}, "longer than 10000 characters"),
    ],
)
def test_a_sample_without_usable_declared_inputs_is_an_error(meta: dict, problem: str) -> None:
    pack = pack_from_mapping(VQA, "mem")
    with pytest.raises(SampleInputError, match=problem):
        pack.inputs_of(meta, sample_id="s1")
    with pytest.raises(PromptPackError):
        pack.render_turn(0, (8, 8), inputs=meta)
