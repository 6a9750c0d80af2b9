"""Converters from other implementations' weight files to the inference checkpoint format."""
