"""Pages of the outside contact: the main screen, the document viewer and reply, settings, terms."""
