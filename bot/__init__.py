"""The Cảnh giác process: settings, wiring, the command line and the channels."""
