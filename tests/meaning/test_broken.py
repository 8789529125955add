"""Broken models are refused at load, with the path and the reason."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

from monitor.core.errors import ModelError
from monitor.meaning import layout
from monitor.meaning.encoder import load_encoder


def copy_model(model_dir: Path, target: Path) -> Path:
    shutil.copytree(model_dir, target)
    return target


def refusal(directory: Path) -> str:
    with pytest.raises(ModelError) as caught:
        load_encoder(str(directory))
    return caught.value.message


def test_a_truncated_onnx_file(model_dir: Path, tmp_path: Path) -> None:
    model = copy_model(model_dir, tmp_path / "m")
    data = (model / "model_int8.onnx").read_bytes()
    (model / "model_int8.onnx").write_bytes(data[: len(data) // 3])
    assert refusal(model).startswith(f"model {model}/model_int8.onnx: cannot be loaded")


def test_a_missing_or_garbled_tokenizer(model_dir: Path, tmp_path: Path) -> None:
    model = copy_model(model_dir, tmp_path / "m")
    (model / "tokenizer.json").unlink()
    assert refusal(model) == f"model {model}: tokenizer.json is missing"
    (model / "tokenizer.json").write_text('{"version": "1.0", "model":')
    assert refusal(model).startswith(f"model {model}/tokenizer.json: cannot be read")


def test_a_directory_without_an_onnx_file(model_dir: Path, tmp_path: Path) -> None:
    model = copy_model(model_dir, tmp_path / "m")
    (model / "model_int8.onnx").rename(model / "model.safetensors")
    assert refusal(model).startswith(f"model {model}: no ONNX file")


def test_a_garbled_configuration(model_dir: Path, tmp_path: Path) -> None:
    model = copy_model(model_dir, tmp_path / "m")
    (model / layout.SENTENCE_CONFIG).write_text("{max_seq_length: 256")
    assert refusal(model).startswith(f"model {model}: sentence_bert_config.json cannot be read")


def fake_model(directory: Path, model_dir: Path, graph: onnx.GraphProto) -> Path:
    """A real tokenizer and configuration (384 dimensions) with ``graph`` as the model."""
    directory.mkdir()
    for name in (layout.TOKENIZER, layout.SENTENCE_CONFIG, layout.POOLING_CONFIG):
        (directory / name).parent.mkdir(exist_ok=True)
        shutil.copyfile(model_dir / name, directory / name)
    opset = [helper.make_opsetid("", 17)]
    onnx.save(helper.make_model(graph, opset_imports=opset), directory / "model.onnx")
    return directory


def graph(nodes: list[onnx.NodeProto], output: onnx.ValueInfoProto) -> onnx.GraphProto:
    ids = helper.make_tensor_value_info("input_ids", TensorProto.INT64, ["batch", "tokens"])
    return helper.make_graph(nodes, "fake", [ids], [output], initializer=[_repeats()])


def _repeats() -> onnx.TensorProto:
    return helper.make_tensor("repeats", TensorProto.INT64, [3], [1, 1, 8])


def test_a_model_of_another_dimension(model_dir: Path, tmp_path: Path) -> None:
    # Token vectors of 8 floats where the configuration says 384.
    nodes = [
        helper.make_node("Cast", ["input_ids"], ["f"], to=TensorProto.FLOAT),
        helper.make_node("Unsqueeze", ["f", "axis"], ["u"]),
        helper.make_node("Tile", ["u", "repeats"], ["last_hidden_state"]),
    ]
    g = graph(nodes, helper.make_tensor_value_info("last_hidden_state", TensorProto.FLOAT, None))
    g.initializer.append(helper.make_tensor("axis", TensorProto.INT64, [1], [2]))
    model = fake_model(tmp_path / "m", model_dir, g)
    expected = "gives vectors of 8 dimensions, 384 as its configuration says"
    assert refusal(model) == f"model {model}: {expected}"


def test_a_model_whose_output_is_not_one_vector_per_sentence(
    model_dir: Path, tmp_path: Path
) -> None:
    # One float per token: (batch, tokens), so the "vector" size follows the sentence.
    nodes = [helper.make_node("Cast", ["input_ids"], ["out"], to=TensorProto.FLOAT)]
    model = fake_model(
        tmp_path / "floats",
        model_dir,
        graph(nodes, helper.make_tensor_value_info("out", TensorProto.FLOAT, None)),
    )
    assert "its vectors have no fixed size" in refusal(model)
    # Integers are no vectors either.
    nodes = [helper.make_node("Identity", ["input_ids"], ["out"])]
    model = fake_model(
        tmp_path / "ints",
        model_dir,
        graph(nodes, helper.make_tensor_value_info("out", TensorProto.INT64, None)),
    )
    assert "expected float vectors" in refusal(model)


def test_a_pooling_we_do_not_know_or_a_configuration_that_is_no_object(
    model_dir: Path, tmp_path: Path
) -> None:
    model = copy_model(model_dir, tmp_path / "m")
    pooling = model / layout.POOLING_CONFIG
    pooling.write_text('{"pooling_mode_max_tokens": true, "pooling_mode_mean_tokens": false}')
    assert refusal(model) == f"model {model}: pooling pooling_mode_max_tokens not supported"
    pooling.write_text("[384]")
    assert refusal(model) == f"model {model}: 1_Pooling/config.json is not a JSON object"


def test_cls_pooling_takes_the_first_token(model_dir: Path, tmp_path: Path) -> None:
    # A model trained with CLS pooling (bge, for one) says so in its pooling configuration.
    model = copy_model(model_dir, tmp_path / "m")
    (model / layout.POOLING_CONFIG).write_text('{"pooling_mode_cls_token": true}')
    texts = ["Troops crossed the border.", "Rates were raised."]
    cls = load_encoder(str(model)).encode(texts)
    mean = load_encoder(str(model_dir)).encode(texts)
    assert cls.shape == mean.shape and not np.allclose(cls, mean, atol=0.05)


def test_a_model_with_other_inputs_or_failing_to_run(model_dir: Path, tmp_path: Path) -> None:
    image = helper.make_tensor_value_info("pixel_values", TensorProto.FLOAT, ["batch", 3])
    out = helper.make_tensor_value_info("out", TensorProto.FLOAT, None)
    g = helper.make_graph(
        [helper.make_node("Identity", ["pixel_values"], ["out"])], "x", [image], [out]
    )
    model = fake_model(tmp_path / "image", model_dir, g)
    assert refusal(model).endswith(
        "takes inputs pixel_values; expected input_ids "
        "(and optionally attention_mask, token_type_ids)"
    )
    # Token ids reshaped to 7 values: fails on any sentence of another length.
    nodes = [
        helper.make_node("Cast", ["input_ids"], ["f"], to=TensorProto.FLOAT),
        helper.make_node("Reshape", ["f", "seven"], ["out"]),
    ]
    g = graph(nodes, out)
    g.initializer.append(helper.make_tensor("seven", TensorProto.INT64, [1], [7]))
    model = fake_model(tmp_path / "reshape", model_dir, g)
    assert refusal(model).startswith(f"model {model}/model.onnx: cannot run")
