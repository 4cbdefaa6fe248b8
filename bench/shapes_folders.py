"""Writes a user-style image-to-image dataset that is not one of ganpipe's built-ins, in both
folder layouts, to check `ganpipe run --data-dir` end to end.

The task, "outline -> filled shape": A is the white outline of a circle, square or triangle
on black; B is the same shape filled with its kind's colour (circle red, square green,
triangle blue). Images are 64x64 RGB PNGs (ganpipe resizes them to data.image_size).

    OUT/shapes/train/*.png, OUT/shapes/test/*.png          aligned A|B (pix2pix)
    OUT/shapes_unpaired/{trainA,trainB,testA,testB}/*.png  the same images split (CycleGAN):
        trainA and trainB hold the A and B halves of disjoint training images; testA/testB
        keep the true pairs under the same file names

    python bench/shapes_folders.py OUT [--train 1200] [--test 300] [--seed 0]
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

SIZE = 64
COLOURS = {"circle": (230, 40, 40), "square": (40, 200, 60), "triangle": (50, 90, 240)}


def _outline_points(kind: str, cx: float, cy: float, r: float, angle: float) -> list[tuple[float, float]]:
    corners = 4 if kind == "square" else 3
    return [(cx + r * math.cos(angle + 2 * math.pi * k / corners), cy + r * math.sin(angle + 2 * math.pi * k / corners))
            for k in range(corners)]


def draw_pair(rng: np.random.Generator) -> tuple[Image.Image, Image.Image]:
    kind = str(rng.choice(list(COLOURS)))
    r = rng.uniform(10, 22)
    cx, cy = rng.uniform(r + 2, SIZE - r - 2, size=2)
    angle = rng.uniform(0, 2 * math.pi)
    a, b = Image.new("RGB", (SIZE, SIZE)), Image.new("RGB", (SIZE, SIZE))
    draw_a, draw_b = ImageDraw.Draw(a), ImageDraw.Draw(b)
    if kind == "circle":
        box = (cx - r, cy - r, cx + r, cy + r)
        draw_a.ellipse(box, outline=(255, 255, 255), width=2)
        draw_b.ellipse(box, fill=COLOURS[kind])
    else:
        points = _outline_points(kind, cx, cy, r, angle)
        draw_a.polygon(points, outline=(255, 255, 255), width=2)
        draw_b.polygon(points, fill=COLOURS[kind])
    return a, b


def write(out: Path, train: int, test: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    aligned, unpaired = out / "shapes", out / "shapes_unpaired"
    for folder in ("train", "test"):
        (aligned / folder).mkdir(parents=True, exist_ok=True)
    for folder in ("trainA", "trainB", "testA", "testB"):
        (unpaired / folder).mkdir(parents=True, exist_ok=True)
    for index in range(train + test):
        a, b = draw_pair(rng)
        split, name = ("train", f"{index:05d}.png") if index < train else ("test", f"{index:05d}.png")
        pair = Image.new("RGB", (2 * SIZE, SIZE))
        pair.paste(a, (0, 0))
        pair.paste(b, (SIZE, 0))
        pair.save(aligned / split / name)
        if split == "test":
            a.save(unpaired / "testA" / name)
            b.save(unpaired / "testB" / name)
        elif index % 2 == 0:  # training A and B from disjoint images: no pair to learn from
            a.save(unpaired / "trainA" / name)
        else:
            b.save(unpaired / "trainB" / name)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--train", type=int, default=1200)
    parser.add_argument("--test", type=int, default=300)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    write(args.out, args.train, args.test, args.seed)
    print(f"wrote {args.out / 'shapes'} (aligned) and {args.out / 'shapes_unpaired'} (unpaired)")


if __name__ == "__main__":
    main()
