"""encode / count_request / batch / to_model_inputs: exact sequences, counts from headers
only, loud failures before any decoding, and the tensors each family's forward takes."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest
import tiktoken
from dashscope.tokenizers.qwen_tokenizer import PAT_STR, QwenTokenizer
from hypothesis import given, settings
from hypothesis import strategies as st
from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import smart_resize

import mmtok.fusion.tensors as fusion_tensors
from mmtok.errors import ConfigError, MediaError, RequestError
from mmtok.fusion.inputs import batch
from mmtok.fusion.layout import Modality, Span
from mmtok.fusion.plan import count_request
from mmtok.fusion.request import parse_request
from mmtok.fusion.tensors import encode
from mmtok.fusion.tokenizer import TokenizerFallbackWarning, resolve_tokenizer
from mmtok.profiles import get_profile
from mmtok.text.tokenizers import QWEN2_SPECIAL_TOKENS, builtin_tokenizer
from tests.images import encode as encode_image
from tests.images import random_image
from tests.parity import fusion_references as fref

PROFILES = ["qwen2-vl", "qwen2.5-vl", "pixtral", "llava-1.5", "llava-next", "generic"]


def png(w: int, h: int, seed: int = 0) -> bytes:
    return encode_image(random_image(w, h, seed=seed), "PNG")


def user(*content) -> dict:
    return {"messages": [{"role": "user", "content": list(content)}]}


def text(t: str) -> dict:
    return {"type": "text", "text": t}


def image(w: int, h: int, **extra) -> dict:
    return {"type": "image", "data": png(w, h), **extra}


def tokenizer_for(name: str):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", TokenizerFallbackWarning)
        return resolve_tokenizer(get_profile(name))


def qwen_reference_ids(rendered: str) -> list[int]:
    """The rendered chat string tokenized as transformers' processor would: tiktoken with
    dashscope's Qwen ranks and regex, Qwen2's special tokens parsed."""
    ranks = QwenTokenizer._load_tiktoken_bpe(fref.QWEN_TIKTOKEN)
    specials = {t: 151643 + i for i, t in enumerate(QWEN2_SPECIAL_TOKENS)}
    enc = tiktoken.Encoding(
        "qwen2", pat_str=PAT_STR, mergeable_ranks=ranks, special_tokens=specials
    )
    return enc.encode(rendered, allowed_special="all")


# --- exact sequences ------------------------------------------------------------------------


def test_qwen_chat_equals_the_rendered_template():
    request = user(text("Describe this."), image(100, 60), text("What is it?"))
    got = encode(request, get_profile("qwen2-vl"), fref.qwen_tokenizer())
    h, w = smart_resize(60, 100, 28, 56 * 56, 28 * 28 * 1280)
    pads = (h // 28) * (w // 28)
    rendered = (
        "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n"
        "<|im_start|>user\nDescribe this.<|vision_start|>" + "<|image_pad|>" * pads
        + "<|vision_end|>What is it?<|im_end|>\n<|im_start|>assistant\n"
    )  # fmt: skip
    assert got.input_ids.tolist() == qwen_reference_ids(rendered)
    assert got.image_grid_thw.tolist() == [[1, h // 14, w // 14]]
    image_span = next(s for s in got.spans if s.modality == "image")
    assert image_span.tokens == pads + 2
    assert got.modality_ids.tolist().count(Modality.IMAGE) == pads


def test_qwen_labels_and_system_turn():
    request = {
        "messages": [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": [image(56, 56), image(56, 56), text("Same?")]},
            {"role": "assistant", "content": "Yes."},
        ],
        "labels": True,
        "add_generation_prompt": False,
    }
    got = encode(request, get_profile("qwen2.5-vl"), fref.qwen_tokenizer())
    img = "<|vision_start|>" + "<|image_pad|>" * 4 + "<|vision_end|>"
    rendered = (
        "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\n"
        f"Picture 1: {img}Picture 2: {img}Same?<|im_end|>\n"
        "<|im_start|>assistant\nYes.<|im_end|>\n"
    )
    assert got.input_ids.tolist() == qwen_reference_ids(rendered)


def test_prompt_form_parses_special_tokens_and_expands_placeholders():
    request = {"prompt": "<|im_start|>user\n<image>Hi<|im_end|>", "media": [image(56, 56)]}
    got = encode(request, get_profile("qwen2-vl"), fref.qwen_tokenizer())
    img = "<|vision_start|>" + "<|image_pad|>" * 4 + "<|vision_end|>"
    assert got.input_ids.tolist() == qwen_reference_ids(f"<|im_start|>user\n{img}Hi<|im_end|>")


def test_per_item_max_pixels_override():
    request = user(image(1000, 1000, max_pixels=200_000), image(1000, 1000))
    got = encode(request, get_profile("qwen2-vl"), fref.qwen_tokenizer())
    small = smart_resize(1000, 1000, 28, 56 * 56, 200_000)
    default = smart_resize(1000, 1000, 28, 56 * 56, 28 * 28 * 1280)
    assert got.image_grid_thw.tolist() == [
        [1, small[0] // 14, small[1] // 14],
        [1, default[0] // 14, default[1] // 14],
    ]
    assert got.images[0].pixel_values.shape[0] == (small[0] // 14) * (small[1] // 14)


def test_dropped_media_leave_no_trace():
    tok = fref.qwen_tokenizer()
    profile = get_profile("qwen2-vl")
    dropped = parse_request(user(text("a"), image(56, 84), text("b"), image(56, 56)))
    dropped = dropped.with_media(0, drop=True)
    without = user(text("a"), text("b"), image(56, 56))
    got = encode(dropped, profile, tok)
    assert got.input_ids.tolist() == encode(without, profile, tok).input_ids.tolist()
    assert [(s.modality, s.index) for s in got.spans] == [("text", 0), ("image", 0), ("text", 1)]
    count = count_request(dropped, profile, tok)
    assert [(p.part, p.index) for p in count.parts] == [(1, 0)]


# --- counting -------------------------------------------------------------------------------


@st.composite
def requests(draw, name: str):
    dynamic = name in ("qwen2-vl", "qwen2.5-vl", "generic")
    media = []
    for _ in range(draw(st.integers(0, 3))):
        extra = {}
        if dynamic and draw(st.booleans()):
            extra["max_pixels"] = draw(st.integers(3136, 60_000))
        if draw(st.integers(0, 4)) == 0:
            extra["drop"] = True
        w, h = draw(st.integers(8, 160)), draw(st.integers(8, 160))
        media.append({"type": "image", "data": png(w, h), **extra})
    words = st.text(alphabet="ab \n,字", max_size=8)
    if draw(st.booleans()):
        prompt = "".join(draw(words) + "<image>" for _ in media) + draw(words)
        return {"prompt": prompt, "media": media, "labels": draw(st.booleans())}
    content = []
    for m in media:
        content += [text(draw(words)), m]
    content.append(text(draw(words)))
    messages = [{"role": "user", "content": content}]
    if draw(st.booleans()):
        messages = [{"role": "system", "content": draw(words)}, *messages]
    if draw(st.booleans()):
        messages += [{"role": "assistant", "content": "ok"}, {"role": "user", "content": "more"}]
    return {"messages": messages, "labels": draw(st.booleans())}


@pytest.mark.parametrize("name", PROFILES)
@settings(max_examples=25)
@given(data=st.data())
def test_count_equals_encoded_length(name, data):
    profile = get_profile(name)
    tok = tokenizer_for(name)
    request = data.draw(requests(name))
    count = count_request(request, profile, tok)
    got = encode(request, profile, tok)
    assert count.total == len(got.input_ids)
    assert count.text + sum(p.tokens for p in count.parts) == count.total
    assert sum(count.by_modality.values()) == count.total
    assert count.spans == got.spans
    # spans partition the sequence
    assert [s.start for s in got.spans[1:]] == [s.end for s in got.spans[:-1]]
    assert (got.spans[0].start if got.spans else 0) == 0
    assert (got.spans[-1].end if got.spans else 0) == count.total
    media = [s for s in got.spans if s.modality != "text"]
    assert [p.tokens - p.label_tokens for p in count.parts] == [s.tokens for s in media]


def test_count_never_decodes(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("decoded")

    monkeypatch.setattr(fusion_tensors, "preprocess_image", refuse)
    monkeypatch.setattr("mmtok.image.decode.decode_image", refuse)
    request = user(text("hi"), image(300, 200), image(40, 30))
    count = count_request(request, get_profile("pixtral"))
    rows = [(300 + 15) // 16, (200 + 15) // 16]  # Pixtral: 16-px tokens, rows end in a break
    assert count.parts[0].tokens == rows[1] * (rows[0] + 1)
    assert count.parts[0].grid == (1, rows[1], rows[0])


# --- bad input: clear errors, nothing decoded -----------------------------------------------


@pytest.fixture
def decodes(monkeypatch):
    """Counts image decodes; a failing request must decode nothing."""
    calls = []
    original = fusion_tensors.preprocess_image

    def spy(*args, **kwargs):
        calls.append(args)
        return original(*args, **kwargs)

    monkeypatch.setattr(fusion_tensors, "preprocess_image", spy)
    return calls


def test_missing_file_fails_before_any_decoding(tmp_path, decodes):
    good = tmp_path / "good.png"
    good.write_bytes(png(40, 40))
    request = user(
        {"type": "image", "path": str(good)}, {"type": "image", "path": str(tmp_path / "gone.png")}
    )
    with pytest.raises(MediaError, match=r"gone.png: file not found"):
        encode(request, get_profile("pixtral"))
    assert decodes == []


@pytest.mark.parametrize(
    ("request_", "profile", "needle"),
    [
        ({"prompt": "<image><image>", "media": [image(9, 9)]}, "pixtral", "2 placeholder(s)"),
        ({"prompt": "<image>", "media": [image(9, 9), image(9, 9)]}, "pixtral", "'media' has 2"),
        (user({"type": "sticker", "data": b"x"}), "pixtral", "unknown part type 'sticker'"),
        (
            user(text("a"), image(9, 9)),
            "text-only",
            "does not accept image input (it takes text only)",
        ),
        (user({"type": "video", "data": b"x"}), "pixtral", "does not accept video input"),
        (user(image(9, 9, max_pixels=5000)), "pixtral", "min_pixels/max_pixels apply to dynamic"),
    ],
)
def test_bad_requests(request_, profile, needle, decodes):
    prof = (
        get_profile("pixtral").with_options(modalities=())
        if profile == "text-only"
        else get_profile(profile)
    )
    with pytest.raises(RequestError) as info:
        encode(request_, prof, builtin_tokenizer().with_tokens(prof.tokens.names().values()))
    assert needle in str(info.value)
    assert decodes == []


def test_error_names_part_location_and_file(tmp_path):
    clip = tmp_path / "clip.mp4"
    fref.write_video(clip, 4, (32, 32), 2)
    request = user(text("a"), {"type": "image", "path": str(clip)})
    with pytest.raises(
        RequestError,
        match=r"messages\[0\].content\[1\] \(.*clip.mp4\): image part, but the file is a video",
    ):
        encode(request, get_profile("qwen2-vl"), fref.qwen_tokenizer())


def test_missing_special_token_is_a_config_error():
    with pytest.raises(ConfigError, match=r"has no special token '<\|im_start\|>'"):
        encode(user(text("hi")), get_profile("qwen2-vl"), builtin_tokenizer())


# --- tokenizer fallback ---------------------------------------------------------------------


def test_fallback_warns_for_families_without_a_builtin_tokenizer():
    with pytest.warns(TokenizerFallbackWarning, match="text token counts are approximate"):
        tok = resolve_tokenizer(get_profile("qwen2.5-vl"))
    assert tok.token_id("<|image_pad|>") >= builtin_tokenizer().vocab_size
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert resolve_tokenizer(get_profile("pixtral")).token_id("[IMG]") == 10


def test_model_folder_tokenizer_is_used(tmp_path):
    from tokenizers import Tokenizer
    from tokenizers.models import WordLevel
    from tokenizers.pre_tokenizers import WhitespaceSplit

    specials = [
        "<|im_start|>",
        "<|im_end|>",
        "<|vision_start|>",
        "<|vision_end|>",
        "<|image_pad|>",
        "<|video_pad|>",
    ]
    model = Tokenizer(
        WordLevel({"[UNK]": 0, **{t: i + 1 for i, t in enumerate(specials)}}, unk_token="[UNK]")
    )
    model.pre_tokenizer = WhitespaceSplit()
    model.add_special_tokens(specials)
    model.save(str(tmp_path / "tokenizer.json"))
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "qwen2_vl"}))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        tok = resolve_tokenizer(get_profile(tmp_path))
    assert tok.token_id("<|image_pad|>") == 5


# --- video ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    path = tmp_path_factory.mktemp("video") / "clip.mp4"
    fref.write_video(path, 16, (64, 48), 8)  # 2 s at 8 fps
    return path


def test_qwen25_video_grid_and_seconds_per_patch(clip):
    tok = fref.qwen_tokenizer()
    request = user(text("Watch"), {"type": "video", "path": str(clip), "fps": 2.0})
    got = encode(request, get_profile("qwen2.5-vl"), tok)
    # 2 s × 2 fps = 4 frames → 2 temporal patches of 2; 64×48 → smart resize (video limits)
    h, w = smart_resize(48, 64, 28, 128 * 28 * 28, 768 * 28 * 28)
    assert got.video_grid_thw.tolist() == [[2, h // 14, w // 14]]
    assert got.second_per_grid_ts.tolist() == [1.0]  # 2 frames per patch at 2 fps
    span = next(s for s in got.spans if s.modality == "video")
    assert span.tokens == 2 * (h // 28) * (w // 28) + 2
    assert count_request(request, get_profile("qwen2.5-vl"), tok).total == len(got.input_ids)
    slower = encode(
        user({"type": "video", "path": str(clip), "fps": 4.0}), get_profile("qwen2.5-vl"), tok
    )
    assert slower.video_grid_thw.tolist()[0][0] == 4 and slower.second_per_grid_ts.tolist() == [0.5]
    inputs = got.to_model_inputs()
    assert inputs["second_per_grid_ts"].tolist() == [1.0]
    assert inputs["pixel_values_videos"].shape == (2 * (h // 14) * (w // 14), 3 * 2 * 14 * 14)


def test_generic_video_frames_are_separated(clip):
    profile = get_profile("generic")
    tok = tokenizer_for("generic")
    request = user({"type": "video", "path": str(clip), "fps": 2.0})
    got = encode(request, profile, tok)
    span = next(s for s in got.spans if s.modality == "video")
    ids = got.input_ids[span.start : span.end].tolist()
    assert ids[0] == tok.token_id("[VID_START]") and ids[-1] == tok.token_id("[VID_END]")
    assert ids.count(tok.token_id("[FRAME]")) == 4 - 1  # 4 frames, temporal patch 1
    assert got.videos[0].plan.tokens == span.tokens  # the video layer's own count agrees
    assert count_request(request, profile, tok).total == len(got.input_ids)


@pytest.mark.filterwarnings("ignore::mmtok.fusion.tokenizer.TokenizerFallbackWarning")
def test_use_audio_in_video_is_refused_where_it_cannot_be_planned(clip, tmp_path):
    from tests.media_factory import tone, write_video_with_audio

    part = {"type": "video", "path": str(clip), "use_audio_in_video": True}
    with pytest.raises(RequestError, match="use_audio_in_video applies to"):
        count_request(user(part), get_profile("qwen2.5-vl"), fref.qwen_tokenizer())
    with pytest.raises(MediaError, match="no audio track"):  # clip is silent
        count_request(user(part), get_profile("qwen2.5-omni"))
    voiced = write_video_with_audio(tmp_path / "voiced.mp4", 2.0, tone(2.0), 16_000)
    mixed = user({**part, "path": str(voiced)}, {"type": "video", "path": str(voiced)})
    with pytest.raises(RequestError, match="same for every video"):
        count_request(mixed, get_profile("qwen2.5-omni"))
    one = encode(user({**part, "path": str(voiced)}), get_profile("qwen2.5-omni"))
    plain = encode(user({"type": "video", "path": str(voiced)}), get_profile("qwen2.5-omni"))
    with pytest.raises(RequestError, match="differ in use_audio_in_video"):
        batch([one, plain]).to_model_inputs()
    # 2 s of AAC decode to ⌈32,000 / 1024⌉ · 1024 = 32,768 samples: 205 mel frames → 103 → 51
    assert int((one.modality_ids == Modality.AUDIO).sum()) == 51
    assert "use_audio_in_video" not in plain.to_model_inputs()


def test_generic_audio_is_fenced_and_counted(tmp_path):
    import soundfile as sf

    wav = tmp_path / "speech.wav"
    sf.write(wav, np.sin(np.arange(32_000) / 10).astype(np.float32) * 0.1, 16_000)  # 2 s
    profile = get_profile("generic")
    tok = tokenizer_for("generic")
    request = user(text("Listen"), {"type": "audio", "path": str(wav)})
    got = encode(request, profile, tok)
    span = next(s for s in got.spans if s.modality == "audio")
    # 2 s → 200 mel frames → stride-2 conv 100 → pool of 2: 50 tokens, plus two fences
    ids = got.input_ids[span.start : span.end].tolist()
    assert ids == [tok.token_id("[AUD_START]")] + [tok.token_id("[AUD]")] * 50 + [
        tok.token_id("[AUD_END]")
    ]
    assert count_request(request, profile, tok).total == len(got.input_ids)
    inputs = got.to_model_inputs()
    assert inputs["input_features"].shape == (1, 128, 3000)
    assert inputs["feature_attention_mask"].sum().item() == 200


# --- batching and model inputs --------------------------------------------------------------


def test_batch_pads_left_and_right():
    tok = fref.qwen_tokenizer()
    profile = get_profile("qwen2-vl")
    a = encode(user(text("hi"), image(56, 56)), profile, tok)
    b = encode(user(text("a much longer question, with more words in it")), profile, tok)
    length = max(len(a.input_ids), len(b.input_ids))
    pad = length - len(a.input_ids)
    left = batch([a, b], padding="left", pad_id=151643)
    assert left.input_ids.shape == (2, length)
    assert left.input_ids[0, :pad].tolist() == [151643] * pad
    assert left.attention_mask[0].tolist() == [0] * pad + [1] * len(a.input_ids)
    assert left.position_ids.shape == (3, 2, length)
    assert left.position_ids[:, 0, :pad].tolist() == [[0] * pad] * 3
    assert left.position_ids[:, 0, pad:].tolist() == a.position_ids.tolist()
    assert left.spans[0][0] == Span("text", 0, pad, pad + a.spans[0].tokens)
    assert left.rope_deltas.tolist() == [[a.rope_delta], [b.rope_delta]]
    right = batch([a, b])
    assert right.attention_mask[0].tolist() == [1] * len(a.input_ids) + [0] * pad
    assert right.spans[0] == a.spans
    with pytest.raises(RequestError, match="different profiles"):
        batch([a, encode(user(text("x")), get_profile("pixtral"))])


def test_model_inputs_per_family():
    request = user(text("x"), image(70, 40), image(30, 50))
    qwen = encode(request, get_profile("qwen2-vl"), fref.qwen_tokenizer()).to_model_inputs()
    assert set(qwen) == {
        "input_ids",
        "attention_mask",
        "position_ids",
        "mm_token_type_ids",
        "pixel_values",
        "image_grid_thw",
    }
    assert qwen["position_ids"].shape[:2] == (3, 1)
    assert set(qwen["mm_token_type_ids"].unique().tolist()) == {0, 1}

    pix = encode(request, get_profile("pixtral"))
    inputs = pix.to_model_inputs()
    assert set(inputs) == {
        "input_ids",
        "attention_mask",
        "position_ids",
        "pixel_values",
        "image_sizes",
    }
    sizes = [t.plan.resized for t in pix.images]
    assert inputs["image_sizes"].tolist() == [list(s) for s in sizes]
    hmax, wmax = max(s[0] for s in sizes), max(s[1] for s in sizes)
    assert inputs["pixel_values"].shape == (2, 3, hmax, wmax)
    h, w = sizes[1]
    assert np.array_equal(inputs["pixel_values"][1, :, :h, :w].numpy(), pix.images[1].pixel_values)
    assert not inputs["pixel_values"][1, :, h:, :].any()
    assert inputs["position_ids"].shape == inputs["input_ids"].shape

    llava = encode(request, get_profile("llava-1.5"), tokenizer_for("llava-1.5")).to_model_inputs()
    assert llava["pixel_values"].shape == (2, 3, 336, 336)
    nxt = encode(request, get_profile("llava-next"), tokenizer_for("llava-next")).to_model_inputs()
    assert nxt["image_sizes"].tolist() == [[40, 70], [50, 30]]
    assert nxt["pixel_values"].shape[0] == 2 and nxt["pixel_values"].shape[2:] == (3, 336, 336)


def test_to_json_has_the_keys_scripts_rely_on():
    got = encode(user(text("x"), image(56, 56)), get_profile("qwen2-vl"), fref.qwen_tokenizer())
    data = got.to_json()
    for key in (
        "input_ids",
        "position_ids",
        "modality_ids",
        "spans",
        "image_grid_thw",
        "video_grid_thw",
        "special_tokens",
    ):
        assert key in data
    assert data["special_tokens"]["<|image_pad|>"] == 151655
    assert data["video_grid_thw"] == []
    assert data["spans"][1] == {
        "modality": "image",
        "index": 0,
        "start": data["spans"][0]["end"],
        "end": data["spans"][2]["start"],
    }


# --- plan apart from load -------------------------------------------------------------------


def test_plan_decodes_nothing_and_load_completes_it(monkeypatch, clip, tmp_path):
    import soundfile as sf

    from mmtok.fusion import load, plan_sequence

    wav = tmp_path / "tone.wav"
    sf.write(wav, np.sin(np.arange(24_000) / 7).astype(np.float32) * 0.1, 16_000)
    request = user(
        text("look"),
        image(90, 60),
        {"type": "video", "path": str(clip), "fps": 2.0},
        {"type": "audio", "path": str(wav)},
    )
    profile, tok = get_profile("generic"), tokenizer_for("generic")

    def refuse(*args, **kwargs):
        raise AssertionError("decoded while planning")

    with monkeypatch.context() as m:
        m.setattr("mmtok.image.decode.decode_image", refuse)
        m.setattr("mmtok.video.frames.decode_frames", refuse)
        m.setattr("mmtok.audio.load.load_audio", refuse)
        m.setattr(fusion_tensors, "preprocess_image", refuse)
        plan = plan_sequence(request, profile, tok)
    encoded = encode(request, profile, tok)
    assert np.array_equal(plan.input_ids, encoded.input_ids)
    assert np.array_equal(plan.position_ids, encoded.position_ids)
    assert plan.to_json() == encoded.to_json()
    assert plan.count() == count_request(request, profile, tok)
    loaded = load(plan)
    assert [len(loaded.images), len(loaded.videos), len(loaded.audios)] == [1, 1, 1]
    assert loaded.images[0].plan == plan.items[0].detail


def test_api_takes_profile_names(tmp_path):
    from mmtok.fusion import plan_sequence

    request = user(text("hi"), image(64, 64))
    tok = tokenizer_for("qwen2-vl")
    by_name = plan_sequence(request, "qwen2-vl", tok)
    by_profile = plan_sequence(request, get_profile("qwen2-vl"), tok)
    assert np.array_equal(by_name.input_ids, by_profile.input_ids)
    assert count_request(request, "qwen2-vl", tok).total == len(by_name.input_ids)
    with pytest.raises(ConfigError, match="unknown profile 'nope'"):
        plan_sequence(request, "nope", tok)
