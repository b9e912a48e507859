"""The init of the level image (`/usr/local/bin/dindtui-init`), as a package: standard library
only, imports nothing of dindtui's. Its entry is dindtui/inner_init.py; the image ships this
folder beside it."""
