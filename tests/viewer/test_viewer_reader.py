"""The napari reader accepts timeslice and prediction files and declines everything else."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

pytest.importorskip("napari")

from gann_viewer.layers import POSITION_KEY, SOURCE_KEY  # noqa: E402
from gann_viewer.reader import napari_get_reader  # noqa: E402
from gann_viewer.source import TimesliceSource  # noqa: E402


def test_reader_accepts_timeslice_file(timeslice_file, spd_table):
    reader = napari_get_reader(str(timeslice_file))
    assert callable(reader)
    layers = reader(str(timeslice_file))
    assert len(layers) == 1
    data, kwargs, layer_type = layers[0]
    assert layer_type == "points"
    assert data.shape == (spd_table.select(0).n_hits, 3)
    assert kwargs["face_color"].shape == (len(data), 4)
    assert isinstance(kwargs["metadata"][SOURCE_KEY], TimesliceSource)
    assert kwargs["metadata"][POSITION_KEY] == 0
    # napari order (z, y, x): the first column is the beam coordinate.
    np.testing.assert_allclose(data[:, 0], spd_table.select(0).columns["z"])


def test_reader_accepts_prediction_file(prediction_file):
    layers = napari_get_reader(str(prediction_file))(str(prediction_file))
    assert layers[0][1]["metadata"][SOURCE_KEY].has_file_scores


def test_reader_accepts_short_column_names(tmp_path):
    path = tmp_path / "short.parquet"
    pq.write_table(pa.table({"x": [1.0, 2.0, 3.0], "y": [0.0, 1.0, 2.0], "z": [0.0, 0.0, 1.0], "trid": [1, 1, 1], "evid": [0, 0, 0]}), path)
    layers = napari_get_reader(str(path))(str(path))
    assert layers[0][0].shape == (3, 3)


@pytest.mark.parametrize("name", ["hits.csv", "image.tif", "slices.pairs.parquet"])
def test_reader_declines_other_files(tmp_path, name):
    path = tmp_path / name
    path.write_bytes(b"x,y\n1,2\n")
    assert napari_get_reader(str(path)) is None


def test_reader_declines_parquet_without_hit_columns(tmp_path):
    path = tmp_path / "table.parquet"
    pq.write_table(pa.table({"a": [1, 2], "b": [3.0, 4.0]}), path)
    assert napari_get_reader(str(path)) is None


def test_reader_declines_folder(tmp_path):
    folder = tmp_path / "folder.parquet"
    folder.mkdir()
    assert napari_get_reader(str(folder)) is None


def test_truncated_file_notifies_instead_of_raising(tmp_path, timeslice_file, monkeypatch):
    path = tmp_path / "truncated.parquet"
    path.write_bytes(timeslice_file.read_bytes()[:200])
    reader = napari_get_reader(str(path))
    assert callable(reader)

    messages = []
    import napari.utils.notifications as notifications

    monkeypatch.setattr(notifications, "show_error", messages.append)
    assert reader(str(path)) == [(None,)]
    assert len(messages) == 1
    assert str(path) in messages[0]


def test_invalid_values_notify_instead_of_raising(tmp_path, monkeypatch):
    path = tmp_path / "nan.parquet"
    pq.write_table(pa.table({"x": [np.nan, 1.0, 2.0], "y": [0.0, 1.0, 2.0], "z": [0.0, 0.0, 1.0], "track_id": [1, 1, 1]}), path)
    messages = []
    import napari.utils.notifications as notifications

    monkeypatch.setattr(notifications, "show_error", messages.append)
    assert napari_get_reader(str(path))(str(path)) == [(None,)]
    assert "column 'x'" in messages[0]


def test_reader_in_napari_open(make_napari_viewer, timeslice_file):
    viewer = make_napari_viewer()
    layers = viewer.open(str(timeslice_file), plugin="gann")
    assert len(layers) == 1
    assert layers[0].name == "slices hits"
    assert layers[0].axis_labels == ("z", "y", "x")


def test_manifest_valid():
    npe2 = pytest.importorskip("npe2")
    manifest = npe2.PluginManifest.from_distribution("gann")
    manifest.validate_imports()
    assert [reader.command for reader in manifest.contributions.readers] == ["gann.get_reader"]
    assert [widget.display_name for widget in manifest.contributions.widgets] == ["GANN inspector"]
    assert [sample.key for sample in manifest.contributions.sample_data] == ["demo_timeslice"]
