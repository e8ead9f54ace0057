"""Text tokenizer adapters: each equals its reference library, specials behave alike."""

from __future__ import annotations

import json
from functools import cache

import pytest
from dashscope.tokenizers.qwen_tokenizer import QwenTokenizer
from hypothesis import given, settings
from hypothesis import strategies as st
from tokenizers import Tokenizer
from tokenizers.models import WordLevel
from tokenizers.pre_tokenizers import WhitespaceSplit
from tokenizers.processors import TemplateProcessing

from mmtok.errors import ConfigError
from mmtok.text.tokenizers import (
    builtin_tokenizer,
    default_tekken_path,
    hf_tokenizer,
    load_tokenizer,
    tiktoken_tokenizer,
)
from tests.parity import references as ref
from tests.parity.fusion_references import QWEN_TIKTOKEN, qwen_tokenizer

pieces = st.sampled_from([*"abcXYZ 019\n\t.,!?'é字€🙂", "e\u0301", "<|im_start|>", "[INST]"])
texts = st.lists(pieces, max_size=30).map("".join)


@settings(max_examples=60)
@given(text=texts)
def test_tekken_equals_mistral_common(text):
    tekken = ref.mistral_tokenizer().instruct_tokenizer.tokenizer
    assert builtin_tokenizer().encode(text) == tekken.encode(text, bos=False, eos=False)


def test_tekken_specials():
    tekken = ref.mistral_tokenizer().instruct_tokenizer.tokenizer
    tok = builtin_tokenizer()
    for name in ("[IMG]", "[IMG_BREAK]", "[IMG_END]", "[INST]", "[/INST]"):
        assert tok.token_id(name) == tekken.get_special_token(name)
    assert (tok.bos_id, tok.eos_id) == (tekken.bos_id, tekken.eos_id)
    assert tok.vocab_size == tekken.n_words
    # the whole special-token table, rank by rank
    assert tok.specials == {tekken.id_to_piece(i): i for i in range(tekken.num_special_tokens)}


def test_tekken_file_with_its_own_special_tokens(tmp_path):
    """A newer Tekken file lists its special tokens; read exactly as mistral-common reads it."""
    from mistral_common.tokens.tokenizers.tekken import Tekkenizer

    data = json.loads(default_tekken_path().read_text())
    data["config"]["version"] = "v13"
    data["config"]["default_num_special_tokens"] = 40
    data["config"]["default_vocab_size"] = 40 + 5000
    data["vocab"] = data["vocab"][:6000]
    names = ["<unk>", "<s>", "</s>", "[INST]", "[/INST]", "[IMG]", "[IMG_BREAK]", "[IMG_END]"]
    data["special_tokens"] = [
        {"rank": i, "token_str": n, "is_control": True} for i, n in enumerate(names)
    ]
    path = tmp_path / "tekken.json"
    path.write_text(json.dumps(data))
    ref_tok = Tekkenizer.from_file(path)
    tok = load_tokenizer(path)
    assert tok.specials == {ref_tok.id_to_piece(i): i for i in range(ref_tok.num_special_tokens)}
    text = "Hello wörld [IMG] 12345 🙂"
    assert tok.encode(text) == ref_tok.encode(text, bos=False, eos=False)
    assert tok.vocab_size == ref_tok.n_words
    del data["special_tokens"]
    path.write_text(json.dumps(data))
    with pytest.raises(ConfigError, match="special_tokens missing"):
        load_tokenizer(path)


@cache
def dashscope_qwen() -> QwenTokenizer:
    return QwenTokenizer(QWEN_TIKTOKEN)


@settings(max_examples=60)
@given(text=texts)
def test_qwen_tiktoken_equals_dashscope(text):
    """Plain text equals dashscope's Qwen tokenizer with specials disallowed-as-text; with
    ``parse_special`` the specials it knows become their ids, exactly as dashscope does."""
    reference = dashscope_qwen()
    tok = qwen_tokenizer()
    assert tok.encode(text, parse_special=True) == reference.encode(text, allowed_special="all")
    assert tok.encode(text) == reference.encode(text, allowed_special=set())


def test_qwen_special_ids():
    tok = qwen_tokenizer()
    assert tok.token_id("<|endoftext|>") == 151643
    assert tok.token_id("<|im_start|>") == 151644
    assert tok.token_id("<|vision_start|>") == 151652
    assert tok.token_id("<|image_pad|>") == 151655
    assert tok.token_id("<|video_pad|>") == 151656
    assert tok.bos_id is None


def test_special_strings_in_plain_text_stay_text():
    tok = builtin_tokenizer()
    assert tok.token_id("[INST]") not in tok.encode("[INST] hi")
    assert tok.encode("[INST]hi", parse_special=True) == [tok.token_id("[INST]"), *tok.encode("hi")]


def _word_tokenizer(path, *, bos: bool) -> Tokenizer:
    vocab = {"<s>": 0, "</s>": 1, "[UNK]": 2, "hello": 3, "world": 4, "<image>": 5}
    model = Tokenizer(WordLevel(vocab, unk_token="[UNK]"))
    model.pre_tokenizer = WhitespaceSplit()
    model.add_special_tokens(["<s>", "</s>", "<image>"])
    if bos:
        model.post_processor = TemplateProcessing(single="<s> $A", special_tokens=[("<s>", 0)])
    model.save(str(path))
    return model


@pytest.mark.parametrize("bos", [True, False])
def test_hf_tokenizer_json(tmp_path, bos):
    path = tmp_path / "tokenizer.json"
    reference = _word_tokenizer(path, bos=bos)
    tok = hf_tokenizer(path)
    assert tok.bos_id == (0 if bos else None)
    assert tok.eos_id is None
    assert (
        tok.encode("hello world x")
        == reference.encode("hello world x", add_special_tokens=False).ids
    )
    assert tok.token_id("<image>") == 5
    # Special strings in plain text are not the special token; parsed they are.
    assert tok.encode("hello<image>") == [2]  # one unknown word
    assert tok.encode("hello<image>", parse_special=True) == [3, 5]


def test_with_tokens_appends_after_the_vocabulary():
    tok = builtin_tokenizer()
    more = tok.with_tokens(["[IMG]", "<|im_start|>", "<|im_end|>", "<|im_start|>"])
    assert more.token_id("[IMG]") == tok.token_id("[IMG]")  # already there: unchanged
    assert more.token_id("<|im_start|>") == tok.vocab_size
    assert more.token_id("<|im_end|>") == tok.vocab_size + 1
    assert more.added == ("<|im_start|>", "<|im_end|>")
    assert more.vocab_size == tok.vocab_size + 2
    assert tok.with_tokens(["[IMG]"]) is tok


def test_token_id_names_the_missing_token():
    with pytest.raises(ConfigError, match=r"has no special token '<\|image_pad\|>'"):
        builtin_tokenizer().token_id("<|image_pad|>")


def test_load_tokenizer_detects_formats(tmp_path):
    assert load_tokenizer(QWEN_TIKTOKEN).token_id("<|im_end|>") == 151645
    assert load_tokenizer(default_tekken_path()).token_id("[IMG]") == 10
    folder = tmp_path / "model"
    folder.mkdir()
    _word_tokenizer(folder / "tokenizer.json", bos=True)
    assert load_tokenizer(folder).bos_id == 0
    with pytest.raises(ConfigError, match="tokenizer file not found"):
        load_tokenizer(tmp_path / "missing.json")
    with pytest.raises(ConfigError, match=r"no tokenizer\.json or tekken\.json"):
        load_tokenizer(tmp_path)
    (tmp_path / "vocab.txt").write_text("a 1\n")
    with pytest.raises(ConfigError, match="unknown tokenizer format"):
        load_tokenizer(tmp_path / "vocab.txt")
    (tmp_path / "broken.json").write_text(json.dumps({"version": "1.0"}))
    with pytest.raises(ConfigError, match=r"not a Hugging Face tokenizer\.json"):
        load_tokenizer(tmp_path / "broken.json")
    (tmp_path / "bad.tiktoken").write_text("not base64 at all here\n")
    with pytest.raises(ConfigError, match="not a tiktoken ranks file"):
        tiktoken_tokenizer(tmp_path / "bad.tiktoken")
