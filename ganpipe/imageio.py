"""Reading and writing image files (PNG/JPEG) as tensors in [-1, 1], with errors naming the file."""

from __future__ import annotations

from pathlib import Path
from typing import BinaryIO

import numpy as np
import torch

from ganpipe.errors import GanpipeError

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")


def image_files(path: Path) -> list[Path]:
    """The image files at `path`: the file itself, or a folder's images sorted by name."""
    if not path.exists():
        raise GanpipeError(f"{path}: no such file or folder")
    if path.is_file():
        return [path]
    files = sorted(p for p in path.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise GanpipeError(f"{path}: no PNG or JPEG images in this folder")
    return files


def read_image(path: Path, channels: int, size: int | None = None) -> torch.Tensor:
    """(channels, H, W) in [-1, 1]; resized to size x size (bilinear) when size is given."""
    return decode_image(path, channels, size, str(path))


def decode_image(source: Path | BinaryIO, channels: int, size: int | None, name: str) -> torch.Tensor:
    """read_image for a path or an open binary stream (PNG bytes sent to the model server);
    errors name `name`."""
    from PIL import Image, UnidentifiedImageError

    if channels not in (1, 3):
        raise GanpipeError(f"{name}: cannot read an image into {channels} channels (1 or 3)")
    try:
        with Image.open(source) as image:
            image.load()
            image = image.convert("L" if channels == 1 else "RGB")
            if size is not None and image.size != (size, size):
                image = image.resize((size, size), Image.Resampling.BILINEAR)
            pixels = np.asarray(image, dtype=np.float32) / 255.0
    except (UnidentifiedImageError, OSError, ValueError) as exc:
        raise GanpipeError(f"{name}: not a readable image ({type(exc).__name__}: {str(exc).splitlines()[0][:160]})") from None
    tensor = torch.from_numpy(pixels * 2 - 1)
    return tensor[None] if channels == 1 else tensor.permute(2, 0, 1).contiguous()


def write_image(image: torch.Tensor, target: Path | BinaryIO) -> None:
    """A (C, H, W) image in [-1, 1] as an 8-bit PNG, to a path or a binary stream."""
    from PIL import Image

    pixels = ((image.detach().clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8).permute(1, 2, 0).numpy()
    Image.fromarray(pixels[:, :, 0] if pixels.shape[2] == 1 else pixels).save(target, format="PNG")
