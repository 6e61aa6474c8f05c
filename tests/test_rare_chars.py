"""embeddings.rare_chars: the table covers exactly characters the bundled model cannot see, and the rewrite
gives the encoder something to tell them apart by."""

import numpy as np
import pytest

from embeddings.rare_chars import ELEMENTS, TERMS, dense_text


@pytest.fixture(scope="module")
def tokenizer(st_model):
    return st_model.tokenizer


def unknown(tokenizer, text: str) -> bool:
    return tokenizer.unk_token_id in tokenizer(text, add_special_tokens=False)["input_ids"]


def test_every_mapped_character_is_unknown_to_the_model_and_every_replacement_is_known(tokenizer):
    for char in ELEMENTS:
        assert unknown(tokenizer, char), char
    for word in TERMS:
        assert any(unknown(tokenizer, c) for c in word), word  # each word holds at least one invisible char
    for text in [s for s, _ in ELEMENTS.values()] + [n for _, n in ELEMENTS.values()] + list(TERMS.values()):
        assert not unknown(tokenizer, text), text
    # the characters the issue names, and common element characters the vocabulary does know, untouched
    for char in "镧铈镨钐铕钆铽镝钬铒铥镱镥钇钪镓锶铍锆铪钽":
        assert char in ELEMENTS
    assert dense_text("铁钴镍铜锌钕") == "铁钴镍铜锌钕"


def test_rewrites_elements_words_and_characters_and_keeps_other_text():
    assert dense_text("氮化镓与氮化铈") == "氮化Ga与氮化Ce"
    assert dense_text("钇稳定氧化锆YSZ") == "Y稳定氧化Zr YSZ"  # a symbol never runs into other Latin text
    assert dense_text("铈镧稀土", "name") == "cerium lanthanum稀土"
    assert dense_text("吡啶、喹啉等杂环；轻质砼砌块；煅烧料") == "吡啶、quinoline等杂环；轻质混凝土砌块；焙烧料"
    plain = "陶瓷窑炉余热回收，PLC 控制"
    assert dense_text(plain) is plain
    assert dense_text("") == ""
    once = dense_text("镨钕镝铽回收，哌嗪与嘧啶")
    assert dense_text(once) == once
    with pytest.raises(ValueError):
        dense_text("镝", "pinyin")


def test_the_model_tells_gallium_from_cerium_only_after_the_rewrite(encoder):
    raw = encoder.encode(["氮化镓", "氮化铈"])
    rewritten = encoder.encode([dense_text("氮化镓"), dense_text("氮化铈")])
    assert float(raw[0] @ raw[1]) > 0.999  # both are 氮化<unk>
    assert float(rewritten[0] @ rewritten[1]) < float(raw[0] @ raw[1]) - 0.01
    assert np.allclose(np.linalg.norm(rewritten, axis=1), 1, atol=1e-5)
