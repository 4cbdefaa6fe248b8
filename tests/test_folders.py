"""User datasets from folders (--data-dir): layouts, bad data, DVC tracking, scoring without pairs."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from ganpipe.cli import main
from ganpipe.config import Config, DataConfig, EvalConfig, EvaluatorConfig, PipelineSpec
from ganpipe.data.folders import build_from_folder, detect_layout
from ganpipe.data.prepared import load_prepared
from ganpipe.errors import GanpipeError
from ganpipe.paths import ProjectPaths
from ganpipe.stages import prepare, train_evaluator
from ganpipe.stages.evaluate import translation_metrics
from ganpipe.stages.evaluator import rotation_view

SMALL = Config(data=DataConfig(image_size=8), eval=EvalConfig(evaluator=EvaluatorConfig(epochs=1)))


def solid(colour, size=(16, 16), mode="RGB") -> Image.Image:
    return Image.new(mode, size, colour)


def aligned_pair(a_colour, b_colour, height=16) -> Image.Image:
    pair = Image.new("RGB", (2 * height, height))
    pair.paste(solid(a_colour, (height, height)), (0, 0))
    pair.paste(solid(b_colour, (height, height)), (height, 0))
    return pair


def make_aligned(root: Path, train=6, test=3) -> Path:
    for split, count in (("train", train), ("test", test)):
        (root / split).mkdir(parents=True)
        for i in range(count):
            aligned_pair((255, 0, 0), (0, 0, 255 - i)).save(root / split / f"{i:03d}.png")
    return root


def make_unpaired(root: Path, test_b_names=None) -> Path:
    for folder, colour in (("trainA", (255, 0, 0)), ("trainB", (0, 0, 255)), ("testA", (250, 0, 0)), ("testB", (0, 0, 250))):
        (root / folder).mkdir(parents=True)
        names = test_b_names if folder == "testB" and test_b_names else [f"{i}.png" for i in range(4)]
        for name in names:
            solid(colour).save(root / folder / name)
    return root


@pytest.fixture()
def workdir(tmp_path: Path, monkeypatch) -> Path:
    """An empty project folder with small params, as the current directory."""
    root = tmp_path / "work"
    root.mkdir()
    (root / "params.yaml").write_text("data: {image_size: 8}\n")
    monkeypatch.chdir(root)
    return root


def run_cli(capsys, *args: str) -> tuple[int, str]:
    code = main(list(args))
    err = capsys.readouterr().err
    return code, err


# --- layouts ---------------------------------------------------------------------------------

def test_aligned_layout_splits_each_image_into_a_and_b_and_resizes(tmp_path: Path) -> None:
    root = make_aligned(tmp_path / "facades")
    (root / "test").rename(root / "val")  # val/ stands in for test/
    arrays = build_from_folder(root, DataConfig(image_size=8))
    assert arrays["train_a"].shape == arrays["train_x"].shape == (6, 3, 8, 8)
    assert arrays["test_a"].shape == (3, 3, 8, 8)
    assert np.allclose(arrays["train_a"][:, 0], 1) and np.allclose(arrays["train_a"][:, 2], -1)  # red A
    assert np.allclose(arrays["train_x"][:, 2].max(), 1) and np.allclose(arrays["train_x"][:, 0], -1)  # blue B
    assert arrays["info"] | {"source_dir": None} == arrays["info"] | {
        "kind": "folder", "layout": "aligned", "paired": True, "paired_test": True, "test_folder": "val",
        "labelled": False, "skipped": [], "source_dir": None}


def test_unpaired_layout_lines_up_test_pairs_by_file_name(tmp_path: Path) -> None:
    root = make_unpaired(tmp_path / "horses", test_b_names=["3_B.png", "0_B.png", "2_B.png", "1_B.png"])
    for i, path in enumerate(sorted((root / "testA").iterdir())):  # testA i: value i in the red channel
        solid((i * 60, 0, 0)).save(path.with_name(f"{i}_A.png"))
        path.unlink()
    for path in (root / "testB").iterdir():
        i = int(path.name[0])
        solid((0, 0, i * 60)).save(path)
    arrays = build_from_folder(root, DataConfig(image_size=8))
    assert arrays["info"]["layout"] == "unpaired" and arrays["info"]["paired"] is False
    assert arrays["info"]["paired_test"] is True
    red = (arrays["test_a"][:, 0, 0, 0] + 1) * 127.5
    blue = (arrays["test_x"][:, 2, 0, 0] + 1) * 127.5
    assert np.allclose(red, blue, atol=1)  # each A beside its own B


def test_unpaired_without_matching_names_has_no_true_pairs(tmp_path: Path) -> None:
    root = make_unpaired(tmp_path / "zebras", test_b_names=["x.png", "y.png"])
    arrays = build_from_folder(root, DataConfig(image_size=8))
    assert arrays["info"]["paired_test"] is False
    assert "FID" in arrays["info"]["unscored_why"]


def test_class_folders_give_labels_and_a_split(tmp_path: Path) -> None:
    for name, colour in (("cats", (255, 255, 255)), ("dogs", (0, 0, 0))):
        (tmp_path / "pets" / name).mkdir(parents=True)
        for i in range(5):
            solid(colour).save(tmp_path / "pets" / name / f"{i}.jpg")
    arrays = build_from_folder(tmp_path / "pets", DataConfig(image_size=8, test_fraction=0.2))
    assert arrays["info"]["classes"] == ["cats", "dogs"] and arrays["info"]["labelled"] is True
    assert len(arrays["train_x"]) == 8 and len(arrays["test_x"]) == 2
    x, y = np.concatenate([arrays["train_x"], arrays["test_x"]]), np.concatenate([arrays["train_y"], arrays["test_y"]])
    assert np.allclose(x[y == 0], 1) and np.allclose(x[y == 1], -1)


# --- bad data: one line naming the culprit, nothing written ----------------------------------

def _files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture()
def project(tmp_path: Path, monkeypatch) -> Path:
    """A project whose data/prepared/mine already holds a good folder dataset."""
    root = tmp_path / "project"
    root.mkdir()
    monkeypatch.chdir(root)
    (root / "params.yaml").write_text("data: {image_size: 8}\n")
    source = make_aligned(tmp_path / "mine")
    prepare(SMALL, "mine", ProjectPaths(root), source)
    return root


def _breakages(tmp_path: Path):
    """(name, make the folder bad, what the message must name)."""
    def truncated(root):
        path = root / "train" / "001.png"
        path.write_bytes(path.read_bytes()[:40])
        return path

    def not_an_image(root):
        path = root / "train" / "002.png"
        path.write_text("this is not a PNG")
        return path

    def odd_width(root):
        path = root / "test" / "000.png"
        Image.new("RGB", (33, 16)).save(path)
        return path

    def not_twice_as_wide(root):
        path = root / "train" / "003.jpg"
        Image.new("RGB", (48, 16)).save(path)
        return path

    def grey_among_colour(root):
        path = root / "train" / "004.png"
        aligned_pair((255, 0, 0), (0, 0, 255)).convert("L").save(path)
        return path

    def missing_test(root):
        for path in (root / "test").iterdir():
            path.unlink()
        (root / "test").rmdir()
        return root

    def empty_split(root):
        for path in (root / "test").iterdir():
            path.unlink()
        return root / "test"

    return {"truncated": truncated, "not_an_image": not_an_image, "odd_width": odd_width,
            "not_twice_as_wide": not_twice_as_wide, "grey_among_colour": grey_among_colour,
            "missing_test": missing_test, "empty_split": empty_split}


@pytest.mark.parametrize("breakage", list(_breakages(Path("."))))
def test_bad_folder_fails_in_one_line_and_keeps_the_earlier_copy(project: Path, tmp_path: Path, capsys,
                                                                 breakage: str) -> None:
    before = _files(project / "data" / "prepared")
    culprit = _breakages(tmp_path)[breakage](tmp_path / "mine")
    code, err = run_cli(capsys, "prepare", "--data-dir", str(tmp_path / "mine"))
    assert code != 0
    assert err.count("\n") == 1 and "Traceback" not in err, err
    assert str(culprit) in err, err
    assert _files(project / "data" / "prepared") == before


@pytest.mark.parametrize("case", ["nonexistent", "empty", "no_layout", "missing_domain"])
def test_bad_folder_layouts_name_the_folder(tmp_path: Path, workdir: Path, capsys, case: str) -> None:
    root = tmp_path / case
    if case == "empty":
        root.mkdir()
    elif case == "no_layout":
        (root / "notes").mkdir(parents=True)
        (root / "README.txt").write_text("hi")
        (root / "notes" / "x.txt").write_text("hi")
    elif case == "missing_domain":
        make_unpaired(root)
        for path in (root / "testB").iterdir():
            path.unlink()
        (root / "testB").rmdir()
    code, err = run_cli(capsys, "prepare", "--data-dir", str(root))
    assert code != 0 and err.count("\n") == 1 and str(root) in err, err
    assert not (workdir / "data").exists()
    if case == "missing_domain":
        assert "testB" in err


def test_no_layout_error_says_what_was_expected(tmp_path: Path) -> None:
    (tmp_path / "odd").mkdir()
    (tmp_path / "odd" / "notes.txt").write_text("hi")
    with pytest.raises(GanpipeError, match="expected train/ \\+ test/"):
        detect_layout(tmp_path / "odd")


def test_skip_leaves_bad_images_out_and_lists_them(tmp_path: Path) -> None:
    root = make_aligned(tmp_path / "mine")
    (root / "train" / "001.png").write_text("not a png")
    Image.new("RGB", (33, 16)).save(root / "train" / "009.png")
    arrays = build_from_folder(root, DataConfig(image_size=8, on_bad_image="skip"))
    assert len(arrays["train_a"]) == 5
    skipped = arrays["info"]["skipped"]
    assert len(skipped) == 2 and "001.png" in skipped[0] and "009.png" in skipped[1]


def test_mismatched_channels_between_train_and_test_are_refused(tmp_path: Path) -> None:
    root = make_unpaired(tmp_path / "mixed")
    for path in (root / "testB").iterdir():
        solid(128, mode="L").save(path)
    with pytest.raises(GanpipeError, match="B images have 3 channel\\(s\\) in train but 1 in test"):
        build_from_folder(root, DataConfig(image_size=8))


def test_a_folder_cannot_take_a_builtin_name_or_replace_another_folder(project: Path, tmp_path: Path) -> None:
    other = make_aligned(tmp_path / "elsewhere" / "mine")
    with pytest.raises(GanpipeError, match="built-in"):
        prepare(SMALL, "digits", ProjectPaths(project), other)
    with pytest.raises(GanpipeError, match="pass --name"):
        prepare(SMALL, "mine", ProjectPaths(project), other)
    prepare(SMALL, "mine2", ProjectPaths(project), other)
    assert load_prepared(ProjectPaths(project).prepared("mine2")).info["source_dir"] == str(other.resolve())


def test_cli_refuses_a_variant_the_layout_cannot_train(tmp_path: Path, workdir: Path, capsys) -> None:
    root = make_unpaired(tmp_path / "horses")
    code, err = run_cli(capsys, "prepare", "--data-dir", str(root), "--name", "bad name")
    assert code != 0 and "--name 'bad name'" in err
    code, err = run_cli(capsys, "train", "--variant", "pix2pix", "--dataset", "nowhere")
    assert code != 0 and "unknown dataset 'nowhere'" in err and "--data-dir" in err
    code, err = run_cli(capsys, "run", "--variant", "pix2pix", "--data-dir", str(root))
    assert code != 0 and "unpaired CycleGAN layout" in err and "cyclegan" in err
    assert not (workdir / "data").exists()


# --- DVC, evaluation --------------------------------------------------------------------------

def test_prepared_folder_is_tracked_by_dvc_and_reused_by_name(tmp_path: Path, monkeypatch) -> None:
    from conftest import make_project

    project = make_project(tmp_path / "project")
    monkeypatch.chdir(project)
    source = make_aligned(tmp_path / "facades")
    paths = ProjectPaths(project)
    manifest = prepare(SMALL, "facades", paths, source)
    dvc_file = project / "data" / "prepared" / "facades.dvc"
    assert dvc_file.is_file() and manifest["dvc_md5"] in dvc_file.read_text()
    from ganpipe.stages.register import dvc_data_hash

    assert dvc_data_hash(paths, "facades") == manifest["dvc_md5"]
    again = prepare(SMALL, "facades", paths)  # no --data-dir: the frozen copy
    assert again["reused"] == str(source.resolve()) and again["splits"] == manifest["splits"]


def test_rotation_view_labels_quarter_turns(tmp_path: Path) -> None:
    root = make_aligned(tmp_path / "mine")
    prepare(SMALL, "mine", ProjectPaths(tmp_path), root)
    data = load_prepared(ProjectPaths(tmp_path).prepared("mine"))
    view = rotation_view(data)
    assert len(view.train_x) == 4 * len(data.train_x) and sorted(set(view.train_y.tolist())) == [0, 1, 2, 3]
    n = len(data.train_x)
    assert np.array_equal(view.train_x[n], np.rot90(data.train_x[0], 1, axes=(1, 2)))


def test_unpaired_test_split_without_pairs_is_scored_by_fid_only(tmp_path: Path) -> None:
    root = make_unpaired(tmp_path / "zebras", test_b_names=["x.png", "y.png", "z.png"])
    paths = ProjectPaths(tmp_path)
    prepare(SMALL, "zebras", paths, root)
    evaluator = train_evaluator(SMALL, "zebras", paths)
    assert "rotation" in evaluator["evaluator_task"]
    data = load_prepared(paths.prepared("zebras"))
    outputs = torch.from_numpy(data.test_a).clone()
    metrics = translation_metrics(PipelineSpec(variant="cyclegan", dataset="zebras"), paths, data, outputs)
    assert "psnr" not in metrics and "FID" in metrics["scoring"]
    assert metrics["fid_zebras"] >= 0 and metrics["num_test_inputs"] == 4
    json.dumps(metrics)

    # a gate on PSNR falls back to FID here: the probe keeps the step with the best FID
    from ganpipe.config import RegistryConfig
    from ganpipe.stages.train import training_probe
    from ganpipe.variants import build_variant

    config = SMALL.model_copy(update={"registry": RegistryConfig(metric="psnr", direction="maximize")})
    variant = build_variant("cyclegan", config, data.test_x.shape[1:], input_shape=data.test_a.shape[1:])
    probe = training_probe(config, PipelineSpec(variant="cyclegan", dataset="zebras"), paths, data, variant)
    assert (probe.metric, probe.direction) == ("fid_zebras", "minimize")
    assert probe.score(variant, variant.build_nets()["G"])["fid_zebras"] >= 0


@pytest.mark.slow
def test_run_on_an_aligned_folder_trains_registers_and_translates(tmp_path: Path) -> None:
    from conftest import ganpipe, make_project

    project = make_project(tmp_path / "project")
    source = make_aligned(tmp_path / "facades", train=16, test=4)
    result = ganpipe("run", "--data-dir", str(source), cwd=project)  # the aligned layout picks pix2pix
    assert result.returncode == 0, result.stderr[-3000:]
    assert json.loads(result.stdout)["pipeline"] == "pix2pix-facades"  # nothing of DVC's chatter in the JSON
    registration = json.loads((project / "outputs" / "pix2pix-facades" / "registration.json").read_text())
    assert registration["model_name"] == "ganpipe-pix2pix-facades"
    metrics = json.loads((project / "metrics" / "pix2pix-facades.json").read_text())
    assert {"psnr", "ssim", "l1", "psnr_identity", "psnr_mean_b", "fid_facades"} <= set(metrics)
    assert metrics["num_test_pairs"] == 4
    assert "md5" in (project / "data" / "prepared" / "facades.dvc").read_text()

    inputs = tmp_path / "inputs"
    inputs.mkdir()
    solid((255, 0, 0)).save(inputs / "door.png")
    out = ganpipe("translate", "--model", "models:/ganpipe-pix2pix-facades@champion", "--input", str(inputs),
                  "--out", str(tmp_path / "translated"), cwd=project)
    assert out.returncode == 0, out.stderr[-2000:]
    assert Image.open(tmp_path / "translated" / "door.png").size == (16, 16)
