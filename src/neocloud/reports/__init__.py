"""Presentation: reports rendered from the core's figures (HTML pages, SVG charts, JSON data)."""
