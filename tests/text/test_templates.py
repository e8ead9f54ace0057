"""Chat templates: data a profile holds, chosen by no name; text sits below fusion and profiles."""

from __future__ import annotations

import dataclasses
import subprocess
import sys

import pytest

from mmtok.fusion.request import PLACEHOLDER as REQUEST_PLACEHOLDER
from mmtok.fusion.request import parse_request
from mmtok.profiles import PROFILES, get_profile
from mmtok.text.templates import (
    CHATML,
    MISTRAL,
    PLACEHOLDER,
    PLAIN,
    VICUNA,
    Bos,
    Item,
    Special,
    Text,
    render,
    template_for,
)

FAMILY_TEMPLATES = {
    "qwen2-vl": CHATML,
    "qwen2.5-vl": CHATML,
    "pixtral": MISTRAL,
    "llava-1.5": VICUNA,
    "llava-next": VICUNA,
    "generic": PLAIN,
}


def _request(**extra):
    return parse_request(
        {
            "messages": [
                {
                    "role": "user",
                    "content": [
                        {"type": "text", "text": "hi"},
                        {"type": "image", "path": "a.png"},
                    ],
                }
            ],
            **extra,
        }
    )


@pytest.mark.parametrize("name", sorted(FAMILY_TEMPLATES))
def test_each_family_holds_its_template(name):
    profile = get_profile(name)
    assert template_for(profile) is profile.template is FAMILY_TEMPLATES[name]
    assert template_for(dataclasses.replace(profile, name="mine")) is FAMILY_TEMPLATES[name]


def test_the_template_is_the_profiles_not_its_names():
    # The generic profile given ChatML renders ChatML, whatever it is called.
    profile = dataclasses.replace(PROFILES["generic"], name="qwen2-vl", template=CHATML)
    pieces = render(_request(), template_for(profile))
    assert pieces[0] == Special("<|im_start|>")
    assert Bos() not in pieces
    plain = render(_request(), template_for(PROFILES["generic"]))
    assert plain[:2] == [Bos(), Text("user: hi")]


def test_labels_are_template_data():
    request = _request(labels=True)
    chatml = [p for p in render(request, CHATML) if isinstance(p, Item)]
    plain = [p for p in render(request, PLAIN) if isinstance(p, Item)]
    assert [i.label for i in chatml] == ["Picture 1: "]
    assert [i.label for i in plain] == ["Image 1: "]


def test_prompt_form_replaces_placeholders_and_opens_with_bos_where_the_style_does():
    request = parse_request(
        {"prompt": "see <image> now", "media": [{"type": "image", "path": "a.png"}]}
    )
    assert render(request, PLAIN) == [
        Bos(),
        Text("see ", parse_special=True),
        Item(0, "image", 0),
        Text(" now", parse_special=True),
    ]
    assert render(request, CHATML)[0] == Text("see ", parse_special=True)


def test_placeholder_syntax_matches_the_request_validator():
    assert PLACEHOLDER.pattern == REQUEST_PLACEHOLDER.pattern


def test_templates_import_neither_fusion_nor_profiles():
    """Profiles hold templates, so text.templates must sit below both (no import cycle)."""
    code = (
        "import sys, mmtok.text.templates; "
        "print(sorted(m for m in sys.modules if m.startswith(('mmtok.fusion', 'mmtok.profiles'))))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
