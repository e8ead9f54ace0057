"""The built-in ``mistral3`` profile against transformers 5.24's ``PixtralProcessor`` with
Mistral-Small-3.1-24B-Instruct-2503's settings (patch 14, spatial merge 2, longest edge 1540)
and the PIL-backend ``PixtralImageProcessorPil``: counts, grids and feature tokens on drawn
sizes, pixels ≤ 1e-5, and the ids of ``mmtok``'s plan against the processor's ``input_ids``.

The processor module is imported with empty torchvision stand-ins (see
``test_folder_parity.py``): no torchvision function runs on the PIL path.
"""

from __future__ import annotations

from functools import cache

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from transformers.image_utils import ChannelDimension
from transformers.models.pixtral.image_processing_pil_pixtral import (
    PixtralImageProcessorPil,
    get_resize_output_image_size,
)

from mmtok.errors import UnsupportedMediaError
from mmtok.fusion.layout import Modality, image_segment
from mmtok.image.pixels import preprocess_image
from mmtok.profiles import get_profile
from tests.images import random_image
from tests.parity.test_folder_parity import _tokenizer, pixtral_processor_class

MISTRAL3 = get_profile("mistral3")


@cache
def processor():
    return pixtral_processor_class()(
        image_processor=PixtralImageProcessorPil(size={"longest_edge": 1540}),
        tokenizer=_tokenizer(),
        patch_size=14,
        spatial_merge_size=2,
    )


def _ids(width: int, height: int) -> tuple[np.ndarray, np.ndarray]:
    out = processor()(text="[IMG]", images=[random_image(width, height)], return_tensors="np")
    return out["input_ids"][0], out["pixel_values"][0]


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 9000), st.integers(1, 9000))
def test_counts_and_ids_equal_the_processor(width, height):
    """The processor's own resize rule and expansion on the size alone (an image of 9000²
    pixels would take seconds to make): ``get_resize_output_image_size`` of the PIL image
    processor, then ``PixtralProcessor.replace_image_token`` tokenized."""
    if min(width, height) * 1540 < max(width, height):  # HF floors the short side to 0
        with pytest.raises(UnsupportedMediaError, match="shrinks to nothing"):
            MISTRAL3.plan_image(height, width)
        return
    plan = MISTRAL3.plan_image(height, width)
    resized = get_resize_output_image_size(
        np.zeros((height, width, 3), dtype=np.uint8),
        size=(1540, 1540),
        patch_size=(28, 28),
        input_data_format=ChannelDimension.LAST,
    )
    assert plan.resized == tuple(resized)
    assert plan.grid == (1, resized[0] // 14, resized[1] // 14)
    text = processor().replace_image_token({"image_sizes": [resized]}, 0)
    tok = processor().tokenizer
    ref = tok(text, add_special_tokens=False)["input_ids"]
    names = {r: tok.convert_tokens_to_ids(t) for r, t in MISTRAL3.tokens.names().items()}
    segment = image_segment(plan, MISTRAL3, names, 0)
    assert segment.ids.tolist() == ref
    assert plan.tokens == len(ref)
    image_id = names["image"]
    assert plan.feature_tokens == ref.count(image_id)
    assert int((segment.modality == Modality.IMAGE).sum()) == plan.feature_tokens


@pytest.mark.parametrize(
    ("width", "height"),
    [(6160, 2243), (1000, 700), (1, 1), (12000, 300), (608, 400), (3000, 4000), (29, 1539)],
)
def test_published_sizes_and_pixels_equal_the_processor(width, height):
    ids, pixels = _ids(width, height)
    plan = MISTRAL3.plan_image(height, width)
    image_id = processor().tokenizer.convert_tokens_to_ids("[IMG]")
    assert (plan.tokens, plan.feature_tokens) == (len(ids), int((ids == image_id).sum()))
    assert plan.resized == pixels.shape[1:]
    ours = preprocess_image(random_image(width, height), MISTRAL3).pixel_values
    np.testing.assert_allclose(ours, pixels, atol=1e-5, rtol=0)


def test_the_issue_photo_floors_where_mistral_common_rounds():
    # 6160×2243 at 1540: 2243 / 4 = 560.75 → floor 560 (20 rows of 28 px); mistral-common's
    # rule rounds to 561 and then up to 588 (21 rows).
    assert MISTRAL3.plan_image(2243, 6160).resized == (560, 1540)
    assert MISTRAL3.plan_image(2243, 6160).tokens == 20 * 56 == 1120
    pixtral = get_profile("pixtral").with_options(patch_size=14, merge_size=2, max_image_size=1540)
    assert pixtral.plan_image(2243, 6160).resized == (588, 1540)
