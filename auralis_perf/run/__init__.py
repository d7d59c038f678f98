"""The run: command line, the papermill pipeline, kernels, progress, side files and mail."""
