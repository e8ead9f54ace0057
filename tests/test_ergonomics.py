"""Issue 16: every command and the API behave as a new user expects on first try.

One test (or a few) per numbered item of the issue; each fails without its fix. Commands run
through the real typer app on generated sample media (``mmtok.samples``).
"""

from __future__ import annotations

import json
import shutil
import warnings
from pathlib import Path
from types import SimpleNamespace

import pytest
from PIL import Image
from typer.testing import CliRunner

from mmtok.cli.app import COMMANDS, app, register
from mmtok.samples import write_samples

ROOT = Path(__file__).resolve().parents[1]
runner = CliRunner()
register([])  # every command module: help and the table below see them all


@pytest.fixture(scope="module")
def samples(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("samples")
    write_samples(folder)
    one = {"prompt": "<image>", "media": [{"type": "image", "path": "photo.jpg"}]}
    (folder / "one.json").write_text(json.dumps(one))  # an image: every profile takes it
    return folder


def run(*args: str | Path) -> SimpleNamespace:
    result = runner.invoke(app, [str(a) for a in args])
    return SimpleNamespace(
        code=result.exit_code,
        out=result.stdout,
        err=result.stderr,
        crashed=result.exception is not None and not isinstance(result.exception, SystemExit),
    )


def one_line_error(result: SimpleNamespace, code: int, needle: str) -> None:
    """A clear error: the exit code, one line on stderr naming the problem, no traceback."""
    assert not result.crashed, result.err
    assert result.code == code, (result.out, result.err)
    lines = [ln for ln in result.err.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:"), result.err
    assert needle in lines[0] and "Traceback" not in result.err


# 1. An output folder that does not exist is one usage error, before any work.
@pytest.mark.parametrize(
    "args",
    [
        ("tokenize", "{req}", "--out", "{new}/x.safetensors", "--allow-fallback-tokenizer"),
        ("plan", "{req}", "--context", "4096", "--chart", "{new}/c.png"),
        ("plan", "{req}", "--context", "4096", "--out", "{new}/fitted.json"),
        ("encode", "{req}", "--vision-tower", "{dir}", "--out", "{new}/f.safetensors"),
        ("compress", "{dir}/photo.jpg", "--overlay", "{new}/o.png"),
        ("compress-eval", "{dir}", "--chart", "{new}/q.png"),
        ("vq-encode", "{dir}/photo.jpg", "-c", "{dir}", "--out", "{new}/ids.json"),
    ],
    ids=lambda a: " ".join(a[:1] + a[-2:-1]),
)
def test_a_missing_output_folder_is_one_error_line(samples, tmp_path, args):
    where = {"req": samples / "request.json", "new": tmp_path / "new", "dir": samples}
    result = run(*(a.format(**{k: str(v) for k, v in where.items()}) for a in args))
    one_line_error(result, 2, f"no such folder {tmp_path / 'new'}")
    assert not (tmp_path / "new").exists()


# 2. The shipped example works on the default profile.
def test_the_shipped_example_runs_on_the_default_profile():
    example = ROOT / "examples" / "request.json"
    assert run("tokenize", example).code == 0
    result = run("plan", example, "--context", "4096")
    assert result.code == 0, result.err
    assert "verdict: fits" in result.out


# 3. Ordinary input: a PIL image as an image part; a typo says what was meant.
def test_a_pil_image_is_an_image_part(samples):
    from mmtok.fusion import count_request, parse_request

    photo = Image.open(samples / "diagram.png")
    as_file = count_request(
        {"prompt": "<image>", "media": [{"type": "image", "path": str(samples / "diagram.png")}]},
        "qwen2-vl",
    )
    as_pil = count_request(
        {"prompt": "<image>", "media": [{"type": "image", "image": photo}]}, "qwen2-vl"
    )
    assert as_pil.total == as_file.total and as_pil.parts[0].grid == as_file.parts[0].grid
    request = parse_request(
        {"messages": [{"role": "user", "content": [{"type": "image", "image": photo}]}]}
    )
    assert request.media_parts()[0].data is not None


def test_a_misspelt_key_names_the_key_it_meant(samples):
    bad = samples / "typo.json"
    part = {"type": "image", "path": "photo.jpg", "max_pixel": 50000}
    bad.write_text(json.dumps({"messages": [{"role": "user", "content": [part]}]}))
    result = run("tokenize", bad)
    one_line_error(result, 1, "max_pixel")
    assert "did you mean 'max_pixels'?" in result.err


# 4. plan --fit honours the limits it checks, keeps a quality floor, writes the fitted request.
def test_fit_meets_the_per_item_cap_and_the_image_limit(samples):
    req = samples / "request.json"
    result = run("plan", req, "--context", "8192", "--max-item-tokens", "500", "--fit", "--json")
    assert result.code == 0, result.out
    plan = json.loads(result.out)
    assert plan["fits"] and all(i["tokens"] <= 500 for i in plan["items"] if i["kind"] != "text")
    result = run("plan", req, "--context", "8192", "--max-images", "1", "--fit", "--json")
    assert result.code == 0, result.out
    images = [i for i in json.loads(result.out)["items"] if i["kind"] == "image"]
    assert [i["dropped"] for i in images] == [False, True]


def test_fit_drops_an_item_rather_than_shrink_it_below_the_floor(samples):
    from mmtok.profiles import get_profile

    floor = get_profile("qwen2-vl").fit_min_tokens
    result = run("plan", samples / "request.json", "--context", "200", "--fit", "--json")
    assert result.code == 0, result.out
    kept = [i for i in json.loads(result.out)["items"] if i["kind"] != "text" and not i["dropped"]]
    assert all(i["tokens"] >= floor for i in kept)
    assert any(i["dropped"] for i in json.loads(result.out)["items"])


def test_plan_out_writes_the_fitted_request(samples, tmp_path):
    fitted = tmp_path / "fitted.json"
    args = ("--context", "1500", "--fit")
    result = run("plan", samples / "request.json", *args, "--out", fitted, "--json")
    assert result.code == 0, result.out
    planned = json.loads(result.out)["input_tokens"]
    # The written request, from another folder, is exactly what was planned: no refit needed.
    again = run("plan", fitted, "--context", "1500", "--json")
    assert again.code == 0 and json.loads(again.out)["input_tokens"] == planned


# 5. Bad option values are one usage error before any file is read.
@pytest.mark.parametrize(
    ("option", "needle"),
    [(("--sampling", "scene"), "--sampling 'scene'"), (("--fps", "0"), "--fps")],
)
def test_bad_count_options_are_one_usage_error(samples, option, needle):
    result = run("count", *option, samples / "clip.mp4", samples / "photo.jpg")
    one_line_error(result, 2, needle)


# 6. Errors name the real problem.
def test_a_missing_tower_folder_is_named_as_such(samples):
    result = run("encode", samples / "request.json", "--vision-tower", samples / "no-tower")
    one_line_error(result, 2, "--vision-tower")
    assert "no such folder" in result.err and "unknown profile" not in result.err


def test_a_tower_that_does_not_match_the_profile_is_refused():
    from mmtok.compress.tower import FAMILIES, check_profile
    from mmtok.errors import ConfigError
    from mmtok.profiles import get_profile

    clip = SimpleNamespace(family=FAMILIES[0], patch_size=14, folder=Path("clip-vit"))
    with pytest.raises(ConfigError, match="clip tower does not match profile qwen2-vl"):
        check_profile(clip, get_profile("qwen2-vl"))
    check_profile(clip, get_profile("llava-1.5"))  # CLIP-L/336: its own family


# 7. Model inputs are never written with a stand-in vocabulary unless asked for.
def test_tokenize_out_refuses_a_stand_in_tokenizer(samples, tmp_path):
    out = tmp_path / "x.safetensors"
    req = samples / "one.json"
    result = run("tokenize", req, "--profile", "llava-next", "--out", out)
    one_line_error(result, 2, "--tokenizer")
    assert not out.exists()
    result = run(
        "tokenize", req, "--profile", "llava-next", "--out", out, "--allow-fallback-tokenizer"
    )
    assert result.code == 0 and out.is_file()
    assert run("tokenize", req, "--profile", "pixtral", "--out", out).code == 0  # its own


# 8. count says what plan counts: a total with the fences.
def test_count_totals_include_the_fences_as_plan_does(samples):
    rows = json.loads(run("count", samples / "photo.jpg", "--json").out)
    assert rows[0]["sequence_tokens"] == rows[0]["tokens"] + rows[0]["fence_tokens"]
    plan = json.loads(run("plan", samples / "one.json", "--context", "8192", "--json").out)
    image = next(i for i in plan["items"] if i["kind"] == "image")
    assert image["tokens"] == rows[0]["sequence_tokens"]
    table = run("count", samples / "photo.jpg", samples / "diagram.png").out
    assert "in sequence" in table and "fences" in table


# 9. Training keeps its work; compress-eval says what it left out.
def test_an_interrupt_saves_the_steps_done(samples, tmp_path):
    from mmtok.discrete.config import QuantizerConfig, TrainConfig, VQImageConfig
    from mmtok.discrete.training import TRAINER_FILE, init_model, load_image_folder, train

    folder = tmp_path / "images"
    folder.mkdir()
    for name in ("photo.jpg", "diagram.png", "icon.webp"):
        shutil.copy(samples / name, folder / name)
    config = VQImageConfig(QuantizerConfig(codebook_size=16, dim=4), 8, 8, 16)
    model = init_model(config, 0)
    data = load_image_folder(folder, 16)

    def stop(row: dict) -> None:
        if row["step"] == 3:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        train(model, data, tmp_path / "run", TrainConfig(10, 2, 1e-3, 100, 0), on_step=stop)
    assert json.loads((tmp_path / "run" / TRAINER_FILE).read_text())["step"] == 3


def test_train_refuses_an_unknown_device(samples, tmp_path):
    result = run("train-vq", samples, "--out", tmp_path / "run", "--device", "tpu9", "--steps", "1")
    one_line_error(result, 2, "--device")


def test_compress_eval_reports_what_it_left_out(samples):
    result = run("compress-eval", samples, "--keep", "16,5000", "--methods", "pool")
    assert result.code == 0, result.err
    assert "--keep 5000: 3 of 3 image(s) have fewer than 5000 tokens" in result.err
    assert not any("." in line.split("│")[3] for line in result.out.splitlines() if "pool" in line)


def test_the_quality_chart_clips_a_negative_score(tmp_path, monkeypatch):
    import matplotlib.pyplot as plt

    from mmtok.compress.evaluate import EvalRow
    from mmtok.compress.visual import quality_chart

    figures = []
    monkeypatch.setattr(plt, "close", figures.append)  # keep the figure to look at
    rows = [EvalRow("tome", 16, 16, 0.8, 1), EvalRow("prune", 16, 16, -40.0, 1)]
    quality_chart(rows, tmp_path / "q.png")
    low, high = figures[0].axes[0].get_ylim()
    assert -0.5 < low < 0 and high >= 1  # tome's 0.8 stays readable beside prune's −40


# 10. The small things.
def test_version_short_help_and_clean_help():
    import mmtok

    assert run("--version").out.strip() == f"mmtok {mmtok.__version__}"
    assert "Usage: mmtok" in run("-h").out
    for command in ("count", "tokenize", "plan", "compress"):
        text = run(command, "-h").out
        assert "<bool>" not in text and "{" not in text.split("\n\n")[0]
    assert "FILES..." in run("count", "--help").out


def test_readme_does_not_claim_every_command_takes_profile():
    readme = (ROOT / "README.md").read_text()
    assert "Every command takes `--profile" not in readme
    no_profile = [
        c
        for c in COMMANDS
        if c not in ("count", "tokenize", "plan", "density", "encode", "pretokenize", "demo")
    ]
    assert no_profile  # so the claim would be false


def test_plan_speaks_in_binary_units_and_plain_words(samples):
    text_only = samples / "text.json"
    text_only.write_text(json.dumps({"messages": [{"role": "user", "content": "Hello"}]}))
    result = run("plan", text_only, "--context", "4096")
    assert result.code == 0
    assert "MiB" in result.out and " MB" not in result.out
    assert "no media placeholders" in result.out and "0 media placeholder" not in result.out


def test_compress_names_the_tower_not_its_hash(samples):
    report = json.loads(run("compress", samples / "photo.jpg", "--json").out)
    assert report["features"].startswith("raw pixels")


def test_long_names_and_errors_are_whole_lines(samples):
    name = samples / ("a-very-long-file-name-" * 4 + ".png")
    result = run("count", samples / "photo.jpg", name)
    assert result.code == 1
    assert f"error: {name}: file not found" in result.err.replace("\n", "")
    assert any(line.startswith(f"error: {name}") for line in result.err.splitlines())


# 11. The API: BatchFeature-like inputs and a one-call processor.
def test_model_inputs_move_like_a_batch_feature(samples):
    import torch

    from mmtok.fusion import encode

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        inputs = encode(
            {"prompt": "<image>", "media": [{"type": "image", "path": str(samples / "icon.webp")}]},
            "qwen2-vl",
        ).to_model_inputs()
    moved = inputs.to("cpu", dtype=torch.bfloat16)
    assert moved["pixel_values"].dtype == torch.bfloat16
    assert moved["input_ids"].dtype == torch.int64


def test_process_is_one_call_from_template_text_to_inputs(samples):
    import torch

    import mmtok
    from mmtok.errors import ConfigError, RequestError
    from mmtok.fusion import encode_batch

    text = "<|im_start|>user\n<|vision_start|><|image_pad|><|vision_end|>Hi<|im_end|>\n"
    image = Image.open(samples / "icon.webp")
    with pytest.raises(ConfigError, match="no tokenizer"):
        mmtok.process(text, images=[image], profile="qwen2-vl")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        got = mmtok.process(
            [text, "plain"], images=[image], profile="qwen2-vl", allow_fallback_tokenizer=True
        )
        prompt = "<|im_start|>user\n<image>Hi<|im_end|>\n"
        want = encode_batch(
            [{"prompt": prompt, "media": [{"type": "image", "image": image}]}, {"prompt": "plain"}],
            "qwen2-vl",
        ).to_model_inputs()
        with pytest.raises(RequestError, match="1 image"):
            mmtok.process(
                text, images=[image, image], profile="qwen2-vl", allow_fallback_tokenizer=True
            )
    assert set(got) == set(want)
    assert all(torch.equal(got[k], want[k]) for k in want)
