"""The open-data channel: the open view of the catalogue (view.py) and what serves it to portals."""
