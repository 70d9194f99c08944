"""Pictures are checked by their pixels: class colours at box edges, fills, holes, frames."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import fsspec
import numpy as np
import pandas as pd
import pytest

pytest.importorskip("matplotlib")
pytest.importorskip("PIL")

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import to_rgb

from ango_frames.errors import ConfigError, ImageError
from ango_frames.look.plot import class_colors, draw_asset, draw_sheet
from ango_frames.look.png import encode_png

BLANK = (235, 235, 235)


def frames(rows, **task):
    base = dict.fromkeys(
        ("page", "x", "y", "width", "height", "rotation", "corners", "points", "zones")
    )
    objects = pd.DataFrame(
        [{**base, "task_id": "t1", "object_id": f"o{i}", **r} for i, r in enumerate(rows)]
    )
    objects["page"] = objects["page"].astype("Int64")
    tasks = pd.DataFrame(
        [{"task_id": "t1", "external_id": "a.jpg", "asset": None, "metadata_width": 200,
          "metadata_height": 100, **task}]
    )  # fmt: skip
    return objects, tasks


def render(ax) -> np.ndarray:
    fig = ax.figure
    FigureCanvasAgg(fig)
    fig.canvas.draw()
    return np.asarray(fig.canvas.buffer_rgba())[:, :, :3]


def rgb(color) -> tuple[int, ...]:
    return tuple(round(v * 255) for v in to_rgb(color))


def near(pixel, color, tol=3) -> bool:
    return bool(np.all(np.abs(np.asarray(pixel, int) - np.asarray(color, int)) <= tol))


def box(title, x, y, w, h, **kw):
    return {"tool": "bounding-box", "title": title, "x": x, "y": y, "width": w, "height": h, **kw}


def test_box_edges_carry_the_class_colour_at_their_coordinates():
    objects, tasks = frames([box("car", 20, 30, 60, 40), box("person", 120, 10, 50, 50)])
    colors = class_colors(objects)
    px = render(draw_asset(objects, tasks, "a.jpg", legend=False, title="", linewidth=3))
    assert px.shape == (100, 200, 3)
    car, person = rgb(colors["car"]), rgb(colors["person"])
    assert car != person
    for row, col in ((50, 20), (50, 80), (30, 50), (70, 50)):  # the four car edges
        assert near(px[row, col], car), (row, col, px[row, col])
    assert near(px[10, 145], person) and near(px[35, 170], person)
    assert near(px[50, 50], BLANK)  # not filled by default
    assert near(px[50, 100], BLANK)  # between the boxes


def test_fill_paints_the_inside_and_leaves_holes_empty():
    zone = {
        "region": [[100.0, 10.0], [190.0, 10.0], [190.0, 90.0], [100.0, 90.0]],
        "holes": [[[130.0, 30.0], [160.0, 30.0], [160.0, 60.0], [130.0, 60.0]]],
    }
    objects, tasks = frames(
        [
            {"tool": "polygon", "title": "building",
             "points": [[10.0, 10.0], [80.0, 10.0], [10.0, 80.0]]},
            {"tool": "segmentation", "title": "road", "zones": [zone]},
        ]
    )  # fmt: skip
    colors = class_colors(objects)
    ax = draw_asset(objects, tasks, "t1", fill=True, alpha=1.0, legend=False, title="")
    px = render(ax)
    assert near(px[25, 25], rgb(colors["building"]))  # inside the triangle
    assert near(px[70, 70], BLANK)  # outside its hypotenuse
    assert near(px[20, 110], rgb(colors["road"]))  # the zone
    assert near(px[45, 145], BLANK)  # its hole


def test_a_frame_other_than_0_draws_that_frames_geometry():
    objects, tasks = frames(
        [box("car", 10, 10, 30, 30, page=0), box("car", 120, 50, 30, 30, page=5)],
        metadata_frameTotal=10,
        external_id="clip.mp4",
    )
    car = rgb(class_colors(objects)["car"])
    px5 = render(draw_asset(objects, tasks, "clip.mp4", frame=5, legend=False, title=""))
    assert near(px5[65, 120], car) and near(px5[25, 10], BLANK)
    px0 = render(draw_asset(objects, tasks, "clip.mp4", legend=False, title=""))
    assert near(px0[25, 10], car) and near(px0[65, 120], BLANK)
    ax = draw_asset(objects, tasks, "clip.mp4", frame=5)
    assert ax.get_title() == "clip.mp4 [frame 5]"
    with pytest.raises(ConfigError, match="not both"):
        draw_asset(objects, tasks, "clip.mp4", frame=5, page=4)


def test_the_image_comes_from_an_array_or_an_fsspec_url_in_asset_coordinates():
    objects, tasks = frames([box("car", 20, 30, 60, 40)])
    red = np.zeros((50, 100, 3), np.uint8)  # half the asset's size: stretched to 200 x 100
    red[:, :, 0] = 200
    px = render(draw_asset(objects, tasks, "t1", image=red, legend=False, title=""))
    assert near(px[90, 190], (200, 0, 0)) and near(px[50, 20], rgb(class_colors(objects)["car"]))
    with fsspec.open("memory://pictures/a.png", "wb") as f:
        f.write(encode_png(np.full((100, 200, 3), (0, 0, 180), np.uint8)))
    tasks["asset"] = "memory://pictures/a.png"
    px = render(draw_asset(objects, tasks, "t1", legend=False, title=""))
    assert near(px[5, 5], (0, 0, 180))
    tasks["asset"] = "memory://pictures/none.png?X-Amz-Signature=topsecret"
    with pytest.raises(ImageError) as err:
        draw_asset(objects, tasks, "t1")
    assert "topsecret" not in str(err.value) and err.value.source.endswith("none.png")
    px = render(draw_asset(objects, tasks, "t1", fetch=False, legend=False, title=""))
    assert near(px[5, 5], BLANK)  # no fetch: the empty canvas of the asset's size


def test_title_shows_the_answer_summary_and_the_sheet_has_one_legend():
    objects, tasks = frames([box("car", 20, 30, 60, 40)])
    answers = pd.DataFrame(
        {"task_id": ["t1", "t1"], "object_id": [None, "o0"], "parent_id": [None, None],
         "title": ["weather", "occluded"], "answer": ["rain", "no"], "page": [None, None]}
    )  # fmt: skip
    ax = draw_asset(objects, tasks, "t1", classifications=answers)
    assert ax.get_title() == "a.jpg\nweather: rain"
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["car"]
    fig = draw_sheet(objects, tasks, ["t1", "t1", "a.jpg"], ncols=2, fetch=False)
    assert len(fig.axes) == 4 and [t.get_text() for t in fig.legends[0].get_texts()] == ["car"]


def test_without_the_plot_extra_the_error_names_it():
    code = textwrap.dedent(
        """
        import sys
        sys.modules["matplotlib"] = None  # as if it were not installed
        import pandas as pd
        import ango_frames as af
        tables = type("T", (), {"objects": pd.DataFrame(columns=["task_id", "tool", "title"]),
                                "tasks": pd.DataFrame({"task_id": ["t"]})})()
        try:
            af.plot_asset(tables, "t")
        except ImportError as exc:
            print("ImportError:", exc)
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    )
    assert "ImportError:" in out.stdout and "pip install 'ango-frames[plot]'" in out.stdout
