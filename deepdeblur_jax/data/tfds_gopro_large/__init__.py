"""TFDS builder `gopro_large` for a local GOPRO_Large copy (`manual_dir`)."""
