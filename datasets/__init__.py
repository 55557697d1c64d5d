"""quantbridge.datasets — load, validate, cache, download and generate market data.

This layer imports no other quantbridge layer.
"""
