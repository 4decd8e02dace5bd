"""The live page's assets (index.html, app.js, style.css), served by :mod:`edgecam.sinks.http`."""
