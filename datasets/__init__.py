# Installed as `stylexfer_datasets` (see setup.cfg), never as `datasets`, so that it does not
# shadow the `datasets` library.
