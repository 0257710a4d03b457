"""Draw pimbot's Teams icons: a white shield with a keyhole.

    .venv/bin/python manifest/draw_icons.py

writes `bot/teams_app/color.png` (192x192, the shield on pimbot's accent colour, inside Teams'
120x120 safe region) and `outline.png` (32x32, white on transparent, as Teams wants outline
icons). Shapes are drawn as masks at 8x and scaled down, so edges are smooth while the outline
stays pure white.
"""

from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageDraw

HERE = Path(__file__).resolve().parents[1] / "bot" / "teams_app"  # shipped in the wheel
ACCENT = (31, 78, 158)  # #1F4E9E, the manifest's accentColor
SUPERSAMPLE = 8

Point = tuple[float, float]


def shield(inset: float = 0.0) -> list[Point]:
    """The shield's outline in unit coordinates (0..1), `inset` moving every edge inwards."""
    top, left, right, shoulder, tip = 0.12 + inset, 0.18 + inset, 0.82 - inset, 0.5, 0.9 - inset
    points: list[Point] = [(left, top + 0.06), (0.5, top), (right, top + 0.06), (right, shoulder)]
    steps = 16
    for side_from, side_to in (((right, shoulder), (0.5, tip)), ((0.5, tip), (left, shoulder))):
        control = (
            (side_from[0], side_to[1] - 0.12) if side_to[0] == 0.5 else (side_to[0], tip - 0.12)
        )
        for step in range(1, steps + 1):
            t = step / steps
            points.append(_bezier(side_from, control, side_to, t))
    return points


def _bezier(start: Point, control: Point, end: Point, t: float) -> Point:
    return (
        (1 - t) ** 2 * start[0] + 2 * (1 - t) * t * control[0] + t**2 * end[0],
        (1 - t) ** 2 * start[1] + 2 * (1 - t) * t * control[1] + t**2 * end[1],
    )


def keyhole(draw: ImageDraw.ImageDraw, size: float, fill: int) -> None:
    radius = 0.1 * size
    cx, cy = 0.5 * size, 0.44 * size
    draw.ellipse((cx - radius, cy - radius, cx + radius, cy + radius), fill=fill)
    draw.polygon(
        [
            (cx - 0.045 * size, cy),
            (cx + 0.045 * size, cy),
            (cx + 0.08 * size, 0.7 * size),
            (cx - 0.08 * size, 0.7 * size),
        ],
        fill=fill,
    )


def _scaled(points: list[Point], size: float, offset: float = 0.0) -> list[Point]:
    return [(offset + x * size, offset + y * size) for x, y in points]


def color_icon(side: int = 192, safe: int = 120) -> Image.Image:
    big, big_safe = side * SUPERSAMPLE, safe * SUPERSAMPLE
    offset = (big - big_safe) / 2
    mask = Image.new("L", (big, big), 0)
    draw = ImageDraw.Draw(mask)
    draw.polygon(_scaled(shield(), big_safe, offset), fill=255)
    inner = Image.new("L", (big_safe, big_safe), 0)
    keyhole(ImageDraw.Draw(inner), big_safe, 255)
    mask.paste(0, (int(offset), int(offset)), inner)
    icon = Image.new("RGB", (side, side), ACCENT)
    icon.paste((255, 255, 255), (0, 0), mask.resize((side, side), Image.Resampling.LANCZOS))
    return icon


def outline_icon(side: int = 32) -> Image.Image:
    big = side * SUPERSAMPLE
    mask = Image.new("L", (big, big), 0)
    draw = ImageDraw.Draw(mask)
    draw.polygon(_scaled(shield(), big), fill=255)
    draw.polygon(_scaled(shield(inset=0.07), big), fill=0)
    keyhole(draw, big, 255)
    icon = Image.new("RGBA", (side, side), (255, 255, 255, 0))
    icon.putalpha(mask.resize((side, side), Image.Resampling.LANCZOS))
    return icon


def main() -> None:
    color_icon().save(HERE / "color.png", optimize=True)
    outline_icon().save(HERE / "outline.png", optimize=True)


if __name__ == "__main__":
    main()
