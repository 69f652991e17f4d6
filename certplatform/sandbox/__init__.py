"""Grading in sandboxes: task kinds, runtimes and limits, backends (docker, process), and the results model."""
