"""The `melodies` TFDS dataset: folk and jazz melodies as interval and duration tokens."""

from stylexfer_datasets.melodies.melodies_dataset_builder import Builder
