"""Tokenizers: text tokenizers, and the discrete image and audio tokenizers that share their ids."""
