"""``swapcam studio``: the live pipeline with a control panel in the browser.

panel.py turns the settings declarations into the page's controls and presets; session.py runs the
stream and switches it; tap.py takes the preview frames, recordings and live numbers off the stream;
views.py draws the preview views; server.py is the web server and its security; command.py the
subcommand. The page itself is plain HTML, CSS and JS in static/ (no build step, nothing from the
internet).
"""
