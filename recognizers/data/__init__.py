"""Datasets and what makes them: folder-per-label datasets, importers, the recorder, augmentation.

- :mod:`~recognizers.data.datasets`: ``DATA/<label>/<file>`` scanning, speaker/session groups, FSDD import;
- :mod:`~recognizers.data.speech` / :mod:`~recognizers.data.gestures`: the speech and gesture task data;
- :mod:`~recognizers.data.landmark_files`: landmark sequences from ``.npz`` files, videos and image folders;
- :mod:`~recognizers.data.connected_digits`: digit strings without pauses (CTC training, benchmarks);
- :mod:`~recognizers.data.importers`: public hand-landmark datasets -> our layout;
- :mod:`~recognizers.data.recorder`: recording labelled takes safely; :mod:`~recognizers.data.dataset_ops`:
  list, relabel, delete, import;
- :mod:`~recognizers.data.augment`: augmentations; :mod:`~recognizers.data.feature_cache`: cached features.
"""

__all__ = ["augment", "connected_digits", "dataset_ops", "datasets", "feature_cache", "gestures", "importers",
           "landmark_files", "recorder", "speech"]
