"""GANN viewer: napari plugin, ``gann-viewer`` command and notebook view of scored timeslices.

The modules build on each other and only the last ones need Qt:

* :mod:`gann_viewer.scene`: numpy arrays for one scored timeslice (no Qt, no napari);
* :mod:`gann_viewer.source`, :mod:`gann_viewer.scoring`: timeslice files and scores;
* :mod:`gann_viewer.layers`, :mod:`gann_viewer.widget`, :mod:`gann_viewer.reader`,
  :mod:`gann_viewer.sample`: the napari plugin (manifest ``napari.yaml``);
* :mod:`gann_viewer.app`: the ``gann-viewer`` command;
* :mod:`gann_viewer.notebook`: :func:`gann_viewer.notebook.show` for Jupyter, via vispy and jupyter_rfb.

Importing this package imports none of napari, Qt or torch.
"""
