"""The offline stand-in for the source APIs: same paths, same shapes, predictable values."""
