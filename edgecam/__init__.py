"""edgecam: a real-time camera daemon that reads handwritten digits on the edge."""

__version__ = "0.1.0"
