"""The node canvas: a scene that mirrors the graph, its items, and the view (zoom, pan, connect)."""
