"""What the pages and the CLI show, computed: the pipeline diagram and other view models. Pure functions."""
