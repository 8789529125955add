"""The real model (all-MiniLM-L6-v2, ONNX int8) loaded from a directory: what it gives."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from monitor.core.errors import ModelError
from monitor.meaning.encoder import Encoder, load_encoder


@pytest.fixture(scope="module")
def encoder(model_dir: Path) -> Encoder:
    return load_encoder(str(model_dir))


def test_each_text_becomes_a_unit_vector_of_384_floats(encoder: Encoder) -> None:
    texts = ["Troops crossed the border.", "", "word " * 2000, "Zürich: 30 °C, 5 % more."]
    vectors = encoder.encode(texts)
    assert encoder.dimension == 384
    assert vectors.shape == (4, 384) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert encoder.encode([]).shape == (0, 384)


def test_a_paraphrase_is_nearer_than_another_story(encoder: Encoder) -> None:
    pairs = [
        ("The lender will shed about 5% of its workforce.", "The bank is cutting jobs."),
        ("Pyongyang has dispatched several thousand soldiers.", "North Korea sent troops."),
        ("Police fired tear gas at marchers.", "Officers used tear gas on protesters."),
    ]
    vectors = encoder.encode([text for pair in pairs for text in pair])
    similarity = vectors @ vectors.T
    for i in range(len(pairs)):
        own = similarity[2 * i, 2 * i + 1]
        others = [similarity[2 * i, 2 * j + 1] for j in range(len(pairs)) if j != i]
        assert own > max(others) + 0.2, (pairs[i], own, others)


def test_a_sentence_gets_the_same_vector_alone_and_among_others(encoder: Encoder) -> None:
    # `explain` reads one article, the daemon a batch of them: near a threshold they
    # must agree, so a vector may not depend on what else is encoded with it.
    texts = [f"Report {i}: " + "the river rose again " * (i % 9) for i in range(70)]
    texts += ["An earthquake struck the coast.", "Interest rates were raised."]
    together = encoder.encode(texts)
    alone = np.vstack([encoder.encode([text]) for text in texts[-2:]])
    np.testing.assert_array_equal(together[-2:], alone)


def test_a_caller_expecting_another_dimension_is_refused(model_dir: Path) -> None:
    with pytest.raises(ModelError) as caught:
        load_encoder(str(model_dir), dimension=768)
    assert str(model_dir) in caught.value.message
    assert "384 dimensions, 768 expected" in caught.value.message
    assert load_encoder(str(model_dir), dimension=384, threads=2).dimension == 384
