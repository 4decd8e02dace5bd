"""Where results go: sinks behind one interface, isolated so one failing never stops the rest."""
