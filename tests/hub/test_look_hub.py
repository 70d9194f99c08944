"""The local hub serves demo pictures at its asset URLs; plot_asset fetches and draws on them."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import numpy as np
import pytest
import requests

from ango_frames import read_export
from ango_frames.look.png import decode_png
from ango_frames.testing import LocalHub
from ango_frames.testing.pictures import CLASS_RGB
from tests.conftest import make_client


@pytest.fixture(scope="module")
def demo(shared_hub):
    with make_client(shared_hub) as client:
        tables = read_export(
            client.export(shared_hub.project_id, format="ndjson", include_history=True)
        )
    return shared_hub, tables


def test_pictures_are_served_without_a_key_and_show_the_labels(demo):
    hub, tables = demo
    tasks = tables.tasks
    images = tasks[tasks["asset"].str.endswith(".png")]  # 300 images, page 0 of scan-01
    assert len(images) == 301 and images["asset"].str.startswith(hub.base_url).all()
    cars = tables.objects[(tables.objects["title"] == "car") & tables.objects["page"].isna()]
    car = cars.iloc[0]
    task = tasks[tasks["task_id"] == car["task_id"]].iloc[0]
    reply = requests.get(task["asset"], timeout=10)
    assert reply.status_code == 200 and reply.headers["Content-Type"] == "image/png"
    pixels = decode_png(reply.content)
    assert pixels.shape == (task["metadata_height"], task["metadata_width"], 3)
    cy, cx = int(car["y"] + car["height"] / 2), int(car["x"] + car["width"] / 2)
    assert tuple(pixels[cy, cx]) == CLASS_RGB["car"]  # a car is painted where its box is
    pages = tasks[tasks["external_id"] == "scan-01"].iloc[0]["dataset"]
    assert len(pages) == 3 and requests.get(pages[1], timeout=10).status_code == 200
    assert requests.get(f"{hub.base_url}/assets/demo/nope.png", timeout=10).status_code == 404


def test_pictures_are_the_same_bytes_on_every_hub(demo):
    hub, tables = demo
    url = tables.tasks["asset"].iloc[3]
    with LocalHub() as other:
        again = requests.get(url.replace(hub.base_url, other.base_url), timeout=10).content
    assert again == requests.get(url, timeout=10).content


def test_plot_asset_fetches_the_picture(demo):
    pytest.importorskip("matplotlib")
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    import ango_frames as af

    _, tables = demo
    obj = tables.objects[(tables.objects["title"] == "car") & tables.objects["page"].isna()]
    car = obj.iloc[0]
    ax = af.plot_asset(tables, car["task_id"], legend=False, title="", dpi=100)
    FigureCanvasAgg(ax.figure)
    ax.figure.canvas.draw()
    px = np.asarray(ax.figure.canvas.buffer_rgba())[:, :, :3]
    cy, cx = int(car["y"] + car["height"] / 2), int(car["x"] + car["width"] / 2)
    assert np.abs(px[cy, cx].astype(int) - CLASS_RGB["car"]).max() <= 3  # the picture shows
    page = af.plot_asset(tables, "scan-01", page=2)
    assert page.get_title().startswith("scan-01 [page 2]")
    sheet = af.contact_sheet(tables, 4, order="changed")
    titles = [a.get_title() for a in sheet.axes if a.get_title()]
    assert len(titles) == 4 and all("moved" in t for t in titles)


def test_masks_of_the_demo_match_its_pictures(demo):
    import ango_frames as af
    from ango_frames.training import class_index

    _, tables = demo
    index = class_index(tables.objects)
    cars = tables.objects[(tables.objects["title"] == "car") & tables.objects["page"].isna()]
    car = cars.iloc[0]
    mask = af.asset_mask(tables, car["task_id"], class_index=index)
    picture = decode_png(requests.get(mask_url(tables, car["task_id"]), timeout=10).content)
    cy, cx = int(car["y"] + car["height"] / 2), int(car["x"] + car["width"] / 2)
    assert mask.semantic.shape == picture.shape[:2]
    k = int(mask.instance[cy, cx])
    top = mask.instances[mask.instances["instance"] == k].iloc[0]  # what is drawn there
    assert k > 0 and mask.semantic[cy, cx] == top["class_id"] == index[top["title"]] + 1
    assert tuple(picture[cy, cx]) == CLASS_RGB[top["title"]]  # the picture agrees


def mask_url(tables, task_id):
    return tables.tasks.loc[tables.tasks["task_id"] == task_id, "asset"].iloc[0]


def test_the_demo_without_matplotlib_names_the_extra(tmp_path):
    code = textwrap.dedent(
        f"""
        import sys
        sys.modules["matplotlib"] = None
        from ango_frames.demo import _picture
        print(_picture(None, {str(tmp_path / "x.png")!r}, print))
        """
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines() == [
        "(`pip install 'ango-frames[plot]'` would draw the labels on their images here)",
        "None",
    ]


def test_unfetchable_pictures_raise_image_error_without_the_signature(demo):
    from ango_frames.errors import ImageError
    from ango_frames.look.assets import load_image

    hub, _ = demo
    signed = f"{hub.base_url}/assets/demo/gone.png?X-Amz-Signature=topsecret"
    with pytest.raises(ImageError, match="HTTP 404") as err:
        load_image(signed)
    assert "topsecret" not in str(err.value) and err.value.source.endswith("/gone.png")
    with LocalHub(demo=False) as stopped:
        url = f"{stopped.base_url}/a.png?X-Amz-Signature=topsecret&X-Amz-Credential=me"
    with pytest.raises(ImageError, match="ConnectionError") as err:  # nothing listens there now
        load_image(url, storage_options={"timeout": 5})
    assert "topsecret" not in str(err.value) and "X-Amz" not in str(err.value)
