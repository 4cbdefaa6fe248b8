"""User datasets from folders of PNG/JPEG images, in the layouts people already have.

- aligned (pix2pix): DIR/train/ and DIR/test/ (or DIR/val/), each image A|B side by side,
  exactly twice as wide as high. Every test image is a true pair.
- unpaired (CycleGAN): DIR/trainA, DIR/trainB, DIR/testA, DIR/testB. testA and testB are taken
  as true pairs when their file names correspond one to one (`12.png` and `12.png`, or
  `12_A.png` and `12_B.png`); otherwise the test split is scored by FID only.
- classes (image folder): DIR/<class>/ images, one folder per class (or images directly in
  DIR: one class), split into train/test by data.test_fraction.

Images of any size are resized to data.image_size x data.image_size (bilinear); the channel
count of a domain (1 for grey, 3 for colour) comes from its first image. Arrays follow the
built-in datasets: `x` is the B domain (or the images), `a` the A domain, `y` the class label.

Bad data fails with one line naming the file or folder, before anything is written;
`data.on_bad_image: skip` drops unreadable and mismatched images instead, and lists each.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ganpipe.config import DataConfig
from ganpipe.errors import GanpipeError
from ganpipe.imageio import IMAGE_SUFFIXES, image_files

log = logging.getLogger(__name__)

LAYOUTS = ("aligned", "unpaired", "classes")
UNPAIRED_FOLDERS = ("trainA", "trainB", "testA", "testB")
_PAIR_SUFFIX = re.compile(r"[_-]?[AB]$")
_GREY_MODES = {"1", "L", "LA", "I", "I;16", "F"}


class BadImage(GanpipeError):
    """One image file that cannot be used (skippable with data.on_bad_image: skip)."""


def detect_layout(root: Path) -> str:
    """Which of LAYOUTS the folder `root` is in, or an error saying what was expected."""
    if not root.exists():
        raise GanpipeError(f"--data-dir {root}: no such folder")
    if not root.is_dir():
        raise GanpipeError(f"--data-dir {root}: not a folder")
    children = {p.name for p in root.iterdir() if not p.name.startswith(".")}
    if not children:
        raise GanpipeError(f"--data-dir {root}: the folder is empty")
    if children & set(UNPAIRED_FOLDERS):
        missing = [name for name in UNPAIRED_FOLDERS if not (root / name).is_dir()]
        if missing:
            raise GanpipeError(f"{root}: CycleGAN layout without {', '.join(missing)} (expected trainA, trainB, testA, testB)")
        return "unpaired"
    if "train" in children:
        if not ((root / "test").is_dir() or (root / "val").is_dir()):
            raise GanpipeError(f"{root}: aligned layout with train/ but no test/ or val/ folder")
        return "aligned"
    if {"test", "val"} & children:
        raise GanpipeError(f"{root}: aligned layout without a train/ folder")
    if any((root / name).is_dir() for name in children) or any(
            (root / name).suffix.lower() in IMAGE_SUFFIXES for name in children):
        return "classes"
    raise GanpipeError(f"{root}: no dataset layout found: expected train/ + test/ (aligned A|B images), "
                       "trainA/ trainB/ testA/ testB/ (unpaired), or one folder of images per class")


@dataclass
class _Reader:
    """Reads images into (C, size, size) float32 arrays in [-1, 1], skipping or failing on bad ones."""

    size: int
    on_bad_image: str
    skipped: list[str] = field(default_factory=list)
    digest: Any = field(default_factory=hashlib.sha256)

    def _bad(self, error: BadImage) -> None:
        if self.on_bad_image == "error":
            raise BadImage(f"{error} (set data.on_bad_image: skip to leave such files out)")
        log.warning("skipped %s", error)
        self.skipped.append(str(error))

    def _open(self, path: Path):
        import io

        from PIL import Image, UnidentifiedImageError

        try:
            data = path.read_bytes()  # read once: for the hash and for PIL
            self.digest.update(path.name.encode() + data)
            with Image.open(io.BytesIO(data)) as image:
                image.load()
                return image.copy()
        except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as exc:
            reason = str(exc).splitlines()[0][:160] if str(exc) else type(exc).__name__
            raise BadImage(f"{path}: not a readable image ({reason})") from None

    def _to_array(self, image, channels: int) -> np.ndarray:
        from PIL import Image

        image = image.convert("L" if channels == 1 else "RGB")
        if image.size != (self.size, self.size):
            image = image.resize((self.size, self.size), Image.Resampling.BILINEAR)
        pixels = np.asarray(image, dtype=np.float32) / 127.5 - 1
        return pixels[None] if channels == 1 else pixels.transpose(2, 0, 1)

    def _read(self, files: list[Path], what: str, split: Callable[[Path, Any], tuple[Any, ...]]
              ) -> tuple[list[tuple[np.ndarray, ...]], list[Path]]:
        """Each usable file's images (as `split` cuts them from it), all with the channel count of
        the first usable file, and the files they came from."""
        read, kept, channels, first = [], [], None, None
        for path in files:
            try:
                image = self._open(path)
                parts = split(path, image)
                count = 1 if image.mode in _GREY_MODES else 3
                if channels is None:
                    channels, first = count, path
                elif count != channels:
                    raise BadImage(f"{path}: {count} channel(s) (mode {image.mode}), but {what} images have "
                                   f"{channels} (first: {first.name})")
                read.append(tuple(self._to_array(part, channels) for part in parts))
                kept.append(path)
            except BadImage as error:
                self._bad(error)
        if not read:
            raise GanpipeError(f"{files[0].parent}: no usable images (all {len(files)} skipped)")
        return read, kept

    def read_domain(self, files: list[Path], what: str) -> tuple[list[np.ndarray], list[Path]]:
        """The images of one domain."""
        read, kept = self._read(files, what, lambda path, image: (image,))
        return [image for (image,) in read], kept

    def read_aligned(self, files: list[Path]) -> tuple[list[np.ndarray], list[np.ndarray]]:
        """A and B halves of side-by-side images."""
        def halves(path: Path, image) -> tuple[Any, Any]:
            width, height = image.size
            if width % 2 or width != 2 * height:
                raise BadImage(f"{path}: {width}x{height}: an aligned A|B image must be exactly twice "
                               "as wide as it is high")
            return image.crop((0, 0, height, height)), image.crop((height, 0, width, height))

        read, _ = self._read(files, "the other", halves)
        return [a for a, _ in read], [b for _, b in read]


def _stack(images: list[np.ndarray]) -> np.ndarray:
    return np.ascontiguousarray(np.stack(images).astype(np.float32))


def _no_labels(count: int) -> np.ndarray:
    return np.zeros(count, dtype=np.int64)


def _pair_key(path: Path) -> str:
    return _PAIR_SUFFIX.sub("", path.stem)


def _aligned(root: Path, reader: _Reader) -> dict[str, Any]:
    test_folder = root / "test" if (root / "test").is_dir() else root / "val"
    train_a, train_b = reader.read_aligned(image_files(root / "train"))
    test_a, test_b = reader.read_aligned(image_files(test_folder))
    return {"train_a": _stack(train_a), "train_x": _stack(train_b), "test_a": _stack(test_a), "test_x": _stack(test_b),
            "info": {"paired_test": True, "test_folder": test_folder.name}}


def _unpaired(root: Path, reader: _Reader) -> dict[str, Any]:
    arrays: dict[str, np.ndarray] = {}
    kept: dict[str, list[Path]] = {}
    for folder, key in (("trainA", "train_a"), ("trainB", "train_x"), ("testA", "test_a"), ("testB", "test_x")):
        images, kept[folder] = reader.read_domain(image_files(root / folder), folder)
        arrays[key] = _stack(images)
    keys_a, keys_b = [_pair_key(p) for p in kept["testA"]], [_pair_key(p) for p in kept["testB"]]
    paired = len(set(keys_a)) == len(keys_a) and sorted(keys_a) == sorted(keys_b)
    if paired:  # line the true pairs up
        order_a, order_b = np.argsort(keys_a, kind="stable"), np.argsort(keys_b, kind="stable")
        arrays["test_a"], arrays["test_x"] = arrays["test_a"][order_a], arrays["test_x"][order_b]
        why = None
    else:
        why = ("testA and testB file names do not correspond one to one, so the test split has no true "
               "pairs: scored by FID on the B domain only")
    return {**arrays, "info": {"paired_test": paired, **({"unscored_why": why} if why else {})}}


def _classes(root: Path, reader: _Reader, config: DataConfig) -> dict[str, Any]:
    folders = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    loose = [p for p in root.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES]
    if folders and loose:
        raise GanpipeError(f"{root}: images beside class folders ({loose[0].name}); put every image in a class folder")
    groups = [(p.name, image_files(p)) for p in folders] if folders else [(root.name, image_files(root))]
    images: list[np.ndarray] = []
    labels: list[int] = []
    channels_of_first = None
    for label, (name, files) in enumerate(groups):
        read, _ = reader.read_domain(files, f"class {name}")
        if channels_of_first is None:
            channels_of_first = (read[0].shape[0], files[0])
        elif read[0].shape[0] != channels_of_first[0]:
            raise GanpipeError(f"{files[0].parent}: {read[0].shape[0]} channel(s), but {channels_of_first[1].parent.name} "
                               f"images have {channels_of_first[0]}")
        images += read
        labels += [label] * len(read)
    x, y = _stack(images), np.asarray(labels, dtype=np.int64)
    order = np.random.default_rng(config.split_seed).permutation(len(x))
    n_test = max(1, int(round(len(x) * config.test_fraction)))
    if len(x) - n_test < 1:
        raise GanpipeError(f"{root}: {len(x)} image(s) cannot be split into train and test")
    test, train = np.sort(order[:n_test]), np.sort(order[n_test:])
    return {"train_x": x[train], "train_y": y[train], "test_x": x[test], "test_y": y[test],
            "info": {"classes": [name for name, _ in groups], "labelled": len(groups) > 1}}


def build_from_folder(root: Path, config: DataConfig) -> dict[str, Any]:
    """Arrays in the prepared format (plus `info`) from the folder `root`; nothing is written."""
    root = Path(root)
    layout = detect_layout(root)
    reader = _Reader(config.image_size, config.on_bad_image)
    if layout == "aligned":
        arrays = _aligned(root, reader)
    elif layout == "unpaired":
        arrays = _unpaired(root, reader)
    else:
        arrays = _classes(root, reader, config)
    for split in ("train", "test"):
        arrays.setdefault(f"{split}_y", _no_labels(len(arrays[f"{split}_x"])))
    for domain, kind in (("A", "a"), ("B", "x")):
        train, test = arrays.get(f"train_{kind}"), arrays.get(f"test_{kind}")
        if train is not None and train.shape[1:] != test.shape[1:]:
            raise GanpipeError(f"{root}: {domain} images have {train.shape[1]} channel(s) in train but "
                               f"{test.shape[1]} in test")
    arrays["source"] = np.frombuffer(reader.digest.digest(), dtype=np.uint8)
    arrays["info"] = {"kind": "folder", "layout": layout, "source_dir": str(root.resolve()),
                      "paired": layout == "aligned", "labelled": False, **arrays["info"], "skipped": reader.skipped}
    return arrays
